//! Fault injection for transport decryption and re-encryption, and a worker
//! that dies in the middle of a job, for tests only: in release builds
//! `Faults` holds nothing and injects nothing.

#[cfg(debug_assertions)]
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
#[cfg(debug_assertions)]
use std::sync::{Arc, Mutex};

/// What an injected fault is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Transient,
    Permanent,
}

#[derive(Clone, Default)]
pub struct Faults {
    #[cfg(debug_assertions)]
    inner: Arc<Plans>,
}

#[cfg(debug_assertions)]
#[derive(Default)]
struct Plans {
    decrypt_transient: AtomicUsize,
    decrypt_permanent: AtomicBool,
    reencrypt_transient: AtomicUsize,
    reencrypt_permanent: AtomicBool,
    /// The worker dies right after this stage (once).
    die_after: Mutex<Option<String>>,
    /// A shorter job lease, so a dead worker's job comes back quickly.
    lease_ms: AtomicI64,
    /// The worker dies on every message whose subject contains this.
    poison: Mutex<Option<String>>,
}

impl Faults {
    /// The next decryption fails (transiently `transient` times first).
    #[cfg(debug_assertions)]
    pub fn fail_decryption(&self, transient: usize, permanent: bool) {
        self.inner
            .decrypt_transient
            .store(transient, Ordering::SeqCst);
        self.inner
            .decrypt_permanent
            .store(permanent, Ordering::SeqCst);
    }

    #[cfg(debug_assertions)]
    pub fn fail_reencryption(&self, transient: usize, permanent: bool) {
        self.inner
            .reencrypt_transient
            .store(transient, Ordering::SeqCst);
        self.inner
            .reencrypt_permanent
            .store(permanent, Ordering::SeqCst);
    }

    /// The next job's worker dies right after `stage`, holding the lease;
    /// leases last `lease` from now on, so another worker takes it soon.
    #[cfg(debug_assertions)]
    pub fn die_after_stage(&self, stage: &str, lease: std::time::Duration) {
        self.inner
            .lease_ms
            .store(lease.as_millis() as i64, Ordering::SeqCst);
        *self.inner.die_after.lock().unwrap() = Some(stage.to_string());
    }

    /// Every worker that takes a message whose subject contains `subject`
    /// dies holding its lease, every time (a message that crashes nodes).
    #[cfg(debug_assertions)]
    pub fn always_die_on(&self, subject: &str, lease: std::time::Duration) {
        self.inner
            .lease_ms
            .store(lease.as_millis() as i64, Ordering::SeqCst);
        *self.inner.poison.lock().unwrap() = Some(subject.to_string());
    }

    /// Every job lease lasts `lease` (pipeline and outbound, from the next
    /// node built with these faults on), so a job whose outcome was lost
    /// comes back within the test.
    #[cfg(debug_assertions)]
    pub fn short_leases(&self, lease: std::time::Duration) {
        self.inner
            .lease_ms
            .store(lease.as_millis() as i64, Ordering::SeqCst);
    }

    /// For the fault tests that kill a `sealpost serve` process: in debug
    /// builds `SEALPOST_TEST_LEASE_MS` shortens every job lease, so the
    /// next process takes a killed one's jobs in seconds, not minutes.
    pub fn from_env() -> Faults {
        let faults = Faults::default();
        #[cfg(debug_assertions)]
        if let Some(ms) = std::env::var("SEALPOST_TEST_LEASE_MS")
            .ok()
            .and_then(|v| v.parse::<i64>().ok())
        {
            faults.inner.lease_ms.store(ms, Ordering::SeqCst);
        }
        faults
    }

    pub fn dies_on(&self, _subject: &str) -> bool {
        #[cfg(debug_assertions)]
        {
            let poison = self.inner.poison.lock().unwrap();
            if poison.as_deref().is_some_and(|p| _subject.contains(p)) {
                return true;
            }
        }
        false
    }

    pub fn dies_after(&self, _stage: &str) -> bool {
        #[cfg(debug_assertions)]
        {
            let mut plan = self.inner.die_after.lock().unwrap();
            if plan.as_deref() == Some(_stage) {
                *plan = None;
                return true;
            }
        }
        false
    }

    pub fn lease_ms(&self) -> Option<i64> {
        #[cfg(debug_assertions)]
        {
            let ms = self.inner.lease_ms.load(Ordering::SeqCst);
            if ms > 0 {
                return Some(ms);
            }
        }
        None
    }

    pub fn decryption(&self) -> Option<Fault> {
        #[cfg(debug_assertions)]
        {
            take(&self.inner.decrypt_transient, &self.inner.decrypt_permanent)
        }
        #[cfg(not(debug_assertions))]
        None
    }

    pub fn reencryption(&self) -> Option<Fault> {
        #[cfg(debug_assertions)]
        {
            take(
                &self.inner.reencrypt_transient,
                &self.inner.reencrypt_permanent,
            )
        }
        #[cfg(not(debug_assertions))]
        None
    }
}

#[cfg(debug_assertions)]
fn take(transient: &AtomicUsize, permanent: &AtomicBool) -> Option<Fault> {
    let left = transient.load(Ordering::SeqCst);
    if left > 0 {
        transient.store(left - 1, Ordering::SeqCst);
        return Some(Fault::Transient);
    }
    permanent.load(Ordering::SeqCst).then_some(Fault::Permanent)
}

/// Where transport decryption and re-encryption can be made to fail: the
/// stages ask before each try. Tests plug [`Faults`] in; in release builds
/// it never fails anything.
pub trait TransportFaults: Send + Sync {
    fn decryption(&self) -> Option<Fault>;
    fn reencryption(&self) -> Option<Fault>;
}

impl TransportFaults for Faults {
    fn decryption(&self) -> Option<Fault> {
        Faults::decryption(self)
    }

    fn reencryption(&self) -> Option<Fault> {
        Faults::reencryption(self)
    }
}

/// Up to three tries (SPEC: at 0 s, 5 s and 30 s) of decryption or
/// re-encryption while the failure is transient.
#[derive(Clone)]
pub struct Tries {
    pub delays: [std::time::Duration; 3],
    pub faults: std::sync::Arc<dyn TransportFaults>,
}

/// What is tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Decryption,
    ReEncryption,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Decryption => "decryption",
            Step::ReEncryption => "re-encryption",
        }
    }
}

impl Tries {
    /// Ok, or why it failed for good; each failed try is noted for the
    /// trace.
    pub async fn run(&self, step: Step, notes: &mut Vec<super::Note>) -> Result<(), String> {
        let what = step.as_str();
        for (i, delay) in self.delays.iter().enumerate() {
            tokio::time::sleep(*delay).await;
            let fault = match step {
                Step::Decryption => self.faults.decryption(),
                Step::ReEncryption => self.faults.reencryption(),
            };
            match fault {
                None => return Ok(()),
                Some(Fault::Transient) => notes.push(super::Note::TryFailed {
                    what,
                    attempt: i + 1,
                }),
                Some(Fault::Permanent) => return Err(format!("{what} failed (permanent)")),
            }
        }
        Err(format!("{what} failed three times (transient)"))
    }
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Faults")
    }
}
