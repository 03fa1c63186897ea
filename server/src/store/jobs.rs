use super::{Db, Result, Store, Tx, now_ms, on_pool, on_tx};
use crate::domain::JobKind;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct JobRow {
    pub id: String,
    pub kind: JobKind,
    pub message_id: Option<String>,
    pub purpose: Option<String>,
    pub recipient_id: Option<String>,
    pub envelope_from: Option<String>,
    pub envelope_to: Option<String>,
    pub payload: Option<Vec<u8>>,
    pub attempts: i64,
    pub run_at: i64,
    pub give_up_at: i64,
    /// The worker that claimed it: only that worker writes its outcome.
    pub leased_by: Option<String>,
}

/// Moves a recipient's copy on; opened is as far as a copy goes, and
/// removed is final.
pub(super) const ADVANCE_RECIPIENT: &str =
    "UPDATE recipients SET state = $1 WHERE id = $2 AND state NOT IN ('opened', 'removed')";

const JOB_COLUMNS: &str = "id, kind, message_id, purpose, recipient_id, envelope_from, envelope_to, payload, attempts, run_at, give_up_at, leased_by";

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: String,
    pub envelope_from: String,
    pub envelope_to: String,
    pub subject: String,
    pub content: Vec<u8>,
    pub created_at: i64,
}

/// A job claimed this many times without its worker ever finishing a run
/// (each time the worker or its node died) is quarantined: taken out of the
/// queue until an administrator releases or deletes it.
pub const MAX_OPEN_CLAIMS: i64 = 5;

/// A job as `sealpost queue list` and `/admin/queue` show it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct QueuedJob {
    pub id: String,
    /// As stored: a kind this version does not run (another version's)
    /// is still listed, and can still be deleted.
    pub kind: String,
    pub state: String,
    pub purpose: Option<String>,
    pub message_row: Option<String>,
    /// The RFC 5322 Message-ID of its message.
    pub message_id: Option<String>,
    pub sender: Option<String>,
    pub envelope_to: Option<String>,
    pub attempts: i64,
    pub open_claims: i64,
    pub run_at: i64,
    pub created_at: i64,
    pub give_up_at: i64,
    pub last_error: Option<String>,
}

/// Which jobs a listing shows.
#[derive(Clone, Copy, Debug, Default)]
pub struct QueueFilter<'a> {
    pub kind: Option<JobKind>,
    /// `ready` (due now), `waiting` (a later try) or `quarantined`.
    pub state: Option<&'a str>,
}

/// The queue's backoff: `first` before the second try, doubling per try,
/// at most an hour. Outgoing mail and deferred pipeline jobs share it.
pub fn retry_delay(first: std::time::Duration, attempts: i64) -> std::time::Duration {
    first
        .saturating_mul(1 << (attempts.clamp(1, 12) - 1) as u32)
        .min(std::time::Duration::from_secs(3600))
}

