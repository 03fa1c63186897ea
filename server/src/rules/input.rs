//! A rule as the command line and the admin page give it: text fields,
//! validated into conditions and actions; an error names the field, and
//! each surface words it (a flag, a form label).

use super::actions::check_text;
use super::conditions::{AddressPattern, Scope, compile_regex, parse_mime_type};
use super::disclaimer::{Disclaimer, SignedMode};
use super::sensitive::Wanted;
use super::{Definition, RuleError};
use crate::domain::parse_size;
use crate::domain::{Change, FieldError, Rights};

/// What `rule new`, `rule set` and the admin form change. A setting left
/// at `Keep` stays as it is; `Reset` removes it.
#[derive(Debug, Clone, Default)]
pub struct RuleChanges {
    /// Where the rule goes in the order, 0 first (None: last for a new
    /// rule; an existing one keeps its place).
    pub priority: Option<usize>,
    pub from: Change<Vec<String>>,
    pub sent_to: Change<Vec<String>>,
    pub sent_to_scope: Change<String>,
    pub subject_or_body_contains: Change<Vec<String>>,
    pub subject_or_body_matches: Change<String>,
    pub attachment_name_matches: Change<String>,
    pub attachment_type: Change<String>,
    pub size_over: Change<String>,
    pub contains_sensitive: Change<Vec<String>>,
    pub prepend_subject: Change<String>,
    pub apply_protection: Change<String>,
    pub template: Change<String>,
    pub append_disclaimer_text: Change<String>,
    pub append_disclaimer_html: Change<String>,
    pub signed: Change<String>,
    pub reject: Change<String>,
    pub stop: Option<bool>,
    pub disabled: Option<bool>,
}

/// A list's items, each parsed; an empty item is skipped.
fn list<T>(
    values: &Change<Vec<String>>,
    parse: impl Fn(&str) -> Result<T, String>,
    field: &'static str,
) -> Result<Option<Vec<T>>, RuleError> {
    match values {
        Change::Keep => Ok(None),
        Change::Reset => Ok(Some(Vec::new())),
        Change::Set(values) => values
            .iter()
            .filter(|v| !v.trim().is_empty())
            .map(|v| parse(v).map_err(|e| FieldError::new(field, e).into()))
            .collect::<Result<Vec<T>, RuleError>>()
            .map(Some),
    }
}

/// A single value: `None` keeps, `Some(None)` removes, `Some(Some(v))`
/// sets (an empty text removes too).
fn given(value: &Change<String>) -> Option<Option<&str>> {
    match value {
        Change::Keep => None,
        Change::Reset => Some(None),
        Change::Set(v) => Some(Some(v.as_str()).filter(|v| !v.trim().is_empty())),
    }
}

fn invalid(field: &'static str, problem: impl Into<String>) -> RuleError {
    FieldError::new(field, problem).into()
}

