//! The decrypted message as the portal shows it: HTML sanitised with
//! ammonia (no scripts, no remote images, links opened safely).

use crate::store::PortalRow;
use app::dto::{AttachmentInfo, MessageView};
use mail_parser::{MessageParser, MimeHeaders};

fn sanitise(html: &str) -> String {
    ammonia::Builder::default()
        // Remote images would tell the sender's server when and where the
        // message was read.
        .rm_tags(["img"])
        .link_rel(Some("noopener noreferrer nofollow"))
        .set_tag_attribute_value("a", "target", "_blank")
        .clean(html)
        .to_string()
}

/// What a message view needs besides the message itself.
pub struct ViewOf<'a> {
    pub subject: &'a str,
    pub sender: &'a str,
    /// Shown as "To" when the message names no recipients.
    pub address: &'a str,
    pub received_at: i64,
    pub expires_at: Option<i64>,
    pub rights: Option<crate::domain::Rights>,
}

impl<'a> From<&'a PortalRow> for ViewOf<'a> {
    fn from(row: &'a PortalRow) -> Self {
        ViewOf {
            subject: &row.subject,
            sender: &row.sender,
            address: &row.address,
            received_at: row.received_at,
            expires_at: row.expires_at,
            rights: row.rights,
        }
    }
}

pub fn message_view(raw: &[u8], row: ViewOf<'_>) -> MessageView {
    let parsed = MessageParser::default().parse(raw);
    let date = crate::domain::display_time;
    let Some(m) = parsed else {
        return MessageView {
            subject: row.subject.to_string(),
            sender: row.sender.to_string(),
            to: row.address.to_string(),
            date: date(row.received_at),
            expires: row.expires_at.map(date),
            body_html: None,
            body_text: String::from_utf8_lossy(raw).into(),
            attachments: Vec::new(),
            do_not_forward: row.rights == Some(crate::domain::Rights::DoNotForward),
            others: Vec::new(),
        };
    };
    let to = m
        .to()
        .map(|list| {
            list.iter()
                .filter_map(|a| a.address())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| row.address.to_string());
    let (body_html, body_text) = body(raw);
    MessageView {
        subject: m.subject().unwrap_or(row.subject).to_string(),
        sender: row.sender.to_string(),
        to,
        date: date(row.received_at),
        expires: row.expires_at.map(date),
        body_html: body_html.map(Into::into),
        body_text: body_text.into(),
        attachments: m
            .attachments()
            .enumerate()
            .map(|(index, a)| AttachmentInfo {
                index,
                name: a.attachment_name().unwrap_or("attachment").to_string(),
                size: a.contents().len() as u64,
            })
            .collect(),
        do_not_forward: row.rights == Some(crate::domain::Rights::DoNotForward),
        others: super::reply::named_recipients(
            raw,
            &[
                row.address.to_lowercase().as_str(),
                row.sender.to_lowercase().as_str(),
            ],
        ),
    }
}

/// The body as a reader sees it: sanitised HTML when there is an HTML part,
/// and the plain text.
pub fn body(raw: &[u8]) -> (Option<String>, String) {
    let Some(m) = MessageParser::default().parse(raw) else {
        return (None, String::from_utf8_lossy(raw).into_owned());
    };
    let has_html = m.html_body_count() > 0 && m.html_part(0).is_some_and(|p| p.is_text_html());
    (
        has_html
            .then(|| m.body_html(0).map(|h| sanitise(&h)))
            .flatten(),
        m.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
    )
}

/// The n-th attachment: name, content type and bytes.
pub fn attachment(raw: &[u8], index: usize) -> Option<(String, String, Vec<u8>)> {
    let m = MessageParser::default().parse(raw)?;
    let a = m.attachments().nth(index)?;
    let content_type = a
        .content_type()
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_string(),
        })
        .unwrap_or_else(|| "application/octet-stream".into());
    Some((
        a.attachment_name().unwrap_or("attachment").to_string(),
        content_type,
        a.contents().to_vec(),
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn scripts_and_remote_images_are_removed() {
        let clean = super::sanitise(
            r#"<p onclick="x()">Hi<script>alert(1)</script><img src="https://tracker.example/p.gif"><a href="https://x.example">x</a></p>"#,
        );
        assert!(
            !clean.contains("script") && !clean.contains("onclick") && !clean.contains("tracker"),
            "{clean}"
        );
        assert!(
            clean.contains(r#"rel="noopener noreferrer nofollow""#),
            "{clean}"
        );
    }
}
