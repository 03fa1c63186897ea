use super::{NewJob, Result, Store, now_ms, on_pool};

/// A link-based recipient copy with its message and branding: everything a
/// portal request needs, read in one query.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PortalRow {
    pub recipient_id: String,
    pub address: String,
    pub message_row: String,
    pub sender: String,
    pub subject: String,
    pub received_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// This recipient's access was removed (the others may still read).
    pub removed: bool,
    /// Retention deleted the content.
    pub purged: bool,
    pub rights: Option<crate::domain::Rights>,
    pub failed_passcodes: i64,
    pub passcode_locked_until: Option<i64>,
    pub template_id: String,
    pub has_logo: bool,
    pub template_name: String,
    pub background_color: Option<String>,
    pub portal_text: Option<String>,
    pub disclaimer_text: Option<String>,
    pub otp_enabled: bool,
    pub social_enabled: bool,
    pub privacy_statement_url: Option<String>,
    /// Replies this copy sent that the page lists (most copies: none, and
    /// the page then reads nothing more).
    pub replies: i64,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PasscodeRow {
    pub id: String,
    pub code_mac: Vec<u8>,
    pub reference: String,
    pub expires_at: i64,
    pub attempts: i64,
    pub used_at: Option<i64>,
    pub invalidated: bool,
}

pub struct NewPasscode<'a> {
    pub id: &'a str,
    pub recipient_id: &'a str,
    pub code_mac: &'a [u8],
    pub reference: &'a str,
    pub expires_at: i64,
}

/// The link's row, with the visitor's session record read by the same
/// statement.
#[derive(sqlx::FromRow)]
struct WithSession {
    #[sqlx(flatten)]
    row: PortalRow,
    session_data: Option<Vec<u8>>,
}

const PORTAL_COLUMNS: &str = "r.id AS recipient_id, r.address, m.id AS message_row, m.sender, m.subject, m.received_at, \
                   m.expires_at, m.revoked_at, (r.state = 'removed') AS removed, (m.purged_at IS NOT NULL) AS purged, m.rights, r.failed_passcodes, r.passcode_locked_until, t.id AS template_id, (t.logo IS NOT NULL) AS has_logo, t.name AS template_name, \
                   t.background_color, t.portal_text, t.disclaimer_text, t.otp_enabled, t.social_enabled, t.privacy_statement_url, \
                   (SELECT COUNT(*) FROM replies p WHERE p.recipient_id = r.id AND p.summary IS NOT NULL) AS replies \
                   FROM recipients r JOIN messages m ON m.id = r.message_id JOIN templates t ON t.id = m.template_id \
                   WHERE r.token_hash = $1 AND r.experience = 'link'";

