//! The HTTP side: router, the page service the UI calls, and the form
//! handlers that need status codes a server function cannot give
//! (429 with Retry-After, 403 for a stale form).

mod account;
mod admin;
mod api;
mod compose;
mod dev_outbox;
mod health;
pub(crate) mod https;
mod inbox;
mod login;
pub(crate) mod multipart;
mod page_service;
mod portal;
mod portal_page;
mod reply;
mod sent;

use crate::config::Settings;
use crate::crypto::SecretKey;
use crate::keys::KeyMaterial;
use crate::store::Store;
use app::dto::Notice;
use app::service::AccountService;
use axum::Router;
use axum::body::Body;
use axum::extract::FromRef;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use leptos::prelude::*;
use leptos_axum::LeptosRoutes;
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use page_service::PageService;
pub use portal_page::PageCache;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub keys: Arc<KeyMaterial>,
    pub csrf_key: Arc<SecretKey>,
    pub intake: Arc<crate::intake::Intake>,
    pub passcode_key: Arc<SecretKey>,
    /// Wakes the outbound workers for mail that should leave at once (passcodes).
    pub wake_outbound: Arc<tokio::sync::Notify>,
    /// Recently opened messages as the portal shows them.
    pub views: Arc<crate::portal::ViewCache>,
    /// Their message pages as rendered, to be served with each reader's
    /// own CSRF token.
    pub pages: Arc<portal_page::PageCache>,
    /// Recipient sessions whose "opened" this node recorded already.
    pub opened: Arc<crate::portal::Opened>,
    /// Opens and downloads, committed in groups.
    pub event_log: crate::store::EventLog,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub leptos_options: LeptosOptions,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    fn service(&self) -> Arc<dyn AccountService> {
        Arc::new(PageService::new(self.clone()))
    }

    fn admin_service(&self) -> Arc<dyn app::service::AdminService> {
        Arc::new(admin::AdminPages::new(self.clone()))
    }

    /// Puts the services into the Leptos context of a request.
    fn leptos_context(&self) -> impl Fn() + Clone + Send + Sync + 'static {
        let service = self.service();
        let admin = self.admin_service();
        let targets = app::FormTargets(
            self.settings
                .oauth
                .iter()
                .map(|p| p.auth_url.origin().ascii_serialization())
                .collect(),
        );
        let site = self
            .settings
            .organization_name
            .clone()
            .map(app::SiteName)
            .unwrap_or_default();
        move || {
            provide_context(service.clone());
            provide_context(admin.clone());
            provide_context(targets.clone());
            provide_context(site.clone());
        }
    }

    /// Renders the Leptos page at the request's path with a notice for the
    /// person (why their form was refused) and the given status.
    async fn render_with_notice(
        &self,
        mut parts: axum::http::request::Parts,
        notice: Notice,
        status: StatusCode,
    ) -> Response {
        parts.extensions.insert(notice);
        self.render(parts, status).await
    }

    /// The page again with why the form was refused.
    async fn refuse(
        &self,
        parts: axum::http::request::Parts,
        status: StatusCode,
        text: impl Into<String>,
    ) -> Response {
        self.render_with_notice(parts, Notice::error(text), status)
            .await
    }

    /// The page again saying sealpost cannot answer right now (503); the
    /// cause goes to the log only, never to the page.
    fn unavailable(
        &self,
        parts: axum::http::request::Parts,
        context: &str,
        cause: &dyn std::fmt::Display,
    ) -> impl std::future::Future<Output = Response> + Send + '_ {
        // Logged before the future exists, so the future holds no borrow
        // of the cause.
        tracing::error!(error = %cause, "{context}");
        self.render_with_notice(
            parts,
            Notice::error(UNAVAILABLE),
            StatusCode::SERVICE_UNAVAILABLE,
        )
    }

    /// Renders the Leptos page at the request's path (what the handler put
    /// into the request's extensions reaches the page) with the given status.
    async fn render(&self, parts: axum::http::request::Parts, status: StatusCode) -> Response {
        let mut response = self.render_page(parts).await;
        *response.status_mut() = status;
        response
    }

    /// Renders the Leptos page at the request's path, with the status the
    /// page sets.
    async fn render_page(&self, mut parts: axum::http::request::Parts) -> Response {
        parts.method = axum::http::Method::GET;
        let options = self.leptos_options.clone();
        let handler =
            leptos_axum::render_app_async_with_context(self.leptos_context(), move || {
                app::shell(options.clone())
            });
        handler(Request::from_parts(parts, Body::empty()))
            .await
            .into_response()
    }
}

