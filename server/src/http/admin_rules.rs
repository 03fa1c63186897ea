//! The transport rules pages' forms: save a rule, move, enable, disable or
//! remove one. The same validation as `sealpost rule`; a refused form comes
//! back with what was typed and why.

use super::admin::{admin_form, back, encode, form};
use super::{AppState, see_other};
use crate::rules::{self, RuleChanges, RuleError};
use crate::store::Event;
use app::dto::{Notice, RuleForm};
use axum::body::Body;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{Request, StatusCode};
use axum::response::Response;
use std::collections::HashMap;
use tower_sessions::Session;

/// The form as posted: every field is given, so it replaces the rule.
fn form_from(fields: &HashMap<String, String>) -> RuleForm {
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    RuleForm {
        original_name: get("original_name"),
        name: get("name"),
        priority: get("priority"),
        from: get("from"),
        sent_to: get("sent_to"),
        sent_to_scope: get("sent_to_scope"),
        subject_or_body_contains: get("subject_or_body_contains"),
        subject_or_body_matches: get("subject_or_body_matches"),
        attachment_name_matches: get("attachment_name_matches"),
        attachment_type: get("attachment_type"),
        size_over: get("size_over"),
        contains_sensitive: get("contains_sensitive"),
        prepend_subject: get("prepend_subject"),
        apply_protection: get("apply_protection"),
        template: get("template"),
        disclaimer_text: get("disclaimer_text"),
        disclaimer_html: get("disclaimer_html"),
        signed: get("signed"),
        reject: get("reject"),
        stop: fields.contains_key("stop"),
        enabled: fields.contains_key("enabled"),
    }
}

/// What the command line's flags would be; the error names the field.
fn changes_of(f: &RuleForm) -> Result<RuleChanges, String> {
    // An emptied list is given as one empty entry: it clears the setting.
    let list = |text: &str, separators: &[char]| -> Vec<String> {
        let items: Vec<String> = text
            .split(separators)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect();
        if items.is_empty() {
            vec![String::new()]
        } else {
            items
        }
    };
    let priority = match f.priority.trim() {
        "" => None,
        p => Some(
            p.parse::<usize>()
                .map_err(|_| "Priority: a whole number, 0 or more.".to_string())?,
        ),
    };
    // A prefix keeps its spaces; the other texts do not need them.
    let text = |v: &str| Some(v.trim().to_string());
    Ok(RuleChanges {
        priority,
        from: list(&f.from, &['\n', ',']),
        sent_to: list(&f.sent_to, &['\n', ',']),
        sent_to_scope: text(&f.sent_to_scope),
        subject_or_body_contains: list(&f.subject_or_body_contains, &['\n']),
        subject_or_body_matches: text(&f.subject_or_body_matches),
        attachment_name_matches: text(&f.attachment_name_matches),
        attachment_type: text(&f.attachment_type),
        size_over: text(&f.size_over),
        contains_sensitive: list(&f.contains_sensitive, &['\n', ',']),
        prepend_subject: Some(f.prepend_subject.trim_end_matches(['\r', '\n']).to_string()),
        apply_protection: text(&f.apply_protection),
        template: text(&f.template),
        append_disclaimer_text: text(&f.disclaimer_text),
        // Without a disclaimer there is nothing to say about its HTML or
        // signed mail: the form's defaults are not an error then.
        append_disclaimer_html: (!f.disclaimer_text.trim().is_empty())
            .then(|| f.disclaimer_html.trim().to_string()),
        signed: (!f.disclaimer_text.trim().is_empty()).then(|| f.signed.trim().to_string()),
        reject: text(&f.reject),
        stop: Some(f.stop),
        disabled: Some(!f.enabled),
    })
}

/// The command line's flag names become the form's labels.
fn in_form_words(message: &str) -> String {
    const LABELS: &[(&str, &str)] = &[
        ("--from", "The sender is"),
        ("--sent-to-scope", "Recipient scope"),
        ("--sent-to", "A recipient is"),
        ("--subject-or-body-contains", "The subject or body contains"),
        ("--subject-or-body-matches", "The subject or body matches"),
        ("--attachment-name-matches", "An attachment's name matches"),
        ("--attachment-type", "An attachment's type is"),
        ("--size-over", "The message is larger than"),
        (
            "--contains-sensitive",
            "The message contains sensitive information",
        ),
        ("--append-disclaimer-text", "Append this disclaimer"),
        ("--append-disclaimer-html", "The disclaimer's HTML version"),
        ("--signed", "If the message is signed"),
        ("--prepend-subject", "Put in front of the subject"),
        ("--apply-protection", "Apply protection"),
        ("--template", "Branding template"),
        ("--reject", "Reject the message with this text"),
    ];
    let mut text = message.to_string();
    for (flag, label) in LABELS {
        text = text.replace(flag, label);
    }
    let mut chars = text.chars();
    let text = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    };
    if text.ends_with('.') {
        text
    } else {
        format!("{text}.")
    }
}