impl Store {
    pub async fn portal_by_token_hash(&self, token_hash: &[u8]) -> Result<Option<PortalRow>> {
        let sql = format!("SELECT {PORTAL_COLUMNS}");
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<_, PortalRow>(
            &sql
        )
        .bind(token_hash)
        .fetch_optional(pool)
        .await)?)
    }

    /// The message page's one query: the link's row (revocation, removal,
    /// expiry, branding) and, in the same statement, the visitor's session
    /// record as tower-sessions stores it, so that a page view is one round
    /// trip to the database. The session subquery is tower-sessions-sqlx-store's
    /// own `load` (its table, its expiry test); its bytes are decoded by
    /// [`crate::auth::session_store`].
    pub async fn portal_with_session(
        &self,
        token_hash: &[u8],
        session_id: &str,
    ) -> Result<Option<(PortalRow, Option<Vec<u8>>)>> {
        let table = match self.db() {
            super::Db::Sqlite(_) => "tower_sessions",
            super::Db::Postgres(_) => "\"tower_sessions\".\"session\"",
        };
        let sql = format!(
            "SELECT (SELECT s.data FROM {table} s WHERE s.id = $2 AND s.expiry_date > $3) AS session_data, \
             {PORTAL_COLUMNS}"
        );
        let now = time::OffsetDateTime::now_utc();
        let found = on_pool!(self.db(), |pool| sqlx::query_as::<_, WithSession>(&sql)
            .bind(token_hash)
            .bind(session_id)
            .bind(now)
            .fetch_optional(pool)
            .await)?;
        Ok(found.map(|w| (w.row, w.session_data)))
    }

    /// The sealed message, read only when a page or download needs it.
    pub async fn message_content(&self, message_row: &str) -> Result<Option<Vec<u8>>> {
        let sql = "SELECT content FROM messages WHERE id = $1";
        let row: Option<(Option<Vec<u8>>,)> = on_pool!(self.db(), |pool| sqlx::query_as(sql)
            .bind(message_row)
            .fetch_optional(pool)
            .await)?;
        Ok(row.and_then(|(content,)| content))
    }

    /// The code and the mail that carries it, in one transaction; earlier
    /// codes of the copy stop working. Refused (the oldest code's time
    /// returned) when the copy already had `max_codes` codes since
    /// `since_ms`: the transaction first writes the copy's row, which
    /// queues parallel requests for one copy behind each other (PostgreSQL
    /// row lock, SQLite's single writer), so the count they see includes
    /// every code committed before them.
    pub async fn create_passcode(
        &self,
        p: NewPasscode<'_>,
        mail: &NewJob,
        max_codes: i64,
        since_ms: i64,
    ) -> Result<std::result::Result<(), Option<i64>>> {
        let now = now_ms();
        let lock = "UPDATE recipients SET failed_passcodes = failed_passcodes WHERE id = $1";
        let count = "SELECT COUNT(*), MIN(created_at) FROM passcodes WHERE recipient_id = $1 AND created_at > $2";
        let retire =
            "UPDATE passcodes SET invalidated = TRUE WHERE recipient_id = $1 AND used_at IS NULL";
        let insert = "INSERT INTO passcodes (id, recipient_id, code_mac, reference, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)";
        let event = "INSERT INTO events (at, kind, message_id, recipient, detail) \
                     SELECT $1, 'passcode sent', message_id, address, $2 FROM recipients WHERE id = $3";
        Ok(on_pool!(self.db(), |pool| async {
            let mut tx = pool.begin().await?;
            sqlx::query(lock)
                .bind(p.recipient_id)
                .execute(&mut *tx)
                .await?;
            let (codes, oldest): (i64, Option<i64>) = sqlx::query_as(count)
                .bind(p.recipient_id)
                .bind(since_ms)
                .fetch_one(&mut *tx)
                .await?;
            if codes >= max_codes {
                tx.rollback().await?;
                return Ok(Err(oldest));
            }
            sqlx::query(retire)
                .bind(p.recipient_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(insert)
                .bind(p.id)
                .bind(p.recipient_id)
                .bind(p.code_mac)
                .bind(p.reference)
                .bind(now)
                .bind(p.expires_at)
                .execute(&mut *tx)
                .await?;
            super::messages::bind_job!(sqlx::query(super::messages::INSERT_JOB), mail, now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(event)
                .bind(now)
                .bind(format!("reference {}", p.reference))
                .bind(p.recipient_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Ok(()))
        }
        .await)?)
    }

    pub async fn latest_passcode(&self, recipient_id: &str) -> Result<Option<PasscodeRow>> {
        let sql = "SELECT id, code_mac, reference, expires_at, attempts, used_at, invalidated FROM passcodes \
                   WHERE recipient_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1";
        Ok(on_pool!(self.db(), |pool| {
            sqlx::query_as::<_, PasscodeRow>(sql)
                .bind(recipient_id)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// Reserves one try of a code before it is checked: the code's tries
    /// go up by one unless it is spent, invalidated or out of tries. The
    /// tries so far, None when refused.
    pub async fn reserve_passcode_try(
        &self,
        passcode_id: &str,
        max_tries: i64,
    ) -> Result<Option<i64>> {
        let sql = "UPDATE passcodes SET attempts = attempts + 1 \
                   WHERE id = $1 AND attempts < $2 AND used_at IS NULL AND NOT invalidated RETURNING attempts";
        Ok(on_pool!(self.db(), |pool| sqlx::query_scalar::<_, i64>(sql)
            .bind(passcode_id)
            .bind(max_tries)
            // To the statement's end, so its commit's error is seen (claim_job).
            .fetch_all(pool)
            .await)?
        .pop())
    }

    /// A reserved try was wrong: the code is invalidated at its last try,
    /// and the copy counts the failure.
    pub async fn passcode_failed(
        &self,
        passcode_id: &str,
        recipient_id: &str,
        max_tries: i64,
    ) -> Result<i64> {
        let code = "UPDATE passcodes SET invalidated = (attempts >= $2) OR invalidated \
                    WHERE id = $1 RETURNING attempts";
        // 30 wrong codes in all lock passcode sign-in for the copy for 24 hours.
        let copy = "UPDATE recipients SET failed_passcodes = failed_passcodes + 1, passcode_locked_until = \
                    CASE WHEN failed_passcodes + 1 >= 30 THEN $2 ELSE passcode_locked_until END WHERE id = $1";
        // The copy's row first, as create_passcode takes it: one order of
        // locks, so the two cannot deadlock on PostgreSQL.
        let attempts = on_pool!(self.db(), |pool| async {
            let mut tx = pool.begin().await?;
            sqlx::query(copy)
                .bind(recipient_id)
                .bind(now_ms() + 24 * 3_600_000)
                .execute(&mut *tx)
                .await?;
            let attempts: i64 = sqlx::query_scalar(code)
                .bind(passcode_id)
                .bind(max_tries)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(attempts)
        }
        .await)?;
        Ok(attempts)
    }

    /// Deletes codes made before `before_ms` (they live 10 minutes, and
    /// their limits count only the last 15).
    pub async fn prune_passcodes(&self, before_ms: i64) -> Result<u64> {
        let sql = "DELETE FROM passcodes WHERE created_at < $1";
        Ok(on_pool!(self.db(), |pool| sqlx::query(sql)
            .bind(before_ms)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?)
    }

    /// Spends a code: true for exactly one caller, however many race.
    pub async fn use_passcode(&self, passcode_id: &str) -> Result<bool> {
        let sql = "UPDATE passcodes SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND NOT invalidated AND expires_at > $1";
        let n = on_pool!(self.db(), |pool| sqlx::query(sql)
            .bind(now_ms())
            .bind(passcode_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    pub async fn record_message_event(
        &self,
        message_row: &str,
        recipient: &str,
        kind: &str,
    ) -> Result<()> {
        self.record_event(super::Event {
            kind,
            message_id: Some(message_row),
            recipient: Some(recipient),
            ..Default::default()
        })
        .await
    }
}
