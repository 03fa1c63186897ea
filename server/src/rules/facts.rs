//! What the conditions look at, read once from the message as it reaches
//! the rules (protected mail after decryption).

use super::fold::fold;
use super::sensitive::{self, Kind};
use mail_parser::{MessageParser, MimeHeaders, PartType};
use std::collections::BTreeSet;
use std::sync::OnceLock;

pub struct Facts {
    pub sender: String,
    pub recipients: Vec<String>,
    /// Subject, then each body part and each text attachment, as text.
    pub texts: Vec<String>,
    /// The same, in lower case and NFKC form, for word and pattern matches
    /// (full-width letters and digits count as their ordinary forms).
    pub folded: String,
    /// (file name, content type) of each attachment.
    pub attachments: Vec<(String, String)>,
    pub size: usize,
    /// Each text folded as `folded` is, for the detectors.
    folded_texts: Vec<String>,
    /// What the trace should know of how the message was read.
    pub notes: Vec<String>,
    /// Sensitive numbers found, by kind, looked for once when a rule asks.
    sensitive: OnceLock<[BTreeSet<String>; 3]>,
}

/// Text attachments larger than this are read up to it: enough for any
/// word a rule looks for, bounded for the worst message.
const TEXT_ATTACHMENT_LIMIT: usize = 4 * 1024 * 1024;

impl Facts {
    pub fn read(raw: &[u8], sender: &str, recipients: &[String]) -> Facts {
        let mut texts = Vec::new();
        let mut attachments = Vec::new();
        let mut notes = Vec::new();
        let parsed = MessageParser::default().parse(raw);
        // The message and every message attached to it (a forwarded mail
        // is read like the mail itself), with a stack of our own: no
        // recursion, and nesting is bounded at the intake anyway.
        let mut pending: Vec<&mail_parser::Message> = parsed.iter().collect();
        while let Some(message) = pending.pop() {
            texts.push(message.subject().unwrap_or_default().to_string());
            for part in &message.parts {
                let is_attachment = part.is_message()
                    || part.attachment_name().is_some()
                    || part
                        .content_disposition()
                        .is_some_and(|d| d.is_attachment());
                let content_type = part
                    .content_type()
                    .map(|t| match t.subtype() {
                        Some(sub) => format!("{}/{}", t.ctype(), sub),
                        None => t.ctype().to_string(),
                    })
                    .unwrap_or_else(|| "text/plain".to_string())
                    .to_lowercase();
                if is_attachment {
                    attachments.push((
                        part.attachment_name().unwrap_or_default().to_string(),
                        content_type.clone(),
                    ));
                }
                let text = match &part.body {
                    PartType::Text(text) => text.to_string(),
                    PartType::Html(html) => mail_parser::decoders::html::html_to_text(html),
                    PartType::Message(inner) => {
                        pending.push(inner);
                        continue;
                    }
                    _ => continue,
                };
                if is_attachment && text.len() > TEXT_ATTACHMENT_LIMIT {
                    // Said, not hidden: a rule may miss what lies beyond.
                    notes.push(format!(
                        "attachment '{}' is larger than {} MB: the rules read its first {} MB",
                        part.attachment_name().unwrap_or("(no name)"),
                        TEXT_ATTACHMENT_LIMIT / (1024 * 1024),
                        TEXT_ATTACHMENT_LIMIT / (1024 * 1024)
                    ));
                    let cut = text.floor_char_boundary(TEXT_ATTACHMENT_LIMIT);
                    texts.push(text[..cut].to_string());
                } else {
                    texts.push(text);
                }
            }
        }
        let folded_texts: Vec<String> = texts.iter().map(|t| fold(t)).collect();
        let folded = folded_texts.join("\n");
        Facts {
            sender: sender.to_lowercase(),
            recipients: recipients.iter().map(|r| r.to_lowercase()).collect(),
            texts,
            folded,
            attachments,
            size: raw.len(),
            folded_texts,
            notes,
            sensitive: OnceLock::new(),
        }
    }

    /// The distinct numbers of this kind in the subject, bodies and text
    /// attachments.
    pub fn sensitive(&self, kind: Kind) -> &BTreeSet<String> {
        &self
            .sensitive
            .get_or_init(|| sensitive::find_all(&self.folded_texts))[kind as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_bodies_and_attachments_are_read() {
        let raw = "From: a@corp.example\r\nSubject: =?UTF-8?B?5qmf5a+G?= plans\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>Hello <b>World</b></p>\r\n\
--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"Q3.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b\r\nContent-Type: text/csv\r\n\
Content-Disposition: attachment; filename=\"list.csv\"\r\n\r\nＩＤ,name\r\n--b--\r\n".as_bytes();
        let facts = Facts::read(raw, "A@corp.example", &["B@x.example".into()]);
        assert_eq!(facts.sender, "a@corp.example");
        assert!(facts.folded.contains("機密 plans"), "{}", facts.folded);
        assert!(facts.folded.contains("hello world"));
        assert!(facts.folded.contains("id,name"), "full-width folded");
        assert_eq!(
            facts.attachments,
            vec![
                ("Q3.pdf".to_string(), "application/pdf".to_string()),
                ("list.csv".to_string(), "text/csv".to_string())
            ]
        );
        assert!(facts.notes.is_empty());
    }

    #[test]
    fn attached_messages_and_html_attachments_are_read_and_a_cut_is_said() {
        let big = "word ".repeat(TEXT_ATTACHMENT_LIMIT / 5 + 10);
        let raw = format!(
            "From: a@corp.example\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner secret plans\r\nContent-Type: text/plain\r\n\r\nthe inner body\r\n\
--b\r\nContent-Type: text/html\r\nContent-Disposition: attachment; filename=\"page.html\"\r\n\r\n<p>html <b>attachment</b> words</p>\r\n\
--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"big.txt\"\r\n\r\n{big}\r\n--b--\r\n"
        );
        let facts = Facts::read(raw.as_bytes(), "a@corp.example", &[]);
        assert!(facts.folded.contains("inner secret plans"));
        assert!(facts.folded.contains("the inner body"));
        assert!(
            facts.folded.contains("html attachment words"),
            "{}",
            &facts.folded[..200]
        );
        assert_eq!(facts.notes.len(), 1, "{:?}", facts.notes);
        assert!(facts.notes[0].contains("'big.txt' is larger than 4 MB"));
    }
}
