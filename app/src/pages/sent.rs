//! The sender's Sent folder, and "Remove external access" (seed 000). In
//! the reader's language (SPEC: 「外部アクセスの削除」).

use super::{CsrfField, NoticeBox, SignedInPage, not_found_status};
use crate::dto::{PageContext, SentDetail, SentItem, SentList};
use crate::i18n::Texts;
use crate::server_fns::{load_sent, load_sent_message};
use crate::use_lang;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

fn summary_line(t: &'static Texts, item: &SentItem) -> String {
    let state = if item.revoked {
        t.state_removed
    } else {
        t.state_protected
    };
    let expires = item
        .expires
        .as_ref()
        .map(|at| format!(" · {} {at}", t.expires))
        .unwrap_or_default();
    format!(
        "{} · {} · {state}{expires}",
        crate::when::readable(&item.sent_at),
        item.rights
    )
}

fn summary(t: &'static Texts, item: &SentItem) -> impl IntoView + use<> {
    view! {
        <p class="hint">{summary_line(t, item)}</p>
        <ul>{item.recipients.iter().map(|r| view! { <li>{format!("{} ({})", r.address, r.state)}</li> }).collect_view()}</ul>
    }
}

/// The recipients with a "Remove access" button for each link-based copy
/// that may still be read.
fn recipients_with_removal(
    t: &'static Texts,
    item: &SentItem,
    csrf_token: String,
) -> impl IntoView + use<> {
    let id = item.id.clone();
    view! {
        <ul id="recipients" class="recipients">
            {item.recipients.iter().map(|r| {
                let button = r.can_remove.then(|| view! {
                    <form method="post" action=format!("/sent/{id}") class="inline">
                        <CsrfField token=csrf_token.clone()/>
                        <input type="hidden" name="recipient" value=r.address.clone()/>
                        <button type="submit" class="secondary" aria-label=(t.remove_recipient_for)(&r.address)>
                            {t.remove_recipient}
                        </button>
                    </form>
                });
                view! { <li>{format!("{} ({})", r.address, r.state)}" "{button}</li> }
            }).collect_view()}
        </ul>
    }
}

#[component]
pub fn SentListPage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let page = move || crate::dto::Paging::requested(&query.read().get("page").unwrap_or_default());
    let data = Resource::new_blocking(page, load_sent);
    let t = use_lang().t();
    view! {
        <SignedInPage title=t.sent_title translated=true data render={move |_ctx: PageContext, list: SentList| {
            let SentList { items, paging } = list;
            if items.is_empty() && paging.page == 1 {
                return view! {
                    <p>{t.sent_empty}</p>
                    <p><a href="/compose">{t.write_protected}</a></p>
                }.into_any();
            }
            view! {
                <ol class="sent">
                    {items.iter().map(|item| view! {
                        <li>
                            <h2><a href=format!("/sent/{}", item.id)>{item.subject.clone()}</a></h2>
                            {summary(t, item)}
                        </li>
                    }).collect_view()}
                </ol>
                {super::pager("/sent", String::new(), &paging)}
            }.into_any()
        }}/>
    }
}

#[component]
pub fn SentMessagePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let data = Resource::new_blocking(id, load_sent_message);
    let t = use_lang().t();
    view! {
        <SignedInPage title=t.sent_message_title translated=true data render={move |ctx: PageContext, detail: Option<SentDetail>| {
            let Some(SentDetail { item, can_remove, body_html, body_text, timeline }) = detail else {
                not_found_status();
                return view! { <p>{t.sent_not_found}</p> }.into_any();
            };
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
                <p class="hint">{summary_line(t, &item)}</p>
                {recipients_with_removal(t, &item, ctx.csrf_token.clone())}
                <h3>{t.message_heading}</h3>
                {match body_html {
                    Some(html) => view! { <div id="body" class="body" inner_html=html></div> }.into_any(),
                    None => view! { <div id="body" class="body text">{body_text}</div> }.into_any(),
                }}
                <h3>{t.timeline}</h3>
                <ol id="timeline" class="timeline">
                    {timeline.into_iter().map(|e| view! {
                        <li><time datetime=e.at.clone()>{crate::when::readable(&e.at)}</time>" · "{e.what}
                            {(!e.who.is_empty()).then(|| format!(" · {}", e.who))}</li>
                    }).collect_view()}
                </ol>
                <p><a href="/sent">{t.back_to_sent}</a></p>
            }.into_any()
        }}/>
    }
}
