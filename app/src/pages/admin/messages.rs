//! The encryption report, the message trace, and one message in detail
//! with its revocation status, timeline and "Revoke message" button.

use super::AdminPage;
use crate::dto::{
    DayCount, MessageDetail, MessageFilter, MessageLine, MessageList, PageContext, ReportChart,
};
use crate::pages::{CsrfField, NoticeBox};
use crate::server_fns::{load_admin_message, load_admin_messages};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// A query-string value, percent-encoded.
pub(crate) fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn filter_from_query() -> impl Fn() -> MessageFilter + Clone + Send + Sync + 'static {
    let query = use_query_map();
    move || {
        let q = query.read();
        let get = |k: &str| q.get(k).unwrap_or_default();
        MessageFilter {
            since: get("since"),
            until: get("until"),
            sender: get("sender"),
            recipient: get("recipient"),
            state: get("state"),
            page: get("page"),
        }
    }
}

fn query_of(f: &MessageFilter) -> String {
    [
        ("since", &f.since),
        ("until", &f.until),
        ("sender", &f.sender),
        ("recipient", &f.recipient),
        ("state", &f.state),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("{k}={}", encode(v)))
    .collect::<Vec<_>>()
    .join("&")
}

pub(crate) fn detail_href(message_id: &str, sender: &str) -> String {
    format!(
        "/admin/message?id={}&sender={}",
        encode(message_id),
        encode(sender)
    )
}

fn filter_form(action: &'static str, f: &MessageFilter, with_state: bool) -> impl IntoView + use<> {
    let state = f.state.clone();
    view! {
        <form method="get" action=action class="filters" role="search">
            <div>
                <label for="since">"From"</label>
                <input id="since" name="since" type="date" value=date_part(&f.since) aria-describedby="time-hint"/>
            </div>
            <div>
                <label for="until">"Until"</label>
                <input id="until" name="until" type="date" value=date_part(&f.until) aria-describedby="time-hint"/>
            </div>
            <div>
                <label for="sender">"Sender"</label>
                <input id="sender" name="sender" type="email" value=f.sender.clone()/>
            </div>
            <div>
                <label for="recipient">"Recipient"</label>
                <input id="recipient" name="recipient" type="email" value=f.recipient.clone()/>
            </div>
            {with_state.then(|| view! {
                <div>
                    <label for="state">"State"</label>
                    <select id="state" name="state">
                        {["", "protected", "revoked", "expired", "rejected"].into_iter().map(|s| view! {
                            <option value=s selected=state == s>{if s.is_empty() { "Any" } else { s }}</option>
                        }).collect_view()}
                    </select>
                </div>
            })}
            <p id="time-hint" class="hint">"Days in UTC, Until included; by default the last two days."</p>
            <button type="submit">"Search"</button>
        </form>
    }
}

/// The date a date input shows for a filter value (`2026-11-23` of
/// `2026-11-23T09:15:02Z` too).
fn date_part(value: &str) -> String {
    value.get(..10).unwrap_or_default().to_string()
}

