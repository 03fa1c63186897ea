//! The Inbox: protected messages delivered inline to the signed-in
//! organization user, read here decrypted.

use super::{MessageContent, SignedInPage, not_found_status};
use crate::dto::{InboxDetail, InboxList, PageContext};
use crate::server_fns::{load_inbox, load_inbox_message};
use crate::use_lang;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn InboxPage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let page = move || crate::dto::Paging::requested(&query.read().get("page").unwrap_or_default());
    let data = Resource::new_blocking(page, load_inbox);
    let t = use_lang().t();
    view! {
        <SignedInPage title=t.inbox_title translated=true data render={move |_ctx: PageContext, list: InboxList| {
            let InboxList { items, paging } = list;
            if items.is_empty() && paging.page == 1 {
                return view! { <p>{t.inbox_empty}</p> }.into_any();
            }
            view! {
                <ol class="sent" id="inbox">
                    {items.into_iter().map(|item| view! {
                        <li>
                            <h2><a href=format!("/inbox/{}", item.id)>{item.subject}</a></h2>
                            <p class="hint">{format!("{} · {} · {}", item.sender, crate::when::readable(&item.received_at), item.rights)}</p>
                        </li>
                    }).collect_view()}
                </ol>
                {super::pager("/inbox", String::new(), &paging)}
            }.into_any()
        }}/>
    }
}

#[component]
pub fn InboxMessagePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let data = Resource::new_blocking(id, load_inbox_message);
    let t = use_lang().t();
    view! {
        <SignedInPage title=t.inbox_title translated=true data render={move |_ctx: PageContext, detail: Option<InboxDetail>| {
            let Some(detail) = detail else {
                not_found_status();
                return view! { <p>{t.inbox_not_found}</p> }.into_any();
            };
            let attachments = format!("/inbox/{}/attachments", detail.item.id);
            let reply = format!("/compose?reply={}", detail.item.id);
            if detail.purged {
                return view! {
                    <h2 id="subject">{detail.item.subject}</h2>
                    <p class="notice" id="purged">{t.content_deleted}</p>
                    <p><a href="/inbox">{t.back_to_inbox}</a></p>
                }.into_any();
            }
            view! {
                <MessageContent t message=detail.message attachments subheading=true/>
                <p><a href=reply class="button" id="reply">{t.reply_button}</a></p>
                <p><a href="/inbox">{t.back_to_inbox}</a></p>
            }.into_any()
        }}/>
    }
}
