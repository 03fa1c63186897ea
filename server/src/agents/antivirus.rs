//! Antivirus, the last agent: clamd scans the whole message as the agents
//! left it (decrypted) and each decoded attachment.

use super::clamd::{self, ClamdError, Verdict};
use crate::config::{ClamdAddr, ClamdUnavailable};
use crate::pipeline::{InFlight, Note, Stage, StageError};
use std::time::Duration;

pub struct Antivirus {
    pub addr: ClamdAddr,
    pub unavailable: ClamdUnavailable,
    pub timeout: Duration,
}

#[async_trait::async_trait]
impl Stage for Antivirus {
    fn name(&self) -> &str {
        "antivirus"
    }

    async fn describe(&self) -> String {
        format!(
            "ClamAV at {} scans the message and each attachment; infected mail is rejected; when clamd cannot scan: {}",
            self.addr,
            match self.unavailable {
                ClamdUnavailable::Defer => "defer",
                ClamdUnavailable::Deliver => "deliver, recorded \"not scanned\"",
            }
        )
    }

    /// Protected mail not opened here is still scanned as it arrived.
    fn reads_unopened(&self) -> bool {
        true
    }

    async fn process(&self, message: &mut InFlight) -> Result<(), StageError> {
        // The whole message, then each attachment decoded: clamd finds most
        // inside the message itself, but not in every encoding it is sent in.
        let parsed = mail_parser::MessageParser::default().parse(&message.raw);
        let mut failure = None;
        for piece in pieces(&message.raw, parsed.as_ref()) {
            match clamd::scan(&self.addr, piece, self.timeout).await {
                Ok(Verdict::Clean) => {}
                Ok(Verdict::Infected(name)) => {
                    return Err(StageError::Reject {
                        event: "rejected: virus found".into(),
                        reason: format!("a virus was found in the message ({name})"),
                    });
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        drop(parsed);
        match failure {
            Some(e) => self.cannot_scan(message, e),
            None => {
                message.notes.push(Note::Scanned);
                Ok(())
            }
        }
    }
}

/// What clamd is given: the whole message, then each attachment decoded.
pub(crate) fn pieces<'a>(
    raw: &'a [u8],
    parsed: Option<&'a mail_parser::Message<'a>>,
) -> Vec<&'a [u8]> {
    std::iter::once(raw)
        .chain(
            parsed
                .into_iter()
                .flat_map(|m| m.attachments())
                .map(|part| part.contents()),
        )
        .collect()
}

impl Antivirus {
    fn cannot_scan(&self, message: &mut InFlight, e: ClamdError) -> Result<(), StageError> {
        match self.unavailable {
            ClamdUnavailable::Defer => Err(StageError::Transient(e.to_string())),
            ClamdUnavailable::Deliver => {
                tracing::warn!(error = %e, "delivering a message clamd did not scan");
                message.notes.push(Note::NotScanned(e.to_string()));
                Ok(())
            }
        }
    }
}
