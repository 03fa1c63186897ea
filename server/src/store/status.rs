use super::{Result, Store, Tx, now_ms, on_pool, on_tx};

/// One stored row of a message with one of its recipient copies (or none).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct StatusRow {
    pub id: String,
    pub message_id: String,
    pub sender: String,
    pub subject: String,
    pub received_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub address: Option<String>,
    pub experience: Option<crate::domain::Experience>,
    pub state: Option<crate::domain::RecipientState>,
}

impl Store {
    /// Every row stored under a Message-ID (angle brackets included), with
    /// its recipients, optionally of one sender.
    pub async fn status_rows(
        &self,
        message_id: &str,
        sender: Option<&str>,
    ) -> Result<Vec<StatusRow>> {
        let sql = "SELECT m.id, m.message_id, m.sender, m.subject, m.received_at, m.expires_at, m.revoked_at, \
                   r.address, r.experience, r.state FROM messages m LEFT JOIN recipients r ON r.message_id = m.id \
                   WHERE m.message_id = $1 AND ($2 = '' OR m.sender = $2) ORDER BY m.sender, m.received_at, r.address";
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<_, StatusRow>(
            sql
        )
        .bind(message_id)
        .bind(sender.unwrap_or_default())
        .fetch_all(pool)
        .await)?)
    }
}

/// Revocation, in the transaction that records it.
impl Tx {
    /// Revokes the given rows at once and records who did it; how many
    /// were not revoked yet (0: someone else revoked them first).
    pub async fn revoke_rows(&mut self, ids: &[String], actor: &str) -> Result<u64> {
        let now = now_ms();
        let update = "UPDATE messages SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND revoked_at IS NULL";
        let event =
            "INSERT INTO events (at, kind, message_id, actor) VALUES ($1, 'revoked', $2, $3)";
        let cancel = "UPDATE jobs SET state = 'cancelled', last_error = 'message revoked' \
                      WHERE message_id = $1 AND state = 'ready' AND purpose IN ('notification', 'passcode')";
        let revoked = on_tx!(self, |conn| async {
            let mut revoked = 0;
            for id in ids {
                let changed = sqlx::query(update)
                    .bind(now)
                    .bind(actor)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                if changed == 0 {
                    continue;
                }
                revoked += changed;
                sqlx::query(event)
                    .bind(now)
                    .bind(id)
                    .bind(actor)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query(cancel).bind(id).execute(&mut *conn).await?;
            }
            Ok::<_, sqlx::Error>(revoked)
        }
        .await)?;
        Ok(revoked)
    }

