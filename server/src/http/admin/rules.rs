//! The transport rules pages' forms: save a rule, move, enable, disable or
//! remove one. The same validation as `sealpost rule`; a refused form comes
//! back with what was typed and why.

use super::super::{AppState, see_other};
use super::gate::{AdminForm, back, form_page};
use crate::domain::{Actor, Change};
use crate::rules::{self, RuleChanges, RuleError};
use crate::services::rules as service;
use app::dto::{Notice, RuleForm};
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use std::collections::HashMap;

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

/// The changes the form asks for: every field is given, so it replaces
/// the rule; an emptied field removes its setting.
fn changes_of(f: &RuleForm) -> Result<RuleChanges, String> {
    let list = |text: &str, separators: &[char]| -> Change<Vec<String>> {
        let items: Vec<String> = text
            .split(separators)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect();
        if items.is_empty() {
            Change::Reset
        } else {
            Change::Set(items)
        }
    };
    let priority = match f.priority.trim() {
        "" => None,
        p => Some(
            p.parse::<usize>()
                .map_err(|_| "Priority: a whole number, 0 or more.".to_string())?,
        ),
    };
    let text = |v: &str| match v.trim() {
        "" => Change::Reset,
        v => Change::Set(v.to_string()),
    };
    let has_disclaimer = !f.disclaimer_text.trim().is_empty();
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
        // A prefix keeps its spaces.
        prepend_subject: match f.prepend_subject.trim_end_matches(['\r', '\n']) {
            "" => Change::Reset,
            p => Change::Set(p.to_string()),
        },
        apply_protection: text(&f.apply_protection),
        template: text(&f.template),
        append_disclaimer_text: text(&f.disclaimer_text),
        // Without a disclaimer there is nothing to say about its HTML or
        // signed mail: the form's defaults are not an error then.
        append_disclaimer_html: if has_disclaimer {
            text(&f.disclaimer_html)
        } else {
            Change::Keep
        },
        signed: if has_disclaimer {
            text(&f.signed)
        } else {
            Change::Keep
        },
        reject: text(&f.reject),
        stop: Some(f.stop),
        disabled: Some(!f.enabled),
    })
}

/// The form's label of a field.
fn label(field: &str) -> &'static str {
    match field {
        "from" => "The sender is",
        "sent-to" => "A recipient is",
        "sent-to-scope" => "Recipient scope",
        "subject-or-body-contains" => "The subject or body contains",
        "subject-or-body-matches" => "The subject or body matches",
        "attachment-name-matches" => "An attachment's name matches",
        "attachment-type" => "An attachment's type is",
        "size-over" => "The message is larger than",
        "contains-sensitive" => "The message contains sensitive information",
        "append-disclaimer-text" => "Append this disclaimer",
        "append-disclaimer-html" => "The disclaimer's HTML version",
        "signed" => "If the message is signed",
        "prepend-subject" => "Put in front of the subject",
        "apply-protection" => "Apply protection",
        "template" => "Branding template",
        "reject" => "Reject the message with this text",
        _ => "A field",
    }
}

