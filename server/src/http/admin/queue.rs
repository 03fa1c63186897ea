//! The queue: release, retry or delete a job (as `sealpost queue`).

use super::super::AppState;
use super::gate::{AdminForm, back};
use crate::domain::Actor;
use crate::services;
use app::dto::Notice;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

/// POST /admin/queue: release, retry or delete a job (as `sealpost queue`).
pub async fn queue_action(
    State(state): State<AppState>,
    AdminForm {
        user,
        session,
        parts,
        fields: f,
    }: AdminForm,
) -> Response {
    let id = f.get("id").cloned().unwrap_or_default();
    let actor = Actor::User(user.email);
    let done = match f.get("action").map(String::as_str) {
        Some("release") => services::queue::release(&state.store, &actor, &id)
            .await
            .map(|_| format!("Job {id} was released from quarantine and will be tried again.")),
        Some("retry") => services::queue::retry(&state.store, &actor, Some(&id))
            .await
            .map(|_| format!("Job {id} will be tried now.")),
        Some("retry-all") => services::queue::retry(&state.store, &actor, None)
            .await
            .map(|n| format!("{n} waiting jobs will be tried now.")),
        Some("delete") => {
            services::queue::delete(&state.store, &state.keys, &state.settings, &actor, &id)
                .await
                .map(|_| format!("Job {id} was removed from the queue."))
        }
        _ => {
            return state
                .refuse(
                    parts,
                    StatusCode::BAD_REQUEST,
                    "Choose one of the offered actions.",
                )
                .await;
        }
    };
    match done {
        Ok(text) => back(&session, "/admin/queue", Notice::success(text)).await,
        Err(crate::queue::QueueError::Store(e)) => {
            state
                .unavailable(parts, "the queue could not be changed", &e)
                .await
        }
        Err(refused) => {
            state
                .refuse(parts, StatusCode::CONFLICT, &refused.to_string())
                .await
        }
    }
}
