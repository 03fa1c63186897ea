//! `sealpost rule`: transport rules, as Exchange's *-TransportRule.

use super::{CliError, checked_message, format_list, read_file, title_bool};
use crate::config::Settings;
use crate::rules::sensitive::{self, Kind};
use crate::rules::{self, Facts, Rule, RuleChanges, RuleError, RuleSet};
use crate::startup;
use crate::store::Event;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum RuleCommand {
    /// List the rules in the order they run
    List {
        /// A JSON array for scripts
        #[arg(long)]
        json: bool,
    },
    /// Show one rule
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Create a rule: conditions (all must match; none: every message) and at least one action
    New {
        name: String,
        #[command(flatten)]
        changes: RuleChanges,
    },
    /// Change a rule: the flags given replace those settings; an empty value removes one
    Set {
        name: String,
        /// A new name
        #[arg(long)]
        new_name: Option<String>,
        #[command(flatten)]
        changes: RuleChanges,
    },
    /// Remove a rule
    Remove { name: String },
    /// Run a rule again
    Enable { name: String },
    /// Keep a rule without running it
    Disable { name: String },
    /// Show which rules a message matches and what they would do; changes and sends nothing
    Test {
        /// The message (.eml); protected mail of this organization is decrypted first
        #[arg(long)]
        file: PathBuf,
        /// The envelope sender (default: the From header)
        #[arg(long, value_name = "ADDR")]
        sender: Option<String>,
        /// An envelope recipient (repeatable; default: To, Cc and Bcc)
        #[arg(long, value_name = "ADDR")]
        recipient: Vec<String>,
    },
}

fn refusal(e: RuleError) -> CliError {
    match e {
        RuleError::Invalid(text) => CliError::Usage(text),
        RuleError::Store(e) => e.into(),
        refused => CliError::Refused(refused.to_string()),
    }
}

