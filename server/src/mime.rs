//! Small operations on raw RFC 5322 messages that must keep every other
//! byte as it was (no re-serialisation of the whole message).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

/// `Mon, 23 Nov 2026 09:15:02 +0000`.
/// A file to attach to a message being written (compose, a portal reply).
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// A decoded header as it is stored for reports: without control
/// characters (an encoded word may decode to NUL, which PostgreSQL refuses
/// in text).
pub fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

pub fn rfc2822_now() -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] +0000"
    );
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default()
}

/// Where the header block ends (the index of the blank line's first byte).
fn header_end(raw: &[u8]) -> usize {
    let crlf = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 2);
    let lf = raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 1);
    match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => raw.len(),
    }
}

/// The byte ranges of each occurrence of header `name`, continuation lines included.
fn header_ranges(raw: &[u8], name: &str) -> Vec<(usize, usize)> {
    let end = header_end(raw);
    let mut ranges = Vec::new();
    let mut at = 0;
    while at < end {
        let line_end = raw[at..end]
            .iter()
            .position(|b| *b == b'\n')
            .map(|p| at + p + 1)
            .unwrap_or(end);
        let mut field_end = line_end;
        while field_end < end && matches!(raw[field_end], b' ' | b'\t') {
            field_end = raw[field_end..end]
                .iter()
                .position(|b| *b == b'\n')
                .map(|p| field_end + p + 1)
                .unwrap_or(end);
        }
        let line = &raw[at..line_end];
        if line.len() > name.len()
            && line[name.len()] == b':'
            && line[..name.len()].eq_ignore_ascii_case(name.as_bytes())
        {
            ranges.push((at, field_end));
        }
        at = field_end;
    }
    ranges
}

/// Each occurrence of header `name` exactly as written (folding and line
/// ending included).
pub fn raw_headers<'a>(raw: &'a [u8], name: &str) -> Vec<&'a [u8]> {
    header_ranges(raw, name)
        .into_iter()
        .map(|(start, end)| &raw[start..end])
        .collect()
}

pub fn has_header(raw: &[u8], name: &str) -> bool {
    !header_ranges(raw, name).is_empty()
}

/// Replaces every occurrence of `name` with one `name: value` line, where
/// the first one stood (or at the top when there was none).
pub fn set_header(raw: &[u8], name: &str, value: &str) -> Vec<u8> {
    let ranges = header_ranges(raw, name);
    let line = format!("{name}: {value}\r\n");
    let mut out = Vec::with_capacity(raw.len() + line.len());
    match ranges.first() {
        None => {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(raw);
        }
        Some(_) => {
            let mut at = 0;
            for (i, (start, end)) in ranges.iter().enumerate() {
                out.extend_from_slice(&raw[at..*start]);
                if i == 0 {
                    out.extend_from_slice(line.as_bytes());
                }
                at = *end;
            }
            out.extend_from_slice(&raw[at..]);
        }
    }
    out
}

pub fn prepend_header(raw: &[u8], name: &str, value: &str) -> Vec<u8> {
    [format!("{name}: {value}\r\n").as_bytes(), raw].concat()
}

/// A header value as is when it is printable ASCII, else RFC 2047 UTF-8 words.
pub fn encode_header_value(text: &str) -> String {
    if text.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) {
        return text.to_string();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?UTF-8?B?{}?=", B64.encode(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", B64.encode(chunk.as_bytes())));
    }
    words.join("\r\n ")
}