impl Store {
    /// Leases up to `limit` ready jobs of `kind` at once, oldest first, under
    /// one claim: one durable write however many jobs it takes. A lease that
    /// expires (the node died) makes a job claimable again. PostgreSQL nodes
    /// skip rows another node is claiming (`FOR UPDATE SKIP LOCKED`), so two
    /// nodes claiming at once take different jobs instead of waiting on each
    /// other; SQLite has a single writer, so the UPDATE is the claim.
    ///
    /// With `suspect`, it leases one job whose earlier claim never finished
    /// (its worker or node died), and no other: see [`crate::queue::serve`].
    ///
    /// `claim` names this claim alone (a worker's name and a counter): an
    /// outcome is written only under the claim that holds the job, so a run
    /// whose lease ran out cannot finish the job a later claim took, even
    /// on the same node.
    ///
    /// Every `... RETURNING` outside a transaction is read with `fetch_all`:
    /// SQLite commits such a statement when it runs to its end, and sqlx's
    /// `fetch_optional` stops at the first row and resets the statement,
    /// which drops the commit's error. On a full disk the claim was then
    /// rolled back while its worker went on, and every worker took the same
    /// job (one mail sent four times).
    pub async fn claim_jobs(
        &self,
        kind: JobKind,
        claim: &str,
        lease_ms: i64,
        limit: usize,
        suspect: bool,
    ) -> Result<Vec<JobRow>> {
        let now = now_ms();
        // A job claimed before whose run never finished (its node died)
        // is claimed alone (`suspect`), never in a batch: a message that
        // kills the process must not take the jobs claimed with it to
        // quarantine, claim after claim.
        let (suspect, limit) = match suspect {
            true => ("open_claims > 0", 1),
            false => ("open_claims = 0", limit.clamp(1, 1000)),
        };
        let pick = format!(
            "SELECT id AS pick FROM jobs WHERE kind = $1 AND state = 'ready' AND run_at <= $2 \
             AND (lease_until IS NULL OR lease_until < $2) AND {suspect} AND open_claims < $5 \
             ORDER BY run_at LIMIT $6"
        );
        let set = "lease_until = $3, leased_by = $4, attempts = attempts + 1, open_claims = open_claims + 1";
        let sql = match self.db() {
            // Materialized: a subquery in `WHERE id IN (...)` may be run
            // again by the planner, skipping the rows this statement has
            // just locked and claiming more than the limit.
            Db::Postgres(_) => format!(
                "WITH picked AS MATERIALIZED ({pick} FOR UPDATE SKIP LOCKED) \
                 UPDATE jobs SET {set} FROM picked WHERE jobs.id = picked.pick RETURNING {JOB_COLUMNS}"
            ),
            Db::Sqlite(_) => format!(
                "UPDATE jobs SET {set} WHERE id IN (SELECT pick FROM ({pick})) RETURNING {JOB_COLUMNS}"
            ),
        };
        macro_rules! query {
            () => {
                sqlx::query_as::<_, JobRow>(&sql)
                    .bind(kind)
                    .bind(now)
                    .bind(now + lease_ms)
                    .bind(claim)
                    .bind(MAX_OPEN_CLAIMS)
                    .bind(limit as i64)
            };
        }
        let _turn = self.write_turn().await;
        let mut jobs = on_pool!(self.db(), |pool| query!().fetch_all(pool).await)?;
        // RETURNING gives no order: oldest first, as they were picked.
        jobs.sort_by_key(|j| j.run_at);
        Ok(jobs)
    }

    /// Leases the next ready job of `kind` ([`Store::claim_jobs`] of one,
    /// a suspect when there is no other).
    pub async fn claim_job(
        &self,
        kind: JobKind,
        claim: &str,
        lease_ms: i64,
    ) -> Result<Option<JobRow>> {
        let fresh = self.claim_jobs(kind, claim, lease_ms, 1, false).await?;
        Ok(match fresh.is_empty() {
            true => self.claim_jobs(kind, claim, lease_ms, 1, true).await?.pop(),
            false => fresh.into_iter().next(),
        })
    }

    /// Keeps a running job's lease: a slow job is not a dead worker.
    pub async fn extend_lease(&self, id: &str, worker: &str, until: i64) -> Result<()> {
        let sql =
            "UPDATE jobs SET lease_until = $1 WHERE id = $2 AND leased_by = $3 AND state = 'ready'";
        let _turn = self.write_turn().await;
        on_pool!(self.db(), |pool| sqlx::query(sql)
            .bind(until)
            .bind(id)
            .bind(worker)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Ends a job this worker still holds; false (nothing written) when it
    /// no longer does: its lease ran out and another worker took the job,
    /// whose outcome is the one that counts.
    pub async fn finish_held(
        &self,
        id: &str,
        worker: &str,
        state: &'static str,
        error: Option<&str>,
    ) -> Result<bool> {
        self.write_outcome(super::JobOutcome {
            job: id.to_string(),
            lease: worker.to_string(),
            outcome: super::Outcome::Finish {
                state,
                error: error.map(str::to_string),
                report: None,
                recipient: None,
            },
            events: Vec::new(),
        })
        .await
    }

    /// Jobs due now, and when the oldest of them became due (Unix ms).
    pub async fn ready_jobs(&self) -> Result<(i64, Option<i64>)> {
        let sql = "SELECT COUNT(*), MIN(run_at) FROM jobs WHERE state = 'ready' AND run_at <= $1";
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<
            _,
            (i64, Option<i64>),
        >(sql)
        .bind(now_ms())
        .fetch_one(pool)
        .await)?)
    }

