//! Secure replies from the portal: the recipient answers inside the
//! protection. The reply is a new message from the recipient's verified
//! address, threaded under the original and protected with its rights and
//! template by the same pipeline as any other mail.

use crate::domain::EmailAddress;
use crate::mime::Attachment;
use crate::store::PortalRow;
use mail_builder::MessageBuilder;
use mail_parser::MessageParser;

/// Replies one recipient copy may send per hour.
pub const PER_HOUR: i64 = 20;
pub const WINDOW_MS: i64 = 3_600_000;
/// Earlier replies shown under the message.
pub const SHOWN: i64 = 50;

/// What the recipient wrote.
#[derive(Default)]
pub struct Draft {
    pub text: String,
    /// Reply all: the original's other recipients too.
    pub all: bool,
    pub attachments: Vec<Attachment>,
}

/// The reply as it enters the pipeline.
pub struct Reply {
    pub raw: Vec<u8>,
    pub to: Vec<String>,
}

/// The addresses a message names in To and Cc, lower-cased and valid only,
/// without `except`; at most 100 (the compose page's limit).
pub fn named_recipients(raw: &[u8], except: &[&str]) -> Vec<String> {
    let Some(m) = MessageParser::default().parse_headers(raw) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for list in [m.to(), m.cc()].into_iter().flatten() {
        for address in list.iter().filter_map(|a| a.address()) {
            let Ok(address) = EmailAddress::parse(address) else {
                continue;
            };
            let address = address.as_str().to_string();
            if !except.contains(&address.as_str()) && !out.contains(&address) {
                out.push(address);
            }
            if out.len() == 100 {
                return out;
            }
        }
    }
    out
}

/// `Re: <subject>`, once.
pub fn reply_subject(subject: &str) -> String {
    let trimmed = subject.trim();
    if trimmed.len() >= 3 && trimmed[..3].eq_ignore_ascii_case("re:") {
        trimmed.to_string()
    } else {
        format!("Re: {trimmed}")
    }
}

/// What a reply to `raw` threads under: its Message-ID, and the
/// References to give (the thread so far, then the message itself; RFC
/// 5322 3.6.4), without angle brackets. None when it has no Message-ID.
pub fn thread(raw: &[u8]) -> Option<(String, Vec<String>)> {
    let parsed = MessageParser::default().parse_headers(raw)?;
    // Only ids that can be written back as they are: printable ASCII
    // without spaces, of a sane length.
    let bare = |id: &str| {
        let id = id.trim().trim_start_matches('<').trim_end_matches('>');
        (!id.is_empty() && id.len() <= 250 && id.bytes().all(|b| b.is_ascii_graphic()))
            .then(|| id.to_string())
    };
    let parent = bare(parsed.message_id()?)?;
    let mut references: Vec<String> = parsed
        .references()
        .as_text_list()
        .map(|ids| ids.iter().filter_map(|id| bare(id)).collect())
        .unwrap_or_default();
    // A longer thread keeps its newest: the header stays bounded.
    if references.len() > 50 {
        references.drain(..references.len() - 50);
    }
    references.push(parent.clone());
    Some((parent, references))
}

/// The reply to the original `raw` that `row`'s recipient read.
pub fn build(
    original: &[u8],
    row: &PortalRow,
    draft: &Draft,
    hostname: &str,
    removed: &[String],
) -> Reply {
    let parsed = MessageParser::default().parse_headers(original);
    let subject = parsed
        .as_ref()
        .and_then(|m| m.subject())
        .unwrap_or(&row.subject)
        .to_string();
    let sender = row.sender.to_lowercase();
    let mut to = vec![sender.clone()];
    let others = if draft.all {
        let mut except = vec![row.address.as_str(), sender.as_str()];
        except.extend(removed.iter().map(String::as_str));
        named_recipients(original, &except)
    } else {
        Vec::new()
    };
    to.extend(others.iter().cloned());
    let mut builder = MessageBuilder::new()
        .from(row.address.as_str())
        .to(sender.as_str())
        .subject(reply_subject(&subject))
        .message_id(format!("{}@{hostname}", crate::store::new_id()))
        .text_body(draft.text.replace("\r\n", "\n"));
    if !others.is_empty() {
        builder = builder.cc(others.iter().map(String::as_str).collect::<Vec<_>>());
    }
    if let Some((parent, references)) = thread(original) {
        builder = builder.in_reply_to(parent).references(references);
    }
    for a in &draft.attachments {
        builder = builder.attachment(a.content_type.clone(), a.name.clone(), a.data.as_slice());
    }
    Reply {
        raw: builder
            .write_to_vec()
            .expect("writing to memory cannot fail"),
        to,
    }
}

/// What the portal lists of a reply: sealed to its reservation and kept
/// with it, so showing the replies decrypts no whole messages.
#[derive(serde::Serialize, serde::Deserialize)]
struct Summary {
    to: String,
    text: String,
    attachments: Vec<String>,
}

/// The reply's summary, sealed to the reservation `id` (the text cut at
/// 4,000 characters).
pub fn seal_summary(
    keyring: &crate::crypto::Keyring,
    id: &str,
    to: &[String],
    text: &str,
    attachments: &[Attachment],
) -> Vec<u8> {
    let summary = Summary {
        to: to.join(", "),
        text: text.chars().take(4000).collect(),
        attachments: attachments.iter().map(|a| a.name.clone()).collect(),
    };
    let json = serde_json::to_vec(&summary).expect("a summary serialises");
    keyring.seal(id.as_bytes(), &json)
}

/// The replies a recipient copy sent, as the portal lists them under the
/// message (the newest `SHOWN`, oldest first). One whose summary cannot be
/// opened is left out and logged: the message itself still shows.
pub async fn earlier(
    store: &crate::store::Store,
    keyring: &crate::crypto::Keyring,
    recipient_id: &str,
) -> Result<Vec<app::dto::EarlierReply>, crate::store::StoreError> {
    let mut out = Vec::new();
    for row in store.replies_of(recipient_id, SHOWN).await? {
        let summary = keyring
            .open(row.id.as_bytes(), &row.summary)
            .ok()
            .and_then(|json| serde_json::from_slice::<Summary>(&json).ok());
        let Some(summary) = summary else {
            tracing::warn!(reply = %row.id, "a reply's summary cannot be opened");
            continue;
        };
        out.push(app::dto::EarlierReply {
            at: crate::domain::display_time(row.created_at),
            to: summary.to,
            body_text: summary.text,
            attachments: summary.attachments,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subject_gets_one_re() {
        assert_eq!(reply_subject("Offer"), "Re: Offer");
        assert_eq!(reply_subject("RE: Offer"), "RE: Offer");
    }

    #[test]
    fn reply_all_names_the_others_once_and_never_the_reader() {
        let raw = b"From: alice@corp.example\r\nTo: Bob <BOB@gmail.example>, dave@yahoo.example\r\n\
                    Cc: carol@corp.example, dave@yahoo.example, not an address\r\nSubject: x\r\n\r\nbody";
        assert_eq!(
            named_recipients(raw, &["bob@gmail.example", "alice@corp.example"]),
            ["dave@yahoo.example", "carol@corp.example"]
        );
    }
}
