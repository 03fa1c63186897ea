use super::page_service::signed_in_user;
use super::{AppState, see_other};
use crate::auth::{SESSION_USER_ID, csrf, password, throttle};
use crate::domain::EmailAddress;
use crate::store::Event;
use app::dto::Notice;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequest, State};
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use std::net::SocketAddr;
use tower_sessions::Session;

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

const WRONG: &str = "Wrong email or password.";
const STALE_FORM: &str = "This form has expired. Please sign in again.";

/// POST /login: the password sign-in form.
pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    request: Request<Body>,
) -> Response {
    let (parts, body) = request.into_parts();
    let form = match axum::Form::<LoginForm>::from_request(
        Request::from_parts(parts.clone(), body),
        &state,
    )
    .await
    {
        Ok(axum::Form(form)) => form,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return state
                .refuse(parts, StatusCode::PAYLOAD_TOO_LARGE, super::FORM_TOO_LARGE)
                .await;
        }
        Err(_) => {
            return state.refuse(parts, StatusCode::BAD_REQUEST, WRONG).await;
        }
    };
    let typed = form.email.trim().chars().take(254).collect::<String>();
    let notice = |text: &str| Notice {
        email: Some(typed.clone()),
        ..Notice::error(text)
    };
    let session_id = session.id().map(|id| id.to_string());
    let visitor = parts.extensions.get::<csrf::Visitor>();
    if !csrf::verify(&state.csrf_key, session_id.as_deref(), visitor, &form.csrf) {
        return state
            .render_with_notice(parts, notice(STALE_FORM), StatusCode::FORBIDDEN)
            .await;
    }
    let account = typed.to_lowercase();
    let ip =
        crate::client_addr::client_ip(&state.settings.trusted_proxies, peer.ip(), &parts.headers);
    // Reserved before the password is checked: forty parallel tries for one
    // account check five passwords, not forty.
    let reserved = match throttle::reserve(&state.store, throttle::Surface::Web, &account, ip).await
    {
        Ok(Ok(reserved)) => reserved,
        Ok(Err(until)) => return too_many(&state, parts, notice, until).await,
        Err(e) => {
            return state
                .unavailable(parts, "sign-in could not be completed", &e)
                .await;
        }
    };
    let user = match EmailAddress::parse(&typed) {
        Ok(email) => match state.store.user_by_email(&email).await {
            Ok(user) => user.filter(|u| !u.disabled),
            Err(e) => {
                return state
                    .unavailable(parts, "sign-in could not be completed", &e)
                    .await;
            }
        },
        Err(_) => None,
    };
    let valid = password::verify(
        form.password,
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await;
    let Some(user) = user.filter(|_| valid) else {
        // The reserved try stays recorded: it was a failure.
        state.metrics.sign_in_failure("web");
        tracing::info!(%ip, "sign-in failed");
        return state
            .render_with_notice(parts, notice(WRONG), StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    };
    // A new session id at sign-in: a session id planted before sign-in is worthless.
    // The organization's idle timeout, whatever a recipient's session on
    // the same browser had (30 days with "keep me signed in").
    let signed_in = async {
        session.cycle_id().await?;
        session.insert(SESSION_USER_ID, &user.id).await?;
        crate::auth::set_idle_timeout(&session, time::Duration::hours(8)).await
    };
    if let Err(e) = signed_in.await {
        return state
            .unavailable(parts, "sign-in could not be completed", &e)
            .await;
    }
    let _ = throttle::succeeded(&state.store, reserved).await;
    let _ = state
        .store
        .record_event(Event {
            kind: "user signed in",
            actor: Some(&user.email),
            detail: Some(&format!("from {ip}")),
            ..Event::default()
        })
        .await;
    tracing::info!(user = %user.email, "signed in");
    if user.must_change_password {
        see_other("/account/password")
    } else {
        see_other("/")
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// POST /logout.
pub async fn logout(
    State(state): State<AppState>,
    session: Session,
    axum::Form(form): axum::Form<CsrfOnly>,
) -> Response {
    let session_id = session.id().map(|id| id.to_string());
    if !csrf::verify(&state.csrf_key, session_id.as_deref(), None, &form.csrf) {
        return see_other("/");
    }
    if let Ok(Some(user)) = signed_in_user(&state, &session).await {
        let _ = state
            .store
            .record_event(Event {
                kind: "user signed out",
                actor: Some(&user.email),
                ..Event::default()
            })
            .await;
    }
    if let Err(e) = session.flush().await {
        tracing::error!(error = %e, "could not end a session");
    }
    see_other("/login")
}

async fn too_many(
    state: &AppState,
    parts: axum::http::request::Parts,
    notice: impl Fn(&str) -> Notice,
    until_ms: i64,
) -> Response {
    let (seconds, minutes, at) = crate::portal::when(until_ms);
    // The organization's pages are in English.
    let when = (app::i18n::EN.when)(minutes, &at);
    let text = format!("Too many failed sign-in attempts. Try again {when}.");
    let mut response = state
        .render_with_notice(parts, notice(&text), StatusCode::TOO_MANY_REQUESTS)
        .await;
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}
