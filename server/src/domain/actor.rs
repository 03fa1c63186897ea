//! Who changes something, and through which door: the audit trail's
//! `actor` and `surface` columns.

/// The door a change came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Surface {
    /// The organization's pages (a signed-in user).
    Web,
    /// The JSON API (an API token).
    Api,
    /// The `sealpost` command (including the first start of `serve`).
    Cli,
}

impl Surface {
    pub fn as_str(self) -> &'static str {
        match self {
            Surface::Web => "web",
            Surface::Api => "api",
            Surface::Cli => "cli",
        }
    }

    pub fn parse(text: &str) -> Option<Surface> {
        match text {
            "web" => Some(Surface::Web),
            "api" => Some(Surface::Api),
            "cli" => Some(Surface::Cli),
            _ => None,
        }
    }
}

impl std::fmt::Display for Surface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

super::stored_as_text!(Surface);

/// Who acts: every operation of the service layer takes one and writes it
/// into the audit trail with the change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// An organization user signed in to the pages (their stored email).
    User(String),
    /// An API token, named, and the user it acts as.
    Token { name: String, user: String },
    /// Someone at the command line, by their operating-system user name.
    CommandLine { os_user: String },
}

impl Actor {
    /// The person at this command line, as the environment names them:
    /// `$SUDO_USER` (who ran `sudo`), `$USER`, `$LOGNAME`, else the uid.
    /// Whoever may run the command may also set these: the name is what
    /// the session says, not a proof.
    pub fn command_line() -> Actor {
        let os_user = std::env::var("SUDO_USER")
            .or_else(|_| std::env::var("USER"))
            .or_else(|_| std::env::var("LOGNAME"))
            .ok()
            .filter(|u| !u.is_empty() && !u.chars().any(char::is_control))
            .unwrap_or_else(|| {
                use std::os::unix::fs::MetadataExt;
                std::fs::metadata("/proc/self")
                    .map(|m| format!("uid {}", m.uid()))
                    .unwrap_or_else(|_| "an unknown user".into())
            });
        Actor::CommandLine { os_user }
    }

    pub fn surface(&self) -> Surface {
        match self {
            Actor::User(_) => Surface::Web,
            Actor::Token { .. } => Surface::Api,
            Actor::CommandLine { .. } => Surface::Cli,
        }
    }

    /// The organization user behind the actor, if any: what `--actor ADDR`
    /// filters on.
    pub fn email(&self) -> Option<&str> {
        match self {
            Actor::User(email) | Actor::Token { user: email, .. } => Some(email),
            Actor::CommandLine { .. } => None,
        }
    }
}

/// `user:<email>`, `token:<name> of <email>`, `command line as <os user>`
/// (the names SPEC.md's second wave fixes).
impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::User(email) => write!(f, "user:{email}"),
            Actor::Token { name, user } => write!(f, "token:{name} of {user}"),
            Actor::CommandLine { os_user } => write!(f, "command line as {os_user}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_are_named_as_the_audit_trail_spells_them() {
        let alice = "alice@example.com".to_string();
        assert_eq!(
            Actor::User(alice.clone()).to_string(),
            "user:alice@example.com"
        );
        let token = Actor::Token {
            name: "backup script".into(),
            user: alice,
        };
        assert_eq!(
            token.to_string(),
            "token:backup script of alice@example.com"
        );
        assert_eq!(token.surface(), Surface::Api);
        let cli = Actor::CommandLine {
            os_user: "root".into(),
        };
        assert_eq!(cli.to_string(), "command line as root");
        assert_eq!(cli.surface().as_str(), "cli");
    }
}
