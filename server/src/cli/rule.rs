//! `sealpost rule`: transport rules, as Exchange's *-TransportRule.

use super::{CliError, checked_message, format_list, read_file, title_bool};
use crate::config::Settings;
use crate::domain::Change;
use crate::rules::sensitive::{self, Kind};
use crate::rules::{self, Facts, Rule, RuleChanges, RuleError, RuleSet};
use crate::services::{Actor, rules as service};
use crate::startup;
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
        changes: RuleFlags,
    },
    /// Change a rule: the flags given replace those settings; an empty value removes one
    Set {
        name: String,
        /// A new name
        #[arg(long)]
        new_name: Option<String>,
        #[command(flatten)]
        changes: RuleFlags,
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

/// The flags of `rule new` and `rule set`.
/// In `rule set`, a flag given replaces that setting and an empty value
/// (`--sent-to ""`) removes it.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RuleFlags {
    /// Where the rule goes in the order, 0 first (default: last; `set` keeps its place)
    #[arg(long, value_name = "N")]
    priority: Option<usize>,
    /// Condition: the sender is this address or in this domain (repeatable: any)
    #[arg(long, value_name = "ADDR|DOMAIN")]
    from: Vec<String>,
    /// Condition: a recipient is this address or in this domain (repeatable: any)
    #[arg(long, value_name = "ADDR|DOMAIN")]
    sent_to: Vec<String>,
    /// Condition: a recipient is outside (external) or inside (internal) the organization's domains
    #[arg(long, value_name = "external|internal")]
    sent_to_scope: Option<String>,
    /// Condition: the subject or a body contains this word, in any case (repeatable: any)
    #[arg(long, value_name = "WORD")]
    subject_or_body_contains: Vec<String>,
    /// Condition: the subject or a body matches this regular expression (case-insensitive)
    #[arg(long, value_name = "REGEX")]
    subject_or_body_matches: Option<String>,
    /// Condition: an attachment's file name matches this pattern (* and ?, any case)
    #[arg(long, value_name = "GLOB")]
    attachment_name_matches: Option<String>,
    /// Condition: an attachment is of this type (application/pdf, image/*)
    #[arg(long, value_name = "MIME-TYPE")]
    attachment_type: Option<String>,
    /// Condition: the message (decrypted) is larger than this (bytes, or 512KB, 10MB)
    #[arg(long, value_name = "BYTES")]
    size_over: Option<String>,
    /// Condition: the subject, a body or a text attachment holds at least MIN (default 1) distinct numbers of this kind (repeatable: any)
    #[arg(long, value_name = "us-ssn|credit-card|my-number[:MIN]")]
    contains_sensitive: Vec<String>,
    /// Action: put this text in front of the subject
    #[arg(long, value_name = "TEXT")]
    prepend_subject: Option<String>,
    /// Action: protect the message with these rights (encrypt-only, do-not-forward)
    #[arg(long, value_name = "RIGHTS")]
    apply_protection: Option<String>,
    /// The branding template of --apply-protection (default: the default template)
    #[arg(long, value_name = "NAME")]
    template: Option<String>,
    /// Action: append this disclaimer to the message's body (text version)
    #[arg(long, value_name = "TEXT")]
    append_disclaimer_text: Option<String>,
    /// The disclaimer's HTML version, for HTML bodies (default: the text, escaped)
    #[arg(long, value_name = "HTML")]
    append_disclaimer_html: Option<String>,
    /// A signed message would lose its signature: wrap it with the disclaimer beside it (default), skip it, or reject it
    #[arg(long, value_name = "wrap|skip|reject")]
    signed: Option<String>,
    /// Action: reject the message; the sender's non-delivery report says this text
    #[arg(long, value_name = "TEXT")]
    reject: Option<String>,
    /// Do not run the rules after this one when it matches (`--stop false` to undo)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    stop: Option<bool>,
    /// Keep the rule but do not run it (`--disabled false` to undo)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    disabled: Option<bool>,
}

/// A flag not given keeps its setting; given empty (`--sent-to ""`), it
/// removes it.
fn one(flag: &Option<String>) -> Change<String> {
    match flag {
        None => Change::Keep,
        Some(v) if v.trim().is_empty() => Change::Reset,
        Some(v) => Change::Set(v.clone()),
    }
}

fn many(flag: &[String]) -> Change<Vec<String>> {
    if flag.is_empty() {
        Change::Keep
    } else if flag.iter().all(|v| v.trim().is_empty()) {
        Change::Reset
    } else {
        Change::Set(flag.to_vec())
    }
}

impl RuleFlags {
    fn changes(&self) -> RuleChanges {
        RuleChanges {
            priority: self.priority,
            from: many(&self.from),
            sent_to: many(&self.sent_to),
            sent_to_scope: one(&self.sent_to_scope),
            subject_or_body_contains: many(&self.subject_or_body_contains),
            subject_or_body_matches: one(&self.subject_or_body_matches),
            attachment_name_matches: one(&self.attachment_name_matches),
            attachment_type: one(&self.attachment_type),
            size_over: one(&self.size_over),
            contains_sensitive: many(&self.contains_sensitive),
            // A prefix keeps its spaces.
            prepend_subject: match &self.prepend_subject {
                None => Change::Keep,
                Some(v) if v.is_empty() => Change::Reset,
                Some(v) => Change::Set(v.clone()),
            },
            apply_protection: one(&self.apply_protection),
            template: one(&self.template),
            append_disclaimer_text: one(&self.append_disclaimer_text),
            append_disclaimer_html: one(&self.append_disclaimer_html),
            signed: one(&self.signed),
            reject: one(&self.reject),
            stop: self.stop,
            disabled: self.disabled,
        }
    }
}

/// The command line's words for a refusal: fields by their flags.
fn refusal(e: RuleError) -> CliError {
    match e {
        RuleError::Invalid(field) => CliError::Usage(field.as_flag()),
        RuleError::Needs { field, needs } => {
            CliError::Usage(format!("--{field} goes with --{needs}"))
        }
        RuleError::NoAction => CliError::Usage(
            "a rule needs an action: --prepend-subject, --apply-protection, --append-disclaimer-text or --reject".into(),
        ),
        e @ RuleError::Name(_) => CliError::Usage(e.to_string()),
        RuleError::Store(e) => e.into(),
        refused => CliError::Refused(refused.to_string()),
    }
}

pub async fn run(settings: Settings, cmd: RuleCommand) -> Result<(), CliError> {
    let (store, keys) = startup::open(&settings).await?;
    let actor = Actor::command_line();
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
            let rule = service::create(&store, &actor, &name, &changes.changes())
                .await
                .map_err(refusal)?;
            println!("{}", block(&rule));
        }
        RuleCommand::Set {
            name,
            new_name,
            changes,
        } => {
            let rule = service::update(
                &store,
                &actor,
                &name,
                new_name.as_deref(),
                &changes.changes(),
            )
            .await
            .map_err(refusal)?;
            println!("{}", block(&rule));
        }
        RuleCommand::Remove { name } => {
            service::remove(&store, &actor, &name)
                .await
                .map_err(refusal)?;
            println!("Removed the rule '{name}'.");
        }
        RuleCommand::Enable { name } => {
            let rule = service::set_enabled(&store, &actor, &name, true)
                .await
                .map_err(refusal)?;
            println!("{}", block(&rule));
        }
        RuleCommand::Disable { name } => {
            let rule = service::set_enabled(&store, &actor, &name, false)
                .await
                .map_err(refusal)?;
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
