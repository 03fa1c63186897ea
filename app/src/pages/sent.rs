//! The sender's Sent folder, and "Remove external access" (seed 000). In
//! the reader's language (SPEC: 「外部アクセスの削除」).

use super::{CsrfField, Frame, LoadError, NoticeBox, use_page_context};
use crate::dto::{SentDetail, SentItem};
use crate::i18n::Texts;
use crate::server_fns::{load_sent, load_sent_message};
use crate::use_lang;
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_params_map;

fn summary(t: &'static Texts, item: &SentItem) -> impl IntoView + use<> {
    let state = if item.revoked {
        t.state_removed
    } else {
        t.state_protected
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
    let t = use_lang().t();
    view! {
        <Frame title=t.sent_title translated=true>
            <Suspense>
                {move || Suspend::new(async move {
                    match (context.await, items.await) {
                        (Err(error), _) | (_, Err(error)) => view! { <LoadError error/> }.into_any(),
                        (Ok(ctx), _) if ctx.viewer.is_none() => view! { <Redirect path="/login"/> }.into_any(),
                        (Ok(_), Ok(items)) if items.is_empty() => view! {
                            <p>{t.sent_empty}</p>
                            <p><a href="/compose">{t.write_protected}</a></p>
                        }.into_any(),
                        (Ok(_), Ok(items)) => view! {
                            <ol class="sent">
                                {items.iter().map(|item| view! {
                                    <li>
                                        <h2><a href=format!("/sent/{}", item.id)>{item.subject.clone()}</a></h2>
                                        {summary(t, item)}
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
    let t = use_lang().t();
    view! {
        <Frame title=t.sent_message_title translated=true>
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
                            view! { <p>{t.sent_not_found}</p> }.into_any()
                        }
                        (Ok(ctx), Ok(Some(detail))) => {
                            let SentDetail { item, can_remove, body_html, body_text, timeline } = detail;
                            view! {
                                {can_remove.then(|| view! {
                                    <form method="post" action=format!("/sent/{}", item.id) class="remove">
                                        <CsrfField token=ctx.csrf_token.clone()/>
                                        <button type="submit">{t.remove_access}</button>
                                    </form>
                                })}
                                <NoticeBox notice=ctx.notice.clone()/>
                                {item.revoked.then(|| view! { <p class="notice" id="removed">{t.access_removed}</p> })}
                                <h2 id="subject">{item.subject.clone()}</h2>
                                {summary(t, &item)}
                                <h3>{t.message_heading}</h3>
                                {match body_html {
                                    Some(html) => view! { <div id="body" class="body" inner_html=html></div> }.into_any(),
                                    None => view! { <div id="body" class="body text">{body_text}</div> }.into_any(),
                                }}
                                <h3>{t.timeline}</h3>
                                <ol id="timeline" class="timeline">
                                    {timeline.into_iter().map(|e| view! {
                                        <li><time>{e.at}</time>" · "{e.what}
                                            {(!e.who.is_empty()).then(|| format!(" · {}", e.who))}</li>
                                    }).collect_view()}
                                </ol>
                                <p><a href="/sent">{t.back_to_sent}</a></p>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </Frame>
    }
}
