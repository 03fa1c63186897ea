//! Property tests over untrusted input (issue #17's fuzzing): every walk over
//! a message's parts on generated and mutated MIME, the protected-envelope
//! parser on any bytes and on flipped bytes of real envelopes, and the
//! sensitive-number detectors against a plain reference. CI runs the
//! default number of cases; `bench/fuzz.sh` runs many more
//! (`PROPTEST_CASES`). The SMTP session is fuzzed over the wire, in the
//! integration tests (`tests/it/fuzz.rs`).
//!
//! Anything these find is kept below as a plain regression test.

use crate::agents::antivirus;
use crate::portal::render::{self, ViewOf};
use crate::protected;
use crate::protected::tests::{header, keyring};
use crate::rules::disclaimer::{Appended, Disclaimer, SignedMode};
use crate::rules::facts::Facts;
use crate::rules::sensitive::{self, Kind};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

/// The default case count (or `PROPTEST_CASES`); failures are reported,
/// not written into the source tree.
fn config() -> Config {
    Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..Config::default()
    }
}

/// Text as mail carries it: words, digits that look like card numbers,
/// markup, encoded words, any Unicode, stray CR/LF and dots.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,120}",
        "\\PC{0,80}",
        "(4111 1111 1111 1111|123-45-6789|1234 5678 9018|<script>x</script>|<img src=x onerror=y>|=?utf-8?b?w6k=?=|\r\n\\.\r\n|--b1--|=\r\n| ){0,6}",
        proptest::collection::vec(any::<u8>(), 0..120)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

fn leaf() -> impl Strategy<Value = String> {
    let ctype = prop_oneof![
        Just("text/plain; charset=utf-8"),
        Just("text/plain; charset=iso-2022-jp"),
        Just("text/plain; charset=x-bogus"),
        Just("text/html; charset=utf-8"),
        Just("application/octet-stream"),
        Just("application/pdf; name=\"a.pdf\""),
        Just("message/delivery-status"),
        Just("text/plain; format=flowed; delsp=yes"),
    ];
    let encoding = prop_oneof![
        Just("7bit"),
        Just("8bit"),
        Just("base64"),
        Just("quoted-printable"),
        Just("x-uuencode"),
        Just("binary"),
    ];
    let disposition = prop_oneof![
        Just(""),
        Just("Content-Disposition: attachment; filename=\"f.txt\"\r\n"),
        Just("Content-Disposition: inline\r\n"),
        Just("Content-Disposition: attachment; filename*=utf-8''%E2%82%AC.txt\r\n"),
    ];
    (ctype, encoding, disposition, text()).prop_map(|(c, e, d, body)| {
        format!("Content-Type: {c}\r\nContent-Transfer-Encoding: {e}\r\n{d}\r\n{body}\r\n")
    })
}

/// A MIME tree: leaves, multiparts (with or without their closing line)
/// and attached messages, a few levels deep.
fn part() -> impl Strategy<Value = String> {
    leaf().prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            (
                prop_oneof![
                    Just("mixed"),
                    Just("alternative"),
                    Just("related"),
                    Just("signed; protocol=\"application/pkcs7-signature\""),
                    Just("report"),
                ],
                "[a-z0-9'()+_,./:=? -]{1,20}",
                proptest::collection::vec(inner.clone(), 0..4),
                any::<bool>(),
            )
                .prop_map(|(kind, boundary, parts, closed)| {
                    let mut out = format!(
                        "Content-Type: multipart/{kind}; boundary=\"{boundary}\"\r\n\r\npreamble\r\n"
                    );
                    for p in parts {
                        out.push_str(&format!("--{boundary}\r\n{p}"));
                    }
                    if closed {
                        out.push_str(&format!("--{boundary}--\r\nepilogue\r\n"));
                    }
                    out
                }),
            (text(), inner).prop_map(|(subject, p)| format!(
                "Content-Type: message/rfc822\r\n\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n{p}"
            )),
        ]
    })
}

/// A whole message; sometimes mutated afterwards (bytes flipped, cut short,
/// a slice repeated), as mail from an attacker would be.
fn message() -> impl Strategy<Value = Vec<u8>> {
    let whole = (text(), text(), part()).prop_map(|(subject, from, body)| {
        format!(
            "From: {from} <alice@corp.example>\r\nTo: bob@outside.example\r\nSubject: {subject}\r\nMessage-ID: <m@corp.example>\r\nMIME-Version: 1.0\r\n{body}"
        )
        .into_bytes()
    });
    (
        whole,
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        proptest::option::of(any::<prop::sample::Index>()),
    )
        .prop_map(|(mut raw, flips, cut)| {
            if !raw.is_empty() {
                for (at, byte) in flips {
                    let i = at.index(raw.len());
                    raw[i] = byte;
                }
                if let Some(at) = cut {
                    raw.truncate(at.index(raw.len() + 1));
                }
            }
            raw
        })
}

