use super::{Result, Store, new_id, now_ms, on_pool};

/// A reply a recipient sent from the portal.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ReplyRow {
    /// The reservation's id: the summary is sealed to it.
    pub id: String,
    pub created_at: i64,
    pub summary: Vec<u8>,
}

impl Store {
    /// Reserves one reply of a recipient copy: refused (the oldest reply's
    /// time returned) when the copy already sent `limit` since `since_ms`.
    /// The transaction first writes the copy's row, which queues parallel
    /// replies of one copy behind each other (PostgreSQL row lock, SQLite's
    /// single writer), as `create_passcode` does: the count each sees
    /// includes every reservation committed before it.
    pub async fn reserve_reply(
        &self,
        recipient_id: &str,
        original_id: &str,
        limit: i64,
        since_ms: i64,
    ) -> Result<std::result::Result<String, Option<i64>>> {
        let lock = "UPDATE recipients SET failed_passcodes = failed_passcodes WHERE id = $1";
        let count = "SELECT COUNT(*), MIN(created_at) FROM replies WHERE recipient_id = $1 AND created_at > $2";
        let insert = "INSERT INTO replies (id, recipient_id, original_id, created_at) VALUES ($1, $2, $3, $4)";
        let id = new_id();
        Ok(on_pool!(self.db(), |pool| async {
            let mut tx = pool.begin().await?;
            sqlx::query(lock)
                .bind(recipient_id)
                .execute(&mut *tx)
                .await?;
            let (replies, oldest): (i64, Option<i64>) = sqlx::query_as(count)
                .bind(recipient_id)
                .bind(since_ms)
                .fetch_one(&mut *tx)
                .await?;
            if replies >= limit {
                tx.rollback().await?;
                return Ok(Err(oldest));
            }
            sqlx::query(insert)
                .bind(&id)
                .bind(recipient_id)
                .bind(original_id)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Ok(id.clone()))
        }
        .await)?)
    }

    /// The reservation became a stored message: linked, with its sealed
    /// summary, and the original's timeline says who replied.
    pub async fn reply_sent(
        &self,
        reservation: &str,
        reply_id: &str,
        summary: &[u8],
        original_id: &str,
        address: &str,
    ) -> Result<()> {
        let link = "UPDATE replies SET reply_id = $1, summary = $3 WHERE id = $2";
        let event =
            "INSERT INTO events (at, kind, message_id, recipient) VALUES ($1, 'replied', $2, $3)";
        on_pool!(self.db(), |pool| async {
            let mut tx = pool.begin().await?;
            sqlx::query(link)
                .bind(reply_id)
                .bind(reservation)
                .bind(summary)
                .execute(&mut *tx)
                .await?;
            sqlx::query(event)
                .bind(now_ms())
                .bind(original_id)
                .bind(address)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        }
        .await)?;
        Ok(())
    }

    /// A reservation whose reply was not stored gives its place back.
    pub async fn cancel_reply(&self, reservation: &str) -> Result<()> {
        let sql = "DELETE FROM replies WHERE id = $1 AND reply_id IS NULL";
        on_pool!(self.db(), |pool| sqlx::query(sql)
            .bind(reservation)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The replies a recipient copy sent, oldest first (at most `limit`,
    /// the newest ones).
    pub async fn replies_of(&self, recipient_id: &str, limit: i64) -> Result<Vec<ReplyRow>> {
        let sql = "SELECT id, created_at, summary FROM replies WHERE recipient_id = $1 AND summary IS NOT NULL \
                   ORDER BY created_at DESC, id DESC LIMIT $2";
        let mut rows = on_pool!(self.db(), |pool| sqlx::query_as::<_, ReplyRow>(sql)
            .bind(recipient_id)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        rows.reverse();
        Ok(rows)
    }
}
