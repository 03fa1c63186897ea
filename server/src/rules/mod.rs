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

use crate::store::{RuleRow, RuleWrite, Store, StoreError};
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

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{0}")]
    Invalid(String),
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

async fn check_template(store: &Store, d: &Definition) -> Result<(), RuleError> {
    if let Some(name) = &d.actions.template
        && store.template_by_name(name).await?.is_none()
    {
        return Err(RuleError::NoTemplate(name.clone()));
    }
    Ok(())
}

async fn write(
    store: &Store,
    existing: Option<&str>,
    name: &str,
    enabled: bool,
    definition: &Definition,
    position: Option<usize>,
) -> Result<Rule, RuleError> {
    let json = serde_json::to_string(definition).expect("a definition serialises");
    let write = RuleWrite {
        name,
        enabled,
        definition: &json,
        position,
    };
    match store.write_rule(existing, write).await {
        Ok(true) => get(store, name).await,
        Ok(false) => Err(RuleError::NotFound(existing.unwrap_or(name).to_string())),
        Err(StoreError::Conflict(_)) => Err(RuleError::Exists(name.to_string())),
        Err(e) => Err(e.into()),
    }
}

/// `rule new`: the changes on an empty rule.
pub async fn create(store: &Store, name: &str, changes: &RuleChanges) -> Result<Rule, RuleError> {
    let name = check_name(name)?;
    let definition = changes.apply(&Definition::default())?;
    check_template(store, &definition).await?;
    let enabled = !changes.disabled.unwrap_or(false);
    write(store, None, &name, enabled, &definition, changes.priority).await
}

/// `rule set`: the changes on the rule as it is (and a new name).
pub async fn update(
    store: &Store,
    name: &str,
    new_name: Option<&str>,
    changes: &RuleChanges,
) -> Result<Rule, RuleError> {
    let rule = get(store, name).await?;
    let new_name = match new_name {
        Some(n) => check_name(n)?,
        None => rule.name.clone(),
    };
    let definition = changes.apply(&rule.definition)?;
    check_template(store, &definition).await?;
    let enabled = changes.disabled.map_or(rule.enabled, |d| !d);
    write(
        store,
        Some(name),
        &new_name,
        enabled,
        &definition,
        changes.priority,
    )
    .await
}

pub async fn set_enabled(store: &Store, name: &str, enabled: bool) -> Result<Rule, RuleError> {
    let rule = get(store, name).await?;
    write(store, Some(name), name, enabled, &rule.definition, None).await
}

/// Moves a rule to `position` (0 first).
pub async fn move_to(store: &Store, name: &str, position: usize) -> Result<Rule, RuleError> {
    let rule = get(store, name).await?;
    write(
        store,
        Some(name),
        name,
        rule.enabled,
        &rule.definition,
        Some(position),
    )
    .await
}

pub async fn remove(store: &Store, name: &str) -> Result<(), RuleError> {
    if store.remove_rule(name).await? {
        Ok(())
    } else {
        Err(RuleError::NotFound(name.to_string()))
    }
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