    /// The local outbox (no relay configured) keeps the mail; a job that
    /// runs again keeps it once. The job is completed as after the relay.
    pub async fn keep_in_outbox(
        &self,
        job: &JobRow,
        subject: &str,
        sealed: &[u8],
        outbox_id: &str,
    ) -> Result<()> {
        let insert = "INSERT INTO outbox (id, job_id, message_id, envelope_from, envelope_to, subject, content, created_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (job_id) DO NOTHING";
        on_pool!(self.db(), |pool| sqlx::query(insert)
            .bind(outbox_id)
            .bind(&job.id)
            .bind(&job.message_id)
            .bind(job.envelope_from.as_deref().unwrap_or_default())
            .bind(job.envelope_to.as_deref().unwrap_or("[]"))
            .bind(subject)
            .bind(sealed)
            .bind(now_ms())
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub async fn outbox(&self, limit: i64) -> Result<Vec<OutboxRow>> {
        let sql = "SELECT id, envelope_from, envelope_to, subject, content, created_at FROM outbox ORDER BY created_at DESC, id DESC LIMIT $1";
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<_, OutboxRow>(
            sql
        )
        .bind(limit)
        .fetch_all(pool)
        .await)?)
    }

    pub async fn outbox_item(&self, id: &str) -> Result<Option<OutboxRow>> {
        let sql = "SELECT id, envelope_from, envelope_to, subject, content, created_at FROM outbox WHERE id = $1";
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<_, OutboxRow>(
            sql
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?)
    }

