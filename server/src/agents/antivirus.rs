//! Antivirus, the last agent: clamd scans the whole message as the agents
//! left it (decrypted) and each decoded attachment.

use super::clamd::{self, ClamdError, Verdict};
use crate::config::{ClamdAddr, ClamdUnavailable};
use crate::pipeline::{InFlight, Stage, StageError};
use std::time::Duration;

pub struct Antivirus {
    pub addr: ClamdAddr,
    pub unavailable: ClamdUnavailable,
    pub timeout: Duration,
}

/// The parts clamd is asked about: the whole message, then each
/// attachment decoded (clamd would find most inside the message itself,
/// but not every encoding it is sent in).
fn pieces(raw: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![raw.to_vec()];
    if let Some(message) = mail_parser::MessageParser::default().parse(raw) {
        for part in message.attachments() {
            out.push(part.contents().to_vec());
        }
    }
    out
}

#[async_trait::async_trait]
impl Stage for Antivirus {
    fn name(&self) -> &str {
        "antivirus"
    }

    async fn process(&self, message: &mut InFlight) -> Result<(), StageError> {
        for piece in pieces(&message.raw) {
            match clamd::scan(&self.addr, &piece, self.timeout).await {
                Ok(Verdict::Clean) => {}
                Ok(Verdict::Infected(name)) => {
                    return Err(StageError::Reject {
                        event: "rejected: virus found".into(),
                        reason: format!("a virus was found in the message ({name})"),
                    });
                }
                Err(e) => return self.cannot_scan(message, e),
            }
        }
        message.notes.push(("scanned: clean".into(), String::new()));
        Ok(())
    }
}

impl Antivirus {
    fn cannot_scan(&self, message: &mut InFlight, e: ClamdError) -> Result<(), StageError> {
        match self.unavailable {
            ClamdUnavailable::Defer => Err(StageError::Transient(e.to_string())),
            ClamdUnavailable::Deliver => {
                tracing::warn!(error = %e, "delivering a message clamd did not scan");
                message.notes.push(("not scanned".into(), e.to_string()));
                Ok(())
            }
        }
    }
}
