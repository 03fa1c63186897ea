//! sealpost's protected message format: what inline copies carry, what
//! `sealpost protect` writes, and what `unprotect` and transport decryption
//! open. The README describes it byte by byte. Version 2 adds who may read
//! it (keyed digests of the recipients' addresses, and the sender) to the
//! authenticated header; version 1 envelopes stay readable.
//!
//! A protected message keeps From, To, Cc, Date, Message-ID and Subject in
//! the clear, carries an informative `X-Sealpost-Protected` header, and is
//! `multipart/mixed` with exactly a text part, an HTML part and one
//! `application/vnd.sealpost.protected` part (`message.sealpost`): the
//! envelope. The envelope is authoritative: rights, template and expiry are
//! read from it, never from the header, and its AEAD binds them.

use crate::crypto::{CryptoError, KeyId, Keyring, SecretKey};
use crate::domain::Rights;
use crate::mime;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use mail_parser::MimeHeaders;
use serde::{Deserialize, Serialize};

/// The envelope's first bytes.
pub const MAGIC: &[u8; 8] = b"SEALPOST";
/// The version this sealpost writes; it reads 1 and 2.
pub const VERSION: u8 = 2;
pub const CONTENT_TYPE: &str = "application/vnd.sealpost.protected";
pub const FILE_NAME: &str = "message.sealpost";
/// Bound into the data encryption with the header, so an envelope's bytes
/// cannot be taken for any other sealed value of sealpost.
const AAD_LABEL: &[u8] = b"sealpost envelope v1";

/// The envelope's authenticated header (JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// The organization id (32 hex digits).
    pub org: String,
    /// The RFC 5322 Message-ID, angle brackets included.
    pub message_id: String,
    pub rights: Rights,
    /// The branding template's name.
    pub template: String,
    /// Unix milliseconds; none: never.
    pub expires_at: Option<i64>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Version 2: base64url HMAC-SHA256 digests (key derived from the
    /// organization secret) of the lower-cased addresses the message was
    /// protected for (To, Cc and Bcc), so Bcc stays hidden. Absent in v1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
    /// Version 2: the envelope sender, lower-cased. Absent in v1.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sender: String,
}

/// The digest of one address in an envelope's `recipients`.
pub fn recipient_digest(key: &SecretKey, address: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crate::crypto::hmac_sha256(
        key,
        &[address.trim().to_lowercase().as_bytes()],
    ))
}

/// The digests of a message's recipients, each once, in a fixed order (the
/// header shows neither the addresses nor the order they were given in).
pub fn recipient_digests(key: &SecretKey, addresses: &[String]) -> Vec<String> {
    let mut digests: Vec<String> = addresses.iter().map(|a| recipient_digest(key, a)).collect();
    digests.sort();
    digests.dedup();
    digests
}

impl Header {
    /// Whether the header names `address` among its recipients (v2).
    pub fn names(&self, key: &SecretKey, address: &str) -> bool {
        let digest = recipient_digest(key, address);
        self.recipients.iter().any(|r| {
            bool::from(subtle::ConstantTimeEq::ct_eq(
                r.as_bytes(),
                digest.as_bytes(),
            ))
        })
    }
}

/// An opened envelope: its header, the key id that sealed it, the original.
#[derive(Debug)]
pub struct Opened {
    /// 1 or 2: a v1 header names no recipients.
    pub version: u8,
    pub header: Header,
    pub key_id: KeyId,
    pub original: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("This message is not in sealpost's protected format: {0}.")]
    Malformed(String),
    #[error("This message is protected by another organization.")]
    ForeignOrganization,
    #[error("This message cannot be opened: {0}.")]
    Crypto(#[from] CryptoError),
}

fn malformed(what: impl Into<String>) -> FormatError {
    FormatError::Malformed(what.into())
}

/// The envelope: magic, version, header length, header, sealed original.
pub fn seal(keyring: &Keyring, header: &Header, original: &[u8]) -> Vec<u8> {
    seal_version(keyring, header, original, VERSION)
}

/// As `seal`, in an older version (tests of mail protected by an earlier
/// sealpost); a v1 header must name no recipients.
pub fn seal_version(keyring: &Keyring, header: &Header, original: &[u8], version: u8) -> Vec<u8> {
    let json = serde_json::to_vec(header).expect("a header serialises");
    let mut out = Vec::with_capacity(13 + json.len() + original.len() + 128);
    out.extend_from_slice(MAGIC);
    out.push(version);
    out.extend_from_slice(&(json.len() as u32).to_be_bytes());
    out.extend_from_slice(&json);
    let aad = [AAD_LABEL, &out[..]].concat();
    out.extend_from_slice(&keyring.seal(&aad, original));
    out
}

