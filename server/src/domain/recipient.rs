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

/// Where a recipient's copy is, as stored (`code sent` with its space).
/// Revoked and expired are not stored: they are read from the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecipientState {
    /// Protected, its mail not yet handed to the relay.
    Pending,
    /// A link-based recipient's notification left.
    Notified,
    /// An inline copy left.
    Delivered,
    /// A passcode was sent to the recipient.
    CodeSent,
    /// The recipient signed in to the portal and read it.
    Opened,
    /// Protected outside the gateway (`sealpost protect`).
    Protected,
    /// The sender or an administrator removed this one recipient's access;
    /// the link answers 410 while the other recipients keep reading.
    Removed,
}

impl RecipientState {
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientState::Pending => "pending",
            RecipientState::Notified => "notified",
            RecipientState::Delivered => "delivered",
            RecipientState::CodeSent => "code sent",
            RecipientState::Opened => "opened",
            RecipientState::Protected => "protected",
            RecipientState::Removed => "removed",
        }
    }

    pub fn parse(text: &str) -> Option<RecipientState> {
        [
            RecipientState::Pending,
            RecipientState::Notified,
            RecipientState::Delivered,
            RecipientState::CodeSent,
            RecipientState::Opened,
            RecipientState::Protected,
            RecipientState::Removed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for RecipientState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

super::stored_as_text!(RecipientState);
