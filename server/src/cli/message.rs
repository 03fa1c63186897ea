//! `sealpost message`: a protected message's status, and revoking it.

use super::*;

#[derive(Subcommand, Debug)]
pub enum MessageCommand {
    /// Show a message's status (IsRevocable, Revoked, ...)
    Status {
        /// The RFC 5322 Message-ID, with or without angle brackets
        #[arg(long)]
        message_id: String,
        /// Only the message of this sender
        #[arg(long)]
        sender: Option<String>,
        /// A JSON array for scripts
        #[arg(long)]
        json: bool,
    },
    /// Revoke external (link-based) access to a message
    Revoke {
        /// The RFC 5322 Message-ID, with or without angle brackets
        #[arg(long)]
        message_id: String,
        /// Pick the sender when messages of several senders carry the Message-ID
        #[arg(long)]
        sender: Option<String>,
        /// Remove only this link-based recipient's access; the others keep reading
        #[arg(long, value_name = "ADDR")]
        recipient: Option<String>,
    },
}

pub async fn run(settings: Settings, cmd: MessageCommand) -> Result<(), CliError> {
    use crate::services::revocation::{self, RevokeError};
    let (store, _) = startup::open(&settings).await?;
    match cmd {
        MessageCommand::Status {
            message_id,
            sender,
            json,
        } => {
            let found = revocation::status(&store, &message_id, sender.as_deref()).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&found).expect("statuses serialise")
                );
                return Ok(());
            }
            if found.is_empty() {
                let id = crate::domain::normalise_message_id(&message_id);
                return Err(CliError::Refused(format!(
                    "No message with Message-ID {id}."
                )));
            }
            let blocks: Vec<String> = found
                .iter()
                .map(|s| {
                    format_list(&[
                        ("MessageId", s.message_id.clone()),
                        ("Subject", s.subject.clone()),
                        ("Sender", s.sender.clone()),
                        ("SentAt", s.sent_at.clone()),
                        ("IsRevocable", title_bool(s.is_revocable)),
                        ("Revoked", title_bool(s.revoked)),
                        (
                            "ExpiresAt",
                            s.expires_at.clone().unwrap_or_else(|| "never".into()),
                        ),
                        (
                            "Recipients",
                            s.recipients
                                .iter()
                                .map(|r| format!("{} ({}, {})", r.address, r.experience, r.state))
                                .collect::<Vec<_>>()
                                .join(", "),
                        ),
                    ])
                })
                .collect();
            println!("{}", blocks.join("\n\n"));
            Ok(())
        }
        MessageCommand::Revoke {
            message_id,
            sender,
            recipient,
        } => {
            let actor = Actor::command_line();
            let done = match recipient {
                Some(recipient) => {
                    let recipient = crate::domain::EmailAddress::parse(&recipient)
                        .map_err(|e| CliError::Refused(format!("--recipient: {e}.")))?;
                    revocation::remove_access(
                        &store,
                        &actor,
                        &message_id,
                        sender.as_deref(),
                        &recipient,
                    )
                    .await
                    .map(|status| {
                        format!(
                            "Access to the encrypted email with the subject '{}' was removed for {recipient}.",
                            status.subject
                        )
                    })
                }
                None => revocation::revoke(
                    &store,
                    &actor,
                    &message_id,
                    sender.as_deref(),
                    revocation::Revoker::Administrator,
                )
                .await
                .map(|status| {
                    format!(
                        "The encrypted email with the subject '{}' was successfully revoked.",
                        status.subject
                    )
                }),
            };
            match done {
                Ok(said) => {
                    println!("{said}");
                    Ok(())
                }
                Err(RevokeError::Store(e)) => Err(e.into()),
                Err(e @ RevokeError::Ambiguous { .. }) => {
                    Err(CliError::Refused(format!("{e} Name one with --sender.")))
                }
                Err(refused) => Err(CliError::Refused(refused.to_string())),
            }
        }
    }
}
