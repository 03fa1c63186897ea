//! What became of a job, and the group commit that writes it.
//!
//! Every job ends in one write: the pipeline's copies, jobs and events, a
//! delivery's new recipient state and timeline line, a retry's next time.
//! Committing each on its own costs a disk flush per job, and the workers
//! then drain the queue at the disk's pace rather than the intake's. Here
//! the outcomes that finish while one commit is under way share the next
//! (as the intake's `write_batches` does for accepted mail), and each
//! worker still waits until its own outcome is durable before it goes on.

use super::messages::{INSERT_JOB, bind_job};
use super::{NewJob, PipelineOutcome, Result, Store, StoreError, Tx, now_ms, on_tx};
use crate::domain::RecipientState;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// `$first, $first+1, ...`: `count` numbered parameters for an `IN` list.
fn list(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A line of the message's timeline, written with the outcome.
#[derive(Clone, Debug, Default)]
pub struct OutcomeEvent {
    pub kind: String,
    pub message_id: Option<String>,
    pub recipient: Option<String>,
    pub detail: Option<String>,
}

pub enum Outcome {
    /// The pipeline decided the message: its copies, jobs and events, and
    /// the job done. Written once even when the job ran twice (its lease
    /// ran out while the first run was still working): the first run to
    /// finish decides, a later one changes nothing.
    Pipeline(PipelineOutcome),
    /// The job ends in `state` (`done`, `failed`, `cancelled`) with the
    /// sender's non-delivery report queued, and the recipient's copy
    /// advanced, in the same transaction.
    Finish {
        state: &'static str,
        error: Option<String>,
        report: Option<NewJob>,
        recipient: Option<(String, RecipientState)>,
    },
    /// The job is tried again at `run_at` (Unix ms).
    Retry { run_at: i64, error: String },
}

pub struct JobOutcome {
    pub job: String,
    /// The claim it was leased under: a run whose lease ran out and was
    /// taken by another claim writes nothing (`Finish`, `Retry`).
    pub lease: String,
    pub outcome: Outcome,
    /// Written only with an outcome that is written.
    pub events: Vec<OutcomeEvent>,
}

impl PipelineOutcome {
    /// The message's timeline lines the pipeline decided on.
    fn timeline(&self) -> impl Iterator<Item = OutcomeEvent> + '_ {
        self.events
            .iter()
            .map(|(kind, recipient, detail)| OutcomeEvent {
                kind: kind.clone(),
                message_id: Some(self.message_row.clone()),
                recipient: recipient.clone(),
                detail: Some(detail.clone()),
            })
    }
}