/// The form's words for a refusal: fields by their labels, one sentence.
fn in_form_words(e: &RuleError) -> String {
    let text = match e {
        RuleError::Invalid(f) => format!("{}: {}", label(f.field), f.problem),
        RuleError::Needs { field, needs } => {
            format!("{} goes with {}", label(field), label(needs))
        }
        RuleError::NoAction => format!(
            "A rule needs an action: {}, {}, {} or {}",
            label("prepend-subject"),
            label("apply-protection"),
            label("append-disclaimer-text"),
            label("reject")
        ),
        other => other.to_string(),
    };
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

/// The form again, as typed, with why it was refused.
async fn refused(state: &AppState, mut parts: Parts, draft: RuleForm, e: RuleError) -> Response {
    let status = match &e {
        RuleError::Store(cause) => {
            return state.unavailable(parts, "rule change failed", cause).await;
        }
        RuleError::NotFound(_) => StatusCode::NOT_FOUND,
        RuleError::Exists(_) => StatusCode::CONFLICT,
        RuleError::Invalid(_)
        | RuleError::Needs { .. }
        | RuleError::NoAction
        | RuleError::Name(_)
        | RuleError::NoTemplate(_) => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let text = in_form_words(&e);
    parts.extensions.insert(draft);
    state.refuse(parts, status, text).await
}

/// POST /admin/rules/save: a new rule, or the changed one.
pub async fn save(
    State(state): State<AppState>,
    AdminForm {
        user,
        session,
        parts,
        fields,
    }: AdminForm,
) -> Response {
    // The gate set the page: the rule's form.
    let draft = form_from(&fields);
    let changes = match changes_of(&draft) {
        Ok(changes) => changes,
        Err(text) => {
            let mut parts = parts;
            parts.extensions.insert(draft);
            return state
                .refuse(parts, StatusCode::UNPROCESSABLE_ENTITY, text)
                .await;
        }
    };
    let actor = Actor::User(user.email);
    let saved = if draft.original_name.is_empty() {
        service::create(&state.store, &actor, &draft.name, &changes).await
    } else {
        service::update(
            &state.store,
            &actor,
            &draft.original_name,
            Some(&draft.name),
            &changes,
        )
        .await
    };
    match saved {
        Ok(rule) => {
            let said = if draft.original_name.is_empty() {
                "Created"
            } else {
                "Saved"
            };
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
    AdminForm {
        user,
        session,
        parts,
        fields,
    }: AdminForm,
) -> Response {
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let name = get("name");
    let store = &state.store;
    let actor = Actor::User(user.email);
    let result = match get("do").as_str() {
        "up" | "down" => match rules::get(store, &name).await {
            Ok(rule) => {
                let to = if get("do") == "up" {
                    (rule.priority - 1).max(0)
                } else {
                    rule.priority + 1
                };
                service::move_to(store, &actor, &name, to as usize)
                    .await
                    .map(|r| format!("Moved '{name}' to priority {}.", r.priority))
            }
            Err(e) => Err(e),
        },
        "enable" => service::set_enabled(store, &actor, &name, true)
            .await
            .map(|_| format!("Enabled '{name}'.")),
        "disable" => service::set_enabled(store, &actor, &name, false)
            .await
            .map(|_| format!("Disabled '{name}'.")),
        "remove" if fields.contains_key("confirm") => service::remove(store, &actor, &name)
            .await
            .map(|()| format!("Removed the rule '{name}'.")),
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
        Ok(text) => back(&session, "/admin/rules", Notice::success(text)).await,
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

/// The form's fields for a stored rule.
pub fn form_of(rule: &crate::rules::Rule) -> RuleForm {
    let c = &rule.definition.conditions;
    let a = &rule.definition.actions;
    let lines = |items: Vec<&str>| items.join("\n");
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    RuleForm {
        original_name: rule.name.clone(),
        name: rule.name.clone(),
        priority: rule.priority.to_string(),
        from: lines(c.from.iter().map(|p| p.as_str()).collect()),
        sent_to: lines(c.sent_to.iter().map(|p| p.as_str()).collect()),
        sent_to_scope: c
            .sent_to_scope
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        subject_or_body_contains: lines(
            c.subject_or_body_contains
                .iter()
                .map(String::as_str)
                .collect(),
        ),
        subject_or_body_matches: text(&c.subject_or_body_matches),
        attachment_name_matches: text(&c.attachment_name_matches),
        attachment_type: text(&c.attachment_type),
        size_over: c
            .size_over
            .map(crate::domain::format_size)
            .unwrap_or_default(),
        contains_sensitive: c
            .contains_sensitive
            .iter()
            .map(|w| match w.min {
                1 => w.kind.as_str().to_string(),
                n => format!("{}:{n}", w.kind.as_str()),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        prepend_subject: text(&a.prepend_subject),
        apply_protection: a
            .apply_protection
            .map(|r| r.as_str().to_string())
            .unwrap_or_default(),
        template: text(&a.template),
        disclaimer_text: a
            .disclaimer
            .as_ref()
            .map(|d| d.text.clone())
            .unwrap_or_default(),
        disclaimer_html: a
            .disclaimer
            .as_ref()
            .and_then(|d| d.html.clone())
            .unwrap_or_default(),
        signed: a
            .disclaimer
            .as_ref()
            .map(|d| d.signed.as_str().to_string())
            .unwrap_or_default(),
        reject: text(&a.reject),
        stop: rule.definition.stop,
        enabled: rule.enabled,
    }
}
