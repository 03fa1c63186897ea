//! The protection settings (`irm-config`).

use super::super::AppState;
use super::gate::{AdminForm, back};
use crate::domain::Actor;
use crate::services;
use app::dto::Notice;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

/// POST /admin/settings: the protection settings (as `irm-config set`).
pub async fn save_settings(
    State(state): State<AppState>,
    AdminForm {
        user,
        session,
        parts,
        fields: f,
    }: AdminForm,
) -> Response {
    use crate::irm_config::{ForeignProtected, TransportDecryption};
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let (Some(decryption), Some(foreign)) = (
        TransportDecryption::parse(&get("transport_decryption")),
        ForeignProtected::parse(&get("foreign_protected")),
    ) else {
        return state
            .refuse(
                parts,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Choose one of the offered values.",
            )
            .await;
    };
    let actor = Actor::User(user.email);
    if let Err(e) =
        services::protection::set(&state.store, &actor, Some(decryption), Some(foreign)).await
    {
        return state
            .unavailable(parts, "settings could not be saved", &e)
            .await;
    }
    back(
        &session,
        "/admin/settings",
        Notice::success("Saved. Every node follows it from the next message."),
    )
    .await
}
