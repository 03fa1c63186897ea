//! `/admin/audit`: who changed what, when, and from which surface (the same
//! trail as `sealpost audit`).

use super::AdminPage;
use crate::dto::{AuditList, AuditQuery, PageContext};
use crate::server_fns::load_admin_audit;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let asked = move || {
        let q = query.read();
        AuditQuery {
            since: q.get("since").unwrap_or_default(),
            actor: q.get("actor").unwrap_or_default(),
        }
    };
    let data = Resource::new_blocking(asked, load_admin_audit);
    view! {
        <AdminPage title="Audit trail" data render={move |_ctx: PageContext, list: AuditList| {
            let q = asked();
            view! {
                <p class="hint">"Every change to users, API tokens, branding templates, transport rules, keys, protection settings, the queue and revocations, from the pages, the API and the command line."</p>
                <form method="get" action="/admin/audit" class="filters" role="search">
                    <div>
                        <label for="since">"From"</label>
                        <input id="since" name="since" type="text" value=q.since.clone() placeholder="2026-11-21" aria-describedby="audit-hint"/>
                    </div>
                    <div>
                        <label for="actor">"Who"</label>
                        <input id="actor" name="actor" type="text" value=q.actor.clone() placeholder="alice@example.com" aria-describedby="audit-hint"/>
                    </div>
                    <p id="audit-hint" class="hint">"From: a date as 2026-11-23 or a time as 2026-11-23T09:15:02Z (UTC). Who: a user's email (their own changes and their API tokens'), or an actor as listed."</p>
                    <button type="submit">"Search"</button>
                </form>
                {list.error.clone().map(|e| view! { <p class="notice error" role="alert">{e}</p> })}
                {if list.lines.is_empty() {
                    view! { <p id="audit">"No changes match."</p> }.into_any()
                } else {
                    view! {
                        <table id="audit">
                            <caption class="visually-hidden">"Changes, newest first"</caption>
                            <thead><tr>
                                <th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"From"</th>
                                <th scope="col">"What"</th><th scope="col">"On"</th><th scope="col">"Details"</th>
                            </tr></thead>
                            <tbody>
                                {list.lines.iter().map(|l| view! {
                                    <tr>
                                        <td><time datetime=l.at.clone()>{crate::when::readable(&l.at)}</time></td>
                                        <td>{l.actor.clone()}</td>
                                        <td>{l.surface.clone()}</td>
                                        <td>{l.action.clone()}</td>
                                        <td>{l.target.clone()}</td>
                                        <td>{l.detail.clone()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
                {list.more.then(|| view! {
                    <p class="hint">"Only the newest changes are shown: narrow the search, or use sealpost audit for all of them."</p>
                })}
            }.into_any()
        }}/>
    }
}
