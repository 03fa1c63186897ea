//! The recipient portal's forms and downloads. The pages themselves are
//! Leptos routes; these handlers answer with the status codes of the SPEC.

use super::{AppState, UNAVAILABLE, see_other};
use crate::auth::csrf;
use crate::auth::throttle;
use crate::portal::{self, Lookup, PasscodeRefused, SESSION_RECIPIENT, VerifyRefused, oauth};
use app::dto::{CodeSent, Notice};
use app::i18n::{Lang, Texts};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::{FromRequest, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::net::SocketAddr;
use tower_sessions::Session;

/// The account name under which failed portal sign-ins are counted per IP.
const PORTAL: &str = "portal sign-in";

#[derive(Deserialize, Default)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    remember: Option<String>,
    /// Which form: `passcode`, `verify` or `signout`. Every form posts to
    /// the link itself, so the browser stays on the link's address.
    #[serde(default)]
    step: String,
}

/// Reads the form; answers the CSRF check. `Err` is the response to give.
async fn form(
    state: &AppState,
    session: &Session,
    token: &str,
    request: Request<Body>,
) -> Result<(Parts, CodeForm), Response> {
    let (mut parts, body) = request.into_parts();
    let form =
        match axum::Form::<CodeForm>::from_request(Request::from_parts(parts.clone(), body), state)
            .await
        {
            Ok(f) => f.0,
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                let text = texts(&parts).form_too_large;
                return Err(state
                    .refuse(parts, StatusCode::PAYLOAD_TOO_LARGE, text)
                    .await);
            }
            Err(_) => CodeForm::default(),
        };
    // The answer is the page at the link itself, whatever the form's path.
    parts.uri = format!("/r/{token}").parse().unwrap_or_default();
    let session_id = session.id().map(|id| id.to_string());
    let visitor = parts.extensions.get::<csrf::Visitor>();
    if !csrf::verify(&state.csrf_key, session_id.as_deref(), visitor, &form.csrf) {
        let text = texts(&parts).form_expired;
        return Err(state.refuse(parts, StatusCode::FORBIDDEN, text).await);
    }
    Ok((parts, form))
}

async fn open_row(state: &AppState, token: &str) -> Result<Box<crate::store::PortalRow>, Response> {
    match portal::lookup(&state.store, token).await {
        Ok(Lookup::Open(row)) => Ok(row),
        // The page at the link says what happened, with its status.
        Ok(_) => Err(see_other(&format!("/r/{token}"))),
        Err(e) => {
            tracing::error!(error = %e, "portal lookup failed");
            Err((StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE).into_response())
        }
    }
}

/// The words of the language the page is shown in.
fn texts(parts: &Parts) -> &'static Texts {
    Lang::of_parts(parts).0.t()
}

/// `429` with `Retry-After` and a text that says when, in minutes and UTC.
async fn throttled(
    state: &AppState,
    parts: Parts,
    until_ms: i64,
    text: fn(&str) -> String,
) -> Response {
    let t = texts(&parts);
    let (seconds, minutes, at) = portal::when(until_ms);
    let when = (t.when)(minutes, &at);
    let response = state
        .refuse(parts, StatusCode::TOO_MANY_REQUESTS, text(&when))
        .await;
    retry_after(response, seconds)
}

fn retry_after(mut response: Response, seconds: u64) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

/// POST /r/{token}: the portal's forms.
pub async fn submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    request: Request<Body>,
) -> Response {
    let (parts, form) = match form(&state, &session, &token, request).await {
        Ok(f) => f,
        Err(response) => return response,
    };
    // One address guessing codes across many links is stopped too: each
    // code try is reserved before it is checked.
    let ip =
        crate::client_addr::client_ip(&state.settings.trusted_proxies, peer.ip(), &parts.headers);
    let reserved = if form.step == "signout" {
        None
    } else {
        match throttle::reserve(&state.store, throttle::Surface::Portal, PORTAL, ip).await {
            Ok(Ok(reserved)) => Some(reserved),
            Ok(Err(until)) => {
                let text = texts(&parts).ip_throttled;
                return throttled(&state, parts, until, text).await;
            }
            Err(e) => {
                return state
                    .unavailable(parts, "portal throttle unavailable", &e)
                    .await;
            }
        }
    };
    // Only a wrong or refused code counts against the address.
    let store = state.store.clone();
    let done = |response: Response| async move {
        if let Some(reserved) = reserved
            && !matches!(
                response.status(),
                StatusCode::UNPROCESSABLE_ENTITY | StatusCode::TOO_MANY_REQUESTS
            )
        {
            let _ = throttle::succeeded(&store, reserved).await;
        }
        response
    };
    match form.step.as_str() {
        "passcode" => done(request_passcode(state, token, parts).await).await,
        "verify" => done(verify(state, token, session, parts, form).await).await,
        // Starting a social sign-in stores its state: each start counts
        // against the address, so it cannot be repeated without limit.
        "google" | "yahoo" => start_oauth(state, token, session, parts, &form.step).await,
        "signout" => {
            let _ = session.remove::<String>(SESSION_RECIPIENT).await;
            see_other(&format!("/r/{token}"))
        }
        _ => {
            let text = texts(&parts).form_incomplete;
            state.refuse(parts, StatusCode::BAD_REQUEST, text).await
        }
    }
}

