//! What cannot be decrypted is still inspected: mail that only looks like
//! another organization's protected mail reaches the rules and the
//! antivirus like any other, on what is readable, and is changed by neither.

use crate::common::catcher::Catcher;
use crate::common::clamd::{Clamd, SIGNATURE, VIRUS_MARKER};
use crate::common::*;
use base64::Engine;

/// Three parts, the third an envelope with a made-up organization id: the
/// shape of another organization's protected mail, with `clear` in the
/// text part anyone can read.
fn forged(to: &str, clear: &str) -> Vec<u8> {
    let header = serde_json::json!({
        "org": "0badc0ffee0badc0ffee0badc0ffee00",
        "message_id": "<forged@elsewhere.example>",
        "rights": "encrypt-only",
        "template": "Default",
        "expires_at": null,
        "created_at": 1_700_000_000_000i64,
    })
    .to_string();
    let mut envelope = b"SEALPOST\x02".to_vec();
    envelope.extend_from_slice(&(header.len() as u32).to_be_bytes());
    envelope.extend_from_slice(header.as_bytes());
    envelope.extend_from_slice(&[7u8; 64]);
    let envelope = base64::engine::general_purpose::STANDARD.encode(envelope);
    format!(
        "From: mallory@corp.example\r\nTo: {to}\r\nSubject: Invoice\r\nMessage-ID: <forged@elsewhere.example>\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"f\"\r\n\r\n\
--f\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{clear}\r\n\
--f\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>{clear}</p>\r\n\
--f\r\nContent-Type: application/vnd.sealpost.protected; name=\"message.sealpost\"\r\n\
Content-Disposition: attachment; filename=\"message.sealpost\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{envelope}\r\n--f--\r\n"
    )
    .into_bytes()
}

async fn mail_shaped_like_foreign_protected_mail_meets_the_rules_and_the_antivirus(
    backend: Backend,
) {
    let catcher = Catcher::start().await;
    let clamd = Clamd::start().await;
    let db = TestDatabase::new(backend).await;
    let relay = catcher.url();
    let clamd_addr = clamd.setting();
    let app = TestApp::builder(db)
        .settings(&[
            ("relay_url", relay.as_str()),
            ("internal_domains", "corp.example"),
            ("clamd_addr", clamd_addr.as_str()),
        ])
        .spawn()
        .await;
    app.rule(&[
        "new",
        "No rivals",
        "--sent-to",
        "rival.example",
        "--reject",
        "Not to rivals.",
    ]);
    app.rule(&["new", "Tag", "--prepend-subject", "[ext] "]);

    // The recipient rule stops it.
    let sender = "mallory@corp.example";
    smtp_send(
        &app,
        sender,
        &["bob@rival.example"],
        &forged("bob@rival.example", "hello"),
    )
    .await;
    let report = catcher.wait_for(1).await.remove(0);
    assert_eq!(report.to, [sender]);
    assert!(
        text_of(&report).contains("Not to rivals."),
        "{}",
        text_of(&report)
    );

    // clamd finds the test signature in its clear part.
    let infected = forged("bob@gmail.example", &format!("pay now {VIRUS_MARKER}"));
    smtp_send(&app, sender, &["bob@gmail.example"], &infected).await;
    let report = catcher.wait_for(2).await.remove(1);
    assert_eq!(report.to, [sender]);
    assert!(text_of(&report).contains(SIGNATURE), "{}", text_of(&report));

    // Clean, it passes untouched: the subject rule is recorded as skipped.
    let clean = forged("bob@gmail.example", "a clean invoice");
    smtp_send(&app, sender, &["bob@gmail.example"], &clean).await;
    let passed = catcher.wait_for(3).await.remove(2);
    assert_eq!(passed.to, ["bob@gmail.example"]);
    assert!(
        passed.data.contains("Subject: Invoice\r\n"),
        "{}",
        passed.data
    );
    assert!(!passed.data.contains("[ext]"));
    let skipped = app
        .store
        .events_of_kind("rule Tag matched: prepend subject skipped (the message is protected by another organization)")
        .await
        .unwrap();
    // (The infected one matched it too before clamd stopped it.)
    assert_eq!(skipped.len(), 2);
    assert_eq!(app.count_events("protected").await, 0);
}
both!(mail_shaped_like_foreign_protected_mail_meets_the_rules_and_the_antivirus);

async fn a_malformed_envelope_makes_ordinary_mail(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    app.rule(&["new", "Tag", "--prepend-subject", "[ext] "]);
    // The right parts, but no envelope inside: ordinary mail, tagged and
    // protected when asked like any other.
    let raw = String::from_utf8(forged("bob@gmail.example", "plain words"))
        .unwrap()
        .replace("Subject: Invoice", "Subject: [secure] Invoice");
    let cut = raw.find("U0VBTFBPU1QC").expect("the envelope's base64");
    let broken = format!("{}AAAA{}", &raw[..cut], &raw[cut + 12..]);
    smtp_send(
        &app,
        "mallory@corp.example",
        &["bob@gmail.example"],
        broken.as_bytes(),
    )
    .await;
    let notification = catcher.wait_for(1).await.remove(0);
    assert_eq!(notification.to, ["bob@gmail.example"]);
    assert!(
        !notification.data.contains("plain words"),
        "protected as asked"
    );
    assert_eq!(app.count_events("protected").await, 1);
}
both!(a_malformed_envelope_makes_ordinary_mail);
