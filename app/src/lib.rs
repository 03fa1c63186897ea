//! The sealpost web UI: pages, components and the DTOs they exchange with the
//! server. No database or crypto code lives here: the server implements
//! [`service::AccountService`] and provides it through Leptos context.

pub mod dto;
pub mod i18n;
pub mod pages;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;
pub mod when;

use i18n::Lang;
use leptos::prelude::*;
use leptos_meta::{MetaTags, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

/// The HTML document around every server-rendered page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The recipient portal needs no application script: every control there
    // is a link or a form that posts to the server. Its pages load no bundle
    // and serialize no data for hydration (which would send the message body
    // twice), so a recipient's phone gets the page and its stylesheet only.
    #[cfg(feature = "ssr")]
    let scripts = !use_context::<http::request::Parts>()
        .is_some_and(|parts| parts.uri.path().starts_with("/r/"));
    #[cfg(not(feature = "ssr"))]
    let scripts = true;
    #[cfg(feature = "ssr")]
    if !scripts && let Some(context) = Owner::current_shared_context() {
        context.set_is_hydrating(false);
    }
    #[cfg(feature = "ssr")]
    set_content_security_policy(scripts);
    #[cfg(feature = "ssr")]
    let lang = request_language();
    #[cfg(not(feature = "ssr"))]
    let lang = Lang::default();
    provide_context(lang);
    let site = use_context::<SiteName>().unwrap_or_default();
    provide_context(site.clone());
    view! {
        <!DOCTYPE html>
        <html lang=lang.code()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="stylesheet" href="/main.css"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <meta name="application-name" content=site.0/>
                {scripts.then(|| view! { <HydrationScripts options islands=true/> })}
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Every page renders completely on the server before it is sent (no
/// out-of-order streaming), so pages work without JavaScript and redirects
/// and status codes are set before the first byte. The few parts that act
/// in the browser are islands (`#[island]`): only they are compiled to
/// wasm and hydrated, with their props; the rest of a page stays the
/// server's HTML, and its data is not sent again for hydration.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Router>
            <Routes fallback=pages::NotFoundPage>
                <Route path=path!("/") view=pages::HomePage ssr=SsrMode::Async/>
                <Route path=path!("/login") view=pages::LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/account/password") view=pages::ChangePasswordPage ssr=SsrMode::Async/>
                <Route path=path!("/compose") view=pages::ComposePage ssr=SsrMode::Async/>
                <Route path=path!("/r/:token") view=pages::PortalPage ssr=SsrMode::Async/>
                <Route path=path!("/inbox") view=pages::InboxPage ssr=SsrMode::Async/>
                <Route path=path!("/inbox/:id") view=pages::InboxMessagePage ssr=SsrMode::Async/>
                <Route path=path!("/sent") view=pages::SentListPage ssr=SsrMode::Async/>
                <Route path=path!("/sent/:id") view=pages::SentMessagePage ssr=SsrMode::Async/>
                <Route path=path!("/admin") view=pages::admin::ReportPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/report") view=pages::admin::ReportPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/trace") view=pages::admin::TracePage ssr=SsrMode::Async/>
                <Route path=path!("/admin/message") view=pages::admin::AdminMessagePage ssr=SsrMode::Async/>
                <Route path=path!("/admin/templates") view=pages::admin::TemplatesPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/templates/:name") view=pages::admin::TemplateEditPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/rules") view=pages::admin::RulesPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/rules/new") view=pages::admin::RuleEditPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/rules/edit") view=pages::admin::RuleEditPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/users") view=pages::admin::UsersPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/queue") view=pages::admin::QueuePage ssr=SsrMode::Async/>
                <Route path=path!("/admin/audit") view=pages::admin::AuditPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/settings") view=pages::admin::SettingsPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}

/// The language of the page being rendered.
pub fn use_lang() -> Lang {
    use_context::<Lang>().unwrap_or_default()
}

/// The name page titles end with: the organization's when it set one
/// (`SEALPOST_ORGANIZATION_NAME`). The server provides it and writes it
/// into `<meta name="application-name">` too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteName(pub String);

impl Default for SiteName {
    fn default() -> Self {
        SiteName("sealpost".into())
    }
}

/// `<page> · <site name>`, for `<title>`.
pub fn page_title(page: &str) -> String {
    let site = use_context::<SiteName>().unwrap_or_default();
    format!("{page} · {}", site.0)
}

/// The request's language; a `?lang=` choice is remembered in a cookie.
#[cfg(feature = "ssr")]
fn request_language() -> Lang {
    let Some(parts) = use_context::<http::request::Parts>() else {
        return Lang::default();
    };
    let (lang, chosen) = Lang::of_parts(&parts);
    if let (true, Some(response)) = (chosen, use_context::<leptos_axum::ResponseOptions>()) {
        let cookie = format!(
            "{}={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly",
            i18n::COOKIE,
            lang.code()
        );
        if let Ok(value) = http::HeaderValue::from_str(&cookie) {
            response.append_header(http::header::SET_COOKIE, value);
        }
    }
    lang
}

/// Where forms may go besides this site (the social sign-in providers, whom
/// "Sign in with Google" redirects to); the server provides it.
#[derive(Clone, Debug, Default)]
pub struct FormTargets(pub Vec<String>);

/// A strict policy: scripts only from this site or the per-response nonce
/// that Leptos puts on its hydration script; no plugins, no framing.
#[cfg(feature = "ssr")]
fn set_content_security_policy(scripts: bool) {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let targets = use_context::<FormTargets>().unwrap_or_default().0.join(" ");
    // Without the bundle only Leptos' own nonce'd bootstrap lines remain.
    let script_src = if scripts {
        format!("'self' 'nonce-{nonce}' 'wasm-unsafe-eval'")
    } else {
        format!("'nonce-{nonce}'")
    };
    let policy = format!(
        "default-src 'self'; script-src {script_src}; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self' {targets}"
    );
    if let Ok(value) = http::HeaderValue::from_str(policy.trim()) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}
