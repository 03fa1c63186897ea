//! The administrator's forms (revoke, templates, users) and the report's
//! CSV export. Pages are Leptos routes; these answer their POSTs.

use super::admin_service::{message_lines, require_admin};
use super::{AppState, FLASH, see_other};
use crate::auth::{csrf, password};
use crate::domain::{Actor, Change, EmailAddress};
use crate::services::revocation::{self, RevokeError};
use crate::services::templates::{self, LogoImage, TemplateChanges, TemplateError};
use crate::services::{self, users::UserError};
use crate::store::UserRow;
use app::dto::{MessageFilter, Notice};
use app::service::ServiceError;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::collections::HashMap;
use tower_sessions::Session;

/// A percent-encoded path segment or query value.
pub(super) fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The signed-in administrator, or the response for everyone else.
async fn admin(state: &AppState, session: &Session, parts: &Parts) -> Result<UserRow, Response> {
    match require_admin(state, Some(session)).await {
        Ok(user) => Ok(user),
        Err(ServiceError::NotSignedIn) => Err(see_other("/login")),
        Err(ServiceError::Forbidden) => Err(match session.id() {
            // Signed in but not an administrator: the page says so (403).
            Some(_)
                if super::page_service::signed_in_user(state, session)
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
                Notice::error(super::UNAVAILABLE),
                StatusCode::SERVICE_UNAVAILABLE,
            )
            .await),
    }
}

/// An administrator's form: the gate, then the CSRF token of the form.
pub(super) async fn admin_form(
    state: &AppState,
    session: &Session,
    parts: &Parts,
    fields: &HashMap<String, String>,
) -> Result<UserRow, Response> {
    let user = admin(state, session, parts).await?;
    check_csrf(
        state,
        session,
        parts,
        fields.get("csrf").map_or("", String::as_str),
    )
    .await?;
    Ok(user)
}

async fn check_csrf(
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

/// POST /admin/message/revoke: the detail view's "Revoke message".
pub async fn revoke(
    State(state): State<AppState>,
    session: Session,
    request: Request<Body>,
) -> Response {
    let (parts, f) = form(&state, request, "/admin/report").await;
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let detail = format!(
        "/admin/message?id={}&sender={}",
        encode(&get("id")),
        encode(&get("sender"))
    );
    let mut parts = parts;
    parts.uri = detail.parse().unwrap_or_default();
    let user = match admin(&state, &session, &parts).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    if let Err(response) = check_csrf(&state, &session, &parts, &get("csrf")).await {
        return response;
    }
    match revocation::revoke(
        &state.store,
        &Actor::User(user.email.clone()),
        &get("id"),
        Some(&get("sender")),
        revocation::Revoker::Administrator,
    )
    .await
    {
        Ok(status) => {
            let text = format!(
                "The encrypted email with the subject '{}' was successfully revoked.",
                status.subject
            );
            back(&session, &detail, Notice::success(text)).await
        }
        Err(RevokeError::Store(e)) => state.unavailable(parts, "revoke failed", &e).await,
        Err(refused) => {
            state
                .refuse(parts, StatusCode::CONFLICT, refused.to_string())
                .await
        }
    }
}

/// GET /admin/report.csv: the report's lines with the page's filters.
pub async fn report_csv(
    State(state): State<AppState>,
    session: Session,
    Query(filter): Query<MessageFilterQuery>,
    request: Request<Body>,
) -> Response {
    let (parts, _) = request.into_parts();
    if let Err(response) = admin(&state, &session, &parts).await {
        return response;
    }
    let filter = MessageFilter {
        since: filter.since.unwrap_or_default(),
        until: filter.until.unwrap_or_default(),
        sender: filter.sender.unwrap_or_default(),
        recipient: filter.recipient.unwrap_or_default(),
        state: filter.state.unwrap_or_default(),
    };
    let lines = match message_lines(&state, &filter, true).await {
        Ok(Ok(lines)) => lines,
        Ok(Err(refused)) => return (StatusCode::BAD_REQUEST, refused).into_response(),
        Err(e) => return state.unavailable(parts, "report export failed", &e).await,
    };
    let mut csv = String::from("ReceivedAt,Sender,Recipients,Subject,State,MessageId\r\n");
    for l in &lines {
        let row = [
            &l.received_at,
            &l.sender,
            &l.recipients,
            &l.subject,
            &l.state,
            &l.message_id,
        ]
        .map(|v| csv_field(v))
        .join(",");
        csv.push_str(&row);
        csv.push_str("\r\n");
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"encryption-report.csv\""),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        csv,
    )
        .into_response()
}

