//! POST /sent/{id}: the sender's "Remove external access" button.

use super::page_service::active_user;
use super::{AppState, see_other};
use crate::auth::csrf;
use crate::domain::Actor;
use crate::services::revocation::{self, RevokeError};
use axum::body::Body;
use axum::extract::{FromRequest, Path, State};
use axum::http::{Request, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use tower_sessions::Session;

#[derive(Deserialize, Default)]
pub struct RemoveForm {
    #[serde(default)]
    csrf: String,
}

pub async fn remove_external_access(
    State(state): State<AppState>,
    Path(id): Path<String>,
    session: Session,
    request: Request<Body>,
) -> Response {
    let (parts, body) = request.into_parts();
    let form =
        axum::Form::<RemoveForm>::from_request(Request::from_parts(parts.clone(), body), &state)
            .await
            .map(|f| f.0)
            .unwrap_or_default();
    let user = match active_user(&state, &session).await {
        Ok(Some(user)) => user,
        Ok(None) => return see_other("/login"),
        Err(e) => {
            return state
                .unavailable(parts, "remove external access failed", &e)
                .await;
        }
    };
    let session_id = session.id().map(|id| id.to_string());
    if !csrf::verify(&state.csrf_key, session_id.as_deref(), None, &form.csrf) {
        let text = "This form has expired. Please try again.";
        return state.refuse(parts, StatusCode::FORBIDDEN, text).await;
    }
    // Only the sender's own messages: another's id is simply not found.
    let row = match state.store.sent_messages(&user.email, Some(&id)).await {
        Ok(mut rows) => rows.pop(),
        Err(e) => {
            return state
                .unavailable(parts, "remove external access failed", &e)
                .await;
        }
    };
    let Some(row) = row else {
        return state.render(parts, StatusCode::NOT_FOUND).await;
    };
    match revocation::revoke(
        &state.store,
        &Actor::User(user.email.clone()),
        &row.message_id,
        Some(&user.email),
        revocation::Revoker::Sender,
    )
    .await
    {
        Ok(_) => see_other(&format!("/sent/{id}")),
        Err(RevokeError::Store(e)) => {
            state
                .unavailable(parts, "remove external access failed", &e)
                .await
        }
        Err(refused) => {
            state
                .refuse(parts, StatusCode::CONFLICT, refused.to_string())
                .await
        }
    }
}