/// Every walk the gateway and the portal make over a message's parts.
fn walk_everything(raw: &[u8]) {
    if crate::mime::check_nesting(raw).is_err() {
        return; // refused at the intake: nothing below ever sees it
    }
    let facts = Facts::read(
        raw,
        "alice@corp.example",
        &["bob@outside.example".to_string()],
    );
    for kind in [Kind::UsSsn, Kind::CreditCard, Kind::MyNumber] {
        let _ = facts.sensitive(kind);
    }
    let parsed = mail_parser::MessageParser::default().parse(raw);
    let pieces = antivirus::pieces(raw, parsed.as_ref());
    assert_eq!(pieces[0], raw, "the whole message is scanned first");
    drop(pieces);
    if let Some(m) = parsed {
        crate::mime::dismantle(m);
    }
    let view = render::message_view(
        raw,
        ViewOf {
            subject: "s",
            sender: "alice@corp.example",
            address: "bob@outside.example",
            received_at: 0,
            expires_at: None,
            rights: Some(crate::domain::Rights::DoNotForward),
        },
    );
    if let Some(html) = &view.body_html {
        let lower = html.to_ascii_lowercase();
        assert!(!lower.contains("<script"), "{html}");
        assert!(!lower.contains("onerror"), "{html}");
        assert!(!lower.contains("<img"), "{html}");
    }
    for i in 0..view.attachments.len() + 1 {
        let _ = render::attachment(raw, i);
    }
    let _ = render::body(raw);
    let _ = protected::looks_protected(raw);
    let _ = protected::envelope_of(raw);
    let disclaimer = Disclaimer {
        text: "Confidential: for the named recipients only.".into(),
        html: None,
        signed: SignedMode::Wrap,
    };
    if let Appended::Done(out) = disclaimer.append(raw) {
        assert_eq!(
            disclaimer.append(&out),
            Appended::AlreadyThere,
            "a second hop adds nothing"
        );
    }
}

