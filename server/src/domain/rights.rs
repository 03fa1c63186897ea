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

    /// From the stored (and written) form; other spellings are the
    /// surfaces' to accept.
    pub fn parse(text: &str) -> Option<Rights> {
        match text {
            "encrypt-only" => Some(Rights::EncryptOnly),
            "do-not-forward" => Some(Rights::DoNotForward),
            _ => None,
        }
    }
}

impl std::fmt::Display for Rights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

super::stored_as_text!(Rights);
