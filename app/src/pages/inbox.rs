//! The Inbox: protected messages delivered inline to the signed-in
//! organization user, read here decrypted.

use super::{Frame, LoadError, MessageContent, use_page_context};
use crate::server_fns::{load_inbox, load_inbox_message};
use crate::use_lang;
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_params_map;

#[component]
pub fn InboxPage() -> impl IntoView {
    let context = use_page_context();
    let items = Resource::new_blocking(|| (), |_| load_inbox());
    let t = use_lang().t();
    view! {
        <Frame title=t.inbox_title translated=true>
            <Suspense>
                {move || Suspend::new(async move {
                    match (context.await, items.await) {
                        (Err(error), _) | (_, Err(error)) => view! { <LoadError error/> }.into_any(),
                        (Ok(ctx), _) if ctx.viewer.is_none() => view! { <Redirect path="/login"/> }.into_any(),
                        (Ok(_), Ok(items)) if items.is_empty() => view! { <p>{t.inbox_empty}</p> }.into_any(),
                        (Ok(_), Ok(items)) => view! {
                            <ol class="sent" id="inbox">
                                {items.into_iter().map(|item| view! {
                                    <li>
                                        <h2><a href=format!("/inbox/{}", item.id)>{item.subject}</a></h2>
                                        <p class="hint">{format!("{} · {} · {}", item.sender, item.received_at, item.rights)}</p>
                                    </li>
                                }).collect_view()}
                            </ol>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </Frame>
    }
}

#[component]
pub fn InboxMessagePage() -> impl IntoView {
    let context = use_page_context();
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let detail = Resource::new_blocking(id, load_inbox_message);
    let t = use_lang().t();
    view! {
        <Frame title=t.inbox_title translated=true>
            <Suspense>
                {move || Suspend::new(async move {
                    match (context.await, detail.await) {
                        (Err(error), _) | (_, Err(error)) => view! { <LoadError error/> }.into_any(),
                        (Ok(ctx), _) if ctx.viewer.is_none() => view! { <Redirect path="/login"/> }.into_any(),
                        (Ok(_), Ok(None)) => {
                            #[cfg(feature = "ssr")]
                            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                                response.set_status(http::StatusCode::NOT_FOUND);
                            }
                            view! { <p>{t.inbox_not_found}</p> }.into_any()
                        }
                        (Ok(_), Ok(Some(detail))) => {
                            let attachments = format!("/inbox/{}/attachments", detail.item.id);
                            view! {
                                <MessageContent t message=detail.message attachments subheading=true/>
                                <p><a href="/inbox">{t.back_to_inbox}</a></p>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </Frame>
    }
}
