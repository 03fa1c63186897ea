//! A rule as the command line and the admin page give it: text fields,
//! validated into conditions and actions with an error that names the field.

use super::actions::check_text;
use super::conditions::{AddressPattern, Scope, compile_regex, parse_mime_type};
use super::disclaimer::{Disclaimer, SignedMode};
use super::sensitive::Wanted;
use super::{Definition, RuleError};
use crate::domain::Rights;
use crate::domain::parse_size;

/// The flags of `rule new` and `rule set` (the admin form fills the same).
/// In `rule set`, a flag given replaces that setting and an empty value
/// (`--sent-to ""`) removes it.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RuleChanges {
    /// Where the rule goes in the order, 0 first (default: last; `set` keeps its place)
    #[arg(long, value_name = "N")]
    pub priority: Option<usize>,
    /// Condition: the sender is this address or in this domain (repeatable: any)
    #[arg(long, value_name = "ADDR|DOMAIN")]
    pub from: Vec<String>,
    /// Condition: a recipient is this address or in this domain (repeatable: any)
    #[arg(long, value_name = "ADDR|DOMAIN")]
    pub sent_to: Vec<String>,
    /// Condition: a recipient is outside (external) or inside (internal) the organization's domains
    #[arg(long, value_name = "external|internal")]
    pub sent_to_scope: Option<String>,
    /// Condition: the subject or a body contains this word, in any case (repeatable: any)
    #[arg(long, value_name = "WORD")]
    pub subject_or_body_contains: Vec<String>,
    /// Condition: the subject or a body matches this regular expression (case-insensitive)
    #[arg(long, value_name = "REGEX")]
    pub subject_or_body_matches: Option<String>,
    /// Condition: an attachment's file name matches this pattern (* and ?, any case)
    #[arg(long, value_name = "GLOB")]
    pub attachment_name_matches: Option<String>,
    /// Condition: an attachment is of this type (application/pdf, image/*)
    #[arg(long, value_name = "MIME-TYPE")]
    pub attachment_type: Option<String>,
    /// Condition: the message (decrypted) is larger than this (bytes, or 512KB, 10MB)
    #[arg(long, value_name = "BYTES")]
    pub size_over: Option<String>,
    /// Condition: the subject, a body or a text attachment holds at least MIN (default 1) distinct numbers of this kind (repeatable: any)
    #[arg(long, value_name = "us-ssn|credit-card|my-number[:MIN]")]
    pub contains_sensitive: Vec<String>,
    /// Action: put this text in front of the subject
    #[arg(long, value_name = "TEXT")]
    pub prepend_subject: Option<String>,
    /// Action: protect the message with these rights (encrypt-only, do-not-forward)
    #[arg(long, value_name = "RIGHTS")]
    pub apply_protection: Option<String>,
    /// The branding template of --apply-protection (default: the default template)
    #[arg(long, value_name = "NAME")]
    pub template: Option<String>,
    /// Action: append this disclaimer to the message's body (text version)
    #[arg(long, value_name = "TEXT")]
    pub append_disclaimer_text: Option<String>,
    /// The disclaimer's HTML version, for HTML bodies (default: the text, escaped)
    #[arg(long, value_name = "HTML")]
    pub append_disclaimer_html: Option<String>,
    /// A signed message would lose its signature: wrap it with the disclaimer beside it (default), skip it, or reject it
    #[arg(long, value_name = "wrap|skip|reject")]
    pub signed: Option<String>,
    /// Action: reject the message; the sender's non-delivery report says this text
    #[arg(long, value_name = "TEXT")]
    pub reject: Option<String>,
    /// Do not run the rules after this one when it matches (`--stop false` to undo)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub stop: Option<bool>,
    /// Keep the rule but do not run it (`--disabled false` to undo)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub disabled: Option<bool>,
}

/// An empty value clears a setting.
fn given(value: &Option<String>) -> Option<Option<&str>> {
    value
        .as_deref()
        .map(|v| Some(v).filter(|v| !v.trim().is_empty()))
}

fn list<T>(
    values: &[String],
    parse: impl Fn(&str) -> Result<T, String>,
    flag: &str,
) -> Result<Option<Vec<T>>, RuleError> {
    if values.is_empty() {
        return Ok(None);
    }
    values
        .iter()
        .filter(|v| !v.trim().is_empty())
        .map(|v| parse(v).map_err(|e| RuleError::Invalid(format!("--{flag}: {e}"))))
        .collect::<Result<Vec<T>, _>>()
        .map(Some)
}

