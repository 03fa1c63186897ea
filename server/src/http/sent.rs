//! POST /sent/{id}: the sender's "Remove external access" button, and
//! "Remove access" beside one link-based recipient.

use super::page_service::active_user;
use super::{AppState, see_other};
use crate::auth::csrf;
use crate::domain::{Actor, EmailAddress};
use crate::services::revocation::{self, RevokeError};
use app::dto::Notice;
use app::i18n::Lang;
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
    /// One link-based recipient's access only; absent: the whole message's.
    #[serde(default)]
    recipient: Option<String>,
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
    let actor = Actor::User(user.email.clone());
    let done = match form.recipient.as_deref().map(EmailAddress::parse) {
        Some(Err(e)) => {
            let text = format!("Recipient: {e}.");
            return state
                .refuse(parts, StatusCode::UNPROCESSABLE_ENTITY, text)
                .await;
        }
        Some(Ok(recipient)) => {
            let removed = revocation::remove_access(
                &state.store,
                &actor,
                &row.message_id,
                Some(&user.email),
                &recipient,
            )
            .await;
            if removed.is_ok() {
                let t = Lang::of_parts(&parts).0.t();
                let notice = Notice::success((t.recipient_removed)(recipient.as_str()));
                let _ = session.insert(super::FLASH, notice).await;
            }
            removed
        }
        None => {
            revocation::revoke(
                &state.store,
                &actor,
                &row.message_id,
                Some(&user.email),
                revocation::Revoker::Sender,
            )
            .await
        }
    };
    match done {
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
