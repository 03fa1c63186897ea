//! What an organization user may do.

/// Stored as the text `sender` or `admin` (the column's CHECK allows only
/// these), read and written through [`super::stored_as_text!`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sends protected mail and manages their own Sent folder.
    Sender,
    /// Everything a sender does, and the organization's settings.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Sender => "sender",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "sender" => Some(Role::Sender),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The pages' copy of the role (the UI crate knows no database).
impl From<Role> for app::dto::Role {
    fn from(role: Role) -> app::dto::Role {
        match role {
            Role::Sender => app::dto::Role::Sender,
            Role::Admin => app::dto::Role::Admin,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

super::stored_as_text!(Role);