impl RuleChanges {
    /// `base` with these changes, checked. The template's existence is
    /// checked by the caller, which holds the store.
    pub fn apply(&self, base: &Definition) -> Result<Definition, RuleError> {
        let invalid = |flag: &str, e: String| RuleError::Invalid(format!("--{flag}: {e}"));
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
                        "at most 1000 characters".into(),
                    ));
                }
                compile_regex(p).map_err(|e| invalid("subject-or-body-matches", e))?;
            }
            c.subject_or_body_matches = v.map(str::to_string);
        }
        if let Some(v) = given(&self.attachment_name_matches) {
            if let Some(p) = v {
                check_text("attachment-name-matches", p, 200)
                    .map_err(|e| RuleError::Invalid(format!("--{e}")))?;
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
            a.prepend_subject = v
                .map(|t| {
                    check_text("prepend-subject", t, 100)
                        .map_err(|e| RuleError::Invalid(format!("--{e}")))
                })
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
                .map(|t| {
                    check_text("reject", t, 500)
                        .map(|t| t.trim().to_string())
                        .map_err(|e| RuleError::Invalid(format!("--{e}")))
                })
                .transpose()?;
        }
        if let Some(stop) = self.stop {
            d.stop = stop;
        }
        if d.actions.template.is_some() && d.actions.apply_protection.is_none() {
            return Err(RuleError::Invalid(
                "--template goes with --apply-protection".into(),
            ));
        }
        if d.actions.is_empty() {
            return Err(RuleError::Invalid(
                "a rule needs an action: --prepend-subject, --apply-protection, --append-disclaimer-text or --reject".into(),
            ));
        }
        Ok(d)
    }
}

impl RuleChanges {
    fn apply_disclaimer(&self, current: &mut Option<Disclaimer>) -> Result<(), RuleError> {
        let invalid = |flag: &str, e: String| RuleError::Invalid(format!("--{flag}: {e}"));
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
        let needs_text =
            |flag: &str| RuleError::Invalid(format!("--{flag} goes with --append-disclaimer-text"));
        if let Some(html) = given(&self.append_disclaimer_html) {
            let d = current
                .as_mut()
                .ok_or_else(|| needs_text("append-disclaimer-html"))?;
            d.html = match html {
                None => None,
                Some(html) if html.len() > 10_000 => {
                    return Err(invalid(
                        "append-disclaimer-html",
                        "at most 10000 bytes".into(),
                    ));
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
        return Err(RuleError::Invalid(
            "the name must be 1 to 64 characters".into(),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(RuleError::Invalid(
            "the name cannot hold control characters".into(),
        ));
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
            from: vec!["corp.example".into()],
            stop: Some(true),
            ..changes()
        };
        let e = c.apply(&Definition::default()).unwrap_err();
        assert!(e.to_string().contains("needs an action"), "{e}");
    }

    #[test]
    fn set_replaces_given_flags_and_empty_clears() {
        let first = RuleChanges {
            sent_to: vec!["a@x.example".into(), "y.example".into()],
            subject_or_body_contains: vec!["secret".into()],
            prepend_subject: Some("[EXT] ".into()),
            ..changes()
        }
        .apply(&Definition::default())
        .unwrap();
        assert_eq!(first.actions.prepend_subject.as_deref(), Some("[EXT] "));
        let second = RuleChanges {
            sent_to: vec![String::new()],
            apply_protection: Some("Do-Not-Forward".into()),
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
            apply_protection: Some("encrypt-only".into()),
            template: Some("Legal".into()),
            prepend_subject: Some("[L] ".into()),
            ..changes()
        }
        .apply(&Definition::default())
        .unwrap();
        let plain = RuleChanges {
            apply_protection: Some(String::new()),
            ..changes()
        }
        .apply(&protected)
        .unwrap();
        assert_eq!(plain.actions.apply_protection, None);
        assert_eq!(plain.actions.template, None);
    }

    #[test]
    fn errors_name_the_flag() {
        let bad = |c: RuleChanges| c.apply(&Definition::default()).unwrap_err().to_string();
        let reject = || Some("No.".to_string());
        assert!(
            bad(RuleChanges {
                sent_to_scope: Some("outside".into()),
                reject: reject(),
                ..changes()
            })
            .starts_with("--sent-to-scope")
        );
        assert!(
            bad(RuleChanges {
                subject_or_body_matches: Some("(".into()),
                reject: reject(),
                ..changes()
            })
            .starts_with("--subject-or-body-matches")
        );
        assert!(
            bad(RuleChanges {
                size_over: Some("big".into()),
                reject: reject(),
                ..changes()
            })
            .starts_with("--size-over")
        );
        assert!(
            bad(RuleChanges {
                from: vec!["a b".into()],
                reject: reject(),
                ..changes()
            })
            .starts_with("--from")
        );
        assert!(
            bad(RuleChanges {
                prepend_subject: Some("a\r\nBcc: x@y".into()),
                ..changes()
            })
            .starts_with("--prepend-subject")
        );
        assert!(
            bad(RuleChanges {
                template: Some("Legal".into()),
                reject: reject(),
                ..changes()
            })
            .contains("--apply-protection")
        );
    }
}