/// The header as written, and the sealed part, without opening anything.
fn split(envelope: &[u8]) -> Result<(Header, usize), FormatError> {
    if envelope.len() < 13 || &envelope[..8] != MAGIC {
        return Err(malformed("the envelope does not start with SEALPOST"));
    }
    if !(1..=VERSION).contains(&envelope[8]) {
        return Err(malformed(format!(
            "envelope version {} is not one this sealpost reads",
            envelope[8]
        )));
    }
    let len = u32::from_be_bytes(envelope[9..13].try_into().expect("4 bytes")) as usize;
    let end = 13usize
        .checked_add(len)
        .filter(|end| *end <= envelope.len())
        .ok_or_else(|| malformed("the envelope header is cut short"))?;
    let header: Header = serde_json::from_slice(&envelope[13..end])
        .map_err(|e| malformed(format!("the envelope header is not valid: {e}")))?;
    if envelope[8] == 1 && (!header.recipients.is_empty() || !header.sender.is_empty()) {
        return Err(malformed("a version 1 header names no recipients"));
    }
    Ok((header, end))
}

/// Opens an envelope of this organization (`ours` says which ids are);
/// another organization's is refused before any key is tried.
pub fn open(
    ours: impl Fn(&str) -> bool,
    keyring: &Keyring,
    envelope: &[u8],
) -> Result<Opened, FormatError> {
    let (header, end) = split(envelope)?;
    if !ours(&header.org) {
        return Err(FormatError::ForeignOrganization);
    }
    let sealed = &envelope[end..];
    let key_id = Keyring::key_id_of(sealed)?;
    let aad = [AAD_LABEL, &envelope[..end]].concat();
    let original = keyring.open(&aad, sealed)?;
    Ok(Opened {
        version: envelope[8],
        header,
        key_id,
        original,
    })
}

/// The header that says sealpost inspected a message (decrypted it, ran its
/// agents, re-encrypted it), so a later hop of the same organization does
/// not decrypt it again.
pub const MARKER_HEADER: &str = "X-Sealpost-Inspected";

/// The digest the marker binds: the envelope's sealed part.
fn sealed_digest(envelope: &[u8]) -> Result<[u8; 32], FormatError> {
    let (_, end) = split(envelope)?;
    Ok(crate::crypto::sha256(&envelope[end..]))
}

fn marker_mac(key: &SecretKey, message_id: &str, at: i64, digest: &[u8; 32]) -> [u8; 32] {
    crate::crypto::hmac_sha256(
        key,
        &[
            b"v1\0",
            message_id.as_bytes(),
            b"\0",
            at.to_string().as_bytes(),
            b"\0",
            digest,
        ],
    )
}

/// `v1; t=<unix time>; mac=<base64>` for an envelope sealed now.
pub fn marker(key: &SecretKey, message_id: &str, envelope: &[u8]) -> Result<String, FormatError> {
    let at = crate::store::now_ms() / 1000;
    let mac = marker_mac(key, message_id, at, &sealed_digest(envelope)?);
    Ok(format!("v1; t={at}; mac={}", B64.encode(mac)))
}

/// The time (Unix seconds) of a marker on `raw` that verifies for its
/// envelope and Message-ID; none when absent, forged or copied.
pub fn verified_marker(
    key: &SecretKey,
    raw: &[u8],
    envelope: &[u8],
    message_id: &str,
) -> Option<i64> {
    let digest = sealed_digest(envelope).ok()?;
    mime::raw_headers(raw, MARKER_HEADER)
        .iter()
        .find_map(|line| {
            let text = String::from_utf8_lossy(line);
            let value = text.split_once(':')?.1;
            let mut at = None;
            let mut mac = None;
            for part in value.split(';').map(str::trim) {
                if let Some(t) = part.strip_prefix("t=") {
                    at = t.parse::<i64>().ok();
                } else if let Some(m) = part.strip_prefix("mac=") {
                    mac = B64.decode(m.trim()).ok();
                }
            }
            let (at, mac) = (at?, mac?);
            let expected = marker_mac(key, message_id, at, &digest);
            bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], &mac[..])).then_some(at)
        })
}

/// What the notice parts of a protected message say.
pub struct Notice<'a> {
    pub sender: &'a str,
    /// Where an organization user reads it: `<public URL>/inbox/<id>`.
    pub inbox_url: &'a str,
}

