//! POST /r/{token}/reply: the recipient answers inside the protection
//! (Reply, Reply all). The reply enters the same pipeline as any mail,
//! protected with the original's rights and template, from the address the
//! recipient proved.

use super::multipart::{Refusal, read_multipart};
use super::{AppState, FLASH, see_other};
use crate::auth::csrf;
use crate::domain::{Envelope, Requested, Rights};
use crate::portal::{self, Lookup, SESSION_RECIPIENT, reply};
use app::dto::Notice;
use app::i18n::Lang;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequest, Multipart, Path, State};
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::Response;
use std::net::SocketAddr;
use tower_sessions::Session;

pub async fn submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    request: Request<Body>,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let peer =
        crate::client_addr::client_socket(&state.settings.trusted_proxies, peer, &parts.headers);
    // Every answer is the page at the link itself.
    let back = format!("/r/{token}");
    parts.uri = back.parse().unwrap_or_default();
    let t = Lang::of_parts(&parts).0.t();
    let row = match portal::lookup(&state.store, &token).await {
        Ok(Lookup::Open(row)) => row,
        Ok(Lookup::Invalid) => return state.render(parts, StatusCode::NOT_FOUND).await,
        // Revoked, removed or expired: that page, with its status.
        Ok(_) => return state.render(parts, StatusCode::GONE).await,
        Err(e) => return state.unavailable(parts, "reply lookup failed", &e).await,
    };
    let signed_in = session
        .get::<String>(SESSION_RECIPIENT)
        .await
        .ok()
        .flatten();
    if signed_in.as_deref() != Some(row.address.as_str()) {
        return see_other(&back);
    }
    let limit = state.settings.max_message_bytes;
    let too_big = (t.reply_too_big)(limit / (1024 * 1024));
    let read = match Multipart::from_request(Request::from_parts(parts.clone(), body), &state).await
    {
        Ok(mut multipart) => read_multipart(&mut multipart, limit).await,
        Err(_) => Err(Refusal::Input(String::new())),
    };
    let (fields, attachments) = match read {
        Ok(read) => read,
        Err(Refusal::TooBig(_)) => {
            return state
                .refuse(parts, StatusCode::PAYLOAD_TOO_LARGE, too_big)
                .await;
        }
        Err(Refusal::Input(_)) => {
            return state
                .refuse(parts, StatusCode::BAD_REQUEST, t.form_incomplete)
                .await;
        }
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let session_id = session.id().map(|id| id.to_string());
    if !csrf::verify(&state.csrf_key, session_id.as_deref(), None, field("csrf")) {
        return state
            .refuse(parts, StatusCode::FORBIDDEN, t.form_expired)
            .await;
    }
    let draft = reply::Draft {
        text: field("body").to_string(),
        all: field("all") == "yes",
        attachments,
    };
    if draft.text.trim().is_empty() && draft.attachments.is_empty() {
        return state
            .refuse(parts, StatusCode::UNPROCESSABLE_ENTITY, t.reply_empty)
            .await;
    }
    let reserved = state
        .store
        .reserve_reply(
            &row.recipient_id,
            &row.message_row,
            reply::PER_HOUR,
            crate::store::now_ms() - reply::WINDOW_MS,
        )
        .await;
    let reservation = match reserved {
        Ok(Ok(id)) => id,
        Ok(Err(oldest)) => {
            let until = oldest.unwrap_or_else(crate::store::now_ms) + reply::WINDOW_MS;
            let (seconds, minutes, at) = portal::when(until);
            let text = (t.too_many_replies)(reply::PER_HOUR, &(t.when)(minutes, &at));
            let mut response = state
                .refuse(parts, StatusCode::TOO_MANY_REQUESTS, text)
                .await;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
            return response;
        }
        Err(e) => {
            return state
                .unavailable(parts, "reply could not be reserved", &e)
                .await;
        }
    };
    let sent = send(&state, &row, draft, peer, &reservation).await;
    match sent {
        Ok(Sent::Stored { id, to, summary }) => {
            if let Err(e) = state
                .store
                .reply_sent(&reservation, &id, &summary, &row.message_row, &row.address)
                .await
            {
                // The reply is stored and on its way; only the link to it
                // and the original's timeline line are missing.
                tracing::warn!(error = %e, message = %id, "a reply was not linked to its original");
            }
            tracing::info!(message = %id, "reply sent from the portal");
            let notice = Notice::success((t.reply_sent)(&to.join(", ")));
            let _ = session.insert(FLASH, notice).await;
            see_other(&back)
        }
        Ok(refused) => {
            let _ = state.store.cancel_reply(&reservation).await;
            let (status, text) = match refused {
                Sent::TooBig => (StatusCode::PAYLOAD_TOO_LARGE, too_big),
                _ => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    t.reply_attachment_refused.to_string(),
                ),
            };
            state.refuse(parts, status, text).await
        }
        Err(e) => {
            let _ = state.store.cancel_reply(&reservation).await;
            state
                .unavailable(parts, "reply could not be stored", &e)
                .await
        }
    }
}

enum Sent {
    Stored {
        id: String,
        to: Vec<String>,
        summary: Vec<u8>,
    },
    TooBig,
    TooDeep,
}

#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error(transparent)]
    Open(#[from] portal::OpenError),
    #[error("the reply was not stored: {0}")]
    NotStored(String),
}

/// Builds the reply under the original and hands it to the intake, which
/// answers once it is committed.
async fn send(
    state: &AppState,
    row: &crate::store::PortalRow,
    draft: reply::Draft,
    peer: SocketAddr,
    reservation: &str,
) -> Result<Sent, SendError> {
    let original = portal::content(&state.store, &state.keys.keyring, row).await?;
    // Reply all reaches no one whose access the sender removed.
    let removed = state
        .store
        .removed_recipients(&row.message_row)
        .await
        .map_err(|e| SendError::NotStored(e.to_string()))?;
    let summary_of = |to: &[String]| {
        reply::seal_summary(
            &state.keys.keyring,
            reservation,
            to,
            &draft.text,
            &draft.attachments,
        )
    };
    let hostname = state.settings.public_url.host_str().unwrap_or("localhost");
    let reply = reply::build(&original, row, &draft, hostname, &removed);
    let summary = summary_of(&reply.to);
    if reply.raw.len() > state.settings.max_message_bytes {
        return Ok(Sent::TooBig);
    }
    if crate::mime::check_nesting(&reply.raw).is_err() {
        return Ok(Sent::TooDeep);
    }
    let envelope = Envelope {
        from: row.address.clone(),
        to: reply.to.clone(),
        peer,
        helo: "portal".into(),
        requested: Some(Requested {
            rights: row.rights.unwrap_or(Rights::EncryptOnly),
            template: Some(row.template_name.clone()),
            expiry_days: None,
        }),
    };
    let id = state
        .intake
        .accept(envelope, reply.raw, "reply")
        .await
        .map_err(|e| SendError::NotStored(e.to_string()))?;
    Ok(Sent::Stored {
        id,
        to: reply.to,
        summary,
    })
}