/// What a page says to a form over its body limit.
pub const FORM_TOO_LARGE: &str = "The form is too large.";

/// The largest body of an ordinary form, and of one that uploads a logo.
const SMALL_FORM: usize = 64 * 1024;
const LARGE_FORM: usize = 1024 * 1024;

/// The pages' server functions read their whole body before any check of
/// who is asking, with no limit of their own: the body is read here first,
/// up to the ordinary form's limit.
async fn limit_server_functions(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path();
    if !path.starts_with("/api/") || path.starts_with("/api/v1/") {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, SMALL_FORM).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(_) => (StatusCode::PAYLOAD_TOO_LARGE, FORM_TOO_LARGE).into_response(),
    }
}

/// Gives every browser a `sealpost_visitor` cookie (nothing is stored for
/// it) for the CSRF tokens of the forms it fills in before signing in.
async fn visitor_cookie(
    axum::extract::State(secure): axum::extract::State<bool>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(visitor) = crate::auth::csrf::Visitor::from_headers(request.headers()) {
        request.extensions_mut().insert(visitor);
        return next.run(request).await;
    }
    let visitor = crate::auth::csrf::Visitor::new();
    let cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Lax{}",
        crate::auth::csrf::VISITOR_COOKIE,
        visitor.0,
        if secure { "; Secure" } else { "" }
    );
    request.extensions_mut().insert(visitor);
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

