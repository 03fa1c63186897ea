use super::{Result, Store, Tx, now_ms, on_pool, on_tx};

const INSERT_EVENT: &str = "INSERT INTO events (at, kind, message_id, recipient, actor, detail) VALUES ($1, $2, $3, $4, $5, $6)";

/// One line of a message's timeline (what happened to it); changes
/// administrators make are in the audit trail (`AuditEntry`).
#[derive(Clone, Debug, Default)]
pub struct Event<'a> {
    pub kind: &'a str,
    pub message_id: Option<&'a str>,
    pub recipient: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub detail: Option<&'a str>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EventRow {
    pub at: i64,
    pub kind: String,
    pub actor: Option<String>,
    pub detail: Option<String>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MessageEventRow {
    pub at: i64,
    pub kind: String,
    pub recipient: Option<String>,
    pub actor: Option<String>,
    pub detail: Option<String>,
}

impl Store {
    pub async fn record_event(&self, event: Event<'_>) -> Result<()> {
        let sql = INSERT_EVENT;
        on_pool!(self.db(), |pool| sqlx::query(sql)
            .bind(now_ms())
            .bind(event.kind)
            .bind(event.message_id)
            .bind(event.recipient)
            .bind(event.actor)
            .bind(event.detail)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// What happened to these message rows, oldest first.
    pub async fn message_events(&self, rows: &[String]) -> Result<Vec<MessageEventRow>> {
        let mut all = Vec::new();
        let sql = "SELECT at, kind, recipient, actor, detail FROM events WHERE message_id = $1 ORDER BY at, id";
        for row in rows {
            let events: Vec<MessageEventRow> = on_pool!(self.db(), |pool| sqlx::query_as(sql)
                .bind(row)
                .fetch_all(pool)
                .await)?;
            all.extend(events);
        }
        all.sort_by_key(|e| e.at);
        Ok(all)
    }

    pub async fn events_of_kind(&self, kind: &str) -> Result<Vec<EventRow>> {
        let sql = "SELECT at, kind, actor, detail FROM events WHERE kind = $1 ORDER BY id";
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<_, EventRow>(
            sql
        )
        .bind(kind)
        .fetch_all(pool)
        .await)?)
    }

    pub async fn events_by_actor(&self, actor: &str) -> Result<Vec<EventRow>> {
        let sql = "SELECT at, kind, actor, detail FROM events WHERE actor = $1 ORDER BY id";
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<_, EventRow>(
            sql
        )
        .bind(actor)
        .fetch_all(pool)
        .await)?)
    }
}

impl Tx {
    /// A line of a message's timeline, committed with the change it tells.
    pub async fn record_event(&mut self, event: Event<'_>) -> Result<()> {
        let sql = INSERT_EVENT;
        on_tx!(self, |conn| sqlx::query(sql)
            .bind(now_ms())
            .bind(event.kind)
            .bind(event.message_id)
            .bind(event.recipient)
            .bind(event.actor)
            .bind(event.detail)
            .execute(&mut *conn)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}
