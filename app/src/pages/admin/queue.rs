//! `/admin/queue`: what waits in the pipeline and outbound queues, and what
//! an administrator does with a job that cannot finish (the same as
//! `sealpost queue`).

use super::AdminPage;
use crate::dto::{PageContext, QueueLine};
use crate::pages::{CsrfField, NoticeBox};
use crate::server_fns::load_admin_queue;
use leptos::prelude::*;

/// One button of a job's row: a form that posts the action.
#[component]
fn JobAction(csrf: String, id: String, action: &'static str, label: &'static str) -> impl IntoView {
    let described = format!("job-{id}");
    view! {
        <form method="post" action="/admin/queue" class="inline">
            <CsrfField token=csrf/>
            <input type="hidden" name="id" value=id/>
            <input type="hidden" name="action" value=action/>
            <button type="submit" aria-describedby=described>{label}</button>
        </form>
    }
}

#[component]
pub fn QueuePage() -> impl IntoView {
    let data = Resource::new_blocking(|| (), |_| load_admin_queue());
    view! {
        <AdminPage title="Queue" data render={move |ctx: PageContext, jobs: Vec<QueueLine>| {
            let csrf = ctx.csrf_token.clone();
            let waiting = jobs.iter().filter(|j| j.state == "waiting").count();
            let quarantined = jobs.iter().filter(|j| j.state == "quarantined").count();
            view! {
                <NoticeBox notice=ctx.notice.clone()/>
                <p>{format!("{} jobs: {quarantined} quarantined, {waiting} waiting for a later try.", jobs.len())}</p>
                <p class="hint">"A job is quarantined when its worker stopped 5 times without finishing it: it is not tried again until it is released. Deleting a job tells an internal sender that an administrator removed the message."</p>
                {(waiting > 0).then(|| view! {
                    <form method="post" action="/admin/queue" class="inline">
                        <CsrfField token=csrf.clone()/>
                        <input type="hidden" name="action" value="retry-all"/>
                        <button type="submit">"Try every waiting job now"</button>
                    </form>
                })}
                {if jobs.is_empty() {
                    view! { <p>"The queue is empty."</p> }.into_any()
                } else {
                    view! {
                        <table id="queue">
                            <thead><tr>
                                <th scope="col">"Job"</th><th scope="col">"Kind"</th><th scope="col">"State"</th>
                                <th scope="col">"Message"</th><th scope="col">"Sender"</th><th scope="col">"Recipients"</th>
                                <th scope="col">"Attempts"</th><th scope="col">"Next try"</th><th scope="col">"Last error"</th>
                                <th scope="col">"Actions"</th>
                            </tr></thead>
                            <tbody>
                                {jobs.iter().map(|j| {
                                    let csrf = csrf.clone();
                                    let id = j.id.clone();
                                    view! {
                                        <tr>
                                            <td id=format!("job-{id}")><code>{id.clone()}</code>{format!(" ({})", j.purpose)}</td>
                                            <td>{j.kind.clone()}</td>
                                            <td>{j.state.clone()}</td>
                                            <td>{j.message_id.clone()}</td>
                                            <td>{j.sender.clone()}</td>
                                            <td>{j.recipients.clone()}</td>
                                            <td>{j.attempts}</td>
                                            <td>{j.next_try.clone()}</td>
                                            <td>{j.last_error.clone()}</td>
                                            <td>
                                                {(j.state == "quarantined").then(|| view! {
                                                    <JobAction csrf=csrf.clone() id=id.clone() action="release" label="Release"/>
                                                })}
                                                {(j.state == "waiting").then(|| view! {
                                                    <JobAction csrf=csrf.clone() id=id.clone() action="retry" label="Try now"/>
                                                })}
                                                <JobAction csrf=csrf.clone() id=id.clone() action="delete" label="Delete"/>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
            }.into_any()
        }}/>
    }
}
