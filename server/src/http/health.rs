use super::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

/// `{"status","version","database","relay","queue"}`; 503 when the
/// database is unreachable. `queue` is `{ready, oldest_ready_secs}`: the
/// jobs due now (pipeline and outbound) and how long the oldest has waited,
/// read in the one query that also proves the database answers.
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let queue =
        match tokio::time::timeout(std::time::Duration::from_secs(5), state.store.ready_jobs())
            .await
        {
            Ok(Ok(ready)) => Some(ready),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "health check: database unreachable");
                None
            }
            Err(_) => {
                tracing::warn!("health check: database did not answer within 5 s");
                None
            }
        };
    let database_ok = queue.is_some();
    let relay = match &state.settings.relay_url {
        Some(url) => url.display_safe(),
        None => "none (local outbox)".to_string(),
    };
    let now = crate::store::now_ms();
    let body = json!({
        "status": if database_ok { "ok" } else { "degraded" },
        "version": env!("CARGO_PKG_VERSION"),
        "database": if database_ok { "ok" } else { "unreachable" },
        "relay": relay,
        "queue": queue.map(|(ready, oldest)| json!({
            "ready": ready,
            "oldest_ready_secs": oldest.map_or(0, |at| (now - at).max(0) / 1000),
        })),
    });
    let status = if database_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}
