//! The organization's protection settings (`irm-config`, `/admin/settings`).

use crate::domain::Actor;
use crate::irm_config::{ForeignProtected, IrmConfig, TransportDecryption};
use crate::store::{AuditEntry, Store, StoreError};

/// Changes the settings given (the others stay); the settings as they are
/// now. Every node follows from its next message.
pub async fn set(
    store: &Store,
    actor: &Actor,
    transport_decryption: Option<TransportDecryption>,
    foreign_protected: Option<ForeignProtected>,
) -> Result<IrmConfig, StoreError> {
    let mut config = IrmConfig::load(store).await?;
    if let Some(d) = transport_decryption {
        config.transport_decryption = d;
    }
    if let Some(f) = foreign_protected {
        config.foreign_protected = f;
    }
    let detail = format!(
        "TransportDecryption {}, ForeignProtected {}",
        config.transport_decryption.as_str(),
        config.foreign_protected.as_str()
    );
    let mut tx = store.begin().await?;
    config.save(&mut tx).await?;
    tx.audit(AuditEntry {
        actor,
        action: "protection settings changed",
        target: None,
        detail: Some(&detail),
    })
    .await?;
    tx.commit().await?;
    Ok(config)
}
