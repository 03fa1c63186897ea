//! The admin section's gate: who may use its pages and forms, the forms'
//! CSRF check, and the helpers every form handler shares.

use super::super::page_service::signed_in_user;
use super::super::{AppState, FLASH, see_other};
use crate::auth::csrf;
use crate::store::UserRow;
use app::dto::Notice;
use app::service::ServiceError;
use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::request::Parts;
use axum::http::{Request, StatusCode};
use axum::response::Response;
use std::collections::HashMap;
use tower_sessions::Session;

/// A percent-encoded path segment or query value.
pub(crate) fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The signed-in administrator, or the response for everyone else.
pub(super) async fn admin(
    state: &AppState,
    session: &Session,
    parts: &Parts,
) -> Result<UserRow, Response> {
    match require_admin(state, Some(session)).await {
        Ok(user) => Ok(user),
        Err(ServiceError::NotSignedIn) => Err(see_other("/login")),
        Err(ServiceError::Forbidden) => Err(match session.id() {
            // Signed in but not an administrator: the page says so (403).
            Some(_)
                if signed_in_user(state, session)
                    .await
                    .ok()
                    .flatten()
                    .is_some() =>
            {
                // Any admin page says it (the CSV's own path has no page).
                let mut parts = parts.clone();
                parts.uri = axum::http::Uri::from_static("/admin/report");
                state.render(parts, StatusCode::FORBIDDEN).await
            }
            _ => see_other("/login"),
        }),
        Err(ServiceError::Unavailable) => Err(state
            .render_with_notice(
                parts.clone(),
                Notice::error(super::super::UNAVAILABLE),
                StatusCode::SERVICE_UNAVAILABLE,
            )
            .await),
    }
}

/// An administrator's form (urlencoded): signed in, an administrator, and
/// the form's CSRF token valid; a refusal is the page that says why
/// (sign-in, 403, "This form has expired"). `parts` are those of the page
/// the answer renders at.
pub struct AdminForm {
    pub user: UserRow,
    pub session: Session,
    pub parts: Parts,
    pub fields: HashMap<String, String>,
}

impl FromRequest<AppState> for AdminForm {
    type Rejection = Response;

    async fn from_request(request: Request<Body>, state: &AppState) -> Result<Self, Response> {
        let Some(session) = request.extensions().get::<Session>().cloned() else {
            return Err(see_other("/login"));
        };
        let path = request.uri().path().to_string();
        let (mut parts, fields) = form(state, request, "/").await;
        parts.uri = page_of(&path, &fields).parse().unwrap_or_default();
        let user = admin(state, &session, &parts).await?;
        check_csrf(
            state,
            &session,
            &parts,
            fields.get("csrf").map_or("", String::as_str),
        )
        .await?;
        Ok(AdminForm {
            user,
            session,
            parts,
            fields,
        })
    }
}

/// The page an admin form's answer renders at, from the form's path.
fn page_of(path: &str, fields: &HashMap<String, String>) -> String {
    let get = |k: &str| fields.get(k).map_or("", String::as_str);
    match path {
        "/admin/message/revoke" => format!(
            "/admin/message?id={}&sender={}",
            encode(get("id")),
            encode(get("sender"))
        ),
        "/admin/rules/save" => form_page(get("original_name")),
        "/admin/rules/change" => "/admin/rules".into(),
        // /admin/users, /admin/settings, /admin/queue, /admin/templates,
        // and a template's own page for its removal.
        other => other.strip_suffix("/remove").unwrap_or(other).to_string(),
    }
}

pub(super) async fn check_csrf(
    state: &AppState,
    session: &Session,
    parts: &Parts,
    token: &str,
) -> Result<(), Response> {
    let id = session.id().map(|id| id.to_string());
    if csrf::verify(&state.csrf_key, id.as_deref(), None, token) {
        Ok(())
    } else {
        Err(state
            .render_with_notice(
                parts.clone(),
                Notice::error("This form has expired. Please try again."),
                StatusCode::FORBIDDEN,
            )
            .await)
    }
}

/// Back to a page with a notice for the next render.
pub(super) async fn back(session: &Session, to: &str, notice: Notice) -> Response {
    let _ = session.insert(FLASH, notice).await;
    see_other(to)
}

/// A urlencoded form as a map; the answer renders at `page`.
pub(super) async fn form(
    state: &AppState,
    request: Request<Body>,
    page: &str,
) -> (Parts, HashMap<String, String>) {
    let (mut parts, body) = request.into_parts();
    let fields = axum::Form::<HashMap<String, String>>::from_request(
        Request::from_parts(parts.clone(), body),
        state,
    )
    .await
    .map(|f| f.0)
    .unwrap_or_default();
    parts.uri = page.parse().unwrap_or_default();
    (parts, fields)
}

pub(super) fn unavailable(e: impl std::fmt::Display) -> ServiceError {
    tracing::error!(error = %e, "admin page failed");
    ServiceError::Unavailable
}

/// The signed-in administrator, or `Forbidden`.
pub async fn require_admin(
    state: &AppState,
    session: Option<&Session>,
) -> Result<UserRow, ServiceError> {
    let session = session.ok_or(ServiceError::Forbidden)?;
    match signed_in_user(state, session).await.map_err(unavailable)? {
        Some(user) if user.role == crate::domain::Role::Admin && !user.must_change_password => {
            Ok(user)
        }
        _ => Err(ServiceError::Forbidden),
    }
}

/// A rule's form: a new rule's, or the one named.
pub(super) fn form_page(original_name: &str) -> String {
    if original_name.is_empty() {
        "/admin/rules/new".to_string()
    } else {
        format!("/admin/rules/edit?name={}", encode(original_name))
    }
}
