//! Recently opened messages, as the portal shows them.
//!
//! Decrypting, parsing and sanitising a 50 KB body costs about a
//! millisecond; a recipient who reloads, or a page with many readers, should
//! not pay it each time. The cache holds the sanitised view only, for a few
//! minutes and within a byte budget, and it is consulted only after the
//! request's own checks (link, revocation, expiry, session) passed against
//! the database, so it never decides who may read.

use app::dto::MessageView;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What an entry costs the budget, in bytes.
pub trait Weighed {
    fn weight(&self) -> usize;
}

/// Entries kept for a time limit within a byte budget; one entry larger
/// than a quarter of the budget is not kept at all.
pub struct TimedCache<V> {
    inner: Mutex<Inner<V>>,
    ttl: Duration,
    budget: usize,
}

struct Inner<V> {
    entries: HashMap<String, (Instant, usize, Arc<V>)>,
    bytes: usize,
}

impl<V: Weighed> TimedCache<V> {
    pub fn new(ttl: Duration, budget: usize) -> Self {
        TimedCache {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                bytes: 0,
            }),
            ttl,
            budget,
        }
    }

    /// The entry, if it was made within the time limit.
    pub fn get(&self, key: &str) -> Option<Arc<V>> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match inner.entries.get(key) {
            Some((made, _, value)) if made.elapsed() < self.ttl => Some(value.clone()),
            Some(_) => {
                if let Some((_, size, _)) = inner.entries.remove(key) {
                    inner.bytes -= size;
                }
                None
            }
            None => None,
        }
    }

    pub fn put(&self, key: &str, value: Arc<V>) {
        let size = value.weight() + key.len() + 64;
        if !self.fits(size) {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.bytes + size > self.budget {
            // Old entries go first; if that is not enough, everything does.
            let ttl = self.ttl;
            inner
                .entries
                .retain(|_, (made, _, _)| made.elapsed() < ttl / 2);
            inner.bytes = inner.entries.values().map(|(_, s, _)| s).sum();
            if inner.bytes + size > self.budget {
                inner.entries.clear();
                inner.bytes = 0;
            }
        }
        if let Some((_, old, _)) = inner
            .entries
            .insert(key.to_string(), (Instant::now(), size, value))
        {
            inner.bytes -= old;
        }
        inner.bytes += size;
    }

    /// Whether an entry of this weight would be kept at all.
    pub fn fits(&self, weight: usize) -> bool {
        weight <= self.budget / 4
    }

    pub fn remove(&self, key: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, size, _)) = inner.entries.remove(key) {
            inner.bytes -= size;
        }
    }

    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.inner.lock().unwrap().bytes
    }
}

impl Weighed for MessageView {
    fn weight(&self) -> usize {
        self.body_html.as_ref().map_or(0, |h| h.len())
            + self.body_text.len()
            + self.subject.len()
            + self.to.len()
            + 256
    }
}

/// Sanitised views of recipient copies, by copy.
pub type ViewCache = TimedCache<MessageView>;

/// Which recipient sessions already had their "opened" recorded on this
/// node: a message read again and again in one session is one event (a
/// page view is not a durable write). At worst each node records a session
/// once. Bounded: when full it starts over, which records some sessions
/// twice and loses nothing.
pub struct Opened {
    seen: Mutex<std::collections::HashSet<(String, String)>>,
    capacity: usize,
}

impl Opened {
    pub fn new(capacity: usize) -> Self {
        Opened {
            seen: Mutex::default(),
            capacity,
        }
    }

    /// True the first time this session opens this copy here.
    pub fn first(&self, session: &str, copy: &str) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= self.capacity {
            seen.clear();
        }
        seen.insert((session.to_string(), copy.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(body: &str) -> Arc<MessageView> {
        Arc::new(MessageView {
            subject: "s".into(),
            sender: "a@b".into(),
            to: "c@d".into(),
            date: String::new(),
            expires: None,
            body_html: None,
            body_text: body.into(),
            attachments: Vec::new(),
            do_not_forward: false,
            others: Vec::new(),
        })
    }

    #[test]
    fn a_session_opens_a_copy_once_until_the_set_starts_over() {
        let opened = Opened::new(2);
        assert!(opened.first("s1", "c1"));
        assert!(!opened.first("s1", "c1"));
        assert!(opened.first("s2", "c1"));
        // Full: it starts over, and records again rather than never.
        assert!(opened.first("s3", "c1"));
        assert!(opened.first("s1", "c1"));
    }

    #[test]
    fn entries_expire_and_the_budget_holds() {
        let cache = ViewCache::new(Duration::from_millis(50), 10_000);
        cache.put("a", view("hello"));
        assert_eq!(&*cache.get("a").unwrap().body_text, "hello");
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get("a").is_none(), "expired entries are not served");

        for i in 0..20 {
            cache.put(&i.to_string(), view(&"x".repeat(1000)));
            assert!(cache.bytes() <= 10_000);
        }
        assert!(cache.get("19").is_some(), "the newest entry is kept");
    }
}