    /// Removes one link-based recipient's access to the given rows and
    /// records who did it; its notification stops if it has not left.
    /// How many copies were still open (0: already removed, or not a
    /// link-based recipient of these rows).
    pub async fn remove_recipient(
        &mut self,
        ids: &[String],
        address: &str,
        actor: &str,
    ) -> Result<u64> {
        let now = now_ms();
        // Not on a message revoked since the caller looked: that is
        // revoked as a whole, and the audit line must not say otherwise.
        let update = "UPDATE recipients SET state = 'removed' WHERE message_id = $1 AND address = $2 \
                      AND experience = 'link' AND state <> 'removed' \
                      AND EXISTS (SELECT 1 FROM messages m WHERE m.id = $1 AND m.revoked_at IS NULL) RETURNING id";
        let event = "INSERT INTO events (at, kind, message_id, recipient, actor) VALUES ($1, 'access removed', $2, $3, $4)";
        // Its notification, and a passcode mail still queued (keyed
        // `<message>:passcode:<copy>:<code>`).
        let cancel = "UPDATE jobs SET state = 'cancelled', last_error = 'access removed' \
                      WHERE state = 'ready' AND ((recipient_id = $1 AND purpose = 'notification') \
                      OR (purpose = 'passcode' AND dedupe_key LIKE $2))";
        let removed = on_tx!(self, |conn| async {
            let mut removed = 0;
            for id in ids {
                let copies: Vec<String> = sqlx::query_scalar(update)
                    .bind(id)
                    .bind(address)
                    .fetch_all(&mut *conn)
                    .await?;
                for copy in &copies {
                    removed += 1;
                    sqlx::query(event)
                        .bind(now)
                        .bind(id)
                        .bind(address)
                        .bind(actor)
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query(cancel)
                        .bind(copy)
                        .bind(format!("{id}:passcode:{copy}:%"))
                        .execute(&mut *conn)
                        .await?;
                }
            }
            Ok::<_, sqlx::Error>(removed)
        }
        .await)?;
        Ok(removed)
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SentRow {
    pub id: String,
    pub message_id: String,
    pub subject: String,
    pub received_at: i64,
    pub rights: Option<crate::domain::Rights>,
    pub revoked_at: Option<i64>,
    pub expires_at: Option<i64>,
}

impl Store {
    /// A sender's protected messages, newest first; or the one with `id`.
    pub async fn sent_messages(&self, sender: &str, id: Option<&str>) -> Result<Vec<SentRow>> {
        self.sent_page(sender, id, 0, 200).await
    }

    /// `limit` of a sender's protected messages after the newest `offset`.
    pub async fn sent_page(
        &self,
        sender: &str,
        id: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<SentRow>> {
        let sql = "SELECT id, message_id, subject, received_at, rights, revoked_at, expires_at FROM messages \
                   WHERE sender = $1 AND protected AND ($2 = '' OR id = $2) ORDER BY received_at DESC, id DESC LIMIT $3 OFFSET $4";
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<_, SentRow>(
            sql
        )
        .bind(sender)
        .bind(id.unwrap_or_default())
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await)?)
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TraceRow {
    pub message_id: String,
    pub sender: String,
    pub subject: String,
    pub received_at: i64,
    pub state: String,
    pub protected: bool,
    pub revoked_at: Option<i64>,
    pub recipients: Option<String>,
}

impl Store {
    /// Messages by sender and/or recipient within a time range, newest first.
    pub async fn trace(
        &self,
        sender: Option<&str>,
        recipient: Option<&str>,
        since: i64,
        until: i64,
    ) -> Result<Vec<TraceRow>> {
        let sql = "SELECT m.message_id, m.sender, m.subject, m.received_at, m.state, m.protected, m.revoked_at, \
                   (SELECT string_agg_placeholder) AS recipients FROM messages m \
                   WHERE ($1 = '' OR m.sender = $1) AND m.received_at >= $3 AND m.received_at <= $4 \
                   AND ($2 = '' OR EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND r.address = $2) \
                        OR m.envelope LIKE '%\"' || $2 || '\"%') \
                   ORDER BY m.received_at DESC LIMIT 1000";
        let aggregate = match self.db() {
            super::Db::Sqlite(_) => {
                "SELECT group_concat(r.address, ', ') FROM recipients r WHERE r.message_id = m.id"
            }
            super::Db::Postgres(_) => {
                "SELECT string_agg(r.address, ', ') FROM recipients r WHERE r.message_id = m.id"
            }
        };
        let sql = sql.replace("SELECT string_agg_placeholder", aggregate);
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<_, TraceRow>(
            &sql
        )
        .bind(sender.unwrap_or_default())
        .bind(recipient.unwrap_or_default())
        .bind(since)
        .bind(until)
        .fetch_all(pool)
        .await)?)
    }
}

impl Store {
    /// Marks messages whose expiry has passed, records it and cancels their
    /// pending notifications and passcodes. Returns how many expired now.
    pub async fn expire_due(&self) -> Result<u64> {
        let now = now_ms();
        let due = "SELECT id FROM messages WHERE expires_at IS NOT NULL AND expires_at <= $1 \
                   AND state <> 'expired' AND revoked_at IS NULL";
        let mark = "UPDATE messages SET state = 'expired' WHERE id = $1";
        let event = "INSERT INTO events (at, kind, message_id) VALUES ($1, 'expired', $2)";
        let cancel = "UPDATE jobs SET state = 'cancelled', last_error = 'message expired' \
                      WHERE message_id = $1 AND state = 'ready' AND purpose IN ('notification', 'passcode')";
        let count = on_pool!(self.db(), |pool| async {
            let ids: Vec<String> = sqlx::query_scalar(due).bind(now).fetch_all(pool).await?;
            let mut tx = pool.begin().await?;
            for id in &ids {
                sqlx::query(mark).bind(id).execute(&mut *tx).await?;
                sqlx::query(event)
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(cancel).bind(id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(ids.len() as u64)
        }
        .await)?;
        Ok(count)
    }
}

/// An inline copy an organization user received.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct InboxRow {
    pub id: String,
    pub message_id: String,
    pub sender: String,
    pub subject: String,
    pub received_at: i64,
    pub rights: Option<crate::domain::Rights>,
    pub expires_at: Option<i64>,
}

impl Store {
    /// The protected messages delivered inline to `address` (whether or not
    /// an account existed then), newest first; or the one with `id`.
    pub async fn inbox(&self, address: &str, id: Option<&str>) -> Result<Vec<InboxRow>> {
        self.inbox_page(address, id, 0, 500).await
    }