/// Sends a one-time passcode to the recipient.
async fn request_passcode(state: AppState, token: String, mut parts: Parts) -> Response {
    let row = match open_row(&state, &token).await {
        Ok(row) => row,
        Err(response) => return response,
    };
    let t = texts(&parts);
    let sent = portal::send_passcode(
        Lang::of_parts(&parts).0,
        &state.store,
        &state.keys.keyring,
        &state.passcode_key,
        &row,
        state.settings.queue_lifetime_ms,
    )
    .await;
    match sent {
        Ok(sent) => {
            state.metrics.passcode("sent");
            state.wake_outbound.notify_waiters();
            let _ = state
                .store
                .advance_recipient_state(&row.recipient_id, crate::domain::RecipientState::CodeSent)
                .await;
            parts.extensions.insert(CodeSent {
                address: row.address.clone(),
                reference: sent.reference,
            });
            state.render(parts, StatusCode::OK).await
        }
        Err(PasscodeRefused::TooManyCodes { until_ms }) => {
            throttled(&state, parts, until_ms, t.too_many_codes).await
        }
        Err(PasscodeRefused::Locked { until_ms }) => {
            throttled(&state, parts, until_ms, t.locked).await
        }
        Err(PasscodeRefused::NotAllowed) => {
            let text = t.otp_disabled;
            state.refuse(parts, StatusCode::FORBIDDEN, text).await
        }
        Err(PasscodeRefused::Store(e)) => {
            state
                .unavailable(parts, "passcode could not be sent", &e)
                .await
        }
    }
}

/// Checks the code; the session is then bound to the recipient's address.
async fn verify(
    state: AppState,
    token: String,
    session: Session,
    mut parts: Parts,
    form: CodeForm,
) -> Response {
    let row = match open_row(&state, &token).await {
        Ok(row) => row,
        Err(response) => return response,
    };
    let t = texts(&parts);
    match portal::verify(&state.store, &state.passcode_key, &row, &form.code).await {
        Ok(()) => {
            let bound = async {
                session.cycle_id().await?;
                session.insert(SESSION_RECIPIENT, &row.address).await
            };
            if let Err(e) = bound.await {
                return state
                    .unavailable(parts, "recipient session could not be saved", &e)
                    .await;
            }
            let idle = if form.remember.is_some() {
                time::Duration::days(30)
            } else {
                time::Duration::minutes(30)
            };
            if let Err(e) = crate::auth::set_idle_timeout(&session, idle).await {
                return state
                    .unavailable(parts, "recipient session could not be saved", &e)
                    .await;
            }
            let _ = state
                .store
                .record_message_event(&row.message_row, &row.address, "signed in with passcode")
                .await;
            let _ = state
                .store
                .advance_recipient_state(&row.recipient_id, crate::domain::RecipientState::Opened)
                .await;
            see_other(&format!("/r/{token}"))
        }
        Err(VerifyRefused::Wrong {
            tries_left,
            reference,
        }) => {
            state.metrics.passcode("failed");
            state.metrics.sign_in_failure("portal");
            parts.extensions.insert(CodeSent {
                address: row.address.clone(),
                reference,
            });
            let text = (t.wrong_code)(tries_left);
            state
                .refuse(parts, StatusCode::UNPROCESSABLE_ENTITY, text)
                .await
        }
        Err(VerifyRefused::Expired) => {
            let text = t.code_expired;
            state
                .refuse(parts, StatusCode::UNPROCESSABLE_ENTITY, text)
                .await
        }
        Err(VerifyRefused::Used) => {
            let text = t.code_used;
            state
                .refuse(parts, StatusCode::UNPROCESSABLE_ENTITY, text)
                .await
        }
        Err(VerifyRefused::NoCode) => {
            let text = t.no_code;
            state
                .refuse(parts, StatusCode::UNPROCESSABLE_ENTITY, text)
                .await
        }
        Err(VerifyRefused::TooManyTries) => {
            let text = t.too_many_tries;
            retry_after(
                state
                    .refuse(parts, StatusCode::TOO_MANY_REQUESTS, text)
                    .await,
                1,
            )
        }
        Err(VerifyRefused::Locked { until_ms }) => {
            throttled(&state, parts, until_ms, t.locked).await
        }
        Err(VerifyRefused::Store(e)) => {
            state
                .unavailable(parts, "passcode could not be checked", &e)
                .await
        }
    }
}

