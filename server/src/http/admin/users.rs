//! Users: an administrator adds one with a temporary password.

use super::super::AppState;
use super::gate::{AdminForm, back};
use crate::auth::password;
use crate::domain::{Actor, EmailAddress};
use crate::services::{self, users::UserError};
use app::dto::Notice;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

/// POST /admin/users: a new user with a temporary password, changed at the
/// first sign-in.
pub async fn add_user(
    State(state): State<AppState>,
    AdminForm {
        user: admin_user,
        session,
        parts,
        fields: f,
    }: AdminForm,
) -> Response {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let refuse = |text: String| {
        let parts = parts.clone();
        let state = state.clone();
        async move {
            state
                .refuse(parts, StatusCode::UNPROCESSABLE_ENTITY, text)
                .await
        }
    };
    let email = match EmailAddress::parse(&get("email")) {
        Ok(email) => email,
        Err(e) => return refuse(format!("Email: {e}.")).await,
    };
    let role = match crate::domain::Role::parse(get("role").as_str()) {
        Some(role) => role,
        None => {
            let other = get("role");
            return refuse(format!("Role: '{other}' is not one of: sender, admin.")).await;
        }
    };
    let temporary = get("password");
    if temporary.chars().count() < password::MIN_LENGTH {
        return refuse(format!(
            "Temporary password: at least {} characters.",
            password::MIN_LENGTH
        ))
        .await;
    }
    let actor = Actor::User(admin_user.email);
    match services::users::add(&state.store, &actor, &email, role, temporary, true).await {
        Ok(_) => {}
        Err(UserError::Store(e)) => {
            return state
                .unavailable(parts, "user could not be added", &e)
                .await;
        }
        Err(refused) => return refuse(refused.to_string()).await,
    }
    back(
        &session,
        "/admin/users",
        Notice::success(format!(
            "Added {email} as {role}. They choose their own password at the first sign-in."
        )),
    )
    .await
}
