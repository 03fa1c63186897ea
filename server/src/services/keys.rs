//! The key-encryption keys: rotated, exported and imported, each recorded.

use crate::config::Settings;
use crate::crypto::KeyId;
use crate::domain::Actor;
use crate::keys::{self, ImportReport, KeyError};
use crate::store::{AuditEntry, Store};

/// A new current key; older keys keep opening what they sealed.
pub async fn rotate(store: &Store, settings: &Settings, actor: &Actor) -> Result<KeyId, KeyError> {
    let (id, wrapped) = keys::new_key(store, settings).await?;
    let hex = id.to_hex();
    let mut tx = store.begin().await?;
    tx.add_current_key(&hex, &wrapped).await?;
    tx.audit(AuditEntry {
        actor,
        action: "key rotated",
        target: Some(&hex),
        detail: None,
    })
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The organization and every key, sealed with `passphrase`. Nothing
/// changes, but who took the keys away is recorded before they are handed
/// out.
pub async fn export(
    store: &Store,
    settings: &Settings,
    actor: &Actor,
    passphrase: &str,
) -> Result<String, KeyError> {
    let sealed = keys::export(store, settings, passphrase).await?;
    let mut tx = store.begin().await?;
    tx.audit(AuditEntry {
        actor,
        action: "keys exported",
        target: None,
        detail: None,
    })
    .await?;
    tx.commit().await?;
    Ok(sealed)
}

/// Adopts an exported organization and adds its keys.
pub async fn import(
    store: &Store,
    settings: &Settings,
    actor: &Actor,
    text: &str,
    passphrase: &str,
) -> Result<ImportReport, KeyError> {
    let plan = keys::open_export(store, settings, text, passphrase).await?;
    let mut tx = store.begin().await?;
    let report = keys::import(&plan, &mut tx).await?;
    let detail = format!(
        "{} key(s) added{}",
        report.keys_added,
        if report.replaced_org.is_some() {
            ", organization adopted"
        } else {
            ""
        }
    );
    tx.audit(AuditEntry {
        actor,
        action: "keys imported",
        target: None,
        detail: Some(&detail),
    })
    .await?;
    tx.commit().await?;
    Ok(report)
}