/// Luhn's check digit for `body` (the reference, written plainly).
fn luhn_digit(body: &[u8]) -> u8 {
    let mut sum = 0u32;
    for (i, d) in body.iter().rev().enumerate() {
        let mut v = *d as u32;
        if i % 2 == 0 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    ((10 - sum % 10) % 10) as u8
}

/// My Number's check digit (the Ministry's formula, written plainly).
fn my_number_digit(body: &[u8]) -> u8 {
    let mut sum = 0u32;
    for n in 1..=11u32 {
        let p = body[(11 - n) as usize] as u32;
        let q = if n <= 6 { n + 1 } else { n - 5 };
        sum += p * q;
    }
    let r = sum % 11;
    if r <= 1 { 0 } else { (11 - r) as u8 }
}

fn digits(d: &[u8]) -> String {
    d.iter().map(|d| char::from(b'0' + d)).collect()
}

/// Words around a number, never touching it (no digits, no letters glued).
fn words() -> impl Strategy<Value = String> {
    "([a-z]{1,8}|お客様|번호|\\.|,|:)( [a-z]{1,8}){0,6}"
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_walk_over_a_message_survives_any_mime(raw in message()) {
        walk_everything(&raw);
    }

    #[test]
    fn any_bytes_are_refused_as_an_envelope(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let keys = keyring();
        prop_assert!(protected::open(|_| true, &keys, &bytes).is_err());
        let _ = protected::envelope_of(&bytes);
        let _ = protected::looks_protected(&bytes);
    }

    #[test]
    fn any_flipped_byte_of_a_real_envelope_is_refused(
        body in proptest::collection::vec(any::<u8>(), 0..400),
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let keys = keyring();
        let mut envelope = protected::seal(&keys, &header(), &body);
        prop_assert!(protected::open(|_| true, &keys, &envelope).is_ok());
        let i = at.index(envelope.len());
        envelope[i] ^= flip;
        prop_assert!(protected::open(|_| true, &keys, &envelope).is_err(), "byte {i} flipped");
    }

    #[test]
    fn a_valid_card_number_is_found_and_a_wrong_check_digit_is_not(
        rest in proptest::collection::vec(0u8..10, 14),
        spaced in any::<bool>(),
        before in words(),
        after in words(),
    ) {
        // A Visa number: 4, fourteen digits, Luhn's digit.
        let mut number = vec![4u8];
        number.extend(&rest);
        number.push(luhn_digit(&number));
        let sep = if spaced { " " } else { "-" };
        let shown = |n: &[u8]| {
            n.chunks(4).map(digits).collect::<Vec<_>>().join(sep)
        };
        let text = format!("{before} {} {after}", shown(&number));
        let found = sensitive::find(Kind::CreditCard, std::slice::from_ref(&text));
        prop_assert_eq!(found.into_iter().collect::<Vec<_>>(), vec![digits(&number)], "{}", text);
        let last = number.len() - 1;
        number[last] = (number[last] + 1) % 10;
        let text = format!("{before} {} {after}", shown(&number));
        prop_assert!(sensitive::find(Kind::CreditCard, std::slice::from_ref(&text)).is_empty(), "{}", text);
    }

    #[test]
    fn a_valid_my_number_is_found_and_a_wrong_check_digit_is_not(
        body in proptest::collection::vec(0u8..10, 11),
        grouped in any::<bool>(),
        before in words(),
        after in words(),
    ) {
        let mut number = body.clone();
        number.push(my_number_digit(&body));
        let shown = |n: &[u8]| if grouped {
            n.chunks(4).map(digits).collect::<Vec<_>>().join(" ")
        } else {
            digits(n)
        };
        let text = format!("{before} {} {after}", shown(&number));
        let found = sensitive::find(Kind::MyNumber, std::slice::from_ref(&text));
        prop_assert_eq!(found.into_iter().collect::<Vec<_>>(), vec![digits(&number)], "{}", text);
        number[11] = (number[11] + 1) % 10;
        let text = format!("{before} {} {after}", shown(&number));
        prop_assert!(sensitive::find(Kind::MyNumber, std::slice::from_ref(&text)).is_empty(), "{}", text);
    }

    #[test]
    fn a_dashed_social_security_number_is_found_unless_its_area_is_never_issued(
        area in 0u16..1000,
        group in 0u8..100,
        serial in 0u16..10000,
        before in words(),
        after in words(),
    ) {
        let text = format!("{before} {area:03}-{group:02}-{serial:04} {after}");
        // The Social Security Administration never issues these.
        let issued = area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
        let found = sensitive::find(Kind::UsSsn, std::slice::from_ref(&text));
        prop_assert_eq!(!found.is_empty(), issued, "{}", text);
    }

    #[test]
    fn the_detectors_survive_any_text(text in text()) {
        for kind in [Kind::UsSsn, Kind::CreditCard, Kind::MyNumber] {
            for n in sensitive::find(kind, std::slice::from_ref(&text)) {
                prop_assert!(n.bytes().all(|b| b.is_ascii_digit()));
                let _ = sensitive::mask(kind, &n);
            }
        }
    }
}

/// Found by `every_walk_over_a_message_survives_any_mime`: a message
/// attached to an attached message, whose attachment holds NUL bytes, made
/// mail-parser fail its own debug assertion ("Invalid part ID, could not find
/// multipart") in debug builds. Release builds skip the assertion and go
/// on; the dev profile now does too (Cargo.toml), so tests walk what
/// production walks.
#[test]
fn a_message_attached_twice_over_with_nul_bytes_is_walked() {
    let raw =
        b"From:  AA A    aA0 aAAaa <alice@corp.example>\x0d\x0aTo: bob@outside.example\x0d\x0aSubj\
ect: aa0 A\x0d\x0aMessage-ID: <m@corp.example>\x0d\x0aMIME-Version: 1.0\x0d\x0aContent-T\
ype: message/rfc822\x0d\x0a\x0d\x0aSubject: \x0d\x0aMIME-Version: 1.0\x0d\x0aContent-Typ\
e: message/rfc822\x0d\x0a\x0d\x0aSubject: \x0d\x0aMIME-Version: 1.0\x0d\x0aContent-Type:\
\x20text/plain; charset=utf-8\x0d\x0aContent-Transfer-Encoding: 7bit\x0d\x0aContent-Disp\
osition: attachment; filename=\x22f.txt\x22\x0d\x0a\x0d\x0a\xef\xbf\xbd\x00\x00\x00\xef\
\xbf\xbd\x00\x00\x00\xef\xbf\xbd\x00\xef\xbf\xbd\xef\xbf\xbd\x00\x00\x00\xef\xbf\xbd\x00\
\x00\x00\xef\xbf\xbd\xef\xbf\xbd\x00\x00\x00\x00\xef\xbf\xbd\x00\xef\xbf\xbd\x00\xef\xbf\
\xbd\x00\x00\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\x0d\x0a";
    walk_everything(raw);
}
