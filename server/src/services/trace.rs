//! Message trace: messages by sender or recipient within a time range, for
//! the command line, the admin pages and the API.

use crate::domain::EmailAddress;
use crate::store::{Store, StoreError};

/// One traced message.
pub use app::dto::MessageLine as TraceEntry;

/// What to look for; times are Unix milliseconds.
#[derive(Clone, Debug, Default)]
pub struct TraceQuery {
    pub sender: Option<String>,
    pub recipient: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
}

/// The default window: the last two days, as Exchange's message trace.
const DEFAULT_WINDOW_MS: i64 = 2 * 86_400_000;

/// `2026-11-23` or `2026-11-23T09:15:02Z` as Unix milliseconds; the error
/// names the field.
pub fn parse_time(field: &str, text: &str) -> Result<i64, String> {
    use time::format_description::well_known::Rfc3339;
    let text = text.trim();
    let parsed = time::OffsetDateTime::parse(text, &Rfc3339).or_else(|_| {
        time::Date::parse(
            text,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .map(|d| d.midnight().assume_utc())
    });
    parsed
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|_| {
            format!("{field}: '{text}' is not a date (2026-11-23) or time (2026-11-23T09:15:02Z)")
        })
}

/// An address filter, normalised; the error names the field.
pub fn parse_address(field: &str, text: Option<&str>) -> Result<Option<String>, String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|a| {
            EmailAddress::parse(a)
                .map(|e| e.to_string())
                .map_err(|e| format!("{field}: {e}"))
        })
        .transpose()
}

/// The query's time range, with its defaults: until now, the two days before.
fn range(q: &TraceQuery) -> (i64, i64) {
    let until = q.until.unwrap_or_else(crate::store::now_ms);
    (q.since.unwrap_or(until - DEFAULT_WINDOW_MS), until)
}

/// Days the report's chart shows at most (the last ones of the period).
pub const CHART_DAYS: i64 = 92;
const DAY_MS: i64 = 86_400_000;

/// The report's chart: protected messages per UTC day of the query's
/// period, by what became of them.
pub async fn chart(store: &Store, q: &TraceQuery) -> Result<app::dto::ReportChart, StoreError> {
    let (since, until) = range(q);
    let last_day = until.div_euclid(DAY_MS);
    let first_day = since.div_euclid(DAY_MS).max(last_day - CHART_DAYS + 1);
    let truncated = since.div_euclid(DAY_MS) < first_day;
    let rows = store
        .report_states(
            q.sender.as_deref(),
            q.recipient.as_deref(),
            since.max(first_day * DAY_MS),
            until,
            100_000,
        )
        .await?;
    let mut days: Vec<app::dto::DayCount> = (first_day..=last_day)
        .map(|day| app::dto::DayCount {
            day: crate::domain::rfc3339(day * DAY_MS)[..10].to_string(),
            ..Default::default()
        })
        .collect();
    for (received_at, state) in rows {
        let Some(count) = usize::try_from(received_at.div_euclid(DAY_MS) - first_day)
            .ok()
            .and_then(|i| days.get_mut(i))
        else {
            continue;
        };
        match state.as_str() {
            "revoked" => count.revoked += 1,
            "expired" => count.expired += 1,
            "opened" => count.opened += 1,
            _ => count.sent += 1,
        }
    }
    Ok(app::dto::ReportChart { days, truncated })
}

pub async fn trace(store: &Store, q: &TraceQuery) -> Result<Vec<TraceEntry>, StoreError> {
    let (since, until) = range(q);
    let rows = store
        .trace(q.sender.as_deref(), q.recipient.as_deref(), since, until)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| TraceEntry {
            state: if r.revoked_at.is_some() {
                "revoked".to_string()
            } else {
                r.state
            },
            message_id: r.message_id,
            received_at: crate::domain::rfc3339(r.received_at),
            sender: r.sender,
            recipients: r.recipients.unwrap_or_default(),
            subject: r.subject,
            protected: r.protected,
        })
        .collect())
}