#[derive(Deserialize, Default)]
pub struct MessageFilterQuery {
    since: Option<String>,
    until: Option<String>,
    sender: Option<String>,
    recipient: Option<String>,
    state: Option<String>,
}

/// RFC 4180 quoting; a leading =, +, -, @, tab or carriage return is
/// neutralised so a spreadsheet does not run a subject as a formula.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// POST /admin/templates: a new template from its name.
pub async fn new_template(
    State(state): State<AppState>,
    session: Session,
    request: Request<Body>,
) -> Response {
    let (parts, f) = form(&state, request, "/admin/templates").await;
    let user = match admin_form(&state, &session, &parts, &f).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let name = f.get("name").cloned().unwrap_or_default();
    let actor = Actor::User(user.email);
    match templates::create(&state.store, &actor, &name, &TemplateChanges::default()).await {
        Ok(t) => {
            let to = format!("/admin/templates/{}", encode(&t.name));
            back(
                &session,
                &to,
                Notice::success(format!("Created the template '{}'.", t.name)),
            )
            .await
        }
        Err(e) => template_refused(&state, parts, e).await,
    }
}

async fn template_refused(state: &AppState, parts: Parts, e: TemplateError) -> Response {
    match e {
        TemplateError::Store(e) => state.unavailable(parts, "template change failed", &e).await,
        TemplateError::NotFound(_) => state.render(parts, StatusCode::NOT_FOUND).await,
        TemplateError::NoSignIn => {
            let text = TemplateError::NoSignIn.to_string();
            state
                .refuse(parts, StatusCode::UNPROCESSABLE_ENTITY, text)
                .await
        }
        // The field by its neutral name (`background-color`).
        TemplateError::Invalid(field) => {
            let text = field.to_string();
            state
                .refuse(parts, StatusCode::UNPROCESSABLE_ENTITY, text)
                .await
        }
        refused => {
            state
                .refuse(parts, StatusCode::CONFLICT, refused.to_string())
                .await
        }
    }
}

