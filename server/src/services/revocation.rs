//! Message status and revocation: one service behind the command line, the
//! Sent folder, the admin pages and the API. State is read from the
//! database on every request, so a revocation holds on every node at once.

use crate::domain::{Actor, EmailAddress, Experience};
use crate::store::{AuditEntry, StatusRow, Store, StoreError, now_ms};
use serde::Serialize;

/// The status of one message: everything stored under one (sender,
/// Message-ID), since a mail server may split a message over several SMTP
/// transactions. Field names are the command line's and the API's.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct MessageStatus {
    pub message_id: String,
    pub subject: String,
    pub sender: String,
    pub sent_at: String,
    pub is_revocable: bool,
    pub revoked: bool,
    pub revoked_at: Option<String>,
    pub expires_at: Option<String>,
    pub recipients: Vec<RecipientStatus>,
    #[serde(skip)]
    rows: Vec<String>,
    #[serde(skip)]
    not_revocable: Option<String>,
    #[serde(skip)]
    expired: bool,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct RecipientStatus {
    pub address: String,
    pub experience: Experience,
    pub state: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    #[error("No message with Message-ID {0}.")]
    NotFound(String),
    /// Each surface says how to name the sender (`--sender`, `?sender=`).
    #[error("Messages of more than one sender carry the Message-ID {message_id}: {senders}.")]
    Ambiguous { message_id: String, senders: String },
    #[error("The encrypted email with the subject '{subject}' cannot be revoked: {reason}.")]
    NotRevocable { subject: String, reason: String },
    #[error("The encrypted email with the subject '{0}' is already revoked.")]
    AlreadyRevoked(String),
    #[error("The encrypted email with the subject '{0}' has expired.")]
    Expired(String),
    #[error(
        "{address} is not an external (link-based) recipient of the encrypted email with the subject '{subject}'."
    )]
    NotARecipient { subject: String, address: String },
    #[error(
        "Access to the encrypted email with the subject '{subject}' was already removed for {address}."
    )]
    AlreadyRemoved { subject: String, address: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl MessageStatus {
    /// The stored rows this message is made of.
    pub fn rows(&self) -> &[String] {
        &self.rows
    }
}

pub async fn status(
    store: &Store,
    message_id: &str,
    sender: Option<&str>,
) -> Result<Vec<MessageStatus>, StoreError> {
    let rows = store
        .status_rows(
            &crate::domain::normalise_message_id(message_id),
            sender.map(str::to_lowercase).as_deref(),
        )
        .await?;
    Ok(group(rows))
}

fn group(rows: Vec<StatusRow>) -> Vec<MessageStatus> {
    let mut out: Vec<MessageStatus> = Vec::new();
    let time = crate::domain::rfc3339;
    for row in rows {
        let status = match out
            .iter_mut()
            .find(|s| s.sender == row.sender && s.message_id == row.message_id)
        {
            Some(status) => status,
            None => {
                out.push(MessageStatus {
                    message_id: row.message_id.clone(),
                    subject: row.subject.clone(),
                    sender: row.sender.clone(),
                    sent_at: time(row.received_at),
                    is_revocable: false,
                    revoked: false,
                    revoked_at: None,
                    expires_at: None,
                    recipients: Vec::new(),
                    rows: Vec::new(),
                    not_revocable: None,
                    expired: false,
                });
                out.last_mut().expect("just pushed")
            }
        };
        if !status.rows.contains(&row.id) {
            status.rows.push(row.id.clone());
        }
        if let Some(at) = row.revoked_at {
            status.revoked = true;
            status.revoked_at = Some(time(at));
        }
        if let Some(at) = row.expires_at {
            status.expires_at = Some(time(at));
        }
        if let (Some(address), Some(experience)) = (row.address, row.experience) {
            let expired = row.expires_at.is_some_and(|at| at <= now_ms());
            let state = match (experience, row.revoked_at) {
                (Experience::Link, Some(_)) => "revoked".to_string(),
                (Experience::Link, None) if expired => "expired".to_string(),
                _ => row.state.map(|s| s.to_string()).unwrap_or_default(),
            };
            status.recipients.push(RecipientStatus {
                address,
                experience,
                state,
            });
        }
        let expired = row.expires_at.is_some_and(|at| at <= now_ms());
        if expired {
            status.expired = true;
            status.not_revocable.get_or_insert_with(|| "expired".into());
        }
    }
    for status in &mut out {
        let inline: Vec<&str> = status
            .recipients
            .iter()
            .filter(|r| r.experience == Experience::Inline)
            .map(|r| r.address.as_str())
            .collect();
        let has_link = status
            .recipients
            .iter()
            .any(|r| r.experience == Experience::Link);
        let expired = status.not_revocable.as_deref() == Some("expired");
        status.not_revocable = if !inline.is_empty() {
            Some(format!("it was delivered inline to {}", inline.join(", ")))
        } else if !has_link {
            Some("it has no external (link-based) recipient".into())
        } else if expired {
            Some("expired".into())
        } else {
            None
        };
        status.is_revocable = status.not_revocable.is_none() && !status.revoked;
    }
    out
}

/// Revokes a message; refuses with the reason when it is not revocable.
/// Who revokes: administrators any revocable message; a sender (the Sent
/// folder, a sender's API token) only as the Sent folder offers it, when
/// the message went to a single link-based recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revoker {
    Administrator,
    Sender,
}

