//! Non-delivery reports (RFC 3464 `multipart/report`). They carry fixed
//! texts and the original's headers only, never its content.

use mail_builder::MessageBuilder;
use mail_builder::headers::content_type::ContentType;
use mail_builder::mime::MimePart;

pub fn build(
    hostname: &str,
    sender: &str,
    recipients: &[String],
    original: &[u8],
    reason: &str,
) -> Vec<u8> {
    report(hostname, sender, recipients, original, reason, false)
}

/// A report that returns the whole message (`message/rfc822`): only for
/// mail that is still encrypted, as transport decryption's `mandatory`
/// refusal requires.
pub fn build_with_message(
    hostname: &str,
    sender: &str,
    recipients: &[String],
    still_encrypted: &[u8],
    reason: &str,
) -> Vec<u8> {
    report(hostname, sender, recipients, still_encrypted, reason, true)
}

/// The job that sends `report` to `sender`; queued once per `dedupe_key`.
pub fn job(
    keys: &crate::keys::KeyMaterial,
    settings: &crate::config::Settings,
    message_row: Option<String>,
    dedupe_key: String,
    sender: &str,
    report: &[u8],
) -> crate::store::NewJob {
    let id = crate::store::new_id();
    crate::store::NewJob {
        payload: keys.keyring.seal(id.as_bytes(), report),
        dedupe_key,
        id,
        kind: crate::domain::JobKind::Outbound,
        message_id: message_row,
        purpose: "ndr",
        recipient_id: None,
        envelope_from: String::new(),
        envelope_to: vec![sender.to_string()],
        give_up_at: crate::store::now_ms() + settings.queue_lifetime_ms,
    }
}

fn report(
    hostname: &str,
    sender: &str,
    recipients: &[String],
    original: &[u8],
    reason: &str,
    whole: bool,
) -> Vec<u8> {
    let headers_end = original
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 2)
        .unwrap_or(original.len().min(64 * 1024));
    let original_headers = String::from_utf8_lossy(&original[..headers_end]).into_owned();
    let list = recipients.join(", ");
    let text = format!(
        "Your message could not be delivered to {list}.\r\n\r\nReason: {reason}\r\n\r\nThis report was sent by sealpost at {hostname}.\r\n"
    );
    let mut status = format!("Reporting-MTA: dns; {hostname}\r\n");
    for r in recipients {
        status.push_str(&format!(
            "\r\nFinal-Recipient: rfc822; {r}\r\nAction: failed\r\nStatus: 5.0.0\r\n"
        ));
    }
    let report = MimePart::new(
        ContentType::new("multipart/report").attribute("report-type", "delivery-status"),
        vec![
            MimePart::new(ContentType::new("text/plain"), text),
            MimePart::new(ContentType::new("message/delivery-status"), status),
            if whole {
                MimePart::new(ContentType::new("message/rfc822"), original.to_vec())
            } else {
                MimePart::new(ContentType::new("text/rfc822-headers"), original_headers)
            },
        ],
    );
    MessageBuilder::new()
        .from((
            "Mail Delivery System".to_string(),
            format!("mailer-daemon@{hostname}"),
        ))
        .to(sender)
        .subject("Undeliverable: your message could not be delivered")
        .header(
            "Auto-Submitted",
            mail_builder::headers::raw::Raw::new("auto-replied"),
        )
        .body(report)
        .write_to_vec()
        .expect("writing to memory cannot fail")
}