fn form_page(original_name: &str) -> String {
    if original_name.is_empty() {
        "/admin/rules/new".to_string()
    } else {
        format!("/admin/rules/edit?name={}", encode(original_name))
    }
}

/// The form again, as typed, with why it was refused.
async fn refused(state: &AppState, mut parts: Parts, draft: RuleForm, e: RuleError) -> Response {
    let status = match &e {
        RuleError::Store(cause) => {
            return state.unavailable(parts, "rule change failed", cause).await;
        }
        RuleError::NotFound(_) => StatusCode::NOT_FOUND,
        RuleError::Exists(_) => StatusCode::CONFLICT,
        RuleError::Invalid(_) | RuleError::NoTemplate(_) => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let text = match e {
        RuleError::Invalid(text) => in_form_words(&text),
        other => other.to_string(),
    };
    parts.extensions.insert(draft);
    state.refuse(parts, status, text).await
}

async fn record(state: &AppState, kind: &'static str, actor: &str, name: &str) {
    let _ = state
        .store
        .record_event(Event {
            kind,
            actor: Some(actor),
            detail: Some(name),
            ..Event::default()
        })
        .await;
}

/// POST /admin/rules/save: a new rule, or the changed one.
pub async fn save(
    State(state): State<AppState>,
    session: Session,
    request: Request<Body>,
) -> Response {
    let (mut parts, fields) = form(&state, request, "/admin/rules/new").await;
    let draft = form_from(&fields);
    parts.uri = form_page(&draft.original_name).parse().unwrap_or_default();
    let user = match admin_form(&state, &session, &parts, &fields).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let changes = match changes_of(&draft) {
        Ok(changes) => changes,
        Err(text) => return refused(&state, parts, draft, RuleError::Invalid(text)).await,
    };
    let saved = if draft.original_name.is_empty() {
        rules::create(&state.store, &draft.name, &changes).await
    } else {
        rules::update(
            &state.store,
            &draft.original_name,
            Some(&draft.name),
            &changes,
        )
        .await
    };
    match saved {
        Ok(rule) => {
            let (kind, said) = if draft.original_name.is_empty() {
                ("rule created", "Created")
            } else {
                ("rule changed", "Saved")
            };
            record(&state, kind, &user.email, &rule.name).await;
            back(
                &session,
                "/admin/rules",
                Notice::success(format!(
                    "{said} the rule '{}'. Every node uses it from the next message.",
                    rule.name
                )),
            )
            .await
        }
        Err(e) => refused(&state, parts, draft, e).await,
    }
}

/// POST /admin/rules/change: move up or down, enable, disable, remove.
pub async fn change(
    State(state): State<AppState>,
    session: Session,
    request: Request<Body>,
) -> Response {
    let (parts, fields) = form(&state, request, "/admin/rules").await;
    let user = match admin_form(&state, &session, &parts, &fields).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let name = get("name");
    let store = &state.store;
    let result = match get("do").as_str() {
        "up" | "down" => match rules::get(store, &name).await {
            Ok(rule) => {
                let to = if get("do") == "up" {
                    (rule.priority - 1).max(0)
                } else {
                    rule.priority + 1
                };
                rules::move_to(store, &name, to as usize).await.map(|r| {
                    (
                        "rule moved",
                        format!("Moved '{name}' to priority {}.", r.priority),
                    )
                })
            }
            Err(e) => Err(e),
        },
        "enable" => rules::set_enabled(store, &name, true)
            .await
            .map(|_| ("rule enabled", format!("Enabled '{name}'."))),
        "disable" => rules::set_enabled(store, &name, false)
            .await
            .map(|_| ("rule disabled", format!("Disabled '{name}'."))),
        "remove" if fields.contains_key("confirm") => rules::remove(store, &name)
            .await
            .map(|()| ("rule removed", format!("Removed the rule '{name}'."))),
        "remove" => {
            let mut parts = parts;
            parts.uri = form_page(&name).parse().unwrap_or_default();
            return state
                .refuse(
                    parts,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Tick the box to confirm that the rule should be removed.",
                )
                .await;
        }
        _ => return see_other("/admin/rules"),
    };
    match result {
        Ok((kind, text)) => {
            record(&state, kind, &user.email, &name).await;
            back(&session, "/admin/rules", Notice::success(text)).await
        }
        Err(RuleError::Store(cause)) => {
            state.unavailable(parts, "rule change failed", &cause).await
        }
        Err(e) => {
            state
                .refuse(parts, StatusCode::NOT_FOUND, e.to_string())
                .await
        }
    }
}