impl RuleChanges {
    /// `base` with these changes, checked. The template's existence is
    /// checked by the caller, which holds the store.
    pub fn apply(&self, base: &Definition) -> Result<Definition, RuleError> {
        let mut d = base.clone();
        let c = &mut d.conditions;
        if let Some(v) = list(&self.from, AddressPattern::parse, "from")? {
            c.from = v;
        }
        if let Some(v) = list(&self.sent_to, AddressPattern::parse, "sent-to")? {
            c.sent_to = v;
        }
        if let Some(v) = given(&self.sent_to_scope) {
            c.sent_to_scope = v
                .map(|s| {
                    Scope::parse(s).ok_or_else(|| {
                        invalid(
                            "sent-to-scope",
                            format!("'{s}' is not one of: {}", Scope::VALUES),
                        )
                    })
                })
                .transpose()?;
        }
        let word = |w: &str| {
            let w = w.trim();
            if w.chars().count() > 200 {
                Err("a word is at most 200 characters".to_string())
            } else {
                Ok(w.to_string())
            }
        };
        if let Some(v) = list(
            &self.subject_or_body_contains,
            word,
            "subject-or-body-contains",
        )? {
            c.subject_or_body_contains = v;
        }
        if let Some(v) = given(&self.subject_or_body_matches) {
            if let Some(p) = v {
                if p.len() > 1000 {
                    return Err(invalid(
                        "subject-or-body-matches",
                        "at most 1000 characters",
                    ));
                }
                compile_regex(p).map_err(|e| invalid("subject-or-body-matches", e))?;
            }
            c.subject_or_body_matches = v.map(str::to_string);
        }
        if let Some(v) = given(&self.attachment_name_matches) {
            if let Some(p) = v {
                check_text("attachment-name-matches", p, 200)?;
            }
            c.attachment_name_matches = v.map(|p| p.trim().to_string());
        }
        if let Some(v) = given(&self.attachment_type) {
            c.attachment_type = v
                .map(|t| parse_mime_type(t).map_err(|e| invalid("attachment-type", e)))
                .transpose()?;
        }
        if let Some(v) = given(&self.size_over) {
            c.size_over = v
                .map(|s| parse_size(s).map_err(|e| invalid("size-over", e)))
                .transpose()?;
        }
        if let Some(v) = list(
            &self.contains_sensitive,
            Wanted::parse,
            "contains-sensitive",
        )? {
            c.contains_sensitive = v;
        }
        let a = &mut d.actions;
        if let Some(v) = given(&self.prepend_subject) {
            // A prefix keeps its spaces.
            a.prepend_subject = v
                .map(|t| check_text("prepend-subject", t, 100))
                .transpose()?;
        }
        if let Some(v) = given(&self.apply_protection) {
            a.apply_protection = v
                .map(|r| {
                    parse_rights(r).ok_or_else(|| {
                        invalid(
                            "apply-protection",
                            format!("'{r}' is not one of: encrypt-only, do-not-forward"),
                        )
                    })
                })
                .transpose()?;
        }
        if let Some(v) = given(&self.template) {
            a.template = v.map(|t| t.trim().to_string());
        } else if a.apply_protection.is_none() {
            // Protection removed: its template goes with it.
            a.template = None;
        }
        self.apply_disclaimer(&mut a.disclaimer)?;
        if let Some(v) = given(&self.reject) {
            a.reject = v
                .map(|t| check_text("reject", t, 500).map(|t| t.trim().to_string()))
                .transpose()?;
        }
        if let Some(stop) = self.stop {
            d.stop = stop;
        }
        if d.actions.template.is_some() && d.actions.apply_protection.is_none() {
            return Err(RuleError::Needs {
                field: "template",
                needs: "apply-protection",
            });
        }
        if d.actions.is_empty() {
            return Err(RuleError::NoAction);
        }
        Ok(d)
    }
}

impl RuleChanges {
    fn apply_disclaimer(&self, current: &mut Option<Disclaimer>) -> Result<(), RuleError> {
        match given(&self.append_disclaimer_text) {
            Some(None) => *current = None,
            Some(Some(text)) => {
                let text = check_disclaimer_text(text)
                    .map_err(|e| invalid("append-disclaimer-text", e))?;
                match current {
                    Some(d) => d.text = text,
                    None => {
                        *current = Some(Disclaimer {
                            text,
                            html: None,
                            signed: SignedMode::default(),
                        })
                    }
                }
            }
            None => {}
        }
        let needs_text = |field: &'static str| RuleError::Needs {
            field,
            needs: "append-disclaimer-text",
        };
        if let Some(html) = given(&self.append_disclaimer_html) {
            let d = current
                .as_mut()
                .ok_or_else(|| needs_text("append-disclaimer-html"))?;
            d.html = match html {
                None => None,
                Some(html) if html.len() > 10_000 => {
                    return Err(invalid("append-disclaimer-html", "at most 10000 bytes"));
                }
                // Only what mail readers show safely is kept.
                Some(html) => Some(ammonia::clean(html)),
            };
        }
        if let Some(signed) = given(&self.signed) {
            let d = current.as_mut().ok_or_else(|| needs_text("signed"))?;
            d.signed = match signed {
                None => SignedMode::default(),
                Some(s) => SignedMode::parse(s).ok_or_else(|| {
                    invalid(
                        "signed",
                        format!("'{s}' is not one of: {}", SignedMode::VALUES),
                    )
                })?,
            };
        }
        Ok(())
    }
}

