//! The organization users' pages.

mod account;
mod compose;
mod home;
mod login;
mod portal;
mod sent;

pub use account::ChangePasswordPage;
pub use compose::ComposePage;
pub use home::HomePage;
pub use login::LoginPage;
pub use portal::PortalPage;
pub use sent::{SentListPage, SentMessagePage};

use crate::dto::{Notice, NoticeKind, PageContext};
use crate::server_fns::load_page_context;
use leptos::prelude::*;
use leptos_meta::Title;

/// Loads the page context once per page; during server rendering it is
/// awaited before the HTML is sent, and hydration reuses the same value.
pub(crate) fn use_page_context() -> Resource<Result<PageContext, ServerFnError>> {
    Resource::new_blocking(|| (), |_| load_page_context())
}

/// The page frame: header with the product name, the main landmark and a footer.
#[component]
pub(crate) fn Frame(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <Title text=format!("{title} · sealpost")/>
        <a class="skip" href="#main">"Skip to content"</a>
        <header class="top">
            <span class="brand">"sealpost"</span>
        </header>
        <main id="main" tabindex="-1">
            <h1>{title}</h1>
            {children()}
        </main>
    }
}

#[component]
pub(crate) fn NoticeBox(notice: Option<Notice>) -> impl IntoView {
    notice.map(|n| {
        let class = match n.kind {
            NoticeKind::Error => "notice error",
            NoticeKind::Success => "notice success",
        };
        view! { <p class=class role="alert">{n.text}</p> }
    })
}

#[component]
pub(crate) fn CsrfField(token: String) -> impl IntoView {
    view! { <input type="hidden" name="csrf" value=token/> }
}

#[component]
pub(crate) fn LoadError(error: ServerFnError) -> impl IntoView {
    let text = match error {
        ServerFnError::ServerError(text) => text,
        _ => "sealpost cannot answer right now. Please try again in a moment.".to_string(),
    };
    view! { <p class="notice error" role="alert">{text}</p> }
}

#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Frame title="Page not found">
            <p>"There is no page at this address."</p>
            <p><a href="/">"Go to the start page"</a></p>
        </Frame>
    }
}
