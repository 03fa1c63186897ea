//! The rights a protected message travels with.

/// Ordered: a rule or the sender may raise rights, never lower them
/// (`max`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Rights {
    EncryptOnly,
    DoNotForward,
}

impl Rights {
    pub fn as_str(self) -> &'static str {
        match self {
            Rights::EncryptOnly => "encrypt-only",
            Rights::DoNotForward => "do-not-forward",
        }
    }
}
