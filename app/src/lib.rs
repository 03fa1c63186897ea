//! The sealpost web UI: pages, components and the DTOs they exchange with the
//! server. No database or crypto code lives here: the server implements
//! [`service::AccountService`] and provides it through Leptos context.

pub mod dto;
pub mod pages;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;

use leptos::prelude::*;
use leptos_meta::{MetaTags, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

/// The HTML document around every server-rendered page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="stylesheet" href="/main.css"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <HydrationScripts options/>
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
/// and status codes are set before the first byte.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser: the mark tells tests (and curious
    // people) that the page hydrated.
    Effect::new(|_| {
        #[cfg(feature = "hydrate")]
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Router>
            <Routes fallback=pages::NotFoundPage>
                <Route path=path!("/") view=pages::HomePage ssr=SsrMode::Async/>
                <Route path=path!("/login") view=pages::LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/account/password") view=pages::ChangePasswordPage ssr=SsrMode::Async/>
                <Route path=path!("/compose") view=pages::ComposePage ssr=SsrMode::Async/>
                <Route path=path!("/r/:token") view=pages::PortalPage ssr=SsrMode::Async/>
                <Route path=path!("/sent") view=pages::SentListPage ssr=SsrMode::Async/>
                <Route path=path!("/sent/:id") view=pages::SentMessagePage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}

/// Where forms may go besides this site (the social sign-in providers, whom
/// "Sign in with Google" redirects to); the server provides it.
#[derive(Clone, Debug, Default)]
pub struct FormTargets(pub Vec<String>);

/// A strict policy: scripts only from this site or the per-response nonce
/// that Leptos puts on its hydration script; no plugins, no framing.
#[cfg(feature = "ssr")]
fn set_content_security_policy() {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let targets = use_context::<FormTargets>().unwrap_or_default().0.join(" ");
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self' {targets}"
    );
    if let Ok(value) = http::HeaderValue::from_str(policy.trim()) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}
