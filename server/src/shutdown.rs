//! What the listeners share when the node shuts down (SIGTERM): a signal
//! that turns true once, and a bounded wait for the connections still open.
//! The HTTPS listener and the SMTP intake both stop taking connections,
//! let the ones open finish their work, and cut off what is left after
//! [`DRAIN`].

use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How long open connections may take to finish once shutdown begins.
pub const DRAIN: Duration = Duration::from_secs(30);

/// Completes when shutdown begins, or when the signal's sender is gone. The
/// watch's guard is not held across an await, which would make the task
/// that waits here not `Send`.
pub async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

/// Waits up to [`DRAIN`] for every task of `tasks` to end, then aborts the
/// rest; `what` names them in the log ("SMTP sessions", ...).
pub async fn drain<T: 'static>(tasks: &mut JoinSet<T>, what: &str) {
    tracing::info!(
        open = tasks.len(),
        "{what}: none taken any more; finishing the open ones"
    );
    let drained =
        tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(open = tasks.len(), "{what}: still open after 30 s, cut off");
        tasks.abort_all();
    }
}
