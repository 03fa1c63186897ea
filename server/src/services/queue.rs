//! The queue as administrators change it (`sealpost queue`, `/admin/queue`):
//! release, retry and delete, each on the message's timeline and in the
//! audit trail.

use crate::config::Settings;
use crate::domain::{Actor, JobKind};
use crate::keys::KeyMaterial;
pub use crate::queue::QueueError;
use crate::queue::{DELETED_REASON, report_for};
use crate::store::{AuditEntry, Event, JobRow, QueuedJob, Store};

/// A quarantined job goes back in the queue, as if it were new.
pub async fn release(store: &Store, actor: &Actor, id: &str) -> Result<QueuedJob, QueueError> {
    let job = store
        .queued_job(id)
        .await?
        .ok_or_else(|| QueueError::NotFound(id.to_string()))?;
    let who = actor.to_string();
    let mut tx = store.begin().await?;
    if !tx.release_job(id).await? {
        return Err(QueueError::NotQuarantined(id.to_string()));
    }
    tx.record_event(Event {
        kind: "released from quarantine",
        message_id: job.message_row.as_deref(),
        actor: Some(&who),
        ..Default::default()
    })
    .await?;
    tx.audit(AuditEntry {
        actor,
        action: "queue job released",
        target: Some(id),
        detail: job.message_id.as_deref(),
    })
    .await?;
    tx.commit().await?;
    Ok(job)
}

/// Jobs waiting for a later try are tried now: one by id, or all of them.
pub async fn retry(store: &Store, actor: &Actor, id: Option<&str>) -> Result<u64, QueueError> {
    let job = match id {
        Some(id) => Some(
            store
                .queued_job(id)
                .await?
                .filter(|j| j.state == "ready")
                .ok_or_else(|| QueueError::NotFound(id.to_string()))?,
        ),
        None => None,
    };
    let mut tx = store.begin().await?;
    let n = tx.retry_now(job.as_ref().map(|j| j.id.as_str())).await?;
    let detail = format!("{n} job(s) moved to now");
    tx.audit(AuditEntry {
        actor,
        action: "queue retried",
        target: Some(id.unwrap_or("all waiting jobs")),
        detail: Some(&detail),
    })
    .await?;
    tx.commit().await?;
    Ok(n)
}

/// Takes a ready, waiting or quarantined job out of the queue for good; an
/// internal sender is told an administrator removed the message.
pub async fn delete(
    store: &Store,
    keys: &KeyMaterial,
    settings: &Settings,
    actor: &Actor,
    id: &str,
) -> Result<QueuedJob, QueueError> {
    let found = store
        .queued_job(id)
        .await?
        .filter(|j| j.state == "ready" || j.state == "quarantined")
        .ok_or_else(|| QueueError::NotFound(id.to_string()))?;
    let job = JobRow {
        id: found.id.clone(),
        // A kind this version does not run is reported on as the
        // pipeline's: from the message's row, not a queued mail.
        kind: JobKind::parse(&found.kind).unwrap_or(JobKind::Pipeline),
        message_id: found.message_row.clone(),
        purpose: found.purpose.clone(),
        recipient_id: None,
        envelope_from: found.sender.clone(),
        envelope_to: found.envelope_to.clone(),
        payload: None,
        attempts: found.attempts,
        run_at: found.run_at,
        give_up_at: found.give_up_at,
        leased_by: None,
    };
    let report = report_for(store, keys, settings, &job, "deleted", DELETED_REASON).await?;
    let who = actor.to_string();
    let reason = format!("deleted by {who}");
    let mut tx = store.begin().await?;
    if !tx.delete_job(id, &reason, report.as_ref()).await? {
        return Err(QueueError::NotFound(id.to_string()));
    }
    tx.record_event(Event {
        kind: "deleted from the queue",
        message_id: found.message_row.as_deref(),
        actor: Some(&who),
        ..Default::default()
    })
    .await?;
    tx.audit(AuditEntry {
        actor,
        action: "queue job deleted",
        target: Some(id),
        detail: found.message_id.as_deref(),
    })
    .await?;
    tx.commit().await?;
    Ok(found)
}
