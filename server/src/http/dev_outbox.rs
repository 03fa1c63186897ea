//! `/dev/outbox`: the local outbox, for developers following the whole flow
//! on one machine. Only in development mode (loopback only); else 404.

use super::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · sealpost</title><link rel=\"stylesheet\" href=\"/main.css\"></head><body>\
         <header class=\"top\"><span class=\"brand\">sealpost</span> · development mode</header>\
         <main id=\"main\"><h1>{}</h1>{body}</main></body></html>",
        escape(title),
        escape(title)
    ))
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not found").into_response()
}

/// Only a browser on this machine that asked for a loopback name: a page
/// elsewhere that rebinds its own name to 127.0.0.1 (DNS rebinding) sends
/// its own Host, and gets nothing.
fn loopback_host(headers: &axum::http::HeaderMap) -> bool {
    let Some(host) = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
    else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

pub async fn list(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if !state.settings.dev_mode || !loopback_host(&headers) {
        return not_found();
    }
    let items = match state.store.outbox(200).await {
        Ok(items) => items,
        Err(e) => {
            tracing::error!(error = %e, "outbox unavailable");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "The outbox cannot be read right now.",
            )
                .into_response();
        }
    };
    let mut body = String::from(
        "<p>Mail sealpost would have sent to the relay. No relay is configured (SEALPOST_RELAY_URL), so it is kept here.</p>",
    );
    if items.is_empty() {
        body.push_str("<p>The outbox is empty.</p>");
    } else {
        body.push_str("<table><thead><tr><th scope=\"col\">Time</th><th scope=\"col\">To</th><th scope=\"col\">Subject</th></tr></thead><tbody>");
        for item in items {
            let to: Vec<String> = serde_json::from_str(&item.envelope_to).unwrap_or_default();
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td><a href=\"/dev/outbox/{}\">{}</a></td></tr>",
                crate::domain::rfc3339(item.created_at),
                escape(&to.join(", ")),
                escape(&item.id),
                escape(if item.subject.is_empty() {
                    "(no subject)"
                } else {
                    &item.subject
                }),
            ));
        }
        body.push_str("</tbody></table>");
    }
    page("Local outbox", &body).into_response()
}

pub async fn show(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !state.settings.dev_mode || !loopback_host(&headers) {
        return not_found();
    }
    let Ok(Some(item)) = state.store.outbox_item(&id).await else {
        return not_found();
    };
    let Some(job_id) = state.store.outbox_job(&id).await.ok().flatten() else {
        return not_found();
    };
    let Ok(raw) = state.keys.keyring.open(job_id.as_bytes(), &item.content) else {
        return not_found();
    };
    let parsed = mail_parser::MessageParser::default().parse(&raw);
    let text = parsed
        .as_ref()
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .unwrap_or_default();
    let html = parsed
        .as_ref()
        .and_then(|m| m.body_html(0).map(|t| t.into_owned()));
    let to: Vec<String> = serde_json::from_str(&item.envelope_to).unwrap_or_default();
    let mut body = format!(
        "<p><a href=\"/dev/outbox\">Back to the outbox</a></p><dl><dt>From</dt><dd>{}</dd><dt>To</dt><dd>{}</dd><dt>Subject</dt><dd>{}</dd></dl>\
         <h2>Text part</h2><pre>{}</pre>",
        escape(if item.envelope_from.is_empty() {
            "<>"
        } else {
            &item.envelope_from
        }),
        escape(&to.join(", ")),
        escape(&item.subject),
        escape(&text),
    );
    if let Some(html) = html {
        body.push_str(&format!(
            "<h2>HTML part</h2><iframe title=\"HTML part\" sandbox=\"allow-popups\" style=\"width:100%;height:24rem;border:1px solid #c9d1d9\" srcdoc=\"{}\"></iframe>",
            escape(&html)
        ));
    }
    body.push_str(&format!(
        "<h2>Source</h2><pre>{}</pre>",
        escape(&String::from_utf8_lossy(&raw))
    ));
    page(&format!("Outbox: {}", item.subject), &body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_see_the_outbox() {
        let host = |h: &str| {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert(axum::http::header::HOST, h.parse().unwrap());
            loopback_host(&headers)
        };
        assert!(host("127.0.0.1:3000") && host("localhost:3000") && host("[::1]:3000"));
        assert!(host("LOCALHOST") && host("127.0.0.2"));
        assert!(!host("attacker.example:3000") && !host("10.0.0.1:3000"));
        assert!(!host("localhost.attacker.example"));
        assert!(!loopback_host(&axum::http::HeaderMap::new()));
    }
}
