//! The encryption report and the message trace: the CSV export, a
//! message's revocation, and the lines both pages show.

use super::super::AppState;
use super::gate::{AdminForm, admin, back};
use crate::domain::Actor;
use crate::services::revocation::{self, RevokeError};
use crate::services::trace::{self as msg_trace, TraceQuery};
use app::dto::{MessageFilter, MessageLine, Notice};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

/// POST /admin/message/revoke: the detail view's "Revoke message".
pub async fn revoke(
    State(state): State<AppState>,
    AdminForm {
        user,
        session,
        parts,
        fields: f,
    }: AdminForm,
) -> Response {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    // The gate set the page: the message's detail view.
    let detail = parts.uri.to_string();
    let recipient = get("recipient");
    if !recipient.is_empty() {
        let recipient = match crate::domain::EmailAddress::parse(&recipient) {
            Ok(address) => address,
            Err(e) => {
                let text = format!("Recipient: {e}.");
                return state
                    .refuse(parts, StatusCode::UNPROCESSABLE_ENTITY, text)
                    .await;
            }
        };
        let actor = Actor::User(user.email.clone());
        let removed = revocation::remove_access(
            &state.store,
            &actor,
            &get("id"),
            Some(&get("sender")),
            &recipient,
        )
        .await;
        return match removed {
            Ok(_) => {
                let text = format!("Access was removed for {recipient}.");
                back(&session, &detail, Notice::success(text)).await
            }
            Err(RevokeError::Store(e)) => {
                state.unavailable(parts, "remove access failed", &e).await
            }
            Err(refused) => {
                state
                    .refuse(parts, StatusCode::CONFLICT, refused.to_string())
                    .await
            }
        };
    }
    match revocation::revoke(
        &state.store,
        &Actor::User(user.email.clone()),
        &get("id"),
        Some(&get("sender")),
        revocation::Revoker::Administrator,
    )
    .await
    {
        Ok(status) => {
            let text = format!(
                "The encrypted email with the subject '{}' was successfully revoked.",
                status.subject
            );
            back(&session, &detail, Notice::success(text)).await
        }
        Err(RevokeError::Store(e)) => state.unavailable(parts, "revoke failed", &e).await,
        Err(refused) => {
            state
                .refuse(parts, StatusCode::CONFLICT, refused.to_string())
                .await
        }
    }
}

/// GET /admin/report.csv: the report's lines with the page's filters.
pub async fn report_csv(
    State(state): State<AppState>,
    session: Session,
    Query(filter): Query<MessageFilterQuery>,
    request: Request<Body>,
) -> Response {
    let (parts, _) = request.into_parts();
    if let Err(response) = admin(&state, &session, &parts).await {
        return response;
    }
    let filter = MessageFilter {
        since: filter.since.unwrap_or_default(),
        until: filter.until.unwrap_or_default(),
        sender: filter.sender.unwrap_or_default(),
        recipient: filter.recipient.unwrap_or_default(),
        state: filter.state.unwrap_or_default(),
        page: String::new(),
    };
    let lines = match message_lines(&state, &filter, true).await {
        Ok(Ok(lines)) => lines,
        Ok(Err(refused)) => return (StatusCode::BAD_REQUEST, refused).into_response(),
        Err(e) => return state.unavailable(parts, "report export failed", &e).await,
    };
    let mut csv = String::from("ReceivedAt,Sender,Recipients,Subject,State,MessageId\r\n");
    for l in &lines {
        let row = [
            &l.received_at,
            &l.sender,
            &l.recipients,
            &l.subject,
            &l.state,
            &l.message_id,
        ]
        .map(|v| csv_field(v))
        .join(",");
        csv.push_str(&row);
        csv.push_str("\r\n");
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"encryption-report.csv\""),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        csv,
    )
        .into_response()
}

#[derive(Deserialize, Default)]
pub struct MessageFilterQuery {
    since: Option<String>,
    until: Option<String>,
    sender: Option<String>,
    recipient: Option<String>,
    state: Option<String>,
}

/// RFC 4180 quoting; a leading =, +, -, @, tab or carriage return is
/// neutralised so a spreadsheet does not run a subject as a formula.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// A filter as typed into the page; the error names the field.
pub fn parse_filter(f: &MessageFilter) -> Result<TraceQuery, String> {
    let time = |field: &str, t: &str| {
        (!t.trim().is_empty())
            .then(|| msg_trace::parse_time(field, t))
            .transpose()
    };
    // A date picked as "Until" includes that whole day.
    let whole_day = |t: &str| if t.trim().len() == 10 { 86_399_999 } else { 0 };
    Ok(TraceQuery {
        sender: msg_trace::parse_address("Sender", Some(&f.sender))?,
        recipient: msg_trace::parse_address("Recipient", Some(&f.recipient))?,
        since: time("From", &f.since)?,
        until: time("Until", &f.until)?.map(|ms| ms + whole_day(&f.until)),
    })
}

/// The report's or the trace's lines.
pub async fn message_lines(
    state: &AppState,
    filter: &MessageFilter,
    protected_only: bool,
) -> Result<Result<Vec<MessageLine>, String>, crate::store::StoreError> {
    let query = match parse_filter(filter) {
        Ok(q) => q,
        Err(e) => return Ok(Err(e)),
    };
    let state_wanted = filter.state.trim().to_lowercase();
    Ok(Ok(msg_trace::trace(&state.store, &query)
        .await?
        .into_iter()
        .filter(|e| !protected_only || e.protected)
        .filter(|e| state_wanted.is_empty() || e.state == state_wanted)
        .collect()))
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn cells_a_spreadsheet_would_run_are_neutralised() {
        for start in ["=", "+", "-", "@", "\t", "\r"] {
            let cell = csv_field(&format!("{start}HYPERLINK(x)"));
            assert!(cell.trim_start_matches('"').starts_with('\''), "{cell:?}");
        }
        assert_eq!(csv_field("Quarterly"), "Quarterly");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }
}
