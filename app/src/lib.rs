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