pub fn router(
    state: AppState,
    sessions: tower_sessions::SessionManagerLayer<crate::auth::session_store::DbSessionStore>,
) -> Router {
    // Once per process: generating the list runs the app with resource
    // loading suspended process-wide, and a request whose resource is first
    // polled meanwhile would wait forever (leptos issue 4773). A second node
    // in the same process (tests) must not generate it again while the
    // first serves.
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    // The portal's page has a handler of its own (portal_page), which
    // renders through Leptos when it must.
    let routes = ROUTES
        .get_or_init(|| leptos_axum::generate_route_list(app::App))
        .iter()
        .filter(|route| route.path() != "/r/{token}")
        .cloned()
        .collect::<Vec<_>>();
    let shell_options = state.leptos_options.clone();
    // A form carrying a whole message: multipart framing and base64 grow
    // what the browser sends.
    let message_form = state.settings.max_message_bytes.saturating_mul(3) / 2 + 64 * 1024;
    let https_only = state.settings.cookies_secure();
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/dev/outbox", get(dev_outbox::list))
        .route("/dev/outbox/{id}", get(dev_outbox::show))
        .route("/login", post(login::submit))
        .route("/logout", post(login::logout))
        .route("/account/password", post(account::change_password))
        .route("/r/{token}", get(portal_page::page).post(portal::submit))
        .route("/oauth/callback", get(portal::oauth_callback))
        .route("/sent/{id}", post(sent::remove_external_access))
        .route("/branding/{id}/logo", get(branding_logo))
        .route("/r/{token}/attachments/{index}", get(portal::download))
        .route("/inbox/{id}/attachments/{index}", get(inbox::download))
        .route(
            "/compose",
            post(compose::submit).layer(axum::extract::DefaultBodyLimit::max(message_form)),
        )
        .route(
            "/r/{token}/reply",
            post(reply::submit).layer(axum::extract::DefaultBodyLimit::max(message_form)),
        )
        // A whole message, its attachments in base64.
        .route(
            "/api/v1/messages",
            post(api::send_message).layer(axum::extract::DefaultBodyLimit::max(
                // What the document allows (5 files of 1,000,000 base64
                // characters, a body of 100,000 characters escaped) and no
                // more, whatever the message size limit.
                (message_form.saturating_mul(4) / 3).min(api::SEND_BODY_LIMIT),
            )),
        )
        // Templates carry a logo (256 KB, base64 in the API).
        .merge(api::routes().layer(axum::extract::DefaultBodyLimit::max(LARGE_FORM)))
        .route("/admin/message/revoke", post(admin::revoke))
        .route("/admin/report.csv", get(admin::report_csv))
        .route(
            "/admin/templates",
            post(admin::new_template).layer(axum::extract::DefaultBodyLimit::max(LARGE_FORM)),
        )
        .route(
            "/admin/templates/{name}",
            post(admin::save_template).layer(axum::extract::DefaultBodyLimit::max(LARGE_FORM)),
        )
        .route("/admin/templates/{name}/remove", post(admin::remove_template))
        .route("/admin/rules/save", post(admin::save_rule))
        .route("/admin/rules/change", post(admin::change_rule))
        .route("/admin/users", post(admin::add_user))
        .route("/admin/settings", post(admin::save_settings))
        .route("/admin/queue", post(admin::queue_action))
        .leptos_routes_with_context(&state, routes, state.leptos_context(), move || {
            app::shell(shell_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(app::shell))
        .layer(sessions)
        // Every other form (sign-in, portal, admin, server functions) is small.
        .layer(axum::extract::DefaultBodyLimit::max(SMALL_FORM))
        .layer(axum::middleware::from_fn_with_state(
            state.settings.cookies_secure(),
            visitor_cookie,
        ))
        .layer(axum::middleware::from_fn(limit_server_functions))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
                tracing::info_span!("http", method = %req.method(), path = %loggable_path(req.uri().path()))
            }),
        )
        .layer(axum::middleware::from_fn_with_state(
            https_only,
            strict_transport_security,
        ))
        .with_state(state)
}

/// With an https public URL, browsers are told to use nothing else for a
/// year (HSTS): a later plain-HTTP link cannot be downgraded on the way.
async fn strict_transport_security(
    axum::extract::State(https_only): axum::extract::State<bool>,
    request: Request<Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    if https_only {
        response.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// Link tokens never reach the logs: `/r/<token>` is logged as `/r/…`.
pub fn loggable_path(path: &str) -> String {
    match path.strip_prefix("/r/") {
        Some(_) => "/r/…".to_string(),
        None => path.to_string(),
    }
}

/// The session key of a one-time notice shown on the next page.
pub const FLASH: &str = "flash";

/// Takes a one-time value (a notice, a sign-in's outcome) out of the
/// session. tower-sessions marks a session changed on every `remove`, found
/// or not, and saves a changed session to the database when the response
/// goes: removing unconditionally made every page view a durable write.
pub(crate) async fn take<T: serde::de::DeserializeOwned>(
    session: &tower_sessions::Session,
    key: &str,
) -> Option<T> {
    session.get::<T>(key).await.ok().flatten()?;
    session.remove::<T>(key).await.ok().flatten()
}

pub const UNAVAILABLE: &str = "sealpost cannot answer right now. Please try again in a moment.";

/// 303 See Other: after a successful form post the browser GETs the target.
fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

/// A template's logo, for the branded portal pages (logos are not secret).
async fn branding_logo(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    match state.store.template_logo(&id).await {
        Ok(Some((bytes, kind))) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_str(&kind).unwrap_or(HeaderValue::from_static("image/png")),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=300"),
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "logo unavailable");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn link_tokens_are_not_logged() {
        assert_eq!(super::loggable_path("/r/abcDEF123"), "/r/…");
        assert_eq!(super::loggable_path("/login"), "/login");
    }
}
