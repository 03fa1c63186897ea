//! The organization's protection settings (Exchange's IRM configuration):
//! transport decryption and what to do with another organization's
//! protected mail. Stored in the database, so every node follows a change
//! at the next message.

use crate::store::{Store, StoreError, Tx};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TransportDecryption {
    Disabled,
    /// Exchange's default.
    #[default]
    Optional,
    Mandatory,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ForeignProtected {
    #[default]
    Pass,
    Reject,
}

impl TransportDecryption {
    pub const VALUES: &'static str = "disabled, optional, mandatory";

    pub fn as_str(self) -> &'static str {
        match self {
            TransportDecryption::Disabled => "disabled",
            TransportDecryption::Optional => "optional",
            TransportDecryption::Mandatory => "mandatory",
        }
    }

    /// Any case: `Mandatory` works, as in Exchange.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "disabled" => Some(TransportDecryption::Disabled),
            "optional" => Some(TransportDecryption::Optional),
            "mandatory" => Some(TransportDecryption::Mandatory),
            _ => None,
        }
    }
}

impl ForeignProtected {
    pub const VALUES: &'static str = "pass, reject";

    pub fn as_str(self) -> &'static str {
        match self {
            ForeignProtected::Pass => "pass",
            ForeignProtected::Reject => "reject",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "pass" => Some(ForeignProtected::Pass),
            "reject" => Some(ForeignProtected::Reject),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IrmConfig {
    pub transport_decryption: TransportDecryption,
    pub foreign_protected: ForeignProtected,
}

const TRANSPORT_DECRYPTION: &str = "transport_decryption";
const FOREIGN_PROTECTED: &str = "foreign_protected";

impl IrmConfig {
    /// The stored configuration; a value this version does not know reads
    /// as the default.
    pub async fn load(store: &Store) -> Result<IrmConfig, StoreError> {
        let transport_decryption = store
            .setting(TRANSPORT_DECRYPTION)
            .await?
            .and_then(|v| TransportDecryption::parse(&v))
            .unwrap_or_default();
        let foreign_protected = store
            .setting(FOREIGN_PROTECTED)
            .await?
            .and_then(|v| ForeignProtected::parse(&v))
            .unwrap_or_default();
        Ok(IrmConfig {
            transport_decryption,
            foreign_protected,
        })
    }

    /// Written in the caller's transaction, with its audit line.
    pub async fn save(&self, tx: &mut Tx) -> Result<(), StoreError> {
        tx.set_setting(TRANSPORT_DECRYPTION, self.transport_decryption.as_str())
            .await?;
        tx.set_setting(FOREIGN_PROTECTED, self.foreign_protected.as_str())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_in_any_case() {
        assert_eq!(
            TransportDecryption::parse("Mandatory"),
            Some(TransportDecryption::Mandatory)
        );
        assert_eq!(
            TransportDecryption::parse(" DISABLED "),
            Some(TransportDecryption::Disabled)
        );
        assert_eq!(TransportDecryption::parse("sometimes"), None);
        assert_eq!(
            ForeignProtected::parse("Reject"),
            Some(ForeignProtected::Reject)
        );
    }
}