/// POST /admin/templates/{name}: the edit form (multipart, for the logo).
pub async fn save_template(
    State(state): State<AppState>,
    Path(name): Path<String>,
    session: Session,
    request: Request<Body>,
) -> Response {
    let (parts, body) = request.into_parts();
    let user = match admin(&state, &session, &parts).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let Ok(mut multipart) =
        Multipart::from_request(Request::from_parts(parts.clone(), body), &state).await
    else {
        return state
            .refuse(
                parts,
                StatusCode::BAD_REQUEST,
                "The form could not be read.",
            )
            .await;
    };
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut logo: Option<(Vec<u8>, String)> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let key = field.name().unwrap_or_default().to_string();
                if key == "logo" {
                    let file = field.file_name().unwrap_or("the logo").to_string();
                    match field.bytes().await {
                        Ok(bytes) if !bytes.is_empty() => logo = Some((bytes.to_vec(), file)),
                        Ok(_) => {}
                        Err(_) => {
                            return state
                                .refuse(
                                    parts,
                                    StatusCode::PAYLOAD_TOO_LARGE,
                                    "logo: the file is larger than 256 KB",
                                )
                                .await;
                        }
                    }
                } else if let Ok(text) = field.text().await {
                    fields.insert(key, text);
                }
            }
            Ok(None) => break,
            Err(_) => {
                return state
                    .refuse(
                        parts,
                        StatusCode::BAD_REQUEST,
                        "The form could not be read.",
                    )
                    .await;
            }
        }
    }
    if let Err(response) = check_csrf(
        &state,
        &session,
        &parts,
        fields.get("csrf").map_or("", String::as_str),
    )
    .await
    {
        return response;
    }
    // An emptied text field resets it; a checkbox left unticked is false.
    let text = |k: &str| match fields.get(k).map(|v| v.trim()) {
        None | Some("") => Change::Reset,
        Some(v) => Change::Set(v.to_string()),
    };
    let ticked = |k: &str| Change::Set(fields.contains_key(k));
    let expiry_days = match text("expiry_days") {
        Change::Set(days) => match days.parse::<i64>() {
            Ok(days) => Change::Set(days),
            Err(_) => {
                let text = templates::expiry_refused(&days).to_string();
                return state
                    .refuse(parts, StatusCode::UNPROCESSABLE_ENTITY, text)
                    .await;
            }
        },
        _ => Change::Reset,
    };
    let changes = TemplateChanges {
        name: fields.get("name").map(|n| n.trim().to_string()),
        logo: match (logo, fields.contains_key("remove_logo")) {
            (Some((bytes, name)), _) => Change::Set(LogoImage { bytes, name }),
            (None, true) => Change::Reset,
            (None, false) => Change::Keep,
        },
        background_color: text("background_color"),
        introduction_text: text("introduction_text"),
        read_button_text: text("read_button_text"),
        email_text: text("email_text"),
        disclaimer_text: text("disclaimer_text"),
        portal_text: text("portal_text"),
        privacy_statement_url: text("privacy_statement_url"),
        otp_enabled: ticked("otp_enabled"),
        social_enabled: ticked("social_enabled"),
        expiry_days,
    };
    let actor = Actor::User(user.email);
    match templates::update(&state.store, &actor, &name, &changes).await {
        Ok(t) => {
            let to = format!("/admin/templates/{}", encode(&t.name));
            back(
                &session,
                &to,
                Notice::success("Saved. The next notifications and portal pages use it."),
            )
            .await
        }
        Err(e) => template_refused(&state, parts, e).await,
    }
}

/// POST /admin/templates/{name}/remove.
pub async fn remove_template(
    State(state): State<AppState>,
    Path(name): Path<String>,
    session: Session,
    request: Request<Body>,
) -> Response {
    let page = format!("/admin/templates/{}", encode(&name));
    let (parts, f) = form(&state, request, &page).await;
    let user = match admin_form(&state, &session, &parts, &f).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    match templates::remove(&state.store, &Actor::User(user.email), &name).await {
        Ok(()) => {
            back(
                &session,
                "/admin/templates",
                Notice::success(format!("Removed the template '{name}'.")),
            )
            .await
        }
        Err(e) => template_refused(&state, parts, e).await,
    }
}

/// POST /admin/users: a new user with a temporary password, changed at the
/// first sign-in.
pub async fn add_user(
    State(state): State<AppState>,
    session: Session,
    request: Request<Body>,
) -> Response {
    let (parts, f) = form(&state, request, "/admin/users").await;
    let admin_user = match admin_form(&state, &session, &parts, &f).await {
        Ok(user) => user,
        Err(response) => return response,
    };
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

/// POST /admin/settings: the protection settings (as `irm-config set`).
pub async fn save_settings(
    State(state): State<AppState>,
    session: Session,
    request: Request<Body>,
) -> Response {
    use crate::irm_config::{ForeignProtected, TransportDecryption};
    let (parts, f) = form(&state, request, "/admin/settings").await;
    let user = match admin_form(&state, &session, &parts, &f).await {
        Ok(user) => user,
        Err(response) => return response,
    };
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

/// POST /admin/queue: release, retry or delete a job (as `sealpost queue`).
pub async fn queue_action(
    State(state): State<AppState>,
    session: Session,
    request: Request<Body>,
) -> Response {
    let (parts, f) = form(&state, request, "/admin/queue").await;
    let user = match admin_form(&state, &session, &parts, &f).await {
        Ok(user) => user,
        Err(response) => return response,
    };
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

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn cells_a_spreadsheet_would_run_are_neutralised() {
        for start in ["=", "+", "-", "@", "\t", "\r"] {
            let cell = csv_field(&format!("{start}HYPERLINK(x)"));
            assert!(cell.trim_start_matches('"').starts_with('\''), "{cell:?}");
        }
        assert_eq!(csv_field("Quarterly"), "Quarterly");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }
}
