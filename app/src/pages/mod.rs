//! The organization users' pages.

mod account;
pub mod admin;
mod compose;
mod home;
mod inbox;
mod login;
mod portal;
mod sent;

pub use account::ChangePasswordPage;
pub use compose::ComposePage;
pub use home::HomePage;
pub use inbox::{InboxMessagePage, InboxPage};
pub use login::LoginPage;
pub use portal::PortalPage;
pub use sent::{SentListPage, SentMessagePage};

use crate::dto::{Notice, NoticeKind, PageContext};
use crate::i18n::Lang;
use crate::server_fns::load_page_context;
use crate::use_lang;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_location;

/// Loads the page context once per page; during server rendering it is
/// awaited before the HTML is sent (pages are not hydrated as a whole, so
/// it is not sent again as data).
pub(crate) fn use_page_context() -> Resource<Result<PageContext, ServerFnError>> {
    Resource::new_blocking(|| (), |_| load_page_context())
}

/// The page frame: header with the product name, the main landmark and a footer.
/// The organization's own pages are in English only, and say so.
#[component]
pub(crate) fn Frame(
    title: &'static str,
    children: Children,
    /// The page follows the reader's language (else it is English).
    #[prop(optional)]
    translated: bool,
) -> impl IntoView {
    view! {
        <Title text=crate::page_title(title)/>
        <a class="skip" href="#main">{use_lang().t().skip}</a>
        <header class="top">
            <span class="brand">"sealpost"</span>
            {translated.then(|| view! { <LangSwitch/> })}
        </header>
        <main id="main" tabindex="-1" lang=(!translated).then_some("en")>
            <h1>{title}</h1>
            {children()}
        </main>
        <HydrationMark/>
    }
}

/// The last island of every organization page: islands hydrate in the
/// order of the page, so when this one runs the page's controls work. It
/// marks the body for tests (and curious people).
#[island]
fn HydrationMark() -> impl IntoView {
    Effect::new(|_| {
        #[cfg(feature = "hydrate")]
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

/// A page for signed-in organization users: the frame, a sign-in redirect
/// for everyone else, and the page's own view once its data has loaded.
#[component]
pub(crate) fn SignedInPage<T, F>(
    title: &'static str,
    #[prop(optional)] translated: bool,
    data: Resource<Result<T, ServerFnError>>,
    render: F,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    F: Fn(PageContext, T) -> AnyView + Clone + Send + Sync + 'static,
{
    let context = use_page_context();
    view! {
        <Frame title translated>
            <Suspense>
                {move || {
                    let render = render.clone();
                    Suspend::new(async move {
                        match (context.await, data.await) {
                            (Err(error), _) | (_, Err(error)) => view! { <LoadError error/> }.into_any(),
                            (Ok(ctx), _) if ctx.viewer.is_none() => {
                                view! { <leptos_router::components::Redirect path="/login"/> }.into_any()
                            }
                            (Ok(ctx), Ok(data)) => render(ctx, data),
                        }
                    })
                }}
            </Suspense>
        </Frame>
    }
}

/// Marks the response 404 (the page says what is missing).
pub(crate) fn not_found_status() {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
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

/// A decrypted message: headers, the do-not-forward restriction, the body
/// (sanitised on the server) and the attachments under `attachments/<n>`.
#[component]
pub(crate) fn MessageContent(
    t: &'static crate::i18n::Texts,
    message: crate::dto::MessageView,
    attachments: String,
    /// Under a page heading of its own, the subject is a second-level heading.
    #[prop(optional)]
    subheading: bool,
) -> impl IntoView {
    let m = message;
    view! {
        {if subheading {
            view! { <h2 id="subject">{m.subject.clone()}</h2> }.into_any()
        } else {
            view! { <h1 id="subject">{m.subject.clone()}</h1> }.into_any()
        }}
        <dl class="headers">
            <dt>{t.from}</dt><dd id="from">{m.sender.clone()}</dd>
            <dt>{t.to}</dt><dd>{m.to.clone()}</dd>
            <dt>{t.date}</dt><dd>{m.date.clone()}</dd>
            {m.expires.clone().map(|e| view! { <dt>{t.expires}</dt><dd>{e}</dd> })}
        </dl>
        {m.do_not_forward.then(|| view! {
            <p class="notice">{t.do_not_forward}</p>
        })}
        {match m.body_html.clone() {
            Some(html) => view! { <div id="body" class="body" inner_html=html></div> }.into_any(),
            None => view! { <div id="body" class="body text">{m.body_text.clone()}</div> }.into_any(),
        }}
        {(!m.attachments.is_empty()).then(|| view! {
            <h2>{t.attachments}</h2>
            <ul id="attachments">
                {m.attachments.iter().map(|a| view! {
                    <li><a href=format!("{attachments}/{}", a.index) download>{a.name.clone()}</a>
                        {format!(" ({})", (t.kilobytes)(a.size))}</li>
                }).collect_view()}
            </ul>
        })}
    }
}

/// Links to the same page in each language; plain links, so they work
/// without JavaScript.
#[component]
pub(crate) fn LangSwitch() -> impl IntoView {
    let lang = use_lang();
    let path = use_location().pathname.get_untracked();
    view! {
        <nav class="lang" aria-label=lang.t().language>
            <ul>
                {Lang::ALL.iter().map(|&l| view! {
                    <li>
                        <a href=format!("{path}?lang={}", l.code()) hreflang=l.code() lang=l.code()
                            aria-current=(l == lang).then_some("true")>{l.name()}</a>
                    </li>
                }).collect_view()}
            </ul>
        </nav>
    }
}

#[component]
pub(crate) fn LoadError(error: ServerFnError) -> impl IntoView {
    // The service's only error is "cannot answer right now"; its cause is
    // in the server log, and the page says it in the reader's language.
    let _ = error;
    // Said as 503 too, so a monitor or a proxy sees a page that failed.
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::SERVICE_UNAVAILABLE);
        }
    }
    let text = use_lang().t().unavailable;
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
    let t = use_lang().t();
    view! {
        <Title text=crate::page_title(t.not_found_title)/>
        <header class="top">
            <span class="brand">"sealpost"</span>
            <LangSwitch/>
        </header>
        <main id="main">
            <h1>{t.not_found_title}</h1>
            <p>{t.not_found_text}</p>
            <p><a href="/">{t.not_found_link}</a></p>
        </main>
    }
}

/// Previous / next links for a paged list, keeping the filters.
pub(crate) fn pager(
    path: &'static str,
    query: String,
    paging: &crate::dto::Paging,
) -> impl IntoView + use<> {
    let href = move |page: u32| {
        if query.is_empty() {
            format!("{path}?page={page}")
        } else {
            format!("{path}?{query}&page={page}")
        }
    };
    let previous = (paging.page > 1).then(|| {
        view! { <a href=href(paging.page - 1) rel="prev">"Previous 50"</a> }
    });
    let next = paging
        .has_next
        .then(|| view! { <a href=href(paging.page + 1) rel="next">"Next 50"</a> });
    (paging.page > 1 || paging.has_next).then(|| {
        view! {
            <nav class="pager" aria-label="Pages">
                {previous}" "<span>{format!("Page {}", paging.page)}</span>" "{next}
            </nav>
        }
    })
}