/// The headers that stay in the clear, as the original wrote them.
const CLEAR_HEADERS: [&str; 6] = ["From", "To", "Cc", "Date", "Message-ID", "Subject"];

/// The protected message around an envelope.
pub fn wrap(
    original: &[u8],
    envelope: &[u8],
    key_id: KeyId,
    header: &Header,
    notice: &Notice<'_>,
    marker: Option<&str>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(envelope.len() * 4 / 3 + 4096);
    for name in CLEAR_HEADERS {
        let found = mime::raw_headers(original, name);
        if found.is_empty() && name == "Message-ID" {
            out.extend_from_slice(format!("Message-ID: {}\r\n", header.message_id).as_bytes());
        }
        for line in found {
            out.extend_from_slice(line);
            if !line.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    if let Some(marker) = marker {
        out.extend_from_slice(format!("{MARKER_HEADER}: {marker}\r\n").as_bytes());
    }
    let boundary = format!("sealpost-{}", uuid::Uuid::new_v4().simple());
    out.extend_from_slice(
        format!(
            "MIME-Version: 1.0\r\nX-Sealpost-Protected: v1; org={}; key={}; rights={}\r\n\
             Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n",
            header.org,
            key_id.to_hex(),
            header.rights.as_str()
        )
        .as_bytes(),
    );
    let text = format!(
        "{} sent you a protected message: open it at {}\r\n",
        notice.sender, notice.inbox_url
    );
    let html = format!(
        "<!DOCTYPE html><html><body><p>{} sent you a protected message: open it at <a href=\"{}\">{}</a></p></body></html>\r\n",
        escape(notice.sender),
        escape(notice.inbox_url),
        escape(notice.inbox_url)
    );
    for (kind, body) in [("text/plain", text), ("text/html", html)] {
        out.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Type: {kind}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            )
            .as_bytes(),
        );
        push_base64(&mut out, body.as_bytes());
    }
    out.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Type: {CONTENT_TYPE}; name=\"{FILE_NAME}\"\r\n\
             Content-Disposition: attachment; filename=\"{FILE_NAME}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n"
        )
        .as_bytes(),
    );
    push_base64(&mut out, envelope);
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Base64 in lines of 76 characters (RFC 2045).
fn push_base64(out: &mut Vec<u8>, data: &[u8]) {
    let encoded = B64.encode(data);
    for line in encoded.as_bytes().chunks(76) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
}

/// Whether a message is in the protected format: its parts, and an
/// envelope that is structurally valid (magic, version, a header that
/// parses), not the informative header. Anything else is ordinary mail.
pub fn looks_protected(raw: &[u8]) -> bool {
    envelope_of(raw).is_ok_and(|envelope| split(&envelope).is_ok())
}

/// The envelope inside a protected message. Exactly a text part, an HTML
/// part and the envelope part; anything else is malformed.
pub fn envelope_of(raw: &[u8]) -> Result<Vec<u8>, FormatError> {
    let message = mail_parser::MessageParser::default()
        .parse(raw)
        .ok_or_else(|| malformed("it is not a MIME message"))?;
    let found = envelope_in(&message);
    // Whatever was sent: not dropped the recursive way (see check_nesting).
    mime::dismantle(message);
    found
}