impl Tx {
    /// Writes a group of outcomes with a few statements for the whole
    /// group rather than several per job: on PostgreSQL each statement is a
    /// round trip, and a burst's group of 200 outcomes made a thousand of
    /// them while its transaction held the jobs' rows. The pipeline's jobs
    /// are marked done in one statement, their copies and jobs inserted in
    /// one each, the plain deliveries finished in one, their recipients
    /// moved on in one per state. The rest (failures, reports, retries:
    /// few, and each different) are written one by one. Each answer says
    /// whether the outcome was the claim's to write.
    ///
    /// A group that holds one job twice (a run whose lease ran out and the
    /// claim that took the job over, finishing together) is written one
    /// outcome at a time, in order: there the first outcome decides, and
    /// only one-by-one writing keeps that order between a pipeline's
    /// outcome and a retry or failure of the same job. It is rare.
    pub async fn apply_outcomes(
        &mut self,
        batch: &[Arc<JobOutcome>],
        now: i64,
    ) -> Result<Vec<bool>> {
        let mut held = vec![false; batch.len()];
        let mut events = Vec::new();
        let mut seen = std::collections::HashSet::with_capacity(batch.len());
        if !batch.iter().all(|o| seen.insert(o.job.as_str())) {
            for (i, o) in batch.iter().enumerate() {
                held[i] = self.apply_outcome(o, now, &mut events).await?;
            }
            self.insert_events(&events, now).await?;
            return Ok(held);
        }

        let pipeline: Vec<usize> = (0..batch.len())
            .filter(|&i| matches!(batch[i].outcome, Outcome::Pipeline(_)))
            .collect();
        let done = self
            .mark_done(pipeline.iter().map(|&i| batch[i].job.as_str()))
            .await?;
        let mut copies = Vec::new();
        let mut jobs = Vec::new();
        for &i in &pipeline {
            let o = &batch[i];
            let Outcome::Pipeline(p) = &o.outcome else {
                continue;
            };
            if !done.contains(&o.job) {
                continue;
            }
            held[i] = true;
            self.update_message(p, now).await?;
            copies.extend(p.recipients.iter().map(|r| (p.message_row.as_str(), r)));
            jobs.extend(p.jobs.iter());
            events.extend(p.timeline());
            events.extend(o.events.iter().cloned());
        }
        self.insert_recipients(&copies, now).await?;
        self.insert_jobs(&jobs, now).await?;

        // Delivered, nothing more to say: the usual end of an outbound job.
        let plain = |o: &JobOutcome| {
            matches!(
                &o.outcome,
                Outcome::Finish {
                    state: "done",
                    error: None,
                    report: None,
                    ..
                }
            )
        };
        let delivered: Vec<usize> = (0..batch.len()).filter(|&i| plain(&batch[i])).collect();
        let finished = self
            .finish_delivered(delivered.iter().map(|&i| (&batch[i].job, &batch[i].lease)))
            .await?;
        let mut advance: Vec<(RecipientState, Vec<&str>)> = Vec::new();
        for &i in &delivered {
            let o = &batch[i];
            if !finished.contains(&o.job) {
                continue;
            }
            held[i] = true;
            if let Outcome::Finish {
                recipient: Some((id, state)),
                ..
            } = &o.outcome
            {
                match advance.iter_mut().find(|(s, _)| s == state) {
                    Some((_, ids)) => ids.push(id),
                    None => advance.push((*state, vec![id])),
                }
            }
            events.extend(o.events.iter().cloned());
        }
        for (state, ids) in &advance {
            self.advance_recipients(*state, ids).await?;
        }

        // The rest, one by one: failures, reports, retries.
        for (i, o) in batch.iter().enumerate() {
            if !matches!(o.outcome, Outcome::Pipeline(_)) && !plain(o) {
                held[i] = self.apply_outcome(o, now, &mut events).await?;
            }
        }
        self.insert_events(&events, now).await?;
        Ok(held)
    }