/// The subject without the tag (case-insensitive), when it carries it.
pub fn strip_tag(subject: &str, tag: &str) -> Option<String> {
    if tag.is_empty() {
        return None;
    }
    let lower = subject.to_lowercase();
    let at = lower.find(&tag.to_lowercase())?;
    // Lower-casing can change byte lengths outside ASCII: only cut when the
    // match lines up with the original.
    let end = at + tag.len();
    if !subject.is_char_boundary(at) || !subject.is_char_boundary(end) {
        return None;
    }
    let stripped = format!("{}{}", &subject[..at], &subject[end..]);
    Some(stripped.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The sender (From) and recipients (To, Cc, Bcc) a message's headers
/// name, in lower case: the envelope of a message read from a file.
pub fn header_envelope(message: &mail_parser::Message) -> (String, Vec<String>) {
    let addresses = |list: Option<&mail_parser::Address>| -> Vec<String> {
        list.map(|l| {
            l.iter()
                .filter_map(|a| a.address())
                .map(str::to_lowercase)
                .collect()
        })
        .unwrap_or_default()
    };
    let sender = addresses(message.from())
        .into_iter()
        .next()
        .unwrap_or_default();
    let mut recipients = addresses(message.to());
    recipients.extend(addresses(message.cc()));
    recipients.extend(addresses(message.bcc()));
    (sender, recipients)
}

/// The deepest MIME structure sealpost takes in: Postfix's
/// `mime_nesting_limit`. Every walk over a message's parts after the intake
/// may then recurse, since no message that reaches it is deeper.
pub const MAX_NESTING: usize = 100;

/// A message whose multiparts and embedded messages nest deeper than
/// `MAX_NESTING` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("MIME nesting exceeds {MAX_NESTING} levels")]
pub struct TooDeep;

/// Refuses a message nested deeper than `MAX_NESTING` (each multipart and
/// each embedded `message/*` is a level). It reads the message as every
/// later stage does (mail-parser, whose parser keeps its own stack), walks
/// the parts with a stack of its own, and takes the parsed tree apart
/// without recursion: dropping 20,000 nested messages the ordinary way
/// would overflow a worker thread's stack.
pub fn check_nesting(raw: &[u8]) -> Result<(), TooDeep> {
    let Some(message) = mail_parser::MessageParser::default().parse(raw) else {
        return Ok(());
    };
    let deep = nests_deeper_than(&message, MAX_NESTING);
    dismantle(message);
    if deep { Err(TooDeep) } else { Ok(()) }
}

fn nests_deeper_than(message: &mail_parser::Message<'_>, limit: usize) -> bool {
    use mail_parser::PartType;
    // (message, part index, levels above the part)
    let mut pending = vec![(message, 0u32, 0usize)];
    while let Some((m, part, depth)) = pending.pop() {
        let Some(part) = m.parts.get(part as usize) else {
            continue;
        };
        match &part.body {
            PartType::Multipart(children) => {
                if depth + 1 > limit {
                    return true;
                }
                // A part never lists itself or an ancestor: the parser
                // numbers children after their parent.
                pending.extend(children.iter().map(|&c| (m, c, depth + 1)));
            }
            PartType::Message(inner) => {
                if depth + 1 > limit {
                    return true;
                }
                pending.push((inner, 0, depth + 1));
            }
            _ => {}
        }
    }
    false
}

/// Drops a parsed message one level at a time: whatever parses a message
/// that may not have passed `check_nesting` lets it go this way.
pub fn dismantle(message: mail_parser::Message<'_>) {
    let mut pending = vec![message];
    while let Some(mut m) = pending.pop() {
        for part in &mut m.parts {
            if let mail_parser::PartType::Message(inner) = std::mem::take(&mut part.body) {
                pending.push(inner);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &[u8] = b"From: a@x.example\r\nSubject: [secure] Quarterly\r\n numbers\r\nTo: b@y.example\r\n\r\nSubject: in the body\r\n";

    /// `levels` multiparts inside each other, or embedded messages.
    pub fn nested(levels: usize, embedded: bool) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(b"From: a@x.example\r\nSubject: deep\r\nMIME-Version: 1.0\r\n");
        for i in 0..levels {
            if embedded {
                out.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n");
            } else {
                out.extend_from_slice(
                    format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n")
                        .as_bytes(),
                );
            }
        }
        out.extend_from_slice(b"Content-Type: text/plain\r\n\r\nhello\r\n");
        if !embedded {
            for i in (0..levels).rev() {
                out.extend_from_slice(format!("--b{i}--\r\n").as_bytes());
            }
        }
        out
    }

    #[test]
    fn nesting_up_to_the_limit_passes_and_deeper_is_refused() {
        for embedded in [false, true] {
            assert_eq!(
                check_nesting(&nested(MAX_NESTING, embedded)),
                Ok(()),
                "{embedded}"
            );
            assert_eq!(
                check_nesting(&nested(MAX_NESTING + 1, embedded)),
                Err(TooDeep)
            );
            // Deep enough to overflow a thread's stack if anything recursed.
            assert_eq!(check_nesting(&nested(20_000, embedded)), Err(TooDeep));
        }
        assert_eq!(check_nesting(RAW), Ok(()));
    }

    #[test]
    fn set_header_replaces_a_folded_header_and_keeps_the_rest() {
        let out = set_header(RAW, "subject", "Quarterly numbers");
        assert_eq!(
            out,
            b"From: a@x.example\r\nsubject: Quarterly numbers\r\nTo: b@y.example\r\n\r\nSubject: in the body\r\n"
        );
        assert!(has_header(RAW, "SUBJECT"));
        assert!(!has_header(RAW, "Message-ID"));
    }

    #[test]
    fn the_tag_is_removed_in_any_case() {
        assert_eq!(
            strip_tag("[SECURE] Quarterly numbers", "[secure]").as_deref(),
            Some("Quarterly numbers")
        );
        assert_eq!(
            strip_tag("Re: [secure]", "[secure]").as_deref(),
            Some("Re:")
        );
        assert_eq!(strip_tag("Quarterly numbers", "[secure]"), None);
    }

    #[test]
    fn non_ascii_values_are_encoded_words() {
        assert_eq!(encode_header_value("Hello"), "Hello");
        let encoded = encode_header_value("四半期の数字");
        assert!(encoded.starts_with("=?UTF-8?B?"), "{encoded}");
    }
}
