//! GET /inbox/{id}/attachments/{n}: an Inbox message's attachment, only for
//! an organization user the message was delivered to inline.

use super::AppState;
use super::page_service::active_user;
use super::portal::attachment_response;
use crate::store::EventLine;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

/// Retention deleted the message's content.
const CONTENT_DELETED: &str =
    "The content of this message was deleted under the organization's retention policy.";

pub async fn download(
    State(state): State<AppState>,
    Path((id, index)): Path<(String, usize)>,
    session: Session,
) -> Response {
    let unavailable = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "Inbox attachment unavailable");
        (StatusCode::SERVICE_UNAVAILABLE, super::UNAVAILABLE).into_response()
    };
    let user = match active_user(&state, &session).await {
        Ok(Some(user)) => user,
        Ok(None) => return super::see_other("/login"),
        Err(e) => return unavailable(&e),
    };
    let row = match state.store.inbox(&user.email, Some(&id)).await {
        Ok(mut rows) => rows.pop(),
        Err(e) => return unavailable(&e),
    };
    // Someone else's message is simply not there.
    let Some(row) = row else {
        return (
            StatusCode::NOT_FOUND,
            "There is no such message in your Inbox.",
        )
            .into_response();
    };
    let raw = match crate::portal::open_message(&state.store, &state.keys.keyring, &row.id).await {
        Ok(raw) => raw,
        Err(crate::portal::OpenError::NoContent) => {
            return (StatusCode::GONE, CONTENT_DELETED).into_response();
        }
        Err(e) => return unavailable(&e),
    };
    let Some((name, content_type, bytes)) = crate::portal::attachment(&raw, index) else {
        return (StatusCode::NOT_FOUND, "There is no such attachment.").into_response();
    };
    let downloaded = EventLine {
        kind: "attachment downloaded from Inbox".into(),
        message_id: Some(row.id.clone()),
        recipient: Some(user.email.clone()),
    };
    if let Err(e) = state.event_log.record(downloaded).await {
        tracing::warn!(error = %e, "a download was not recorded");
    }
    attachment_response(&name, &content_type, bytes)
}
