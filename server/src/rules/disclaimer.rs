//! The "append a disclaimer" action: text and HTML versions added to the
//! message's body where a reader sees them, in the body part's own charset
//! (UTF-8 when that charset cannot write the disclaimer), every other byte
//! of the message left as it was.
//!
//! text/plain: appended; multipart/alternative: to each version; any other
//! multipart: to its first part; no body: a new part. A signed message
//! (multipart/signed, S/MIME signed-data) would lose its signature, so the
//! rule says what happens: wrap it whole in a new message with the
//! disclaimer beside it, skip it, or reject it.

use crate::mime;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use mail_parser::{MessageParser, MimeHeaders};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignedMode {
    #[default]
    Wrap,
    Skip,
    Reject,
}

impl SignedMode {
    pub const VALUES: &'static str = "wrap, skip, reject";

    pub fn parse(text: &str) -> Option<SignedMode> {
        match text.trim().to_ascii_lowercase().as_str() {
            "wrap" => Some(SignedMode::Wrap),
            "skip" | "ignore" => Some(SignedMode::Skip),
            "reject" => Some(SignedMode::Reject),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SignedMode::Wrap => "wrap",
            SignedMode::Skip => "skip",
            SignedMode::Reject => "reject",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Disclaimer {
    pub text: String,
    /// Sanitised when the rule is saved; without it the HTML version is
    /// the text, escaped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    #[serde(default)]
    pub signed: SignedMode,
}

/// What appending did.
#[derive(Debug, PartialEq, Eq)]
pub enum Appended {
    Done(Vec<u8>),
    /// A hop before (or a reply that kept it) already has it.
    AlreadyThere,
    SignedSkipped,
    SignedRejected,
}

/// Names the disclaimers a message carries, so a later hop of the
/// organization does not add one again.
pub const MARK_HEADER: &str = "X-Sealpost-Disclaimer";

impl Disclaimer {
    /// A short digest of the disclaimer: what the mark header holds.
    pub fn id(&self) -> String {
        let digest = crate::crypto::sha256(
            format!(
                "{}\0{}",
                self.text,
                self.html.as_deref().unwrap_or_default()
            )
            .as_bytes(),
        );
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    fn text_crlf(&self) -> String {
        crlf(self.text.trim_end())
    }

    fn html_block(&self) -> String {
        match &self.html {
            Some(html) => html.clone(),
            None => format!(
                "<p>{}</p>",
                escape_html(self.text.trim_end()).replace('\n', "<br>\r\n")
            ),
        }
    }

    pub fn append(&self, raw: &[u8]) -> Appended {
        let id = self.id();
        let marked = mime::raw_headers(raw, MARK_HEADER)
            .iter()
            .any(|h| String::from_utf8_lossy(h).contains(&id));
        let in_body = MessageParser::default()
            .parse(raw)
            .and_then(|m| {
                m.body_text(0)
                    .map(|t| t.replace("\r\n", "\n").contains(self.text.trim()))
            })
            .unwrap_or(false);
        if marked || in_body {
            return Appended::AlreadyThere;
        }
        let start = body_start(raw);
        let kind = content_type(&raw[..start]);
        let out = if kind.is_signed() {
            match self.signed {
                SignedMode::Skip => return Appended::SignedSkipped,
                SignedMode::Reject => return Appended::SignedRejected,
                SignedMode::Wrap => wrap(raw, &self.new_part(), false),
            }
        } else {
            match self.add_to(raw, true) {
                Some(out) => out,
                None => self.add_new_part(raw),
            }
        };
        Appended::Done(mime::prepend_header(&out, MARK_HEADER, &id))
    }

    /// The entity with the disclaimer in its body; None when it has no
    /// body part to hold it.
    fn add_to(&self, entity: &[u8], top: bool) -> Option<Vec<u8>> {
        let start = body_start(entity);
        let kind = content_type(&entity[..start]);
        if kind.attachment && !top {
            return None;
        }
        match (kind.ctype.as_str(), kind.subtype.as_str()) {
            ("text", "plain") => self.rewrite(entity, start, &kind, false),
            ("text", "html") => self.rewrite(entity, start, &kind, true),
            ("multipart", "alternative") => {
                let parts = part_ranges(entity, start, kind.boundary.as_deref()?);
                let mut out = entity.to_vec();
                let mut any = false;
                // From the back, so earlier ranges stay where they are.
                for (a, b) in parts.into_iter().rev() {
                    if let Some(new) = self.add_to(&entity[a..b], false) {
                        out.splice(a..b, new);
                        any = true;
                    }
                }
                any.then_some(out)
            }
            ("multipart", "signed") => None,
            ("multipart", _) => {
                let parts = part_ranges(entity, start, kind.boundary.as_deref()?);
                let (a, b) = *parts.first()?;
                let new = self.add_to(&entity[a..b], false)?;
                let mut out = entity.to_vec();
                out.splice(a..b, new);
                Some(out)
            }
            _ => None,
        }
    }

    /// A text part with the disclaimer appended (or, for HTML, before
    /// `</body>`), written back in its charset and transfer encoding.
    fn rewrite(&self, entity: &[u8], start: usize, kind: &Kind, html: bool) -> Option<Vec<u8>> {
        let body = &entity[start..];
        let decoded = match kind.encoding.as_str() {
            "base64" => {
                let compact: Vec<u8> = body
                    .iter()
                    .copied()
                    .filter(|b| !b.is_ascii_whitespace())
                    .collect();
                B64.decode(compact).ok()?
            }
            "quoted-printable" => {
                mail_parser::decoders::quoted_printable::quoted_printable_decode(body)?
            }
            _ => body.to_vec(),
        };
        let charset = kind.charset.clone().unwrap_or_else(|| "us-ascii".into());
        let ascii_label = matches!(charset.as_str(), "us-ascii" | "ascii" | "ansi_x3.4-1968");
        let encoding = if ascii_label {
            encoding_rs::UTF_8
        } else {
            // An unknown charset: better no disclaimer than a mangled body.
            encoding_rs::Encoding::for_label(charset.as_bytes())?
        };
        let (text, _, malformed) = encoding.decode(&decoded);
        if malformed && !ascii_label {
            return None;
        }
        let mut text = text.into_owned();
        if html {
            let block = format!("\r\n{}\r\n", self.html_block());
            match text.to_ascii_lowercase().rfind("</body>") {
                Some(at) => text.insert_str(at, &block),
                None => text.push_str(&block),
            }
        } else {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push_str("\r\n");
            }
            text.push_str("\r\n");
            text.push_str(&self.text_crlf());
            text.push_str("\r\n");
        }
        // Written in the part's charset when it can hold the result.
        let (bytes, charset_out) = if ascii_label {
            if text.is_ascii() {
                (text.into_bytes(), None)
            } else {
                (text.into_bytes(), Some("utf-8"))
            }
        } else {
            let (bytes, _, unmappable) = encoding.encode(&text);
            if unmappable || encoding.output_encoding() != encoding {
                (text.into_bytes(), Some("utf-8"))
            } else {
                (bytes.into_owned(), None)
            }
        };
        let seven_bit = bytes.is_ascii();
        let encoding_out = match kind.encoding.as_str() {
            "base64" => "base64",
            "quoted-printable" => "quoted-printable",
            "8bit" | "binary" => kind.encoding.as_str(),
            _ if seven_bit => "7bit",
            _ => "base64",
        };
        let body_out = match encoding_out {
            "base64" => base64_lines(&bytes),
            "quoted-printable" => quoted_printable(&bytes),
            _ => bytes,
        };
        let mut head = entity[..start].to_vec();
        if let Some(charset) = charset_out {
            head = mime::set_header(&head, "Content-Type", &kind.with_charset(charset));
        }
        if encoding_out != kind.encoding.as_str()
            && !(encoding_out == "7bit" && kind.encoding.is_empty())
        {
            head = mime::set_header(&head, "Content-Transfer-Encoding", encoding_out);
        }
        head.extend_from_slice(&body_out);
        Some(head)
    }

    /// The disclaimer as a body part of its own.
    fn new_part(&self) -> Vec<u8> {
        let text = format!(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
            String::from_utf8(base64_lines(format!("{}\r\n", self.text_crlf()).as_bytes()))
                .expect("base64 is ASCII")
        );
        if self.html.is_none() {
            return text.into_bytes();
        }
        let html = format!(
            "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
            String::from_utf8(base64_lines(
                format!(
                    "<!DOCTYPE html><html><body>{}</body></html>\r\n",
                    self.html_block()
                )
                .as_bytes()
            ))
            .expect("base64 is ASCII")
        );
        let b = boundary();
        format!(
            "Content-Type: multipart/alternative; boundary=\"{b}\"\r\n\r\n--{b}\r\n{text}\r\n--{b}\r\n{html}\r\n--{b}--\r\n"
        )
        .into_bytes()
    }

    /// A message without a body part: a mixed one gets the disclaimer as
    /// its first part, anything else is wrapped with it.
    fn add_new_part(&self, raw: &[u8]) -> Vec<u8> {
        let start = body_start(raw);
        let kind = content_type(&raw[..start]);
        if kind.ctype == "multipart"
            && kind.subtype == "mixed"
            && let Some(boundary) = kind.boundary.as_deref()
            && let Some((a, _)) = part_ranges(raw, start, boundary).first().copied()
        {
            let mut out = raw.to_vec();
            let mut insert = self.new_part();
            insert.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
            out.splice(a..a, insert);
            return out;
        }
        wrap(raw, &self.new_part(), true)
    }
}

/// The message's content (its Content-* headers and body, untouched)
/// becomes one part of a new multipart/mixed beside `part`.
fn wrap(raw: &[u8], part: &[u8], part_first: bool) -> Vec<u8> {
    let start = body_start(raw);
    let mut kept = Vec::new();
    let mut content = Vec::new();
    for field in fields(&raw[..start]) {
        let name = String::from_utf8_lossy(field.split(|b| *b == b':').next().unwrap_or_default())
            .trim()
            .to_ascii_lowercase();
        if name.starts_with("content-") {
            content.extend_from_slice(field);
        } else if name != "mime-version" {
            kept.extend_from_slice(field);
        }
    }
    if content.is_empty() {
        content.extend_from_slice(b"Content-Type: text/plain; charset=us-ascii\r\n");
    }
    let original = [content.as_slice(), b"\r\n", &raw[start..]].concat();
    let b = boundary();
    let (first, second) = if part_first {
        (part, original.as_slice())
    } else {
        (original.as_slice(), part)
    };
    let mut out = kept;
    out.extend_from_slice(
        format!(
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n--{b}\r\n"
        )
        .as_bytes(),
    );
    out.extend_from_slice(first);
    out.extend_from_slice(format!("\r\n--{b}\r\n").as_bytes());
    out.extend_from_slice(second);
    out.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    out
}

fn boundary() -> String {
    let bytes = crate::crypto::random_bytes::<12>();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sealpost-disclaimer-{hex}")
}

/// What the headers of an entity say about its content.
struct Kind {
    ctype: String,
    subtype: String,
    charset: Option<String>,
    boundary: Option<String>,
    /// The other parameters, as `; name="value"`.
    rest: Vec<(String, String)>,
    encoding: String,
    attachment: bool,
    smime_signed: bool,
}

impl Kind {
    fn is_signed(&self) -> bool {
        (self.ctype == "multipart" && self.subtype == "signed") || self.smime_signed
    }

    fn with_charset(&self, charset: &str) -> String {
        let mut value = format!("{}/{}; charset={charset}", self.ctype, self.subtype);
        for (k, v) in &self.rest {
            value.push_str(&format!("; {k}=\"{}\"", v.replace('"', "")));
        }
        value
    }
}

fn content_type(head: &[u8]) -> Kind {
    let parsed = MessageParser::default().parse_headers(head);
    let ct = parsed.as_ref().and_then(|m| m.content_type());
    let lower = |s: &str| s.to_ascii_lowercase();
    let (ctype, subtype) = match ct {
        Some(ct) => (
            lower(ct.ctype()),
            ct.subtype().map(lower).unwrap_or_default(),
        ),
        None => ("text".into(), "plain".into()),
    };
    let attribute = |name: &str| ct.and_then(|c| c.attribute(name)).map(str::to_string);
    let rest = ct
        .and_then(|c| c.attributes())
        .map(|attrs| {
            attrs
                .iter()
                .filter(|a| !a.name.eq_ignore_ascii_case("charset"))
                .map(|a| (a.name.to_string(), a.value.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let smime_signed =
        matches!(subtype.as_str(), "pkcs7-mime" | "x-pkcs7-mime") && ctype == "application";
    Kind {
        charset: attribute("charset").map(|c| lower(&c)),
        boundary: attribute("boundary"),
        rest,
        encoding: parsed
            .as_ref()
            .and_then(|m| m.content_transfer_encoding())
            .map(|e| lower(e.trim()))
            .unwrap_or_default(),
        attachment: parsed
            .as_ref()
            .and_then(|m| m.content_disposition())
            .is_some_and(|d| d.is_attachment()),
        smime_signed,
        ctype,
        subtype,
    }
}

/// Where an entity's body starts (after the blank line).
fn body_start(entity: &[u8]) -> usize {
    if entity.starts_with(b"\r\n") {
        return 2;
    }
    if entity.starts_with(b"\n") {
        return 1;
    }
    let crlf = entity
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4);
    let lf = entity.windows(2).position(|w| w == b"\n\n").map(|p| p + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(entity.len()),
    }
}

/// The header fields of a header block, each with its folded lines.
fn fields(head: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = None;
    let mut at = 0;
    while at < head.len() {
        let end = head[at..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(head.len(), |p| at + p + 1);
        let line = &head[at..end];
        let blank = line == b"\r\n" || line == b"\n";
        let continuation = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if !continuation {
            if let Some(s) = start.take() {
                out.push(&head[s..at]);
            }
            if blank {
                break;
            }
            start = Some(at);
        }
        at = end;
    }
    if let Some(s) = start {
        out.push(&head[s..at]);
    }
    out
}

/// The byte ranges of a multipart body's parts (delimiter lines and the
/// line break before each delimiter excluded).
fn part_ranges(entity: &[u8], start: usize, boundary: &str) -> Vec<(usize, usize)> {
    let delimiter = format!("--{boundary}");
    let mut lines: Vec<(usize, usize, bool)> = Vec::new();
    let mut at = start;
    while at < entity.len() {
        let end = entity[at..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(entity.len(), |p| at + p + 1);
        let line = &entity[at..end];
        if let Some(rest) = line.strip_prefix(delimiter.as_bytes()) {
            let close = rest.starts_with(b"--");
            let tail = if close { &rest[2..] } else { rest };
            if tail.iter().all(|b| b.is_ascii_whitespace()) {
                lines.push((at, end, close));
                if close {
                    break;
                }
            }
        }
        at = end;
    }
    lines
        .windows(2)
        .map(|w| {
            let content_start = w[0].1;
            let mut content_end = w[1].0;
            if entity[..content_end].ends_with(b"\r\n") {
                content_end -= 2;
            } else if entity[..content_end].ends_with(b"\n") {
                content_end -= 1;
            }
            (content_start, content_end.max(content_start))
        })
        .collect()
}

fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn base64_lines(bytes: &[u8]) -> Vec<u8> {
    let encoded = B64.encode(bytes);
    let mut out = Vec::with_capacity(encoded.len() + encoded.len() / 38 + 2);
    for chunk in encoded.as_bytes().chunks(76) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// RFC 2045 quoted-printable, CRLF line breaks kept as hard breaks.
fn quoted_printable(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 3 / 2);
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut width = 0;
        for (j, &b) in line.iter().enumerate() {
            let last = j + 1 == line.len();
            let literal =
                (b == b' ' || b == b'\t') && !last || (33..=126).contains(&b) && b != b'=';
            let piece: Vec<u8> = if literal {
                vec![b]
            } else {
                format!("={b:02X}").into_bytes()
            };
            if width + piece.len() > 75 {
                out.extend_from_slice(b"=\r\n");
                width = 0;
            }
            width += piece.len();
            out.extend_from_slice(&piece);
        }
        if i + 1 < lines.len() {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disclaimer() -> Disclaimer {
        Disclaimer {
            text: "This email may contain confidential information.".into(),
            html: Some("<p><em>This email may contain confidential information.</em></p>".into()),
            signed: SignedMode::Wrap,
        }
    }

    fn texts(raw: &[u8]) -> (Vec<String>, Vec<String>) {
        let m = MessageParser::default().parse(raw).expect("a message");
        let plain = (0..m.text_body_count())
            .filter_map(|i| m.body_text(i).map(|t| t.into_owned()))
            .collect();
        let html = (0..m.html_body_count())
            .filter_map(|i| m.body_html(i).map(|t| t.into_owned()))
            .collect();
        (plain, html)
    }

    fn done(a: Appended) -> Vec<u8> {
        match a {
            Appended::Done(out) => out,
            other => panic!("not appended: {other:?}"),
        }
    }

    const PLAIN: &str = "From: a@corp.example\r\nSubject: Hi\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nHello,\r\nthe plan.\r\n";

    #[test]
    fn plain_text_gets_it_appended_once() {
        let out = done(disclaimer().append(PLAIN.as_bytes()));
        let (plain, _) = texts(&out);
        assert_eq!(
            plain[0],
            "Hello,\r\nthe plan.\r\n\r\nThis email may contain confidential information.\r\n"
        );
        assert_eq!(disclaimer().append(&out), Appended::AlreadyThere);
    }

    #[test]
    fn a_disclaimer_of_several_lines_is_found_again() {
        let d = Disclaimer {
            text: "Confidential.\nDo not forward.".into(),
            html: None,
            signed: SignedMode::Wrap,
        };
        let out = done(d.append(PLAIN.as_bytes()));
        let stripped = String::from_utf8_lossy(&out).replace("X-Sealpost-Disclaimer", "X-Other");
        assert_eq!(d.append(stripped.as_bytes()), Appended::AlreadyThere);
    }

    #[test]
    fn quoted_printable_round_trips() {
        let body = "caf\u{e9} ".repeat(30);
        let raw = format!(
            "Subject: x\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n",
            String::from_utf8(quoted_printable(&encoding_rs::WINDOWS_1252.encode(&body).0))
                .unwrap()
        );
        let out = done(disclaimer().append(raw.as_bytes()));
        assert!(String::from_utf8_lossy(&out).contains("charset=iso-8859-1"));
        let (plain, _) = texts(&out);
        assert_eq!(
            plain[0],
            format!("{body}\r\n\r\nThis email may contain confidential information.\r\n")
        );
    }

    #[test]
    fn a_signed_message_is_wrapped_skipped_or_rejected() {
        let signed = "From: a@corp.example\r\nSubject: Signed\r\nMIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=\"s\"\r\n\r\n--s\r\nContent-Type: text/plain\r\n\r\nSigned text.\r\n--s\r\nContent-Type: application/pkcs7-signature\r\n\r\nAAAA\r\n--s--\r\n";
        let out = done(disclaimer().append(signed.as_bytes()));
        let text = String::from_utf8_lossy(&out);
        let inner = &signed[signed.find("--s\r\n").unwrap()..];
        assert!(text.contains(inner), "the signed part is untouched: {text}");
        assert!(text.contains("Content-Type: multipart/mixed"));
        let skip = Disclaimer {
            signed: SignedMode::Skip,
            ..disclaimer()
        };
        assert_eq!(skip.append(signed.as_bytes()), Appended::SignedSkipped);
        let reject = Disclaimer {
            signed: SignedMode::Reject,
            ..disclaimer()
        };
        assert_eq!(reject.append(signed.as_bytes()), Appended::SignedRejected);
    }

    #[test]
    fn a_message_without_a_body_gets_a_new_part() {
        let raw = "Subject: Scan\r\nMIME-Version: 1.0\r\nContent-Type: application/pdf; name=\"scan.pdf\"\r\nContent-Disposition: attachment; filename=\"scan.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n";
        let out = done(disclaimer().append(raw.as_bytes()));
        let m = MessageParser::default().parse(&out).unwrap();
        assert_eq!(m.attachment_count(), 1);
        assert_eq!(
            m.body_text(0).unwrap(),
            "This email may contain confidential information.\r\n"
        );
    }

    #[test]
    fn quoted_printable_encodes_what_it_must() {
        assert_eq!(quoted_printable(b"a=b \r\nc\t"), b"a=3Db=20\r\nc=09");
        let long = quoted_printable(&[b'x'; 100]);
        assert!(long.split(|b| *b == b'\n').all(|l| l.len() <= 77));
    }
}
