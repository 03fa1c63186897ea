//! Branding templates: create, edit (multipart, for the logo), remove.

use super::super::AppState;
use super::gate::{AdminForm, admin, back, check_csrf, encode};
use crate::domain::{Actor, Change};
use crate::services::templates::{self, LogoImage, TemplateChanges, TemplateError};
use crate::store::TemplateFull;
use app::dto::{Notice, TemplateFields};
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, State};
use axum::http::request::Parts;
use axum::http::{Request, StatusCode};
use axum::response::Response;
use std::collections::HashMap;
use tower_sessions::Session;

/// POST /admin/templates: a new template from its name.
pub async fn new_template(
    State(state): State<AppState>,
    AdminForm {
        user,
        session,
        parts,
        fields: f,
    }: AdminForm,
) -> Response {
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
    AdminForm {
        user,
        session,
        parts,
        ..
    }: AdminForm,
) -> Response {
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

pub fn template_fields(t: &TemplateFull) -> TemplateFields {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    TemplateFields {
        name: t.name.clone(),
        is_default: t.is_default,
        // The version keeps a changed logo from being served from a cache.
        logo_url: t.logo.as_ref().map(|bytes| {
            let version = crate::crypto::sha256(bytes);
            format!(
                "/branding/{}/logo?v={:02x}{:02x}{:02x}{:02x}",
                t.id, version[0], version[1], version[2], version[3]
            )
        }),
        background_color: text(&t.background_color),
        introduction_text: text(&t.introduction_text),
        read_button_text: text(&t.read_button_text),
        email_text: text(&t.email_text),
        disclaimer_text: text(&t.disclaimer_text),
        portal_text: text(&t.portal_text),
        privacy_statement_url: text(&t.privacy_statement_url),
        otp_enabled: t.otp_enabled,
        social_enabled: t.social_enabled,
        expiry_days: t.expiry_days,
    }
}