    /// The pipeline's jobs done (unless they already are, or were
    /// quarantined or deleted meanwhile): the ones this statement changed.
    /// A second run's transaction waits on the job's row (PostgreSQL) or
    /// for the one writer (SQLite), and then sees it done.
    async fn mark_done<'a>(
        &mut self,
        ids: impl Iterator<Item = &'a str>,
    ) -> Result<std::collections::HashSet<String>> {
        let ids: Vec<&str> = ids.collect();
        let mut done = std::collections::HashSet::new();
        for chunk in ids.chunks(500) {
            let sql = format!(
                "UPDATE jobs SET state = 'done', lease_until = NULL WHERE state = 'ready' AND id IN ({}) RETURNING id",
                list(1, chunk.len())
            );
            let changed: Vec<String> = on_tx!(self, |conn| {
                let mut query = sqlx::query_scalar(&sql);
                for id in chunk {
                    query = query.bind(*id);
                }
                query.fetch_all(&mut *conn).await
            })?;
            done.extend(changed);
        }
        Ok(done)
    }

    /// Delivered jobs done, each only under the claim that holds it.
    async fn finish_delivered<'a>(
        &mut self,
        jobs: impl Iterator<Item = (&'a String, &'a String)>,
    ) -> Result<std::collections::HashSet<String>> {
        let jobs: Vec<(&String, &String)> = jobs.collect();
        let mut finished = std::collections::HashSet::new();
        for chunk in jobs.chunks(500) {
            let sql = format!(
                "UPDATE jobs SET state = 'done', last_error = NULL, lease_until = NULL \
                 WHERE state = 'ready' AND (id, leased_by) IN (VALUES {}) RETURNING id",
                super::placeholders(2, chunk.len())
            );
            let changed: Vec<String> = on_tx!(self, |conn| {
                let mut query = sqlx::query_scalar(&sql);
                for (id, lease) in chunk {
                    query = query.bind(*id).bind(*lease);
                }
                query.fetch_all(&mut *conn).await
            })?;
            finished.extend(changed);
        }
        Ok(finished)
    }

    async fn advance_recipients(&mut self, state: RecipientState, ids: &[&str]) -> Result<()> {
        for chunk in ids.chunks(500) {
            let sql = format!(
                "UPDATE recipients SET state = $1 WHERE id IN ({}) AND state NOT IN ('opened', 'removed')",
                list(2, chunk.len())
            );
            on_tx!(self, |conn| {
                let mut query = sqlx::query(&sql).bind(state);
                for id in chunk {
                    query = query.bind(*id);
                }
                query.execute(&mut *conn).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    async fn update_message(&mut self, o: &PipelineOutcome, now: i64) -> Result<()> {
        let update = "UPDATE messages SET subject = $1, message_id = $2, content = $3, size = $4, protected = $5, rights = $6, \
                      template_id = $7, expires_at = $8, state = $9, protected_at = CASE WHEN $5 THEN CAST($10 AS BIGINT) ELSE NULL END WHERE id = $11";
        on_tx!(self, |conn| sqlx::query(update)
            .bind(&o.subject)
            .bind(&o.message_id)
            .bind(&o.content)
            .bind(o.size)
            .bind(o.protected)
            .bind(o.rights)
            .bind(&o.template_id)
            .bind(o.expires_at)
            .bind(&o.state)
            .bind(now)
            .bind(&o.message_row)
            .execute(&mut *conn)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    async fn insert_recipients(
        &mut self,
        copies: &[(&str, &super::NewRecipient)],
        now: i64,
    ) -> Result<()> {
        for chunk in copies.chunks(500) {
            let sql = format!(
                "INSERT INTO recipients (id, message_id, address, experience, state, token_hash, created_at) VALUES {}",
                super::placeholders(7, chunk.len())
            );
            on_tx!(self, |conn| {
                let mut query = sqlx::query(&sql);
                for (message, r) in chunk {
                    query = query
                        .bind(&r.id)
                        .bind(*message)
                        .bind(&r.address)
                        .bind(r.experience)
                        .bind(r.state)
                        .bind(&r.token_hash)
                        .bind(now);
                }
                query.execute(&mut *conn).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// New jobs, as [`INSERT_JOB`] writes one: a job already queued under
    /// the same dedupe key is not queued twice.
    async fn insert_jobs(&mut self, jobs: &[&NewJob], now: i64) -> Result<()> {
        for chunk in jobs.chunks(500) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|r| {
                    let p = |c: usize| format!("${}", r * 11 + c);
                    format!(
                        "({}, {}, {}, {}, {}, {}, {}, {}, {}, 'ready', 0, {}, {}, {})",
                        p(1),
                        p(2),
                        p(3),
                        p(4),
                        p(5),
                        p(6),
                        p(7),
                        p(8),
                        p(9),
                        p(10),
                        p(10),
                        p(11)
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO jobs (id, kind, dedupe_key, message_id, purpose, recipient_id, envelope_from, envelope_to, payload, state, attempts, run_at, created_at, give_up_at) \
                 VALUES {} ON CONFLICT (dedupe_key) DO NOTHING",
                rows.join(", ")
            );
            on_tx!(self, |conn| {
                let mut query = sqlx::query(&sql);
                for j in chunk {
                    query = bind_job!(query, j, now);
                }
                query.execute(&mut *conn).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// Writes one outcome; false (nothing written) when the job is no
    /// longer the claim's to finish.
    /// Its timeline lines are added to `events`, for the group's one
    /// insert ([`Tx::insert_events`]).
    pub async fn apply_outcome(
        &mut self,
        o: &JobOutcome,
        now: i64,
        events: &mut Vec<OutcomeEvent>,
    ) -> Result<bool> {
        let held = match &o.outcome {
            Outcome::Pipeline(p) => {
                let held = self.complete_pipeline(&o.job, p, now).await?;
                if held {
                    events.extend(p.timeline());
                }
                held
            }
            Outcome::Finish {
                state,
                error,
                report,
                recipient,
            } => {
                let held = self
                    .finish_job(
                        &o.job,
                        &o.lease,
                        state,
                        error.as_deref(),
                        report.as_ref(),
                        now,
                    )
                    .await?;
                if held && let Some((id, state)) = recipient {
                    self.advance_recipient(id, *state).await?;
                }
                held
            }
            Outcome::Retry { run_at, error } => {
                let sql = "UPDATE jobs SET run_at = $1, last_error = $2, lease_until = NULL, open_claims = 0 \
                           WHERE id = $3 AND leased_by = $4 AND state = 'ready'";
                on_tx!(self, |conn| sqlx::query(sql)
                    .bind(run_at)
                    .bind(error)
                    .bind(&o.job)
                    .bind(&o.lease)
                    .execute(&mut *conn)
                    .await
                    .map(|r| r.rows_affected()))?
                    == 1
            }
        };
        if held {
            events.extend(o.events.iter().cloned());
        }
        Ok(held)
    }

    /// Timeline lines, several per statement: in a group of outcomes they
    /// are a third of the statements, and every statement is a round trip
    /// (for SQLite, to its connection's thread) while the group holds the
    /// database's one write lock.
    pub async fn insert_events(&mut self, events: &[OutcomeEvent], now: i64) -> Result<()> {
        // Five values a line, well within both databases' limit per statement.
        for chunk in events.chunks(500) {
            let sql = format!(
                "INSERT INTO events (at, kind, message_id, recipient, detail) VALUES {}",
                super::placeholders(5, chunk.len())
            );
            on_tx!(self, |conn| {
                let mut query = sqlx::query(&sql);
                for e in chunk {
                    query = query
                        .bind(now)
                        .bind(&e.kind)
                        .bind(&e.message_id)
                        .bind(&e.recipient)
                        .bind(&e.detail);
                }
                query.execute(&mut *conn).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    async fn finish_job(
        &mut self,
        job: &str,
        lease: &str,
        state: &str,
        error: Option<&str>,
        report: Option<&NewJob>,
        now: i64,
    ) -> Result<bool> {
        let sql = "UPDATE jobs SET state = $1, last_error = $2, lease_until = NULL \
                   WHERE id = $3 AND leased_by = $4 AND state = 'ready'";
        let held = on_tx!(self, |conn| sqlx::query(sql)
            .bind(state)
            .bind(error)
            .bind(job)
            .bind(lease)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?
            == 1;
        if held && let Some(j) = report {
            on_tx!(self, |conn| bind_job!(sqlx::query(INSERT_JOB), j, now)
                .execute(&mut *conn)
                .await
                .map(|_| ()))?;
        }
        Ok(held)
    }

    async fn advance_recipient(&mut self, recipient: &str, state: RecipientState) -> Result<()> {
        on_tx!(self, |conn| sqlx::query(super::jobs::ADVANCE_RECIPIENT)
            .bind(state)
            .bind(recipient)
            .execute(&mut *conn)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The job done (unless it already is, or was quarantined or deleted
    /// meanwhile: then nothing), and what the pipeline decided (its events
    /// are the caller's to insert). On
    /// PostgreSQL a second run's transaction waits on the job's row and
    /// then sees it done; SQLite has one writer.
    async fn complete_pipeline(
        &mut self,
        job: &str,
        o: &PipelineOutcome,
        now: i64,
    ) -> Result<bool> {
        if !self.mark_done(std::iter::once(job)).await?.contains(job) {
            return Ok(false);
        }
        self.update_message(o, now).await?;
        let copies: Vec<_> = o
            .recipients
            .iter()
            .map(|r| (o.message_row.as_str(), r))
            .collect();
        self.insert_recipients(&copies, now).await?;
        self.insert_jobs(&o.jobs.iter().collect::<Vec<_>>(), now)
            .await?;
        Ok(true)
    }
}

impl Store {
    /// Several outcomes in one transaction: whether each was the claim's to
    /// write.
    pub async fn write_outcomes(&self, batch: &[Arc<JobOutcome>]) -> Result<Vec<bool>> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let held = tx.apply_outcomes(batch, now).await?;
        tx.commit().await?;
        Ok(held)
    }

    /// One outcome in a transaction of its own.
    pub async fn write_outcome(&self, o: JobOutcome) -> Result<bool> {
        Ok(self.write_outcomes(&[Arc::new(o)]).await?[0])
    }

    /// A group of outcomes, each answered on its own: one transaction for
    /// all of them, or, when the database refuses that for good (a value
    /// one of them holds that its column does not take), one each, so the
    /// one it refuses does not sink the others with it every time they
    /// are asked again. A database that is away fails them all (each
    /// worker asks again).
    pub async fn write_group(&self, batch: &[Arc<JobOutcome>]) -> Vec<Result<bool>> {
        match self.write_outcomes(batch).await {
            Ok(held) => held.into_iter().map(Ok).collect(),
            Err(e) if !e.is_transient() && batch.len() > 1 => {
                tracing::warn!(error = %e, count = batch.len(), "a group of outcomes was refused: writing them one by one");
                let mut each = Vec::with_capacity(batch.len());
                for o in batch {
                    each.push(
                        self.write_outcomes(std::slice::from_ref(o))
                            .await
                            .map(|h| h[0]),
                    );
                }
                each
            }
            // Alone, it keeps its own error: a refusal for good stays one
            // (the job fails), rather than a group's "try again".
            Err(e) if batch.len() == 1 => vec![Err(e)],
            Err(e) => {
                let cause = e.to_string();
                batch
                    .iter()
                    .map(|_| Err(StoreError::Batch(cause.clone())))
                    .collect()
            }
        }
    }
}

type Pending = (Arc<JobOutcome>, oneshot::Sender<Result<bool>>);

/// The group commit of jobs' outcomes, shared by a node's workers.
#[derive(Clone)]
pub struct Outcomes {
    tx: mpsc::Sender<Pending>,
}

const BATCH: usize = 256;

impl Outcomes {
    /// Starts the writer; it ends when every handle is dropped.
    pub fn start(store: Store) -> Outcomes {
        let (tx, mut rx) = mpsc::channel::<Pending>(4096);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                let outcomes: Vec<_> = batch.iter().map(|(o, _)| o.clone()).collect();
                let written = store.write_group(&outcomes).await;
                for ((_, reply), result) in batch.drain(..).zip(written) {
                    let _ = reply.send(result);
                }
            }
        });
        Outcomes { tx }
    }

    /// Writes the outcome with whatever else finished meanwhile; returns
    /// once it is durable: whether it was the claim's to write.
    pub async fn write(&self, outcome: Arc<JobOutcome>) -> Result<bool> {
        let stopped = || StoreError::Batch("the outcome writer has stopped".into());
        let (reply, done) = oneshot::channel();
        self.tx
            .send((outcome, reply))
            .await
            .map_err(|_| stopped())?;
        done.await.map_err(|_| stopped())?
    }
}
