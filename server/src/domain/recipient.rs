//! How a recipient gets a protected message.

/// Stored as the text `inline` or `link`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Experience {
    /// The organization's own: the protected message itself, opened in the
    /// Inbox (or by their mail client, with the organization's key).
    Inline,
    /// Everyone else: a notification with a link to the portal.
    Link,
}

impl Experience {
    pub fn as_str(self) -> &'static str {
        match self {
            Experience::Inline => "inline",
            Experience::Link => "link",
        }
    }

    pub fn parse(text: &str) -> Option<Experience> {
        match text {
            "inline" => Some(Experience::Inline),
            "link" => Some(Experience::Link),
            _ => None,
        }
    }
}

impl std::fmt::Display for Experience {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

super::stored_as_text!(Experience);
