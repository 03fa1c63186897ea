//! The organization's protection settings (`irm-config`, `/admin/settings`).

use crate::domain::{Actor, FieldError};
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

/// The expiry a sender asks for (compose, the API): empty for the
/// template's; otherwise 1 to 730 days, at most the template's own when it
/// sets one (`template_days` > 0).
pub fn expiry_days(text: &str, template_days: i64) -> Result<Option<i64>, FieldError> {
    if text.is_empty() {
        return Ok(None);
    }
    let refused = |problem: String| Err(FieldError::new("expiry-days", problem));
    let Ok(days) = text.parse::<i64>() else {
        return refused(format!("'{text}' is not a whole number of days"));
    };
    if !(1..=730).contains(&days) {
        return refused(format!("{days} is not between 1 and 730 days"));
    }
    if template_days > 0 && days > template_days {
        return refused(format!(
            "{days} days is longer than the template's expiry of {template_days} days"
        ));
    }
    Ok(Some(days))
}

#[cfg(test)]
mod tests {
    use super::expiry_days;

    #[test]
    fn a_sender_picks_an_expiry_within_the_templates() {
        assert_eq!(expiry_days("", 30), Ok(None));
        assert_eq!(expiry_days("7", 0), Ok(Some(7)));
        assert_eq!(expiry_days("30", 30), Ok(Some(30)));
        assert!(expiry_days("31", 30).is_err());
        assert!(expiry_days("0", 0).is_err());
        assert!(expiry_days("731", 0).is_err());
        assert!(expiry_days("ten", 0).is_err());
    }
}