/// The one message under a Message-ID (of one sender when given).
async fn one_status(
    store: &Store,
    normalised: &str,
    sender: Option<&str>,
) -> Result<MessageStatus, RevokeError> {
    let mut found = status(store, normalised, sender).await?;
    match found.len() {
        0 => Err(RevokeError::NotFound(normalised.to_string())),
        1 => Ok(found.remove(0)),
        _ => {
            let senders = found
                .iter()
                .map(|s| s.sender.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            Err(RevokeError::Ambiguous {
                message_id: normalised.to_string(),
                senders,
            })
        }
    }
}

pub async fn revoke(
    store: &Store,
    actor: &Actor,
    message_id: &str,
    sender: Option<&str>,
    by: Revoker,
) -> Result<MessageStatus, RevokeError> {
    let normalised = crate::domain::normalise_message_id(message_id);
    let status = one_status(store, &normalised, sender).await?;
    if status.revoked {
        return Err(RevokeError::AlreadyRevoked(status.subject));
    }
    match status.not_revocable.as_deref() {
        Some("expired") => return Err(RevokeError::Expired(status.subject)),
        Some(reason) => {
            return Err(RevokeError::NotRevocable {
                subject: status.subject.clone(),
                reason: reason.to_string(),
            });
        }
        None => {}
    }
    let links = status
        .recipients
        .iter()
        .filter(|r| r.experience == Experience::Link)
        .count();
    if by == Revoker::Sender && links != 1 {
        return Err(RevokeError::NotRevocable {
            subject: status.subject.clone(),
            reason: format!(
                "it went to {links} recipients outside the organization, and a sender removes access only from a message to one; an administrator can revoke it"
            ),
        });
    }
    let mut tx = store.begin().await?;
    if tx.revoke_rows(&status.rows, &actor.to_string()).await? == 0 {
        // Revoked by someone else since the status was read.
        return Err(RevokeError::AlreadyRevoked(status.subject));
    }
    let detail = format!("'{}' from {}", status.subject, status.sender);
    audited(
        store,
        tx,
        actor,
        "message revoked",
        &normalised,
        &detail,
        &status,
    )
    .await
}

/// Writes the audit line in the change's transaction, commits both, and
/// reads the message's status as it is now.
async fn audited(
    store: &Store,
    mut tx: crate::store::Tx,
    actor: &Actor,
    action: &str,
    normalised: &str,
    detail: &str,
    before: &MessageStatus,
) -> Result<MessageStatus, RevokeError> {
    tx.audit(AuditEntry {
        actor,
        action,
        target: Some(normalised),
        detail: Some(detail),
    })
    .await?;
    tx.commit().await?;
    let mut after = self::status(store, normalised, Some(&before.sender)).await?;
    Ok(after.remove(0))
}

/// Removes one link-based recipient's access: that link then answers 410
/// while the message's other recipients keep reading. Senders and
/// administrators alike may remove any one recipient of a message they may
/// see (inline copies excepted: they are already in a mailbox).
pub async fn remove_access(
    store: &Store,
    actor: &Actor,
    message_id: &str,
    sender: Option<&str>,
    recipient: &EmailAddress,
) -> Result<MessageStatus, RevokeError> {
    let normalised = crate::domain::normalise_message_id(message_id);
    let status = one_status(store, &normalised, sender).await?;
    let address = recipient.as_str();
    let Some(copy) = status
        .recipients
        .iter()
        .find(|r| r.address == address && r.experience == Experience::Link)
    else {
        return Err(RevokeError::NotARecipient {
            subject: status.subject,
            address: address.to_string(),
        });
    };
    if status.revoked {
        return Err(RevokeError::AlreadyRevoked(status.subject));
    }
    if copy.state == "removed" {
        return Err(RevokeError::AlreadyRemoved {
            subject: status.subject,
            address: address.to_string(),
        });
    }
    // Whatever else makes it not revocable (inline copies), an expired
    // message has no access left to remove.
    if status.expired {
        return Err(RevokeError::Expired(status.subject));
    }
    let mut tx = store.begin().await?;
    if tx
        .remove_recipient(&status.rows, address, &actor.to_string())
        .await?
        == 0
    {
        // Removed by someone else since the status was read.
        return Err(RevokeError::AlreadyRemoved {
            subject: status.subject,
            address: address.to_string(),
        });
    }
    let detail = format!("{address} of '{}' from {}", status.subject, status.sender);
    let action = "recipient access removed";
    audited(store, tx, actor, action, &normalised, &detail, &status).await
}