/// GET /r/{token}/attachments/{index}: only for the signed-in recipient of
/// a message that is still readable.
pub async fn download(
    State(state): State<AppState>,
    Path((token, index)): Path<(String, usize)>,
    headers: HeaderMap,
    session: Session,
) -> Response {
    let t = Lang::of_headers(&headers, None).0.t();
    let row = match portal::lookup(&state.store, &token).await {
        Ok(Lookup::Open(row)) => row,
        Ok(Lookup::Invalid) => {
            return (StatusCode::NOT_FOUND, t.invalid_title).into_response();
        }
        Ok(Lookup::Revoked(_)) => {
            return (StatusCode::GONE, t.revoked_title).into_response();
        }
        Ok(Lookup::Removed(_)) => {
            return (StatusCode::GONE, t.removed_title).into_response();
        }
        Ok(Lookup::Expired(_)) => {
            return (StatusCode::GONE, t.expired_title).into_response();
        }
        Err(e) => {
            tracing::error!(error = %e, "attachment lookup failed");
            return (StatusCode::SERVICE_UNAVAILABLE, t.unavailable).into_response();
        }
    };
    if session
        .get::<String>(SESSION_RECIPIENT)
        .await
        .ok()
        .flatten()
        .as_deref()
        != Some(row.address.as_str())
    {
        return see_other(&format!("/r/{token}"));
    }
    let raw = match portal::content(&state.store, &state.keys.keyring, &row).await {
        Ok(raw) => raw,
        Err(e) => {
            tracing::error!(error = %e, "attachment unavailable");
            return (StatusCode::SERVICE_UNAVAILABLE, t.unavailable).into_response();
        }
    };
    let Some((name, content_type, bytes)) = portal::attachment(&raw, index) else {
        return (StatusCode::NOT_FOUND, t.no_attachment).into_response();
    };
    let downloaded = crate::store::EventLine {
        kind: "attachment downloaded".into(),
        message_id: Some(row.message_row.clone()),
        recipient: Some(row.address.clone()),
    };
    if let Err(e) = state.event_log.record(downloaded).await {
        tracing::warn!(error = %e, "a download was not recorded");
    }
    attachment_response(&name, &content_type, bytes)
}

/// An attachment as a download: never shown inline, never cached.
pub(super) fn attachment_response(name: &str, content_type: &str, bytes: Vec<u8>) -> Response {
    let safe_name: String = name
        .chars()
        .filter(|c| !c.is_control() && *c != '"' && *c != '\\')
        .collect();
    let disposition = format!(
        "attachment; filename=\"{}\"",
        safe_name.replace(|c: char| !c.is_ascii(), "_")
    );
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_str(content_type)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        bytes,
    )
        .into_response()
}

