use super::page_service::signed_in_user;
use super::{AppState, see_other};
use crate::auth::{csrf, password};
use crate::domain::Actor;
use crate::services;
use app::dto::Notice;
use axum::body::Body;
use axum::extract::{FromRequest, State};
use axum::http::{Request, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use tower_sessions::Session;

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

/// POST /account/password.
pub async fn change_password(
    State(state): State<AppState>,
    session: Session,
    request: Request<Body>,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(axum::Form(form)) =
        axum::Form::<PasswordForm>::from_request(Request::from_parts(parts.clone(), body), &state)
            .await
    else {
        return state
            .refuse(parts, StatusCode::BAD_REQUEST, "The form was incomplete.")
            .await;
    };
    let user = match signed_in_user(&state, &session).await {
        Ok(Some(user)) => user,
        Ok(None) => return see_other("/login"),
        Err(e) => return state.unavailable(parts, "password change failed", &e).await,
    };
    let session_id = session.id().map(|id| id.to_string());
    let refuse =
        |text: String, status| state.render_with_notice(parts.clone(), Notice::error(text), status);
    if !csrf::verify(&state.csrf_key, session_id.as_deref(), None, &form.csrf) {
        return refuse(
            "This form has expired. Please try again.".into(),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    if !password::verify(form.current, Some(user.password_hash.clone())).await {
        return refuse(
            "The current password is wrong.".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    if form.new != form.confirm {
        return refuse(
            "The two new passwords differ.".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    if let Err(e) = password::check_policy(&form.new) {
        return refuse(e.to_string(), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    if password::verify(form.new.clone(), Some(user.password_hash.clone())).await {
        return refuse(
            "The new password must differ from the current one.".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let actor = Actor::User(user.email.clone());
    match services::users::set_password(&state.store, &actor, &user, form.new, false).await {
        Ok(()) => see_other("/"),
        Err(e) => {
            tracing::error!(error = %e, "password change failed");
            refuse(super::UNAVAILABLE.into(), StatusCode::SERVICE_UNAVAILABLE).await
        }
    }
}
