//! Transport rules as administrators change them (`sealpost rule`, the
//! admin page): each change recorded with who made it.

use crate::domain::Actor;
use crate::rules::{Definition, Rule, RuleChanges, RuleError, check_name, check_template, get};
use crate::store::{AuditEntry, RuleWrite, Store, StoreError};

/// Writes the rule and its audit line in one transaction.
async fn write(
    store: &Store,
    actor: &Actor,
    action: &str,
    existing: Option<&str>,
    (name, enabled, definition): (&str, bool, &Definition),
    position: Option<usize>,
) -> Result<Rule, RuleError> {
    let json = serde_json::to_string(definition).expect("a definition serialises");
    let write = RuleWrite {
        name,
        enabled,
        definition: &json,
        position,
    };
    let mut tx = store.begin().await?;
    match tx.write_rule(existing, write).await {
        Ok(true) => {}
        Ok(false) => return Err(RuleError::NotFound(existing.unwrap_or(name).to_string())),
        Err(StoreError::Conflict(_)) => return Err(RuleError::Exists(name.to_string())),
        Err(e) => return Err(e.into()),
    }
    let rule = Rule {
        name: name.to_string(),
        priority: position.unwrap_or_default() as i64,
        enabled,
        definition: definition.clone(),
    };
    let mut detail = rule.description();
    if !enabled {
        detail = format!("(disabled) {detail}");
    }
    if let Some(at) = position {
        detail = format!("{detail} At position {at}.");
    }
    if let Some(old) = existing.filter(|old| *old != name) {
        detail = format!("renamed from '{old}' to '{name}'. {detail}");
    }
    tx.audit(AuditEntry {
        actor,
        action,
        target: Some(existing.unwrap_or(name)),
        detail: Some(&detail),
    })
    .await?;
    tx.commit().await?;
    get(store, name).await
}

/// `rule new`: the changes on an empty rule.
pub async fn create(
    store: &Store,
    actor: &Actor,
    name: &str,
    changes: &RuleChanges,
) -> Result<Rule, RuleError> {
    let name = check_name(name)?;
    let definition = changes.apply(&Definition::default())?;
    check_template(store, &definition).await?;
    let enabled = !changes.disabled.unwrap_or(false);
    write(
        store,
        actor,
        "rule created",
        None,
        (&name, enabled, &definition),
        changes.priority,
    )
    .await
}

/// `rule set`: the changes on the rule as it is (and a new name).
pub async fn update(
    store: &Store,
    actor: &Actor,
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
        actor,
        "rule changed",
        Some(name),
        (&new_name, enabled, &definition),
        changes.priority,
    )
    .await
}

pub async fn set_enabled(
    store: &Store,
    actor: &Actor,
    name: &str,
    enabled: bool,
) -> Result<Rule, RuleError> {
    let rule = get(store, name).await?;
    let action = if enabled {
        "rule enabled"
    } else {
        "rule disabled"
    };
    write(
        store,
        actor,
        action,
        Some(name),
        (name, enabled, &rule.definition),
        None,
    )
    .await
}

/// Moves a rule to `position` (0 first).
pub async fn move_to(
    store: &Store,
    actor: &Actor,
    name: &str,
    position: usize,
) -> Result<Rule, RuleError> {
    let rule = get(store, name).await?;
    write(
        store,
        actor,
        "rule moved",
        Some(name),
        (name, rule.enabled, &rule.definition),
        Some(position),
    )
    .await
}

pub async fn remove(store: &Store, actor: &Actor, name: &str) -> Result<(), RuleError> {
    let mut tx = store.begin().await?;
    if !tx.remove_rule(name).await? {
        return Err(RuleError::NotFound(name.to_string()));
    }
    tx.audit(AuditEntry {
        actor,
        action: "rule removed",
        target: Some(name),
        detail: None,
    })
    .await?;
    tx.commit().await?;
    Ok(())
}
