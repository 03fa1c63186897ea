//! Writing a protected message as an organization user: the compose page
//! and the API (`POST /api/v1/messages`) both come here. The message is
//! built as MIME and enters the same pipeline as SMTP mail, with the
//! rights, template and expiry asked for.

use crate::config::Settings;
use crate::crypto::Keyring;
use crate::domain::{EmailAddress, Envelope, Requested, Rights};
use crate::intake::Intake;
use crate::mime::Attachment;
use crate::portal::OpenError;
use crate::store::{Store, StoreError, TemplateRow};
use mail_builder::MessageBuilder;
use std::net::SocketAddr;

/// At most this many recipients in To and Cc together.
pub const MAX_RECIPIENTS: usize = 100;

/// What the sender wrote, as typed.
#[derive(Default)]
pub struct Draft {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub body: String,
    /// `encrypt-only` (also when empty) or `do-not-forward`.
    pub rights: String,
    /// A template's name; empty: the default template.
    pub template: String,
    /// 1 to 730, at most the template's when it sets one; empty: the template's.
    pub expiry_days: String,
    /// An Inbox message of the sender's this answers (its id).
    pub in_reply_to: String,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// What the sender should change, as a sentence naming the field.
    #[error("{0}")]
    Invalid(String),
    #[error("There is no branding template named '{0}'.")]
    NoTemplate(String),
    /// The expiry asked for is longer than the template allows.
    #[error("Expires after (days): {0}.")]
    Expiry(String),
    #[error("The message is too big: the limit is {} MB with attachments.", .0 / (1024 * 1024))]
    TooBig(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the message being answered cannot be opened: {0}")]
    Open(#[from] OpenError),
    #[error("the message was not stored: {0}")]
    NotStored(String),
}

/// A message on its way: stored and committed, its pipeline job queued.
pub struct Accepted {
    /// The stored row.
    pub id: String,
    /// `<...@host>`, as the message carries it.
    pub message_id: String,
    pub subject: String,
    pub recipients: Vec<String>,
}

/// Where a message goes in: the database, the keys (to thread a reply
/// under an Inbox message) and the intake.
pub struct Outlet<'a> {
    pub store: &'a Store,
    pub keyring: &'a Keyring,
    pub intake: &'a Intake,
    pub settings: &'a Settings,
}

fn addresses(field: &str, list: &[String]) -> Result<Vec<EmailAddress>, ComposeError> {
    list.iter()
        .flat_map(|item| item.split([',', ';']))
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| {
            EmailAddress::parse(a).map_err(|e| ComposeError::Invalid(format!("{field}: {e}.")))
        })
        .collect()
}

/// Checks the draft, builds the message and hands it to the intake, which
/// answers once it is committed. `source` is recorded (`web`, `api`).
pub async fn send(
    outlet: &Outlet<'_>,
    sender: &str,
    draft: Draft,
    peer: SocketAddr,
    source: &'static str,
) -> Result<Accepted, ComposeError> {
    let to = addresses("To", &draft.to)?;
    let cc = addresses("Cc", &draft.cc)?;
    if to.is_empty() {
        return Err(ComposeError::Invalid(
            "Name at least one recipient in To.".into(),
        ));
    }
    if to.len() + cc.len() > MAX_RECIPIENTS {
        return Err(ComposeError::Invalid(format!(
            "A message may have at most {MAX_RECIPIENTS} recipients."
        )));
    }
    let subject = draft.subject.trim().to_string();
    // Control characters have no place in a header (and PostgreSQL
    // refuses NUL in text).
    if subject.is_empty() || subject.chars().any(|c| c.is_ascii_control()) {
        return Err(ComposeError::Invalid(
            "Give the message a subject (one line).".into(),
        ));
    }
    let rights = match draft.rights.as_str() {
        "" | "encrypt-only" => Rights::EncryptOnly,
        "do-not-forward" => Rights::DoNotForward,
        _ => {
            return Err(ComposeError::Invalid(
                "Choose Encrypt only or Do not forward.".into(),
            ));
        }
    };
    let named = draft.template.trim();
    let template: TemplateRow = match named {
        "" => outlet.store.default_template().await?,
        name if name.chars().any(|c| c.is_ascii_control()) => {
            return Err(ComposeError::NoTemplate(name.escape_default().to_string()));
        }
        name => outlet
            .store
            .template_by_name(name)
            .await?
            .ok_or_else(|| ComposeError::NoTemplate(name.to_string()))?,
    };
    let expiry_days =
        crate::services::protection::expiry_days(draft.expiry_days.trim(), template.expiry_days)
            .map_err(|e| ComposeError::Expiry(e.problem))?;

    let hostname = outlet.settings.public_url.host_str().unwrap_or("localhost");
    let message_id = format!("{}@{hostname}", crate::store::new_id());
    let mut builder = MessageBuilder::new()
        .from(sender)
        .to(to.iter().map(|a| a.as_str()).collect::<Vec<_>>())
        .subject(subject.as_str())
        .message_id(message_id.clone())
        .text_body(draft.body.replace("\r\n", "\n"));
    if !cc.is_empty() {
        builder = builder.cc(cc.iter().map(|a| a.as_str()).collect::<Vec<_>>());
    }
    // A reply to an Inbox message of the sender's is threaded under it.
    if !draft.in_reply_to.is_empty()
        && let Some((parent, references)) = thread_of(outlet, sender, &draft.in_reply_to).await?
    {
        builder = builder.in_reply_to(parent).references(references);
    }
    for a in &draft.attachments {
        builder = builder.attachment(a.content_type.clone(), a.name.clone(), a.data.as_slice());
    }
    let raw = builder
        .write_to_vec()
        .expect("writing to memory cannot fail");
    let limit = outlet.settings.max_message_bytes;
    if raw.len() > limit {
        return Err(ComposeError::TooBig(limit));
    }
    if let Err(e) = crate::mime::check_nesting(&raw) {
        return Err(ComposeError::Invalid(format!(
            "An attachment cannot be sent: {e}."
        )));
    }
    let mut recipients: Vec<String> = to.iter().chain(cc.iter()).map(|a| a.to_string()).collect();
    recipients.dedup();
    let envelope = Envelope {
        from: sender.to_string(),
        to: recipients.clone(),
        peer,
        helo: source.into(),
        requested: Some(Requested {
            rights,
            template: (!named.is_empty()).then(|| template.name.clone()),
            expiry_days,
        }),
    };
    let id = outlet
        .intake
        .accept(envelope, raw, source)
        .await
        .map_err(|e| ComposeError::NotStored(e.to_string()))?;
    Ok(Accepted {
        id,
        message_id: format!("<{message_id}>"),
        subject,
        recipients,
    })
}

/// The Message-ID an Inbox message of `user`'s carries and its thread
/// (References, then itself), without angle brackets; None when the
/// message is not in the user's Inbox.
async fn thread_of(
    outlet: &Outlet<'_>,
    user: &str,
    inbox_id: &str,
) -> Result<Option<(String, Vec<String>)>, OpenError> {
    let Some(row) = outlet.store.inbox(user, Some(inbox_id)).await?.pop() else {
        return Ok(None);
    };
    let bare = row.message_id.trim_matches(['<', '>']).to_string();
    let stored = || Some((bare.clone(), vec![bare.clone()]));
    match crate::portal::open_message(outlet.store, outlet.keyring, &row.id).await {
        Ok(raw) => Ok(crate::portal::reply::thread(&raw).or_else(stored)),
        // Retention deleted the content: the thread goes on from its id.
        Err(OpenError::NoContent) => Ok(stored()),
        Err(e) => Err(e),
    }
}
