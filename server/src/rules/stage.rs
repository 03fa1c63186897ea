//! The rules as a pipeline stage: the first agent, so it sees protected
//! mail decrypted, and what it changes the later agents see.

use super::disclaimer::Appended;
use super::{Facts, RuleSet};
use crate::domain::Rights;
use crate::mime;
use crate::pipeline::{InFlight, Note, Stage, StageError};
use crate::store::Store;
use std::sync::{Arc, Mutex};

pub struct RulesStage {
    store: Store,
    internal_domains: crate::domain::InternalDomains,
    /// The rules compiled for the stored version they came from: a change
    /// anywhere (another node, the command line) is seen by the next
    /// message, and unchanged rules are not compiled again.
    compiled: Mutex<Option<(String, Arc<RuleSet>)>>,
}

impl RulesStage {
    pub fn new(store: Store, internal_domains: crate::domain::InternalDomains) -> RulesStage {
        RulesStage {
            store,
            internal_domains,
            compiled: Mutex::new(None),
        }
    }

    async fn rule_set(&self) -> Result<Arc<RuleSet>, StageError> {
        let rows = self
            .store
            .rules()
            .await
            .map_err(|e| StageError::Transient(format!("the rules cannot be read: {e}")))?;
        let version: String = rows
            .iter()
            .map(|r| format!("{}|{}|{}|{}\n", r.id, r.priority, r.enabled, r.definition))
            .collect();
        let mut cache = self
            .compiled
            .lock()
            .expect("the rule cache is never poisoned");
        if let Some((v, set)) = cache.as_ref()
            && *v == version
        {
            return Ok(set.clone());
        }
        let set = Arc::new(RuleSet::new(super::from_rows(rows)));
        *cache = Some((version, set.clone()));
        Ok(set)
    }
}

#[async_trait::async_trait]
impl Stage for RulesStage {
    fn name(&self) -> &str {
        "transport rules"
    }

    async fn describe(&self) -> String {
        let enabled = match super::list(&self.store).await {
            Ok(rules) => rules.iter().filter(|r| r.enabled).count().to_string(),
            Err(_) => "unknown: the database cannot be read".into(),
        };
        format!("checks every message against the rules in priority order ({enabled} enabled)")
    }

    /// Protected mail not opened here is still checked on what is readable
    /// (envelope, headers, clear parts): `--reject` applies, actions that
    /// would change it are recorded as skipped.
    fn reads_unopened(&self) -> bool {
        true
    }

    async fn process(&self, message: &mut InFlight) -> Result<(), StageError> {
        let set = self.rule_set().await?;
        if set.is_empty() {
            return Ok(());
        }
        // Every condition looks at the message as it reached the rules.
        let facts = Facts::read(&message.raw, &message.envelope.from, &message.envelope.to);
        for note in &facts.notes {
            message.notes.push(Note::Rule(note.clone()));
        }
        let mut template_chosen = false;
        for rule in set.matching(&facts, &self.internal_domains) {
            let actions = &rule.definition.actions;
            if let Some(text) = &actions.reject {
                message
                    .notes
                    .push(Note::Rule(format!("rule {} matched: reject", rule.name)));
                return Err(StageError::Reject {
                    event: format!("rejected by rule {}", rule.name),
                    reason: text.clone(),
                });
            }
            if let Some(why) = message.read_only() {
                let mut skipped = Vec::new();
                if actions.prepend_subject.is_some() {
                    skipped.push("prepend subject");
                }
                if actions.disclaimer.is_some() {
                    skipped.push("append disclaimer");
                }
                if actions.apply_protection.is_some() {
                    skipped.push("apply protection");
                }
                message.notes.push(Note::Rule(format!(
                    "rule {} matched: {} skipped ({why})",
                    rule.name,
                    skipped.join(", ")
                )));
                continue;
            }
            let mut done = Vec::new();
            if let Some(prefix) = &actions.prepend_subject {
                done.push(prepend_subject(message, prefix));
            }
            if let Some(disclaimer) = &actions.disclaimer {
                match disclaimer.append(&message.raw) {
                    Appended::Done(raw) => {
                        message.raw = raw;
                        done.push("append disclaimer".to_string());
                    }
                    Appended::AlreadyThere => done.push("disclaimer already present".to_string()),
                    Appended::SignedSkipped => {
                        done.push("disclaimer skipped: the message is signed".to_string())
                    }
                    Appended::SignedRejected => {
                        message.notes.push(Note::Rule(format!(
                            "rule {} matched: reject (signed message)",
                            rule.name
                        )));
                        return Err(StageError::Reject {
                            event: format!("rejected by rule {}", rule.name),
                            reason: "the message is signed, and the disclaimer this organization adds would break its signature".to_string(),
                        });
                    }
                }
            }
            if let Some(rights) = actions.apply_protection {
                done.push(apply_protection(
                    message,
                    rights,
                    actions.template.as_deref(),
                    &mut template_chosen,
                ));
            }
            if rule.definition.stop {
                done.push("stop processing more rules".to_string());
            }
            message.notes.push(Note::Rule(format!(
                "rule {} matched: {}",
                rule.name,
                done.join(", ")
            )));
        }
        Ok(())
    }
}

/// Once: a subject that already starts with the text (a later hop, a reply
/// that kept it) is left alone.
fn prepend_subject(message: &mut InFlight, prefix: &str) -> String {
    let subject = mail_parser::MessageParser::default()
        .parse_headers(&message.raw)
        .and_then(|m| m.subject().map(str::to_string))
        .unwrap_or_default();
    if subject.starts_with(prefix) {
        return format!("subject already starts with '{prefix}'");
    }
    message.raw = mime::set_header(
        &message.raw,
        "Subject",
        &mime::encode_header_value(&format!("{prefix}{subject}")),
    );
    format!("prepend subject '{prefix}'")
}

/// The strictest rights win; the first protection rule's template. Mail
/// that arrived protected keeps its template and expiry: a rule only
/// raises encrypt-only to do-not-forward.
fn apply_protection(
    message: &mut InFlight,
    rights: Rights,
    template: Option<&str>,
    template_chosen: &mut bool,
) -> String {
    let before = message.protection;
    message.protection = Some(before.map_or(rights, |r| r.max(rights)));
    if message.arrival.ours().is_some() {
        return match before {
            Some(b) if b >= rights => format!(
                "apply protection {} (the message already has {})",
                rights.as_str(),
                b.as_str()
            ),
            _ => format!("apply protection {} (rights raised)", rights.as_str()),
        };
    }
    if !*template_chosen {
        *template_chosen = true;
        if let Some(name) = template {
            message.template = Some(name.to_string());
        }
    }
    match template {
        Some(t) => format!("apply protection {} with template {t}", rights.as_str()),
        None => format!("apply protection {}", rights.as_str()),
    }
}
