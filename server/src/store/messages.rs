use super::{Result, Store, StoreError, now_ms, on_pool};

/// A message as the intake stores it, before the pipeline ran.
#[derive(Clone, Debug)]
pub struct AcceptedMessage {
    pub id: String,
    pub message_id: String,
    pub sender: String,
    pub subject: String,
    pub source: &'static str,
    pub envelope: String,
    pub envelope_digest: Vec<u8>,
    /// Sealed, bound to `id`.
    pub content: Vec<u8>,
    pub size: i64,
    /// When its outgoing mail stops being retried.
    pub give_up_at: i64,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MessageRow {
    pub id: String,
    pub message_id: String,
    pub sender: String,
    pub subject: String,
    pub envelope: String,
    pub content: Option<Vec<u8>>,
    pub protected: bool,
    pub rights: Option<crate::domain::Rights>,
    pub template_id: Option<String>,
    pub received_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// What the pipeline decided for a message, written in one transaction
/// with the completion of its job, so a job that runs again changes nothing.
pub struct PipelineOutcome {
    pub message_row: String,
    pub subject: String,
    pub message_id: String,
    pub content: Vec<u8>,
    pub size: i64,
    pub protected: bool,
    pub rights: Option<crate::domain::Rights>,
    pub template_id: Option<String>,
    pub expires_at: Option<i64>,
    pub state: String,
    pub recipients: Vec<NewRecipient>,
    pub jobs: Vec<NewJob>,
    pub events: Vec<(String, Option<String>, String)>,
}

pub struct NewRecipient {
    pub id: String,
    pub address: String,
    pub experience: crate::domain::Experience,
    pub state: crate::domain::RecipientState,
    pub token_hash: Option<Vec<u8>>,
}

pub struct NewJob {
    pub id: String,
    pub kind: crate::domain::JobKind,
    pub dedupe_key: String,
    pub message_id: Option<String>,
    pub purpose: &'static str,
    pub recipient_id: Option<String>,
    pub envelope_from: String,
    pub envelope_to: Vec<String>,
    /// Sealed, bound to the job id.
    pub payload: Vec<u8>,
    pub give_up_at: i64,
}

pub(crate) const INSERT_JOB: &str = "INSERT INTO jobs (id, kind, dedupe_key, message_id, purpose, recipient_id, envelope_from, envelope_to, payload, state, attempts, run_at, created_at, give_up_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'ready', 0, $10, $10, $11) ON CONFLICT (dedupe_key) DO NOTHING";

/// Binds a [`NewJob`] to [`INSERT_JOB`]; a macro so one binding list serves
/// both drivers, in and out of transactions.
macro_rules! bind_job {
    ($query:expr, $job:expr, $now:expr) => {
        $query
            .bind(&$job.id)
            .bind($job.kind)
            .bind(&$job.dedupe_key)
            .bind(&$job.message_id)
            .bind($job.purpose)
            .bind(&$job.recipient_id)
            .bind(&$job.envelope_from)
            .bind(serde_json::to_string(&$job.envelope_to).expect("a list of strings serialises"))
            .bind(&$job.payload)
            .bind($now)
            .bind($job.give_up_at)
    };
}
pub(crate) use bind_job;

const MESSAGE_COLUMNS: &str = "id, message_id, sender, subject, envelope, content, protected, rights, template_id, received_at, expires_at, revoked_at";

impl Store {
    /// Stores incoming messages, each with its pipeline job and event, in
    /// one transaction (one disk flush for the whole batch: group commit).
    /// Returns, in order, the id each is stored under: its own, or that of
    /// an earlier identical transaction (same envelope digest).
    pub async fn accept_messages(&self, batch: &[AcceptedMessage]) -> Result<Vec<String>> {
        let now = now_ms();
        // A few statements for the whole batch, each of many rows: every
        // statement is a round trip (for SQLite, to its connection's thread)
        // while the batch holds the database's one write lock.
        let _turn = self.write_turn().await;
        let inserted: std::collections::HashSet<String> = on_pool!(self.db(), |pool| {
            async {
            let mut tx = pool.begin().await?;
            let mut inserted = std::collections::HashSet::new();
            for chunk in batch.chunks(100) {
                let sql = format!(
                    "INSERT INTO messages (id, message_id, sender, subject, source, envelope, envelope_digest, content, size, received_at, state) \
                     VALUES {} ON CONFLICT (envelope_digest) DO NOTHING RETURNING id",
                    super::placeholders(11, chunk.len())
                );
                let mut query = sqlx::query_scalar::<_, String>(&sql);
                for m in chunk {
                    query = query
                        .bind(&m.id)
                        .bind(&m.message_id)
                        .bind(&m.sender)
                        .bind(&m.subject)
                        .bind(m.source)
                        .bind(&m.envelope)
                        .bind(&m.envelope_digest)
                        .bind(&m.content)
                        .bind(m.size)
                        .bind(now)
                        .bind("received");
                }
                let new: Vec<String> = query.fetch_all(&mut *tx).await?;
                let new: Vec<&AcceptedMessage> =
                    chunk.iter().filter(|m| new.contains(&m.id)).collect();
                if !new.is_empty() {
                    let jobs = format!(
                        "INSERT INTO jobs (id, kind, dedupe_key, message_id, purpose, state, attempts, run_at, created_at, give_up_at) \
                         VALUES {}",
                        super::placeholders(10, new.len())
                    );
                    let mut query = sqlx::query(&jobs);
                    for m in &new {
                        query = query
                            .bind(super::new_id())
                            .bind("pipeline")
                            .bind(format!("pipeline:{}", m.id))
                            .bind(&m.id)
                            .bind("pipeline")
                            .bind("ready")
                            .bind(0i64)
                            .bind(now)
                            .bind(now)
                            .bind(m.give_up_at);
                    }
                    query.execute(&mut *tx).await?;
                    let events = format!(
                        "INSERT INTO events (at, kind, message_id, detail) VALUES {}",
                        super::placeholders(4, new.len())
                    );
                    let mut query = sqlx::query(&events);
                    for m in &new {
                        let sender = if m.sender.is_empty() {
                            "<>"
                        } else {
                            m.sender.as_str()
                        };
                        query = query
                            .bind(now)
                            .bind("received")
                            .bind(&m.id)
                            .bind(format!("from {sender} via {}", m.source));
                    }
                    query.execute(&mut *tx).await?;
                }
                inserted.extend(new.into_iter().map(|m| m.id.clone()));
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(inserted)
        }
        .await
        })?;
        let inserted: Vec<bool> = batch.iter().map(|m| inserted.contains(&m.id)).collect();
        let mut ids = Vec::with_capacity(batch.len());
        for (m, new) in batch.iter().zip(inserted) {
            if new {
                ids.push(m.id.clone());
                continue;
            }
            let sql = "SELECT id FROM messages WHERE envelope_digest = $1";
            let existing = on_pool!(self.db(), |pool| sqlx::query_scalar::<_, String>(sql)
                .bind(&m.envelope_digest)
                .fetch_optional(pool)
                .await)?;
            ids.push(existing.ok_or(StoreError::Query(sqlx::Error::RowNotFound))?);
        }
        Ok(ids)
    }

    pub async fn message(&self, id: &str) -> Result<Option<MessageRow>> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1");
        Ok(on_pool!(self.db(), |pool| {
            sqlx::query_as::<_, MessageRow>(&sql)
                .bind(id)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// Applies the pipeline's outcome and completes its job, atomically;
    /// false (and nothing written) when the job is no longer waiting for
    /// it. The job's row is claimed first: a second run of the same job
    /// (its lease ran out while the first was still working) or a run of a
    /// job quarantined or deleted meanwhile then writes nothing, instead of
    /// a second set of copies and notifications. On PostgreSQL the second
    /// transaction waits on the row and then sees it done; SQLite has one
    /// writer.
    pub async fn complete_pipeline(&self, job_id: &str, o: PipelineOutcome) -> Result<bool> {
        self.write_outcome(super::JobOutcome {
            job: job_id.to_string(),
            lease: String::new(),
            outcome: super::Outcome::Pipeline(o),
            events: Vec::new(),
        })
        .await
    }
}

/// A message protected outside the gateway (`sealpost protect`), recorded
/// as if it had been sent through it.
pub struct ProtectedRecord<'a> {
    pub id: &'a str,
    pub message_id: &'a str,
    pub sender: &'a str,
    pub subject: &'a str,
    /// The original, sealed with the keyring and bound to `id`.
    pub content: &'a [u8],
    pub size: i64,
    pub rights: crate::domain::Rights,
    pub template_id: &'a str,
    pub expires_at: Option<i64>,
    pub recipients: &'a [String],
}

impl Store {
    /// The message, its recipients (inline copies: they get the protected
    /// message itself) and its events, in one transaction.
    pub async fn record_protected(&self, m: &ProtectedRecord<'_>) -> Result<()> {
        let now = now_ms();
        let message = "INSERT INTO messages (id, message_id, sender, subject, source, envelope, content, size, protected, rights, \
                       template_id, state, received_at, protected_at, expires_at) \
                       VALUES ($1, $2, $3, $4, 'protect', $5, $6, $7, TRUE, $8, $9, 'protected', $10, $10, $11)";
        let recipient = "INSERT INTO recipients (id, message_id, address, experience, state, created_at) \
                         VALUES ($1, $2, $3, 'inline', 'protected', $4)";
        let event = "INSERT INTO events (at, kind, message_id, actor, detail) VALUES ($1, 'protected', $2, 'command line', $3)";
        let envelope = serde_json::json!({ "from": m.sender, "to": m.recipients }).to_string();
        on_pool!(self.db(), |pool| async {
            let mut tx = pool.begin().await?;
            sqlx::query(message)
                .bind(m.id)
                .bind(m.message_id)
                .bind(m.sender)
                .bind(m.subject)
                .bind(&envelope)
                .bind(m.content)
                .bind(m.size)
                .bind(m.rights)
                .bind(m.template_id)
                .bind(now)
                .bind(m.expires_at)
                .execute(&mut *tx)
                .await?;
            for address in m.recipients {
                sqlx::query(recipient)
                    .bind(super::new_id())
                    .bind(m.id)
                    .bind(address)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(event)
                .bind(now)
                .bind(m.id)
                .bind(format!("{} by sealpost protect", m.rights))
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        }
        .await)?;
        Ok(())
    }
}