fn message_table(lines: &[MessageLine]) -> impl IntoView + use<> {
    if lines.is_empty() {
        return view! { <p id="results">"No messages match."</p> }.into_any();
    }
    view! {
        <table id="results">
            <caption class="visually-hidden">"Matching messages, newest first"</caption>
            <thead><tr>
                <th scope="col">"Received"</th><th scope="col">"Sender"</th><th scope="col">"Recipients"</th>
                <th scope="col">"Subject"</th><th scope="col">"State"</th><th scope="col">"Message-ID"</th>
            </tr></thead>
            <tbody>
                {lines.iter().map(|l| view! {
                    <tr>
                        <td><time datetime=l.received_at.clone()>{crate::when::readable(&l.received_at)}</time></td>
                        <td>{l.sender.clone()}</td>
                        <td>{l.recipients.clone()}</td>
                        <td>{l.subject.clone()}</td>
                        <td>{l.state.clone()}</td>
                        <td><a href=detail_href(&l.message_id, &l.sender)>{l.message_id.clone()}</a></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// `/admin/report`: protected messages by date, sender, recipient, state.
#[component]
pub fn ReportPage() -> impl IntoView {
    let filter = filter_from_query();
    let source = filter.clone();
    let data = Resource::new_blocking(source, |f| load_admin_messages(f, true));
    view! {
        <AdminPage title="Encryption report" data render={move |_ctx: PageContext, list: MessageList| {
            let f = filter();
            let csv = format!("/admin/report.csv?{}", query_of(&f));
            view! {
                {filter_form("/admin/report", &f, true)}
                {list.error.clone().map(|e| view! { <p class="notice error" role="alert">{e}</p> })}
                {list.chart.clone().map(|c| view! { <ReportChartView chart=c/> })}
                <p><a href=csv download>"Download as CSV"</a></p>
                {message_table(&list.lines)}
                {crate::pages::pager("/admin/report", query_of(&f), &list.paging)}
            }.into_any()
        }}/>
    }
}

/// `/admin/trace`: every message (protected or not) by sender or recipient
/// and date; each links to its timeline.
#[component]
pub fn TracePage() -> impl IntoView {
    let filter = filter_from_query();
    let source = filter.clone();
    let data = Resource::new_blocking(source, |f| load_admin_messages(f, false));
    view! {
        <AdminPage title="Message trace" data render={move |_ctx: PageContext, list: MessageList| {
            let f = filter();
            view! {
                {filter_form("/admin/trace", &f, false)}
                {list.error.clone().map(|e| view! { <p class="notice error" role="alert">{e}</p> })}
                {message_table(&list.lines)}
                {crate::pages::pager("/admin/trace", query_of(&f), &list.paging)}
            }.into_any()
        }}/>
    }
}

/// `/admin/message?id=<Message-ID>&sender=<address>`.
#[component]
pub fn AdminMessagePage() -> impl IntoView {
    let query = use_query_map();
    let key = move || {
        let q = query.read();
        (
            q.get("id").unwrap_or_default(),
            q.get("sender").unwrap_or_default(),
        )
    };
    let data = Resource::new_blocking(key, |(id, sender)| load_admin_message(id, sender));
    view! {
        <AdminPage title="Message" data render={move |ctx: PageContext, detail: Option<MessageDetail>| {
            match detail {
                None => {
                    super::set_status(404);
                    view! { <p>"There is no such message."</p> }.into_any()
                }
                Some(d) => detail_view(ctx, d).into_any(),
            }
        }}/>
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

fn detail_view(ctx: PageContext, d: MessageDetail) -> impl IntoView {
    view! {
        <NoticeBox notice=ctx.notice.clone()/>
        <h2 id="subject">{d.subject.clone()}</h2>
        <h3>"Revocation status"</h3>
        <dl class="headers" id="status">
            <dt>"MessageId"</dt><dd>{d.message_id.clone()}</dd>
            <dt>"Sender"</dt><dd>{d.sender.clone()}</dd>
            <dt>"SentAt"</dt><dd><time datetime=d.sent_at.clone()>{crate::when::readable(&d.sent_at)}</time></dd>
            <dt>"IsRevocable"</dt><dd id="is-revocable">{yes_no(d.is_revocable)}</dd>
            <dt>"Revoked"</dt><dd id="revoked">{yes_no(d.revoked)}</dd>
            {d.revoked_at.clone().map(|at| view! { <dt>"RevokedAt"</dt><dd>{crate::when::readable(&at)}</dd> })}
            {d.expires_at.clone().map(|at| view! { <dt>"ExpiresAt"</dt><dd>{crate::when::readable(&at)}</dd> })}
        </dl>
        {d.is_revocable.then(|| view! {
            <form method="post" action="/admin/message/revoke">
                <CsrfField token=ctx.csrf_token.clone()/>
                <input type="hidden" name="id" value=d.message_id.clone()/>
                <input type="hidden" name="sender" value=d.sender.clone()/>
                <button type="submit">"Revoke message"</button>
            </form>
        })}
        <h3>"Recipients"</h3>
        <table>
            <thead><tr><th scope="col">"Address"</th><th scope="col">"Experience"</th><th scope="col">"State"</th><th scope="col">"Access"</th></tr></thead>
            <tbody>
                {d.recipients.iter().map(|r| {
                    let removable = r.experience == "link"
                        && !matches!(r.state.as_str(), "revoked" | "expired" | "removed");
                    let remove = removable.then(|| view! {
                        <form method="post" action="/admin/message/revoke" class="inline">
                            <CsrfField token=ctx.csrf_token.clone()/>
                            <input type="hidden" name="id" value=d.message_id.clone()/>
                            <input type="hidden" name="sender" value=d.sender.clone()/>
                            <input type="hidden" name="recipient" value=r.address.clone()/>
                            <button type="submit" class="secondary" aria-label=format!("Remove access for {}", r.address)>"Remove access"</button>
                        </form>
                    });
                    view! {
                        <tr><td>{r.address.clone()}</td><td>{r.experience.clone()}</td><td>{r.state.clone()}</td><td>{remove}</td></tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <h3>"Timeline"</h3>
        <ol id="timeline" class="timeline">
            {d.timeline.iter().map(|e| view! {
                <li><time datetime=e.at.clone()>{crate::when::readable(&e.at)}</time>" · "{e.what.clone()}
                    {(!e.who.is_empty()).then(|| format!(" · {}", e.who))}</li>
            }).collect_view()}
        </ol>
    }
}

/// One stack of the chart: its name, its color and its count of a day.
type Series = (&'static str, &'static str, fn(&DayCount) -> u32);

/// The report's chart: a stacked bar per day, drawn on the server as SVG
/// (no script), with the same numbers as a table for screen readers. Its
/// words follow the page's language.
#[component]
fn ReportChartView(chart: ReportChart) -> impl IntoView {
    let t = crate::use_lang().t();
    const HEIGHT: f64 = 160.0;
    const LEFT: f64 = 36.0;
    let step = if chart.days.len() > 31 { 8.0 } else { 22.0 };
    let bar = step * 0.7;
    let width = LEFT + step * chart.days.len() as f64 + 8.0;
    let max = chart
        .days
        .iter()
        .map(DayCount::total)
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = HEIGHT / max as f64;
    let series: [Series; 4] = [
        (t.chart_sent, "#1f4e79", |d| d.sent),
        (t.chart_opened, "#2e7d32", |d| d.opened),
        (t.chart_revoked, "#b3261e", |d| d.revoked),
        (t.chart_expired, "#5f6368", |d| d.expired),
    ];
    // A label under the first day, then about every seventh.
    let every = (chart.days.len() / 6).max(1);
    let bars = chart
        .days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let x = LEFT + step * i as f64;
            let mut top = HEIGHT;
            let stacks = series
                .iter()
                .filter(|(_, _, count)| count(d) > 0)
                .map(|(_, color, count)| {
                    let h = count(d) as f64 * scale;
                    top -= h;
                    view! { <rect x=x y=top width=bar height=h fill=*color/> }
                })
                .collect_view();
            let label = (i % every == 0).then(|| {
                view! {
                    <text x=x y=HEIGHT + 14.0 font-size="10" fill="#333">{short_day(&d.day)}</text>
                }
            });
            view! { <g>{stacks}{label}</g> }
        })
        .collect_view();
    view! {
        <figure class="chart" aria-labelledby="chart-title">
            <figcaption id="chart-title">{t.chart_title}
                {chart.truncated.then(|| format!(" ({})", t.chart_truncated))}
            </figcaption>
            <svg viewBox=format!("0 0 {width} {}", HEIGHT + 20.0) width=width height=HEIGHT + 20.0
                aria-hidden="true" focusable="false" class="bars">
                <line x1=LEFT y1=HEIGHT x2=width y2=HEIGHT stroke="#333"/>
                <text x="0" y="10" font-size="10" fill="#333">{max}</text>
                <text x="0" y=HEIGHT font-size="10" fill="#333">"0"</text>
                {bars}
            </svg>
            <ul class="legend">
                {series.iter().map(|(name, color, _)| view! {
                    <li><span class="swatch" style=format!("background:{color}")></span>{*name}</li>
                }).collect_view()}
            </ul>
            <table class="visually-hidden">
                <caption>{t.chart_title}</caption>
                <thead><tr>
                    <th scope="col">{t.chart_day}</th>
                    {series.iter().map(|(name, _, _)| view! { <th scope="col">{*name}</th> }).collect_view()}
                </tr></thead>
                <tbody>
                    {chart.days.iter().map(|d| view! {
                        <tr>
                            <th scope="row">{d.day.clone()}</th>
                            {series.iter().map(|(_, _, count)| view! { <td>{count(d)}</td> }).collect_view()}
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </figure>
    }
}

/// `2026-12-03` → `3 Dec`.
fn short_day(day: &str) -> String {
    crate::when::readable(&format!("{day}T00:00:00Z"))
        .split(' ')
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}