/// Several lines are fine; other control characters are not.
fn check_disclaimer_text(text: &str) -> Result<String, String> {
    let text = text.replace("\r\n", "\n").trim().to_string();
    if text.chars().count() > 2000 {
        return Err("at most 2000 characters".into());
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("no control characters besides line breaks".into());
    }
    Ok(text)
}

fn parse_rights(text: &str) -> Option<Rights> {
    match text.trim().to_ascii_lowercase().as_str() {
        "encrypt-only" | "encryptonly" | "encrypt" => Some(Rights::EncryptOnly),
        "do-not-forward" | "donotforward" => Some(Rights::DoNotForward),
        _ => None,
    }
}

/// A rule's name: what people type after `rule show`.
pub fn check_name(name: &str) -> Result<String, RuleError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(RuleError::Name("must be 1 to 64 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(RuleError::Name("cannot hold control characters"));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes() -> RuleChanges {
        RuleChanges::default()
    }

    #[test]
    fn a_rule_without_an_action_is_refused() {
        let c = RuleChanges {
            from: Change::Set(vec!["corp.example".into()]),
            stop: Some(true),
            ..changes()
        };
        let e = c.apply(&Definition::default()).unwrap_err();
        assert!(e.to_string().contains("needs an action"), "{e}");
    }

    #[test]
    fn set_replaces_given_flags_and_empty_clears() {
        let first = RuleChanges {
            sent_to: Change::Set(vec!["a@x.example".into(), "y.example".into()]),
            subject_or_body_contains: Change::Set(vec!["secret".into()]),
            prepend_subject: Change::Set("[EXT] ".into()),
            ..changes()
        }
        .apply(&Definition::default())
        .unwrap();
        assert_eq!(first.actions.prepend_subject.as_deref(), Some("[EXT] "));
        let second = RuleChanges {
            sent_to: Change::Reset,
            apply_protection: Change::Set("Do-Not-Forward".into()),
            ..changes()
        }
        .apply(&first)
        .unwrap();
        assert!(second.conditions.sent_to.is_empty());
        assert_eq!(second.conditions.subject_or_body_contains, ["secret"]);
        assert_eq!(second.actions.apply_protection, Some(Rights::DoNotForward));
    }

    #[test]
    fn removing_protection_removes_its_template() {
        let protected = RuleChanges {
            apply_protection: Change::Set("encrypt-only".into()),
            template: Change::Set("Legal".into()),
            prepend_subject: Change::Set("[L] ".into()),
            ..changes()
        }
        .apply(&Definition::default())
        .unwrap();
        let plain = RuleChanges {
            apply_protection: Change::Reset,
            ..changes()
        }
        .apply(&protected)
        .unwrap();
        assert_eq!(plain.actions.apply_protection, None);
        assert_eq!(plain.actions.template, None);
    }

    #[test]
    fn errors_name_the_field() {
        let bad = |c: RuleChanges| c.apply(&Definition::default()).unwrap_err().to_string();
        let reject = || Change::Set("No.".to_string());
        assert!(
            bad(RuleChanges {
                sent_to_scope: Change::Set("outside".into()),
                reject: reject(),
                ..changes()
            })
            .starts_with("sent-to-scope:")
        );
        assert!(
            bad(RuleChanges {
                subject_or_body_matches: Change::Set("(".into()),
                reject: reject(),
                ..changes()
            })
            .starts_with("subject-or-body-matches:")
        );
        assert!(
            bad(RuleChanges {
                size_over: Change::Set("big".into()),
                reject: reject(),
                ..changes()
            })
            .starts_with("size-over:")
        );
        assert!(
            bad(RuleChanges {
                from: Change::Set(vec!["a b".into()]),
                reject: reject(),
                ..changes()
            })
            .starts_with("from:")
        );
        assert!(
            bad(RuleChanges {
                prepend_subject: Change::Set("a\r\nBcc: x@y".into()),
                ..changes()
            })
            .starts_with("prepend-subject:")
        );
        assert!(
            bad(RuleChanges {
                template: Change::Set("Legal".into()),
                reject: reject(),
                ..changes()
            })
            .contains("goes with apply-protection")
        );
    }
}