fn envelope_in(message: &mail_parser::Message<'_>) -> Result<Vec<u8>, FormatError> {
    let root = message
        .parts
        .first()
        .ok_or_else(|| malformed("it has no parts"))?;
    let children = match &root.body {
        mail_parser::PartType::Multipart(children) => children,
        _ => return Err(malformed("it is not multipart/mixed")),
    };
    let kind = |i: usize| {
        message
            .parts
            .get(i)
            .and_then(|p| p.content_type())
            .map(|ct| {
                format!(
                    "{}/{}",
                    ct.ctype().to_ascii_lowercase(),
                    ct.subtype().unwrap_or_default().to_ascii_lowercase()
                )
            })
    };
    let kinds: Vec<String> = children
        .iter()
        .map(|&i| kind(i as usize).unwrap_or_default())
        .collect();
    if kinds != ["text/plain", "text/html", CONTENT_TYPE] {
        return Err(malformed(format!(
            "it must hold a text part, an HTML part and the {CONTENT_TYPE} part, and holds: {}",
            kinds.join(", ")
        )));
    }
    let part = &message.parts[children[2] as usize];
    Ok(part.contents().to_vec())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use std::collections::HashMap;

    pub(crate) fn keyring() -> Keyring {
        let id = KeyId::random();
        Keyring::new(id, HashMap::from([(id, SecretKey::random())])).unwrap()
    }

    pub(crate) fn header() -> Header {
        Header {
            org: "00112233445566778899aabbccddeeff".into(),
            message_id: "<a@corp.example>".into(),
            rights: Rights::DoNotForward,
            template: "Default".into(),
            expires_at: Some(1_800_000_000_000),
            created_at: 1_700_000_000_000,
            recipients: vec!["digest-of-carol".into()],
            sender: "alice@corp.example".into(),
        }
    }

    #[test]
    fn a_v2_header_names_its_recipients_by_keyed_digest_and_v1_still_opens() {
        let keys = keyring();
        let digest_key = SecretKey::random();
        let mut h = header();
        h.recipients = vec![
            recipient_digest(&digest_key, "Carol@Corp.example"),
            recipient_digest(&digest_key, "bcc@corp.example"),
        ];
        assert!(h.names(&digest_key, "carol@corp.example"));
        assert!(h.names(&digest_key, "BCC@corp.example"));
        assert!(!h.names(&digest_key, "eve@gmail.example"));
        assert!(!h.names(&SecretKey::random(), "carol@corp.example"));
        // The digests do not show the addresses.
        let envelope = seal(&keys, &h, b"Subject: x\r\n\r\nbody");
        assert!(!String::from_utf8_lossy(&envelope).contains("carol"));
        let org = h.org.clone();
        let opened = open(|o| o == org, &keys, &envelope).unwrap();
        assert_eq!((opened.version, opened.header), (2, h.clone()));

        let mut v1 = h.clone();
        v1.recipients.clear();
        v1.sender.clear();
        let old = seal_version(&keys, &v1, b"Subject: x\r\n\r\nbody", 1);
        let opened = open(|o| o == org, &keys, &old).unwrap();
        assert_eq!(opened.version, 1);
        assert!(opened.header.recipients.is_empty());
        // A v1 envelope that claims recipients is malformed.
        let claims = seal_version(&keys, &h, b"x", 1);
        assert!(matches!(
            open(|o| o == org, &keys, &claims),
            Err(FormatError::Malformed(_))
        ));
        assert!(open(|o| o == org, &keys, &seal_version(&keys, &h, b"x", 3)).is_err());
    }

    #[test]
    fn an_envelope_opens_to_the_original_and_nothing_in_it_can_change() {
        let keys = keyring();
        let original = b"Subject: x\r\n\r\nhello\r\n";
        let envelope = seal(&keys, &header(), original);
        let org = header().org;
        let ours = |o: &str| o == org;
        let opened = open(ours, &keys, &envelope).unwrap();
        assert_eq!(opened.original, original);
        assert_eq!(opened.header, header());
        assert_eq!(opened.key_id, keys.current());
        for i in 0..envelope.len() {
            let mut flipped = envelope.clone();
            flipped[i] ^= 0x01;
            assert!(open(ours, &keys, &flipped).is_err(), "byte {i}");
        }
        assert!(matches!(
            open(|_| false, &keys, &envelope),
            Err(FormatError::ForeignOrganization)
        ));
        assert!(
            open(ours, &keyring(), &envelope).is_err(),
            "another keyring"
        );
    }

    #[test]
    fn a_wrapped_message_keeps_the_clear_headers_and_holds_the_envelope() {
        let keys = keyring();
        let original = b"From: Alice <alice@corp.example>\r\nTo: bob@corp.example\r\nSubject: =?UTF-8?B?5Lya6K2w?=\r\nMessage-ID: <a@corp.example>\r\nX-Secret: no\r\n\r\nbody\r\n";
        let envelope = seal(&keys, &header(), original);
        let notice = Notice {
            sender: "alice@corp.example",
            inbox_url: "https://mail.corp.example/inbox/1",
        };
        let wrapped = wrap(
            original,
            &envelope,
            keys.current(),
            &header(),
            &notice,
            None,
        );
        let text = String::from_utf8_lossy(&wrapped);
        assert!(
            text.starts_with("From: Alice <alice@corp.example>\r\nTo: bob@corp.example\r\n"),
            "{text}"
        );
        assert!(text.contains("Subject: =?UTF-8?B?5Lya6K2w?=\r\n"));
        assert!(!text.contains("X-Secret") && !text.contains("body\r\n"));
        assert!(text.contains("X-Sealpost-Protected: v1; org=00112233445566778899aabbccddeeff;"));
        assert_eq!(envelope_of(&wrapped).unwrap(), envelope);
        assert!(envelope_of(original).is_err());
    }
}