/// Sends the browser to the provider, with state and PKCE kept in the session.
async fn start_oauth(
    state: AppState,
    token: String,
    session: Session,
    parts: Parts,
    provider: &str,
) -> Response {
    let row = match open_row(&state, &token).await {
        Ok(row) => row,
        Err(response) => return response,
    };
    let Some(provider) = state
        .settings
        .oauth
        .iter()
        .find(|p| p.id == provider)
        .filter(|_| row.social_enabled)
    else {
        let text = texts(&parts).social_refused;
        return state.refuse(parts, StatusCode::FORBIDDEN, text).await;
    };
    let callback = oauth::callback_url(&state.settings.public_url);
    let (url, pending) = oauth::start(provider, &callback, &row.recipient_id);
    if let Err(e) = session.insert(oauth::SESSION_PENDING, pending).await {
        return state
            .unavailable(parts, "sign-in could not be started", &e)
            .await;
    }
    let mut response = see_other(&url);
    let cookie = format!(
        "{}={token}; Path=/oauth/callback; Max-Age=900; HttpOnly; SameSite=Lax{}",
        oauth::LINK_COOKIE,
        if state.settings.cookies_secure() {
            "; Secure"
        } else {
            ""
        }
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The link token the browser kept for the callback.
fn link_cookie(headers: &HeaderMap) -> Option<String> {
    crate::auth::cookie(headers, oauth::LINK_COOKIE)
        .filter(|token| portal::well_formed(token))
        .map(str::to_string)
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Back on the link's page with a notice for the recipient.
async fn back_with(session: &Session, back: &str, text: String) -> Response {
    let _ = session.insert(super::FLASH, Notice::error(text)).await;
    see_other(back)
}

/// GET /oauth/callback: the provider sends the browser back here.
pub async fn oauth_callback(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    query: axum::extract::Query<Callback>,
) -> Response {
    let secure = state.settings.cookies_secure();
    let mut response = finish_oauth(state, session, headers, query).await;
    // The kept link is spent, whatever the outcome.
    let clear = format!(
        "{}=; Path=/oauth/callback; Max-Age=0; HttpOnly; SameSite=Lax{}",
        oauth::LINK_COOKIE,
        if secure { "; Secure" } else { "" }
    );
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

async fn finish_oauth(
    state: AppState,
    session: Session,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<Callback>,
) -> Response {
    let t = Lang::of_headers(&headers, None).0.t();
    let (Ok(Some(pending)), Some(token)) = (
        session
            .remove::<oauth::Pending>(oauth::SESSION_PENDING)
            .await,
        link_cookie(&headers),
    ) else {
        return (StatusCode::BAD_REQUEST, t.oauth_not_started).into_response();
    };
    let back = format!("/r/{token}");
    let Some(provider) = state
        .settings
        .oauth
        .iter()
        .find(|p| p.id == pending.provider)
    else {
        return back_with(&session, &back, t.oauth_gone.into()).await;
    };
    let state_matches: bool = query.state.as_deref().is_some_and(|s| {
        subtle::ConstantTimeEq::ct_eq(s.as_bytes(), pending.state.as_bytes()).into()
    });
    let code = match query.code {
        Some(code) if query.error.is_none() && state_matches => code,
        _ => {
            let text = (t.oauth_cancelled)(provider.label);
            return back_with(&session, &back, text).await;
        }
    };
    let row = match open_row(&state, &token).await {
        // The link the sign-in was started from, not another one.
        Ok(row) if row.recipient_id == pending.recipient_id => row,
        Ok(_) => return (StatusCode::BAD_REQUEST, t.oauth_not_started).into_response(),
        Err(response) => return response,
    };
    let callback = oauth::callback_url(&state.settings.public_url);
    let identity = match oauth::finish(provider, &callback, &code, &pending.verifier).await {
        Ok(identity) => identity,
        Err(e) => {
            tracing::warn!(provider = provider.id, error = %e, "social sign-in failed");
            let text = (t.oauth_failed)(provider.label);
            return back_with(&session, &back, text).await;
        }
    };
    match identity.email {
        Some(email) if identity.verified && email == row.address => {
            let bound = async {
                session.cycle_id().await?;
                session.insert(SESSION_RECIPIENT, &row.address).await
            };
            if bound.await.is_err() {
                return (StatusCode::SERVICE_UNAVAILABLE, t.unavailable).into_response();
            }
            if crate::auth::set_idle_timeout(&session, time::Duration::minutes(30))
                .await
                .is_err()
            {
                return (StatusCode::SERVICE_UNAVAILABLE, t.unavailable).into_response();
            }
            let kind = format!("signed in with {}", provider.label);
            let _ = state
                .store
                .record_message_event(&row.message_row, &row.address, &kind)
                .await;
            let _ = state
                .store
                .advance_recipient_state(&row.recipient_id, crate::domain::RecipientState::Opened)
                .await;
            see_other(&back)
        }
        Some(email) if identity.verified => {
            let _ = session.insert(oauth::SESSION_MISMATCH, email).await;
            see_other(&back)
        }
        Some(email) => {
            let text = (t.oauth_unverified)(provider.label, &email);
            back_with(&session, &back, text).await
        }
        None => back_with(&session, &back, (t.oauth_no_email)(provider.label)).await,
    }
}
