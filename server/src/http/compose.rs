//! POST /compose: a signed-in organization user sends a protected message
//! from the web. It becomes a MIME message and enters the same pipeline as
//! SMTP mail, with the chosen rights and template.

use super::multipart::{Refusal, read_multipart};
use super::page_service::active_user;
use super::{AppState, FLASH, see_other};
use crate::auth::csrf;
use crate::mime::Attachment;
use crate::services::compose::{self, ComposeError};
use app::dto::{ComposeDraft, Notice, NoticeKind};
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequest, Multipart, State};
use axum::http::{Request, StatusCode};
use axum::response::Response;
use std::net::SocketAddr;
use tower_sessions::Session;

#[derive(Default)]
struct Form {
    csrf: String,
    draft: ComposeDraft,
    attachments: Vec<Attachment>,
}

async fn read_form(multipart: &mut Multipart, limit: usize) -> Result<Form, Refusal> {
    let (fields, attachments) = read_multipart(multipart, limit).await?;
    let mut form = Form {
        attachments,
        ..Form::default()
    };
    for (name, text) in fields {
        match name.as_str() {
            "csrf" => form.csrf = text,
            "to" => form.draft.to = text,
            "cc" => form.draft.cc = text,
            "subject" => form.draft.subject = text,
            "body" => form.draft.body = text,
            "rights" => form.draft.rights = text,
            "template" => form.draft.template = text,
            "expiry_days" => form.draft.expiry_days = text,
            "in_reply_to" => form.draft.in_reply_to = text,
            _ => {}
        }
    }
    Ok(form)
}

pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    request: Request<Body>,
) -> Response {
    let (parts, body) = request.into_parts();
    let peer =
        crate::client_addr::client_socket(&state.settings.trusted_proxies, peer, &parts.headers);
    let user = match active_user(&state, &session).await {
        Ok(Some(user)) => user,
        Ok(_) => return see_other("/login"),
        Err(e) => {
            return state.unavailable(parts, "compose failed", &e).await;
        }
    };
    let limit = state.settings.max_message_bytes;
    let mut multipart =
        match Multipart::from_request(Request::from_parts(parts.clone(), body), &state).await {
            Ok(m) => m,
            Err(_) => {
                return state
                    .refuse(
                        parts,
                        StatusCode::BAD_REQUEST,
                        "The form could not be read.",
                    )
                    .await;
            }
        };
    let form = match read_form(&mut multipart, limit).await {
        Ok(form) => form,
        Err(Refusal::TooBig(limit)) => {
            let text = format!(
                "The message is too big: the limit is {} MB with attachments.",
                limit / (1024 * 1024)
            );
            return state
                .refuse(parts, StatusCode::PAYLOAD_TOO_LARGE, text)
                .await;
        }
        Err(Refusal::Input(text)) => {
            return state.refuse(parts, StatusCode::BAD_REQUEST, text).await;
        }
    };
    let session_id = session.id().map(|id| id.to_string());
    let mut parts = parts;
    parts.extensions.insert(form.draft.clone());
    let refuse = |text: String, status: StatusCode| {
        state.render_with_notice(parts.clone(), Notice::error(text), status)
    };
    if !csrf::verify(&state.csrf_key, session_id.as_deref(), None, &form.csrf) {
        return refuse(
            "This form has expired. Please send it again.".into(),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let Form {
        draft, attachments, ..
    } = form;
    let outlet = compose::Outlet {
        store: &state.store,
        keyring: &state.keys.keyring,
        intake: &state.intake,
        settings: &state.settings,
    };
    let written = compose::Draft {
        to: vec![draft.to],
        cc: vec![draft.cc],
        subject: draft.subject,
        body: draft.body,
        rights: draft.rights,
        template: draft.template,
        expiry_days: draft.expiry_days,
        in_reply_to: draft.in_reply_to,
        attachments,
    };
    match compose::send(&outlet, &user.email, written, peer, "web").await {
        Ok(sent) => {
            tracing::info!(message = %sent.id, user = %user.email, "message sent from the web");
            let notice = Notice {
                kind: NoticeKind::Success,
                text: format!(
                    "Your protected message \"{}\" is on its way to {}.",
                    sent.subject,
                    sent.recipients.join(", ")
                ),
                email: None,
            };
            let _ = session.insert(FLASH, notice).await;
            see_other("/compose")
        }
        Err(e @ ComposeError::TooBig(_)) => {
            refuse(e.to_string(), StatusCode::PAYLOAD_TOO_LARGE).await
        }
        Err(
            e @ (ComposeError::Invalid(_) | ComposeError::NoTemplate(_) | ComposeError::Expiry(_)),
        ) => refuse(e.to_string(), StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(e) => {
            tracing::error!(error = %e, "compose could not be stored");
            refuse(super::UNAVAILABLE.into(), StatusCode::SERVICE_UNAVAILABLE).await
        }
    }
}
