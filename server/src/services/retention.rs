//! Retention (`SEALPOST_RETENTION`): the content of messages revoked,
//! expired or older than the period is deleted; their rows, recipients and
//! events stay for the report. The background task and `sealpost purge`
//! both come here.

use crate::domain::Actor;
use crate::store::{AuditEntry, PurgeRow, Store, StoreError, now_ms};

/// Messages purged per transaction: a long backlog goes in steps, and
/// never holds the database's write lock for long.
pub const BATCH: i64 = 200;

/// What retention deletes now (`limit` after the first `offset`, oldest
/// first); nothing when no retention period is set.
pub async fn due(
    store: &Store,
    retention_ms: Option<i64>,
    offset: i64,
    limit: i64,
) -> Result<Vec<PurgeRow>, StoreError> {
    match retention_ms {
        None => Ok(Vec::new()),
        Some(period) => store.purge_due(now_ms() - period, offset, limit).await,
    }
}

/// Deletes the content of `rows`. An administrator's purge (`actor`) is in
/// the audit trail, in the same transaction; the background task's is in
/// each message's events. How many were deleted now.
pub async fn purge(
    store: &Store,
    actor: Option<&Actor>,
    rows: &[PurgeRow],
) -> Result<u64, StoreError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut tx = store.begin().await?;
    let purged = tx.purge_content(rows).await?;
    if let Some(actor) = actor {
        let detail = format!("the content of {purged} message(s)");
        tx.audit(AuditEntry {
            actor,
            action: "content purged",
            target: None,
            detail: Some(&detail),
        })
        .await?;
    }
    tx.commit().await?;
    Ok(purged)
}

/// One background round: every message due, in batches.
pub async fn run_once(store: &Store, retention_ms: Option<i64>) -> Result<u64, StoreError> {
    let mut total = 0;
    loop {
        let rows = due(store, retention_ms, 0, BATCH).await?;
        let purged = purge(store, None, &rows).await?;
        total += purged;
        if (rows.len() as i64) < BATCH || purged == 0 {
            return Ok(total);
        }
    }
}
