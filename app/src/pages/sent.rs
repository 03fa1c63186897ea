//! The sender's Sent folder, and "Remove external access" (seed 000).

use super::{CsrfField, Frame, LoadError, NoticeBox, use_page_context};
use crate::dto::SentItem;
use crate::server_fns::{load_sent, load_sent_message};
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_params_map;

fn summary(item: &SentItem) -> impl IntoView + use<> {
    let state = if item.revoked {
        "External access removed"
    } else {
        "Protected"
    };
    view! {
        <p class="hint">{format!("{} · {} · {}", item.sent_at, item.rights, state)}</p>
        <ul>{item.recipients.iter().map(|r| view! { <li>{r.clone()}</li> }).collect_view()}</ul>
    }
}

#[component]
pub fn SentListPage() -> impl IntoView {
    let context = use_page_context();
    let items = Resource::new_blocking(|| (), |_| load_sent());
    view! {
        <Frame title="Sent messages">
            <Suspense>
                {move || Suspend::new(async move {
                    match (context.await, items.await) {
                        (Err(error), _) | (_, Err(error)) => view! { <LoadError error/> }.into_any(),
                        (Ok(ctx), _) if ctx.viewer.is_none() => view! { <Redirect path="/login"/> }.into_any(),
                        (Ok(_), Ok(items)) if items.is_empty() => view! {
                            <p>"You have not sent protected messages yet."</p>
                            <p><a href="/compose">"Write a protected message"</a></p>
                        }.into_any(),
                        (Ok(_), Ok(items)) => view! {
                            <ol class="sent">
                                {items.iter().map(|item| view! {
                                    <li>
                                        <h2><a href=format!("/sent/{}", item.id)>{item.subject.clone()}</a></h2>
                                        {summary(item)}
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
pub fn SentMessagePage() -> impl IntoView {
    let context = use_page_context();
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let detail = Resource::new_blocking(id, load_sent_message);
    view! {
        <Frame title="Sent message">
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
                            view! { <p>"There is no such message in your Sent folder."</p> }.into_any()
                        }
                        (Ok(ctx), Ok(Some(detail))) => {
                            let item = detail.item.clone();
                            view! {
                                {detail.can_remove.then(|| view! {
                                    <form method="post" action=format!("/sent/{}", item.id) class="remove">
                                        <CsrfField token=ctx.csrf_token.clone()/>
                                        <button type="submit">"Remove external access"</button>
                                    </form>
                                })}
                                <NoticeBox notice=ctx.notice.clone()/>
                                {item.revoked.then(|| view! { <p class="notice" id="removed">"External access was removed."</p> })}
                                <h2 id="subject">{item.subject.clone()}</h2>
                                {summary(&item)}
                                <p><a href="/sent">"Back to Sent messages"</a></p>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </Frame>
    }
}
