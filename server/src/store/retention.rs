use super::{Result, Store, Tx, now_ms, on_pool, on_tx};

/// A message whose content retention deletes, and why.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PurgeRow {
    pub id: String,
    pub message_id: String,
    pub sender: String,
    pub subject: String,
    pub received_at: i64,
    /// `revoked`, `expired` or `older than the retention period`.
    pub reason: String,
}

impl Store {
    /// Messages whose content is still stored though they are revoked,
    /// expired, or were received before `received_before`; oldest first, at
    /// most `limit` after the first `offset`. A message with a job still to
    /// run (ready, or quarantined and perhaps released) is left alone: the
    /// job needs the content.
    pub async fn purge_due(
        &self,
        received_before: i64,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<PurgeRow>> {
        let sql = "SELECT m.id, m.message_id, m.sender, m.subject, m.received_at, \
                   CASE WHEN m.revoked_at IS NOT NULL THEN 'revoked' \
                        WHEN m.expires_at IS NOT NULL AND m.expires_at <= $1 THEN 'expired' \
                        ELSE 'older than the retention period' END AS reason \
                   FROM messages m WHERE m.purged_at IS NULL AND m.content IS NOT NULL \
                   AND (m.revoked_at IS NOT NULL OR (m.expires_at IS NOT NULL AND m.expires_at <= $1) OR m.received_at < $2) \
                   AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.message_id = m.id AND j.state IN ('ready', 'quarantined')) \
                   ORDER BY m.received_at, m.id LIMIT $3 OFFSET $4";
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<_, PurgeRow>(
            sql
        )
        .bind(now_ms())
        .bind(received_before)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await)?)
    }
}

impl Tx {
    /// Deletes the content of these messages (the sealed MIME, the sealed
    /// copies finished jobs kept, a reply's sealed summary) and records why; the rows, their
    /// recipients and events stay. How many were deleted now.
    pub async fn purge_content(&mut self, rows: &[PurgeRow]) -> Result<u64> {
        let now = now_ms();
        let message = "UPDATE messages SET content = NULL, purged_at = $1 WHERE id = $2 AND purged_at IS NULL";
        let jobs = "UPDATE jobs SET payload = NULL WHERE message_id = $1 AND state IN ('done', 'failed', 'cancelled')";
        let replies = "UPDATE replies SET summary = NULL WHERE reply_id = $1";
        let event = "INSERT INTO events (at, kind, message_id, detail) VALUES ($1, 'content deleted', $2, $3)";
        let purged = on_tx!(self, |conn| async {
            let mut purged = 0;
            for row in rows {
                let changed = sqlx::query(message)
                    .bind(now)
                    .bind(&row.id)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                if changed == 0 {
                    continue;
                }
                purged += changed;
                sqlx::query(jobs).bind(&row.id).execute(&mut *conn).await?;
                sqlx::query(replies)
                    .bind(&row.id)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query(event)
                    .bind(now)
                    .bind(&row.id)
                    .bind(&row.reason)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok::<_, sqlx::Error>(purged)
        }
        .await)?;
        Ok(purged)
    }
}
