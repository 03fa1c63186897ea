//! Sensitive information and disclaimers (seed 004's first example): a rule
//! finds a social security number, also inside protected mail (transport
//! decryption opened it), and appends a disclaimer in the body part's own
//! charset. Everything goes in over real SMTP and comes out at the catcher.

use crate::common::catcher::{Catcher, Caught};
use crate::common::*;

fn parse(raw: &[u8]) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a message")
}

fn subject_of(mail: &Caught) -> String {
    parse(mail.data.as_bytes())
        .subject()
        .unwrap_or_default()
        .to_string()
}

/// What `smtp_send` delivers ends with one more line break than the
/// message (the client ends the data with CRLF . CRLF after it), so the
/// messages sent here end without one.
fn headers(from: &str, to: &str, subject: &str) -> String {
    let id = uuid::Uuid::new_v4().simple();
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}@corp.example>\r\nMIME-Version: 1.0\r\n"
    )
}

const SSN_NOTICE: &str = "This message contained a social security number. Handle it with care.";

async fn an_ssn_gets_the_disclaimer_inside_protected_mail_and_in_the_clear(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    app.rule(&[
        "new",
        "SSN notice",
        "--contains-sensitive",
        "us-ssn",
        "--append-disclaimer-text",
        SSN_NOTICE,
    ]);
    let original = format!(
        "{}Content-Type: text/plain; charset=utf-8\r\n\r\nMy SSN is 123-45-1120.\r\n",
        headers("alice@corp.example", "carol@corp.example", "HR form")
    );
    let out = run_cli_bytes(
        &app.db,
        &["protect", "--rights", "do-not-forward"],
        Some(original.as_bytes()),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    smtp_send(
        &app,
        "alice@corp.example",
        &["carol@corp.example"],
        &out.stdout,
    )
    .await;
    let copy = catcher.wait_for(1).await.remove(0);
    assert!(!copy.data.contains(SSN_NOTICE), "still protected");
    assert!(!copy.data.contains("123-45-1120"));
    let inside = run_cli_bytes(&app.db, &["unprotect"], Some(copy.data.as_bytes()), &[]);
    assert!(inside.status.success(), "{}", stderr(&inside));
    let text = parse(&inside.stdout).body_text(0).unwrap().into_owned();
    assert_eq!(
        text,
        format!("My SSN is 123-45-1120.\r\n\r\n{SSN_NOTICE}\r\n")
    );

    // Unprotected, to someone outside: in the clear.
    let plain = format!(
        "{}Content-Type: text/plain; charset=utf-8\r\n\r\nSSN: 078-05-1120",
        headers("alice@corp.example", "dave@partner.example", "Form")
    );
    smtp_send(
        &app,
        "alice@corp.example",
        &["dave@partner.example"],
        plain.as_bytes(),
    )
    .await;
    let mail = catcher.wait_for(2).await.remove(1);
    let text = parse(mail.data.as_bytes())
        .body_text(0)
        .unwrap()
        .into_owned();
    assert_eq!(text, format!("SSN: 078-05-1120\r\n\r\n{SSN_NOTICE}\r\n"));
    assert_eq!(
        app.count_events("rule SSN notice matched: append disclaimer")
            .await,
        2
    );
    // Through the gateway again (a later hop): not added twice.
    let once_more = mail.data.trim_end_matches("\r\n").to_string();
    smtp_send(
        &app,
        "alice@corp.example",
        &["dave@partner.example"],
        once_more.as_bytes(),
    )
    .await;
    let again = catcher.wait_for(3).await.remove(2);
    let text = parse(again.data.as_bytes())
        .body_text(0)
        .unwrap()
        .into_owned();
    assert_eq!(text.matches(SSN_NOTICE).count(), 1, "{text}");
    assert_eq!(
        app.count_events("rule SSN notice matched: disclaimer already present")
            .await,
        1
    );
    // No number, no disclaimer.
    let none = format!(
        "{}Content-Type: text/plain\r\n\r\nNo numbers: 000-12-3456\r\n",
        headers("alice@corp.example", "dave@partner.example", "Nothing")
    );
    smtp_send(
        &app,
        "alice@corp.example",
        &["dave@partner.example"],
        none.as_bytes(),
    )
    .await;
    let mail = catcher.wait_for(4).await.remove(3);
    assert!(!mail.data.contains(SSN_NOTICE));
}
both!(an_ssn_gets_the_disclaimer_inside_protected_mail_and_in_the_clear);

const JA: &str = "この電子メールには機密情報が含まれている可能性があります。";
/// `é` has no place in ISO-2022-JP.
const MIXED: &str = "Confidentialité: 機密情報です。";

fn iso_2022_jp(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::ISO_2022_JP.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

async fn the_delivered_part_is_the_original_plus_the_disclaimer(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    app.rule(&[
        "new",
        "Japanese",
        "--subject-or-body-contains",
        "ja-notice",
        "--append-disclaimer-text",
        JA,
        "--append-disclaimer-html",
        "<p><b>機密</b>情報が含まれている可能性があります。</p>",
    ]);
    app.rule(&[
        "new",
        "Mixed",
        "--subject-or-body-contains",
        "mixed-notice",
        "--append-disclaimer-text",
        MIXED,
    ]);
    let send = |subject: &'static str, content: Vec<u8>| {
        let app = &app;
        async move {
            let mut raw =
                headers("alice@corp.example", "dave@partner.example", subject).into_bytes();
            raw.extend_from_slice(&content);
            smtp_send(app, "alice@corp.example", &["dave@partner.example"], &raw).await;
        }
    };
    let body_ja = "お世話になっております。\r\n資料を送ります。\r\n";

    // UTF-8 Japanese text/plain, quoted-printable.
    send("ja-notice plain", format!(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        base64(body_ja.as_bytes())
    ).into_bytes()).await;
    // ISO-2022-JP that can hold the disclaimer: stays ISO-2022-JP.
    let mut iso =
        b"Content-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
            .to_vec();
    iso.extend_from_slice(&iso_2022_jp(body_ja.trim_end()));
    send("ja-notice iso", iso.clone()).await;
    // ISO-2022-JP that cannot: the part becomes UTF-8.
    send("mixed-notice iso", iso).await;
    // multipart/alternative: both versions.
    send("ja-notice alternative", format!(
        "Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body_ja}\r\n--alt\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<html><body><p>資料を送ります。</p></body></html>\r\n--alt--\r\n"
    ).into_bytes()).await;
    // multipart/mixed: the first body part; the attachment untouched.
    send("ja-notice mixed", format!(
        "Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n--mix\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body_ja}\r\n--mix\r\nContent-Type: text/plain; charset=utf-8; name=\"notes.txt\"\r\nContent-Disposition: attachment; filename=\"notes.txt\"\r\n\r\nattached notes\r\n--mix--\r\n"
    ).into_bytes()).await;

    let mails = catcher.wait_for(5).await;
    let by_subject = |s: &str| {
        mails
            .iter()
            .find(|m| subject_of(m) == s)
            .unwrap_or_else(|| panic!("no mail '{s}'"))
            .data
            .clone()
    };
    let expected = format!("{body_ja}\r\n{JA}\r\n");

    let plain = by_subject("ja-notice plain");
    assert_eq!(parse(plain.as_bytes()).body_text(0).unwrap(), expected);

    let kept = by_subject("ja-notice iso");
    assert!(
        kept.to_ascii_lowercase().contains("charset=iso-2022-jp"),
        "{kept}"
    );
    assert_eq!(parse(kept.as_bytes()).body_text(0).unwrap(), expected);

    let switched = by_subject("mixed-notice iso");
    assert!(switched.contains("charset=utf-8"), "{switched}");
    assert_eq!(
        parse(switched.as_bytes()).body_text(0).unwrap(),
        format!("{body_ja}\r\n{MIXED}\r\n"),
        "no mojibake"
    );

    let alternative = by_subject("ja-notice alternative");
    let m = parse(alternative.as_bytes());
    assert_eq!(m.body_text(0).unwrap(), expected);
    let html = m.body_html(0).unwrap();
    assert!(
        html.contains("<p>資料を送ります。</p>\r\n<p><b>機密</b>情報が含まれている可能性があります。</p>\r\n</body>"),
        "{html}"
    );

    let mixed = by_subject("ja-notice mixed");
    let m = parse(mixed.as_bytes());
    assert_eq!(m.body_text(0).unwrap(), expected);
    assert_eq!(
        m.attachment(0).unwrap().text_contents(),
        Some("attached notes")
    );

    // Once: the mark names the disclaimer for the next hop.
    assert!(plain.contains("X-Sealpost-Disclaimer: "), "{plain}");
}
both!(the_delivered_part_is_the_original_plus_the_disclaimer);

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn numbers_that_fail_their_checks_do_not_match(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    app.rule(&[
        "new",
        "Cards",
        "--contains-sensitive",
        "credit-card",
        "--prepend-subject",
        "[card] ",
    ]);
    app.rule(&[
        "new",
        "My Numbers",
        "--contains-sensitive",
        "my-number",
        "--prepend-subject",
        "[mn] ",
    ]);
    app.rule(&[
        "new",
        "Two SSNs",
        "--contains-sensitive",
        "us-ssn:2",
        "--prepend-subject",
        "[ssn2] ",
    ]);
    let cases = [
        (
            "valid card",
            "Card: 4111 1111 1111 1111",
            "[card] valid card",
        ),
        ("luhn fails", "Card: 4111 1111 1111 1112", "luhn fails"),
        (
            "full-width card",
            "カード：４１１１－１１１１－１１１１－１１１１",
            "[card] full-width card",
        ),
        (
            "valid my number",
            "個人番号 1234 5678 9018",
            "[mn] valid my number",
        ),
        (
            "wrong check digit",
            "個人番号 1234 5678 9012",
            "wrong check digit",
        ),
        (
            "inside a longer run",
            "ref 91234567890180",
            "inside a longer run",
        ),
        (
            "one ssn twice",
            "123-45-1120 and again 123-45-1120",
            "one ssn twice",
        ),
        ("two ssns", "123-45-1120 and 234-56-7891", "[ssn2] two ssns"),
    ];
    for (subject, body, _) in cases {
        let raw = format!(
            "{}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
            headers("alice@corp.example", "dave@partner.example", subject)
        );
        smtp_send(
            &app,
            "alice@corp.example",
            &["dave@partner.example"],
            raw.as_bytes(),
        )
        .await;
    }
    let mails = catcher.wait_for(cases.len()).await;
    let mut subjects: Vec<String> = mails.iter().map(subject_of).collect();
    subjects.sort();
    let mut expected: Vec<String> = cases.iter().map(|(_, _, s)| s.to_string()).collect();
    expected.sort();
    assert_eq!(subjects, expected);
}
both!(numbers_that_fail_their_checks_do_not_match);

#[tokio::test]
async fn rule_test_masks_what_it_found() {
    let app = TestApp::on(Backend::Sqlite).await.spawn().await;
    app.rule(&[
        "new",
        "SSN",
        "--contains-sensitive",
        "us-ssn",
        "--append-disclaimer-text",
        SSN_NOTICE,
        "--signed",
        "reject",
    ]);
    let file = app.db.dir.path().join("message.eml");
    std::fs::write(
        &file,
        format!(
            "{}Content-Type: text/plain\r\n\r\nSSN 123-45-1120, card 4111111111111111\r\n",
            headers("alice@corp.example", "dave@partner.example", "Form")
        ),
    )
    .unwrap();
    let out = app.cli(&["rule", "test", "--file", file.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(
        shown.contains("SensitiveInformation : us-ssn ***-**-1120, credit-card ************1111"),
        "{shown}"
    );
    assert!(
        !shown.contains("123-45-1120") && !shown.contains("4111111111111111"),
        "{shown}"
    );
    assert!(
        shown.contains("WouldDo  : append the disclaimer"),
        "{shown}"
    );
    let listed = stdout(&app.cli(&["rule", "show", "SSN"], None));
    assert!(
        listed.contains("ApplyHtmlDisclaimerFallbackAction  : reject"),
        "{listed}"
    );
    assert!(
        listed.contains("MessageContainsDataClassifications : us-ssn:1"),
        "{listed}"
    );
}

#[tokio::test]
async fn a_signed_message_is_rejected_when_the_rule_says_so() {
    let catcher = Catcher::start().await;
    let app = TestApp::on(Backend::Sqlite)
        .await
        .gateway(&catcher)
        .spawn()
        .await;
    app.rule(&[
        "new",
        "Notice",
        "--append-disclaimer-text",
        "Notice.",
        "--signed",
        "reject",
    ]);
    let signed = format!(
        "{}Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"s\"\r\n\r\n--s\r\nContent-Type: text/plain\r\n\r\nSigned.\r\n--s\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\r\n--s--\r\n",
        headers("alice@corp.example", "dave@partner.example", "Signed")
    );
    smtp_send(
        &app,
        "alice@corp.example",
        &["dave@partner.example"],
        signed.as_bytes(),
    )
    .await;
    let report = catcher.wait_for(1).await.remove(0);
    assert_eq!(report.to, ["alice@corp.example"]);
    assert!(
        report.data.contains("the message is signed"),
        "{}",
        report.data
    );
}
