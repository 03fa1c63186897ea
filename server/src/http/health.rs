use super::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

/// `{"status","version","database","relay"}`; 503 when the database is unreachable.
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let database_ok =
        match tokio::time::timeout(std::time::Duration::from_secs(5), state.store.ping()).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "health check: database unreachable");
                false
            }
            Err(_) => {
                tracing::warn!("health check: database did not answer within 5 s");
                false
            }
        };
    let relay = match &state.settings.relay_url {
        Some(url) => url.display_safe(),
        None => "none (local outbox)".to_string(),
    };
    let body = json!({
        "status": if database_ok { "ok" } else { "degraded" },
        "version": env!("CARGO_PKG_VERSION"),
        "database": if database_ok { "ok" } else { "unreachable" },
        "relay": relay,
    });
    let status = if database_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}