pub async fn run(settings: Settings, cmd: RuleCommand) -> Result<(), CliError> {
    let (store, keys) = startup::open(&settings).await?;
    let changed = |kind: &'static str, name: String| {
        let store = store.clone();
        async move {
            store
                .record_event(Event {
                    kind,
                    actor: Some("command line"),
                    detail: Some(&name),
                    ..Event::default()
                })
                .await
        }
    };
    match cmd {
        RuleCommand::List { json } => {
            let list = rules::list(&store).await?;
            if json {
                println!("{}", to_json(&list));
            } else if list.is_empty() {
                println!("No transport rules.");
            } else {
                let blocks: Vec<String> = list.iter().map(block).collect();
                println!("{}", blocks.join("\n\n"));
            }
        }
        RuleCommand::Show { name, json } => {
            let rule = rules::get(&store, &name).await.map_err(refusal)?;
            if json {
                println!("{}", to_json(&rule));
            } else {
                println!("{}", block(&rule));
            }
        }
        RuleCommand::New { name, changes } => {
            let rule = rules::create(&store, &name, &changes)
                .await
                .map_err(refusal)?;
            changed("rule created", rule.name.clone()).await?;
            println!("{}", block(&rule));
        }
        RuleCommand::Set {
            name,
            new_name,
            changes,
        } => {
            let rule = rules::update(&store, &name, new_name.as_deref(), &changes)
                .await
                .map_err(refusal)?;
            changed("rule changed", rule.name.clone()).await?;
            println!("{}", block(&rule));
        }
        RuleCommand::Remove { name } => {
            rules::remove(&store, &name).await.map_err(refusal)?;
            changed("rule removed", name.clone()).await?;
            println!("Removed the rule '{name}'.");
        }
        RuleCommand::Enable { name } => {
            let rule = rules::set_enabled(&store, &name, true)
                .await
                .map_err(refusal)?;
            changed("rule enabled", name).await?;
            println!("{}", block(&rule));
        }
        RuleCommand::Disable { name } => {
            let rule = rules::set_enabled(&store, &name, false)
                .await
                .map_err(refusal)?;
            changed("rule disabled", name).await?;
            println!("{}", block(&rule));
        }
        RuleCommand::Test {
            file,
            sender,
            recipient,
        } => {
            let raw = checked_message(read_file(&file)?)?;
            let (raw, decrypted) = match crate::protected::envelope_of(&raw) {
                Ok(envelope) => {
                    let opened =
                        crate::protected::open(|org| keys.is_ours(org), &keys.keyring, &envelope)
                            .map_err(|e| {
                            CliError::Refused(format!(
                                "The message is protected and cannot be opened here: {e}"
                            ))
                        })?;
                    (opened.original, true)
                }
                Err(_) => (raw, false),
            };
            let (from, to) = mail_parser::MessageParser::default()
                .parse_headers(&raw)
                .map(|m| crate::mime::header_envelope(&m))
                .unwrap_or_default();
            let sender = sender.unwrap_or(from);
            let recipients = if recipient.is_empty() { to } else { recipient };
            let facts = Facts::read(&raw, &sender, &recipients);
            let list = rules::list(&store).await?;
            let set = RuleSet::new(list.clone());
            let runs: Vec<String> = set
                .matching(&facts, &settings.internal_domains)
                .iter()
                .map(|r| r.name.clone())
                .collect();
            let single = |r: &Rule| {
                RuleSet::new(vec![Rule {
                    enabled: true,
                    ..r.clone()
                }])
            };
            // What the detectors found, masked: the command shows where a
            // rule would fire without printing the numbers themselves.
            let found: Vec<String> = [Kind::UsSsn, Kind::CreditCard, Kind::MyNumber]
                .into_iter()
                .flat_map(|kind| {
                    facts
                        .sensitive(kind)
                        .iter()
                        .map(move |digits| {
                            format!("{} {}", kind.as_str(), sensitive::mask(kind, digits))
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            let mut blocks = vec![format_list(&[
                ("Sender", sender.clone()),
                ("Recipients", recipients.join(", ")),
                ("Decrypted", title_bool(decrypted)),
                ("Size", facts.size.to_string()),
                (
                    "SensitiveInformation",
                    if found.is_empty() {
                        "none found".to_string()
                    } else {
                        found.join(", ")
                    },
                ),
            ])];
            for rule in &list {
                let matches = !single(rule)
                    .matching(&facts, &settings.internal_domains)
                    .is_empty();
                let runs = runs.contains(&rule.name);
                let would = if runs {
                    let mut actions = rule.definition.actions.describe();
                    if rule.definition.stop {
                        actions.push("stop processing more rules".into());
                    }
                    actions.join("; ")
                } else if !rule.enabled {
                    "nothing (the rule is disabled)".into()
                } else if matches {
                    "nothing (an earlier rule stopped processing)".into()
                } else {
                    "nothing".into()
                };
                blocks.push(format_list(&[
                    ("Rule", rule.name.clone()),
                    ("Priority", rule.priority.to_string()),
                    ("Matched", title_bool(matches)),
                    ("WouldDo", would),
                ]));
            }
            if list.is_empty() {
                blocks.push("No transport rules.".into());
            }
            println!("{}", blocks.join("\n\n"));
        }
    }
    Ok(())
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("JSON serialises")
}

/// The rule in Format-List layout: the settings that are set, by their
/// Exchange names.
fn block(rule: &Rule) -> String {
    let c = &rule.definition.conditions;
    let a = &rule.definition.actions;
    let join = |items: Vec<&str>| items.join(", ");
    let mut fields: Vec<(&str, String)> = vec![
        ("Name", rule.name.clone()),
        ("Priority", rule.priority.to_string()),
        (
            "State",
            if rule.enabled { "Enabled" } else { "Disabled" }.to_string(),
        ),
    ];
    if !c.from.is_empty() {
        fields.push(("From", join(c.from.iter().map(|p| p.as_str()).collect())));
    }
    if !c.sent_to.is_empty() {
        fields.push((
            "SentTo",
            join(c.sent_to.iter().map(|p| p.as_str()).collect()),
        ));
    }
    if let Some(scope) = c.sent_to_scope {
        fields.push(("SentToScope", scope.as_str().to_string()));
    }
    if !c.subject_or_body_contains.is_empty() {
        fields.push((
            "SubjectOrBodyContainsWords",
            join(
                c.subject_or_body_contains
                    .iter()
                    .map(String::as_str)
                    .collect(),
            ),
        ));
    }
    if let Some(p) = &c.subject_or_body_matches {
        fields.push(("SubjectOrBodyMatchesPatterns", p.clone()));
    }
    if let Some(p) = &c.attachment_name_matches {
        fields.push(("AttachmentNameMatchesPatterns", p.clone()));
    }
    if let Some(t) = &c.attachment_type {
        fields.push(("AttachmentType", t.clone()));
    }
    if let Some(size) = c.size_over {
        fields.push(("MessageSizeOver", crate::domain::format_size(size)));
    }
    if !c.contains_sensitive.is_empty() {
        fields.push((
            "MessageContainsDataClassifications",
            c.contains_sensitive
                .iter()
                .map(|w| format!("{}:{}", w.kind.as_str(), w.min))
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    if let Some(text) = &a.prepend_subject {
        fields.push(("PrependSubject", text.clone()));
    }
    if let Some(rights) = a.apply_protection {
        fields.push(("ApplyProtection", rights.as_str().to_string()));
        fields.push((
            "Template",
            a.template.clone().unwrap_or_else(|| "(default)".into()),
        ));
    }
    if let Some(d) = &a.disclaimer {
        fields.push(("ApplyDisclaimerText", d.text.replace('\n', " / ")));
        if let Some(html) = &d.html {
            fields.push(("ApplyHtmlDisclaimerText", html.clone()));
        }
        fields.push((
            "ApplyHtmlDisclaimerFallbackAction",
            d.signed.as_str().to_string(),
        ));
    }
    if let Some(text) = &a.reject {
        fields.push(("RejectMessageReasonText", text.clone()));
    }
    fields.push(("StopRuleProcessing", title_bool(rule.definition.stop)));
    fields.push(("Description", rule.description()));
    format_list(&fields)
}
