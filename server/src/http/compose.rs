//! POST /compose: a signed-in organization user sends a protected message
//! from the web. It becomes a MIME message and enters the same pipeline as
//! SMTP mail, with the chosen rights and template.

use super::multipart::{Refusal, read_multipart};
use super::page_service::active_user;
use super::{AppState, FLASH, see_other};
use crate::auth::csrf;
use crate::domain::EmailAddress;
use crate::domain::Rights;
use crate::domain::{Envelope, Requested};
use crate::mime::Attachment;
use app::dto::{ComposeDraft, Notice, NoticeKind};
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequest, Multipart, State};
use axum::http::{Request, StatusCode};
use axum::response::Response;
use mail_builder::MessageBuilder;
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

fn addresses(field: &str, text: &str) -> Result<Vec<EmailAddress>, String> {
    text.split([',', ';'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| EmailAddress::parse(a).map_err(|e| format!("{field}: {e}.")))
        .collect()
}

pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    request: Request<Body>,
) -> Response {
    let (parts, body) = request.into_parts();
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
    let draft = &form.draft;
    let (to, cc) = match (addresses("To", &draft.to), addresses("Cc", &draft.cc)) {
        (Ok(to), Ok(cc)) => (to, cc),
        (Err(e), _) | (_, Err(e)) => return refuse(e, StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    if to.is_empty() {
        return refuse(
            "Name at least one recipient in To.".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    if to.len() + cc.len() > 100 {
        return refuse(
            "A message may have at most 100 recipients.".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let subject = draft.subject.trim();
    if subject.is_empty() || subject.contains(['\r', '\n']) {
        return refuse(
            "Give the message a subject (one line).".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let rights = match draft.rights.as_str() {
        "" | "encrypt-only" => Rights::EncryptOnly,
        "do-not-forward" => Rights::DoNotForward,
        _ => {
            return refuse(
                "Choose Encrypt only or Do not forward.".into(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let chosen = match draft.template.trim() {
        "" => state.store.default_template().await.map(Some),
        name => state.store.template_by_name(name).await,
    };
    let template = match chosen {
        Ok(Some(t)) => t,
        Ok(None) => {
            let name = draft.template.trim();
            return refuse(
                format!("There is no branding template named '{name}'."),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(e) => {
            tracing::error!(error = %e, "compose failed");
            return refuse(super::UNAVAILABLE.into(), StatusCode::SERVICE_UNAVAILABLE).await;
        }
    };
    let expiry_days = match crate::services::protection::expiry_days(
        draft.expiry_days.trim(),
        template.expiry_days,
    ) {
        Ok(days) => days,
        Err(e) => {
            let text = format!("Expires after (days): {}.", e.problem);
            return refuse(text, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let template = (!draft.template.trim().is_empty()).then_some(template.name);
    let hostname = state.settings.public_url.host_str().unwrap_or("localhost");
    let message_id = format!("{}@{hostname}", crate::store::new_id());
    let mut builder = MessageBuilder::new()
        .from(user.email.as_str())
        .to(to.iter().map(|a| a.as_str()).collect::<Vec<_>>())
        .subject(subject)
        .message_id(message_id)
        .text_body(draft.body.replace("\r\n", "\n"));
    if !cc.is_empty() {
        builder = builder.cc(cc.iter().map(|a| a.as_str()).collect::<Vec<_>>());
    }
    // A reply to an Inbox message of this user's is threaded under it.
    if !draft.in_reply_to.is_empty() {
        match thread_of(&state, &user.email, &draft.in_reply_to).await {
            Ok(Some((parent, references))) => {
                builder = builder.in_reply_to(parent).references(references);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "compose failed");
                return refuse(super::UNAVAILABLE.into(), StatusCode::SERVICE_UNAVAILABLE).await;
            }
        }
    }
    for a in &form.attachments {
        builder = builder.attachment(a.content_type.clone(), a.name.clone(), a.data.as_slice());
    }
    let raw = builder
        .write_to_vec()
        .expect("writing to memory cannot fail");
    if raw.len() > limit {
        let text = format!(
            "The message is too big: the limit is {} MB with attachments.",
            limit / (1024 * 1024)
        );
        return refuse(text, StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    if let Err(e) = crate::mime::check_nesting(&raw) {
        let text = format!("An attachment cannot be sent: {e}.");
        return refuse(text, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let mut recipients: Vec<String> = to.iter().chain(cc.iter()).map(|a| a.to_string()).collect();
    recipients.dedup();
    let envelope = Envelope {
        from: user.email.clone(),
        to: recipients.clone(),
        peer,
        helo: "web".into(),
        requested: Some(Requested {
            rights,
            template,
            expiry_days,
        }),
    };
    match state.intake.accept(envelope, raw, "web").await {
        Ok(id) => {
            tracing::info!(message = %id, user = %user.email, "message sent from the web");
            let notice = Notice {
                kind: NoticeKind::Success,
                text: format!(
                    "Your protected message \"{subject}\" is on its way to {}.",
                    recipients.join(", ")
                ),
                email: None,
            };
            let _ = session.insert(FLASH, notice).await;
            see_other("/compose")
        }
        Err(e) => {
            tracing::error!(error = %e, "compose could not be stored");
            refuse(super::UNAVAILABLE.into(), StatusCode::SERVICE_UNAVAILABLE).await
        }
    }
}

/// The Message-ID an Inbox message of `user`'s carries and its thread
/// (References, then itself), without angle brackets; None when the
/// message is not in the user's Inbox.
async fn thread_of(
    state: &AppState,
    user: &str,
    inbox_id: &str,
) -> Result<Option<(String, Vec<String>)>, crate::portal::OpenError> {
    let Some(row) = state.store.inbox(user, Some(inbox_id)).await?.pop() else {
        return Ok(None);
    };
    let bare = row.message_id.trim_matches(['<', '>']).to_string();
    let stored = || Some((bare.clone(), vec![bare.clone()]));
    match crate::portal::open_message(&state.store, &state.keys.keyring, &row.id).await {
        Ok(raw) => Ok(crate::portal::reply::thread(&raw).or_else(stored)),
        // Retention deleted the content: the thread goes on from its id.
        Err(crate::portal::OpenError::NoContent) => Ok(stored()),
        Err(e) => Err(e),
    }
}