    /// `limit` of the Inbox after the newest `offset`.
    pub async fn inbox_page(
        &self,
        address: &str,
        id: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<InboxRow>> {
        let sql = "SELECT DISTINCT m.id, m.message_id, m.sender, m.subject, m.received_at, m.rights, m.expires_at \
                   FROM messages m JOIN recipients r ON r.message_id = m.id \
                   WHERE r.address = $1 AND r.experience = 'inline' AND m.protected AND ($2 = '' OR m.id = $2) \
                   ORDER BY m.received_at DESC, m.id DESC LIMIT $3 OFFSET $4";
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<_, InboxRow>(
            sql
        )
        .bind(address)
        .bind(id.unwrap_or_default())
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await)?)
    }
}

impl Store {
    /// What became of each protected message received in `[since, until]`
    /// (of one sender, to one recipient): `revoked`, `expired`, `opened` (by
    /// any recipient) or `sent`, with when it was received; newest first,
    /// at most `limit`.
    pub async fn report_states(
        &self,
        sender: Option<&str>,
        recipient: Option<&str>,
        since: i64,
        until: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>> {
        let sql = "SELECT m.received_at, CASE WHEN m.revoked_at IS NOT NULL THEN 'revoked' \
                   WHEN m.expires_at IS NOT NULL AND m.expires_at <= $5 THEN 'expired' \
                   WHEN EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND r.state = 'opened') THEN 'opened' \
                   ELSE 'sent' END FROM messages m \
                   WHERE m.protected AND ($1 = '' OR m.sender = $1) AND m.received_at >= $3 AND m.received_at <= $4 \
                   AND ($2 = '' OR EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND r.address = $2)) \
                   ORDER BY m.received_at DESC LIMIT $6";
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<
            _,
            (i64, String),
        >(sql)
        .bind(sender.unwrap_or_default())
        .bind(recipient.unwrap_or_default())
        .bind(since)
        .bind(until)
        .bind(now_ms())
        .bind(limit)
        .fetch_all(pool)
        .await)?)
    }
}

impl Store {
    /// The link-based recipients of a message whose access was removed.
    pub async fn removed_recipients(&self, message_row: &str) -> Result<Vec<String>> {
        let sql = "SELECT address FROM recipients WHERE message_id = $1 AND state = 'removed'";
        Ok(on_pool!(self.db(), |pool| {
            sqlx::query_scalar::<_, String>(sql)
                .bind(message_row)
                .fetch_all(pool)
                .await
        })?)
    }
}
