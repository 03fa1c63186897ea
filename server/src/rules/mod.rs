//! Transport rules (seed 004): conditions on the message as the agents see
//! it (protected mail after decryption) and actions on the whole message,
//! run in priority order as the first agent stage. Managed with `sealpost
//! rule`, the admin page and stored in the database, so every node follows
//! a change from its next message.

pub mod actions;
pub mod conditions;
pub mod disclaimer;
pub(crate) mod facts;
mod fold;
mod glob;
mod input;
pub mod sensitive;
mod stage;

pub use actions::Actions;
pub use conditions::Conditions;
pub use facts::Facts;
pub use input::{RuleChanges, check_name};
pub use stage::RulesStage;

use crate::domain::FieldError;
use crate::store::{RuleRow, Store, StoreError};
use serde::{Deserialize, Serialize};

/// What a rule checks and does (stored as JSON).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Definition {
    pub conditions: Conditions,
    pub actions: Actions,
    /// No later rule runs when this one matched.
    pub stop: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Rule {
    pub name: String,
    pub priority: i64,
    pub enabled: bool,
    #[serde(flatten)]
    pub definition: Definition,
}

impl Rule {
    fn from_row(row: RuleRow) -> Result<Rule, serde_json::Error> {
        Ok(Rule {
            definition: serde_json::from_str(&row.definition)?,
            name: row.name,
            priority: row.priority,
            enabled: row.enabled,
        })
    }

    /// "If ... then ...": the rule in one sentence.
    pub fn description(&self) -> String {
        let d = &self.definition;
        let conditions = d.conditions.describe();
        let mut actions = d.actions.describe();
        if d.stop {
            actions.push("stop processing more rules".into());
        }
        let when = if conditions.is_empty() {
            "For every message".to_string()
        } else {
            format!("If {}", conditions.join(" and "))
        };
        format!("{when}: {}.", actions.join(", "))
    }
}

/// Why a rule change is refused. The field-level ones say no flag or
/// label: each surface words them (`--size-over`, "The message is larger
/// than").
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// A setting given without the one it belongs to.
    #[error("{field} goes with {needs}")]
    Needs {
        field: &'static str,
        needs: &'static str,
    },
    #[error("a rule needs an action")]
    NoAction,
    /// The rule's name (a positional argument, not a field).
    #[error("the name {0}")]
    Name(&'static str),
    #[error("No rule named '{0}'.")]
    NotFound(String),
    #[error("A rule named '{0}' already exists.")]
    Exists(String),
    #[error("No branding template named '{0}'.")]
    NoTemplate(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for RuleError {
    fn from(e: StoreError) -> Self {
        RuleError::Store(e)
    }
}

/// Every rule in the order they run. A stored rule this version cannot
/// read is left out and logged (it never matches, never blocks the rest).
pub async fn list(store: &Store) -> Result<Vec<Rule>, StoreError> {
    Ok(from_rows(store.rules().await?))
}

fn from_rows(rows: Vec<RuleRow>) -> Vec<Rule> {
    rows.into_iter()
        .filter_map(|row| {
            let name = row.name.clone();
            Rule::from_row(row)
                .map_err(
                    |e| tracing::error!(rule = %name, error = %e, "a stored rule cannot be read"),
                )
                .ok()
        })
        .collect()
}

pub async fn get(store: &Store, name: &str) -> Result<Rule, RuleError> {
    list(store)
        .await?
        .into_iter()
        .find(|r| r.name == name)
        .ok_or_else(|| RuleError::NotFound(name.to_string()))
}

/// A rule's template action must name a template that exists.
pub(crate) async fn check_template(store: &Store, d: &Definition) -> Result<(), RuleError> {
    if let Some(name) = &d.actions.template
        && store.template_by_name(name).await?.is_none()
    {
        return Err(RuleError::NoTemplate(name.clone()));
    }
    Ok(())
}

/// Rules ready to run: enabled, conditions compiled, in order.
pub struct RuleSet {
    rules: Vec<(Rule, conditions::Compiled)>,
}

impl RuleSet {
    pub fn new(rules: Vec<Rule>) -> RuleSet {
        RuleSet {
            rules: rules
                .into_iter()
                .filter(|r| r.enabled)
                .filter_map(|r| {
                    let compiled = r
                        .definition
                        .conditions
                        .compile()
                        .map_err(|e| tracing::error!(rule = %r.name, error = %e, "a stored rule cannot run"))
                        .ok()?;
                    Some((r, compiled))
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules that match, in order, up to the first that rejects or
    /// stops processing.
    pub fn matching<'a>(
        &'a self,
        facts: &Facts,
        internal_domains: &crate::domain::InternalDomains,
    ) -> Vec<&'a Rule> {
        let mut hits = Vec::new();
        for (rule, compiled) in &self.rules {
            if !compiled.matches(facts, internal_domains) {
                continue;
            }
            hits.push(rule);
            if rule.definition.stop || rule.definition.actions.reject.is_some() {
                break;
            }
        }
        hits
    }
}
