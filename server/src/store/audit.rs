//! The audit trail: who changed what, when, and through which surface.

use super::{Result, Store, Tx, now_ms, on_pool, on_tx};
use crate::domain::{Actor, Surface};

/// One change, as the service layer records it.
#[derive(Clone, Copy, Debug)]
pub struct AuditEntry<'a> {
    pub actor: &'a Actor,
    /// What was done: "template changed", "user added", ...
    pub action: &'a str,
    /// What it was done to: a template's name, a user's email, a Message-ID.
    pub target: Option<&'a str>,
    /// What changed, in a few words (never a secret).
    pub detail: Option<&'a str>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub surface: Surface,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
}

/// Which lines `sealpost audit` and `/admin/audit` show.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// From this time on (milliseconds).
    pub since: Option<i64>,
    /// An organization user's email (their own changes and their tokens'),
    /// or an actor exactly as the trail spells it.
    pub actor: Option<String>,
    /// At most this many, the newest.
    pub limit: Option<i64>,
}

impl Tx {
    /// Writes the audit line of a change made in this transaction.
    pub async fn audit(&mut self, entry: AuditEntry<'_>) -> Result<()> {
        let sql = "INSERT INTO audit (at, actor, actor_email, surface, action, target, detail) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7)";
        let actor = entry.actor.to_string();
        let email = entry.actor.email();
        on_tx!(self, |conn| sqlx::query(sql)
            .bind(now_ms())
            .bind(&actor)
            .bind(email)
            .bind(entry.actor.surface())
            .bind(entry.action)
            .bind(entry.target)
            .bind(entry.detail)
            .execute(&mut *conn)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}

impl Store {
    /// The audit lines the filter asks for, oldest first.
    pub async fn audit_trail(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>> {
        let sql = "SELECT id, at, actor, surface, action, target, detail FROM audit \
                   WHERE at >= $1 AND ($2 = '' OR actor_email = $2 OR actor = $2) \
                   ORDER BY at DESC, id DESC LIMIT $3";
        let actor = filter.actor.as_deref().unwrap_or_default().trim();
        let actor = if actor.contains('@') && !actor.contains(' ') && !actor.contains(':') {
            actor.to_lowercase()
        } else {
            actor.to_string()
        };
        let mut rows: Vec<AuditRow> = on_pool!(self.db(), |pool| sqlx::query_as(sql)
            .bind(filter.since.unwrap_or(0))
            .bind(&actor)
            .bind(filter.limit.unwrap_or(i64::MAX))
            .fetch_all(pool)
            .await)?;
        rows.reverse();
        Ok(rows)
    }
}