    pub async fn outbox_job(&self, id: &str) -> Result<Option<String>> {
        let sql = "SELECT job_id FROM outbox WHERE id = $1";
        Ok(on_pool!(self.db(), |pool| {
            sqlx::query_scalar::<_, String>(sql)
                .bind(id)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// Records how far a recipient got with a copy (`notified`, `code sent`,
    /// `opened`, or a delivery failure); an opened copy stays opened.
    pub async fn advance_recipient_state(
        &self,
        recipient_id: &str,
        state: crate::domain::RecipientState,
    ) -> Result<()> {
        on_pool!(self.db(), |pool| sqlx::query(ADVANCE_RECIPIENT)
            .bind(state)
            .bind(recipient_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Whether a message's link-based copies may still be opened (and so
    /// whether its pending notifications may still go out).
    pub async fn message_readable(&self, message_row: &str) -> Result<bool> {
        let sql = "SELECT COUNT(*) FROM messages WHERE id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)";
        let n = on_pool!(self.db(), |pool| sqlx::query_scalar::<_, i64>(sql)
            .bind(message_row)
            .bind(now_ms())
            .fetch_one(pool)
            .await)?;
        Ok(n == 1)
    }
}

impl Store {
    /// Queues one job on its own (e.g. a non-delivery report); a job with
    /// the same dedupe key is queued once.
    pub async fn queue_job(&self, j: &super::NewJob) -> Result<()> {
        let now = now_ms();
        on_pool!(self.db(), |pool| super::messages::bind_job!(
            sqlx::query(super::messages::INSERT_JOB),
            j,
            now
        )
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }
}

const QUEUED_COLUMNS: &str = "j.id, j.kind, j.state, j.purpose, j.message_id AS message_row, \
    m.message_id, COALESCE(m.sender, j.envelope_from) AS sender, j.envelope_to, j.attempts, \
    j.open_claims, j.run_at, j.created_at, j.give_up_at, j.last_error";

impl Store {
    /// Jobs still to run or set aside: quarantined first, then oldest
    /// first (at most `limit`).
    pub async fn queued_jobs(&self, filter: QueueFilter<'_>, limit: i64) -> Result<Vec<QueuedJob>> {
        let sql = format!(
            "SELECT {QUEUED_COLUMNS} FROM jobs j LEFT JOIN messages m ON m.id = j.message_id \
             WHERE j.state IN ('ready', 'quarantined') \
             AND ($1 = '' OR j.kind = $1) \
             AND ($2 = '' \
                  OR ($2 = 'quarantined' AND j.state = 'quarantined') \
                  OR ($2 = 'ready' AND j.state = 'ready' AND j.run_at <= $3) \
                  OR ($2 = 'waiting' AND j.state = 'ready' AND j.run_at > $3)) \
             ORDER BY CASE WHEN j.state = 'quarantined' THEN 0 ELSE 1 END, j.created_at, j.id LIMIT $4"
        );
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<_, QueuedJob>(
            &sql
        )
        .bind(filter.kind.map_or("", JobKind::as_str))
        .bind(filter.state.unwrap_or_default())
        .bind(now_ms())
        .bind(limit)
        .fetch_all(pool)
        .await)?)
    }

    /// How many jobs wait, by kind and state (`ready`: due now, `waiting`:
    /// a later try, `quarantined`), for the metrics.
    pub async fn queue_depth(&self) -> Result<Vec<(JobKind, String, i64)>> {
        let sql = "SELECT kind, CASE WHEN state = 'quarantined' THEN 'quarantined' \
                   WHEN run_at <= $1 THEN 'ready' ELSE 'waiting' END AS place, COUNT(*) \
                   FROM jobs WHERE state IN ('ready', 'quarantined') GROUP BY kind, place";
        Ok(on_pool!(self.db(), |pool| {
            sqlx::query_as::<_, (String, String, i64)>(sql)
                .bind(now_ms())
                .fetch_all(pool)
                .await
        })?
        .into_iter()
        // Kinds this version does not run are not its to count.
        .filter_map(|(kind, place, n)| Some((JobKind::parse(&kind)?, place, n)))
        .collect())
    }

    pub async fn queued_job(&self, id: &str) -> Result<Option<QueuedJob>> {
        let sql = format!(
            "SELECT {QUEUED_COLUMNS} FROM jobs j LEFT JOIN messages m ON m.id = j.message_id WHERE j.id = $1"
        );
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<_, QueuedJob>(
            &sql
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?)
    }

    /// Sets aside the jobs of `kind` whose workers died `MAX_OPEN_CLAIMS`
    /// times (the last lease has run out), and returns them. One statement:
    /// two nodes sweeping at once each get a job at most once.
    pub async fn quarantine_abandoned(&self, kind: JobKind) -> Result<Vec<JobRow>> {
        let sql = format!(
            "UPDATE jobs SET state = 'quarantined', lease_until = NULL, \
             last_error = 'claimed ' || open_claims || ' times without finishing' \
             WHERE kind = $1 AND state = 'ready' AND open_claims >= $2 \
             AND (lease_until IS NULL OR lease_until < $3) RETURNING {JOB_COLUMNS}"
        );
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<_, JobRow>(
            &sql
        )
        .bind(kind)
        .bind(MAX_OPEN_CLAIMS)
        .bind(now_ms())
        .fetch_all(pool)
        .await)?)
    }
}

/// An administrator's queue actions, in the transaction that records them.
impl Tx {
    /// A quarantined job is tried again from scratch; false when `id` is no
    /// quarantined job.
    pub async fn release_job(&mut self, id: &str) -> Result<bool> {
        let sql = "UPDATE jobs SET state = 'ready', open_claims = 0, run_at = $1, lease_until = NULL \
                   WHERE id = $2 AND state = 'quarantined'";
        let n = on_tx!(self, |conn| sqlx::query(sql)
            .bind(now_ms())
            .bind(id)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Jobs waiting for a later try run now (one, or every waiting job);
    /// how many.
    pub async fn retry_now(&mut self, id: Option<&str>) -> Result<u64> {
        let sql = "UPDATE jobs SET run_at = $1 WHERE state = 'ready' AND run_at > $1 \
                   AND ($2 = '' OR id = $2)";
        Ok(on_tx!(self, |conn| sqlx::query(sql)
            .bind(now_ms())
            .bind(id.unwrap_or_default())
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?)
    }

    /// Takes a ready or quarantined job out of the queue for good (state
    /// `cancelled`), with `report` queued in the caller's transaction; false
    /// when `id` is no such job.
    pub async fn delete_job(
        &mut self,
        id: &str,
        reason: &str,
        report: Option<&super::NewJob>,
    ) -> Result<bool> {
        let cancel = "UPDATE jobs SET state = 'cancelled', last_error = $1, lease_until = NULL \
                      WHERE id = $2 AND state IN ('ready', 'quarantined')";
        let now = now_ms();
        Ok(on_tx!(self, |conn| async {
            let n = sqlx::query(cancel)
                .bind(reason)
                .bind(id)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            if n == 1
                && let Some(j) = report
            {
                super::messages::bind_job!(sqlx::query(super::messages::INSERT_JOB), j, now)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok::<_, sqlx::Error>(n == 1)
        }
        .await)?)
    }
}
