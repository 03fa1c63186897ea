//! The portal's audit lines (opens, downloads), committed in groups.
//!
//! Every page view of a message is an event. Committing each one on its own
//! costs a disk flush per view; here the views that arrive while one commit
//! is under way share the next, and each request still waits until its line
//! is durable before it answers, so nothing is served unrecorded.

use super::{Result, Store, StoreError, now_ms, on_pool};
use tokio::sync::{mpsc, oneshot};

/// One line, owned, to travel to the writer.
#[derive(Clone, Debug)]
pub struct EventLine {
    pub kind: String,
    pub message_id: Option<String>,
    pub recipient: Option<String>,
}

type Pending = (EventLine, i64, oneshot::Sender<Result<()>>);

#[derive(Clone)]
pub struct EventLog {
    tx: mpsc::Sender<Pending>,
}

const BATCH: usize = 512;

impl EventLog {
    /// Starts the writer; it ends when every handle is dropped.
    pub fn start(store: Store) -> EventLog {
        let (tx, mut rx) = mpsc::channel::<Pending>(4096);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                let lines: Vec<_> = batch.iter().map(|(l, at, _)| (l, *at)).collect();
                let outcome = store.record_event_lines(&lines).await;
                for (_, _, reply) in batch.drain(..) {
                    let _ = reply.send(match &outcome {
                        Ok(()) => Ok(()),
                        Err(e) => Err(StoreError::Batch(e.to_string())),
                    });
                }
            }
        });
        EventLog { tx }
    }

    /// Records the line; returns once it is committed.
    pub async fn record(&self, line: EventLine) -> Result<()> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send((line, now_ms(), reply))
            .await
            .map_err(|_| StoreError::Batch("the event writer has stopped".into()))?;
        done.await
            .map_err(|_| StoreError::Batch("the event writer has stopped".into()))?
    }
}

impl Store {
    /// Several lines in one statement (one round trip, atomic).
    pub async fn record_event_lines(&self, lines: &[(&EventLine, i64)]) -> Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO events (at, kind, message_id, recipient) VALUES {}",
            super::placeholders(4, lines.len())
        );
        let _turn = self.write_turn().await;
        on_pool!(self.db(), |pool| {
            let mut query = sqlx::query(&sql);
            for (line, at) in lines {
                query = query
                    .bind(*at)
                    .bind(&line.kind)
                    .bind(&line.message_id)
                    .bind(&line.recipient);
            }
            query.execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_sent_together_are_all_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let store = Store::connect(&url).await.unwrap();
        let log = EventLog::start(store.clone());
        let mut writes = tokio::task::JoinSet::new();
        for i in 0..300 {
            let log = log.clone();
            writes.spawn(async move {
                log.record(EventLine {
                    kind: "opened".into(),
                    message_id: None,
                    recipient: Some(format!("r{i}@example.com")),
                })
                .await
            });
        }
        while let Some(outcome) = writes.join_next().await {
            outcome.unwrap().unwrap();
        }
        assert_eq!(store.events_of_kind("opened").await.unwrap().len(), 300);
    }
}
