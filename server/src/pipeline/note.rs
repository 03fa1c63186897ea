//! What happened to a message on its way through the stages, for its
//! timeline (the message trace, the admin's message page).

/// One step, typed; [`Note::event`] and [`Note::detail`] are how the
/// timeline words it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// Another organization's protected mail: not ours to open or change.
    PassedForeign,
    /// This organization's protected mail that was not opened here: why.
    DeliveredUninspected(String),
    /// Transport decryption did not open it: why (a fixed text).
    DecryptionSkipped(&'static str),
    Decrypted,
    /// Decryption or re-encryption failed for now; it is tried again.
    TryFailed {
        what: &'static str,
        attempt: usize,
    },
    /// The agents that saw it; `read_only`: they read it as it arrived.
    Inspected {
        by: Vec<String>,
        read_only: bool,
    },
    ReEncrypted,
    /// Do-not-forward mail kept from an address it was not protected for.
    DoNotForward(String),
    /// Encrypt-only mail sent on to a new address.
    Forwarded {
        to: String,
        by: String,
    },
    /// The antivirus found nothing.
    Scanned,
    /// The antivirus could not scan it, and it went on (why).
    NotScanned(String),
    /// A custom agent changed it.
    AgentChanged(String),
    /// A custom agent would have changed mail that is not ours to change.
    AgentWouldChange(String),
    /// A transport rule's line, as the rules stage words it.
    Rule(String),
}

impl Note {
    /// The timeline's event.
    pub fn event(&self) -> String {
        match self {
            Note::PassedForeign => "passed on untouched: protected by another organization".into(),
            Note::DeliveredUninspected(_) => "delivered uninspected".into(),
            Note::DecryptionSkipped(why) => format!("decryption skipped: {why}"),
            Note::Decrypted => "decrypted".into(),
            Note::TryFailed { what, attempt } => {
                format!("{what} failed (transient), try {attempt}")
            }
            Note::Inspected { by, read_only } => format!(
                "{} {}",
                if *read_only {
                    "read as it arrived by"
                } else {
                    "inspected by"
                },
                by.join(", ")
            ),
            Note::ReEncrypted => "re-encrypted".into(),
            Note::DoNotForward(address) => {
                format!("do not forward: {address} was not a recipient of the original message")
            }
            Note::Forwarded { to, by } => format!("forwarded to {to} by {by}"),
            Note::Scanned => "scanned: clean".into(),
            Note::NotScanned(_) => "not scanned".into(),
            Note::AgentChanged(name) => format!("changed by custom agent {name}"),
            Note::AgentWouldChange(name) => {
                format!("custom agent {name} would change the message: skipped")
            }
            Note::Rule(line) => line.clone(),
        }
    }

    /// The timeline's detail (empty for most).
    pub fn detail(&self) -> String {
        match self {
            Note::DeliveredUninspected(why) | Note::NotScanned(why) => why.clone(),
            _ => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_read_as_the_timeline_words_them() {
        let by = vec!["transport rules".to_string(), "antivirus".to_string()];
        assert_eq!(
            Note::Inspected {
                by: by.clone(),
                read_only: false
            }
            .event(),
            "inspected by transport rules, antivirus"
        );
        assert_eq!(
            Note::Inspected {
                by,
                read_only: true
            }
            .event(),
            "read as it arrived by transport rules, antivirus"
        );
        assert_eq!(
            Note::TryFailed {
                what: "decryption",
                attempt: 2
            }
            .event(),
            "decryption failed (transient), try 2"
        );
        let uninspected = Note::DeliveredUninspected("decryption failed (permanent)".into());
        assert_eq!(uninspected.event(), "delivered uninspected");
        assert_eq!(uninspected.detail(), "decryption failed (permanent)");
    }
}
