//! Transport decryption: this organization's protected mail reaches the
//! agents in plaintext, unless the setting is disabled or a hop of the
//! organization already inspected it. Mail that cannot be opened goes on
//! as it arrived, or is refused when decryption is mandatory.

use super::faults::{Step, Tries};
use super::{Arrival, InFlight, Note, Stage, StageError};
use crate::irm_config::{IrmConfig, TransportDecryption};
use crate::keys::KeyMaterial;
use crate::store::Store;
use std::sync::Arc;

pub struct TransportDecryptionStage {
    pub store: Store,
    pub keys: Arc<KeyMaterial>,
    pub tries: Tries,
}

fn refused(reason: String) -> StageError {
    StageError::RejectWithOriginal {
        event: "decryption failed".into(),
        reason,
    }
}

#[async_trait::async_trait]
impl Stage for TransportDecryptionStage {
    fn name(&self) -> &str {
        "transport decryption"
    }

    async fn describe(&self) -> String {
        let mode = match IrmConfig::load(&self.store).await {
            Ok(config) => config.transport_decryption.as_str(),
            Err(_) => "unknown: the database cannot be read",
        };
        format!("opens this organization's protected mail for the agents ({mode})")
    }

    fn is_agent(&self) -> bool {
        false
    }

    async fn process(&self, flight: &mut InFlight) -> Result<(), StageError> {
        let mode = flight.config.transport_decryption;
        let mandatory = mode == TransportDecryption::Mandatory;
        match &mut flight.arrival {
            Arrival::Plain => Ok(()),
            // Not ours to open, change or protect: the rules and the
            // antivirus read what is readable, and it passes as it came.
            Arrival::Foreign => {
                flight.notes.push(Note::PassedForeign);
                Ok(())
            }
            Arrival::Undecryptable(why) => {
                let reason = format!("the protected message cannot be decrypted: {why}");
                if mandatory {
                    return Err(refused(reason));
                }
                flight.notes.push(Note::DeliveredUninspected(reason));
                Ok(())
            }
            Arrival::Ours(arrived) => {
                if mode == TransportDecryption::Disabled {
                    flight.inspect = false;
                    flight
                        .notes
                        .push(Note::DecryptionSkipped("transport decryption is disabled"));
                    return Ok(());
                }
                let already = crate::protected::verified_marker(
                    &self.keys.derived(crate::keys::labels::INSPECTION_MARKER),
                    &arrived.wrapped,
                    &arrived.envelope,
                    &flight.message_id,
                );
                if already.is_some() {
                    flight.inspect = false;
                    flight
                        .notes
                        .push(Note::DecryptionSkipped("already inspected"));
                    return Ok(());
                }
                match self.tries.run(Step::Decryption, &mut flight.notes).await {
                    Ok(()) => {
                        arrived.inspected = true;
                        flight.notes.push(Note::Decrypted);
                        Ok(())
                    }
                    Err(reason) if mandatory => Err(refused(reason)),
                    Err(reason) => {
                        // As it arrived: the protected message, not what is
                        // inside.
                        let arrival = std::mem::replace(
                            &mut flight.arrival,
                            Arrival::Undecryptable(reason.clone()),
                        );
                        if let Arrival::Ours(arrived) = arrival {
                            flight.raw = arrived.wrapped;
                        }
                        flight.notes.push(Note::DeliveredUninspected(reason));
                        Ok(())
                    }
                }
            }
        }
    }
}
