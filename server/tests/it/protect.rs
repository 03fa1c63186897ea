//! `sealpost protect` and `unprotect`: the protected format round-trips the
//! exact original bytes, refuses any change to the envelope, reads rights
//! only from the envelope, and refuses another organization's messages.

use crate::common::*;
use base64::Engine;

fn protect(db: &TestDatabase, input: &[u8], rights: &str) -> Vec<u8> {
    let out = run_cli_bytes(db, &["protect", "--rights", rights], Some(input), &[]);
    assert!(out.status.success(), "protect: {}", stderr(&out));
    out.stdout
}

fn unprotect(db: &TestDatabase, input: &[u8], info: bool) -> std::process::Output {
    let args: &[&str] = if info {
        &["unprotect", "--info"]
    } else {
        &["unprotect"]
    };
    run_cli_bytes(db, args, Some(input), &[])
}

fn samples() -> Vec<(&'static str, Vec<u8>)> {
    let plain = b"From: alice@corp.example\r\nTo: bob@corp.example\r\nSubject: Plain\r\nMessage-ID: <plain@corp.example>\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\n\r\nHello Bob.\r\n".to_vec();
    let html = mail_builder::MessageBuilder::new()
        .from("alice@corp.example")
        .to("bob@corp.example")
        .subject("HTML")
        .text_body("Hello")
        .html_body("<p>Hello <b>Bob</b></p>")
        .write_to_vec()
        .unwrap();
    let big: Vec<u8> = (0..10 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let attachments = mail_builder::MessageBuilder::new()
        .from("alice@corp.example")
        .to("bob@corp.example")
        .cc("carol@gmail.example")
        .subject("Figures")
        .text_body("See attached.")
        .attachment("application/octet-stream", "big.bin", big)
        .attachment("text/csv", "q.csv", b"a,b\n1,2\n".as_slice())
        .write_to_vec()
        .unwrap();
    // ISO-2022-JP, as Japanese mail clients still send it.
    let iso2022 = b"From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@corp.example>\r\nTo: tanaka@corp.example\r\nSubject: =?ISO-2022-JP?B?GyRCMnE1RBsoQg==?=\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n\x1b$B$3$s$K$A$O\x1b(B\r\n".to_vec();
    // Bare LF line endings, 8-bit bytes without a charset, no MIME-Version.
    let odd = b"From: alice@corp.example\nTo: bob@corp.example\nSubject: odd\n\nbytes \xff\xfe\x00 and a line without an ending".to_vec();
    vec![
        ("plain", plain),
        ("html", html),
        ("attachments", attachments),
        ("iso-2022-jp", iso2022),
        ("malformed", odd),
    ]
}

async fn protect_then_unprotect_gives_back_the_exact_original(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    for (name, original) in samples() {
        let protected = protect(&db, &original, "do-not-forward");
        assert!(protected.len() > 100, "{name}");
        let out = unprotect(&db, &protected, false);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert!(
            out.stdout == original,
            "{name}: the original bytes come back"
        );
        let text = String::from_utf8_lossy(&protected);
        assert!(text.contains("X-Sealpost-Protected: v1; org="), "{name}");
        if name == "attachments" {
            assert!(!text.contains("q.csv"), "nothing of the original shows");
        }
    }
}
both!(protect_then_unprotect_gives_back_the_exact_original);

/// The protected message with the envelope's bytes changed by `change`.
fn with_envelope(protected: &[u8], mut change: impl FnMut(&mut Vec<u8>)) -> Vec<u8> {
    let text = String::from_utf8(protected.to_vec()).unwrap();
    let marker = "filename=\"message.sealpost\"\r\nContent-Transfer-Encoding: base64\r\n\r\n";
    let start = text.find(marker).unwrap() + marker.len();
    let end = start + text[start..].find("--sealpost-").unwrap();
    let b64 = &base64::engine::general_purpose::STANDARD;
    let mut envelope = b64.decode(text[start..end].replace("\r\n", "")).unwrap();
    change(&mut envelope);
    let encoded = b64.encode(&envelope);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "{}{}\r\n{}",
        &text[..start],
        lines.join("\r\n"),
        &text[end..]
    )
    .into_bytes()
}

async fn any_change_to_the_envelope_is_refused(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let original = samples().remove(0).1;
    let protected = protect(&db, &original, "encrypt-only");
    assert_eq!(
        with_envelope(&protected, |_| {}),
        protected,
        "the test re-encodes faithfully"
    );
    let size = {
        let mut n = 0;
        with_envelope(&protected, |e| n = e.len());
        n
    };
    // The magic, the version, the header (org, Message-ID, rights, expiry),
    // the key id, the wrapped key, the nonce, the ciphertext and its tag.
    for at in [0, 8, 9, 14, 30, 60, size / 2, size - 17, size - 1] {
        let changed = with_envelope(&protected, |e| e[at] ^= 0x01);
        for info in [false, true] {
            let out = unprotect(&db, &changed, info);
            assert_eq!(
                out.status.code(),
                Some(1),
                "byte {at}, info {info}: {}",
                stdout(&out)
            );
            assert!(stdout(&out).is_empty());
        }
    }
    // The informative header says do-not-forward; the envelope still rules.
    let edited = String::from_utf8(protected.clone())
        .unwrap()
        .replace("rights=encrypt-only", "rights=do-not-forward");
    let out = unprotect(&db, edited.as_bytes(), true);
    assert!(out.status.success(), "{}", stderr(&out));
    let info = stdout(&out);
    assert!(info.contains("Rights         : encrypt-only"), "{info}");
    assert!(
        info.contains("MessageId      : <plain@corp.example>"),
        "{info}"
    );
    assert!(info.contains("Template       : Default"), "{info}");
    assert!(info.contains("ExpiresAt      : Never"), "{info}");
    assert!(info.contains("Inspected      : False"), "{info}");

    // Not a protected message at all.
    let out = unprotect(&db, &original, false);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not in sealpost's protected format"),
        "{}",
        stderr(&out)
    );
}
both!(any_change_to_the_envelope_is_refused);

async fn another_organizations_message_is_refused(backend: Backend) {
    let ours = TestDatabase::new(backend).await;
    let theirs = TestDatabase::new(backend).await;
    let protected = protect(&theirs, &samples().remove(0).1, "encrypt-only");
    let out = unprotect(&ours, &protected, false);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).lines().last(),
        Some("sealpost: This message is protected by another organization.")
    );
}
both!(another_organizations_message_is_refused);

async fn protect_records_the_message_for_status_and_trace(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    protect(&db, &samples().remove(0).1, "do-not-forward");
    let out = run_cli(
        &db,
        &[
            "message",
            "status",
            "--message-id",
            "plain@corp.example",
            "--json",
        ],
        None,
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let status: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(status[0]["Sender"], "alice@corp.example");
    assert_eq!(status[0]["Recipients"][0]["Address"], "bob@corp.example");
    assert_eq!(status[0]["Recipients"][0]["Experience"], "inline");
    let trace = stdout(&run_cli(
        &db,
        &["trace", "--sender", "alice@corp.example", "--json"],
        None,
        &[],
    ));
    assert!(trace.contains("<plain@corp.example>"), "{trace}");
}
both!(protect_records_the_message_for_status_and_trace);

async fn a_second_deployment_opens_the_first_ones_mail_after_importing_its_keys(backend: Backend) {
    let first = TestDatabase::new(backend).await;
    let second = TestDatabase::new(backend).await;
    let original = samples().remove(0).1;
    let from_first = protect(&first, &original, "encrypt-only");
    let from_second = protect(&second, &original, "encrypt-only");
    let out = unprotect(&second, &from_first, false);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).ends_with("This message is protected by another organization.\n"));

    let passphrase = "a long export passphrase\n";
    let out = run_cli(
        &first,
        &["keys", "export", "--passphrase-stdin"],
        Some(passphrase),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let export = second.dir.path().join("keys.json");
    std::fs::write(&export, &out.stdout).unwrap();
    let exported = stdout(&out);
    assert!(
        exported.contains("sealpost-keys-v1") && !exported.contains("org_secret"),
        "sealed"
    );

    // A wrong passphrase opens nothing.
    let file = export.to_str().unwrap();
    let out = run_cli(
        &second,
        &["keys", "import", "--file", file, "--passphrase-stdin"],
        Some("not the passphrase\n"),
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("passphrase does not open"),
        "{}",
        stderr(&out)
    );

    let out = run_cli(
        &second,
        &["keys", "import", "--file", file, "--passphrase-stdin"],
        Some(passphrase),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Imported 1 new key-encryption key(s)."),
        "{}",
        stdout(&out)
    );
    let out = unprotect(&second, &from_first, false);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout == original);
    // Its own earlier mail still opens; importing again changes nothing.
    assert!(unprotect(&second, &from_second, false).status.success());
    let out = run_cli(
        &second,
        &["keys", "import", "--file", file, "--passphrase-stdin"],
        Some(passphrase),
        &[],
    );
    assert!(out.status.success());
    assert!(
        stdout(&out).contains("everything was already known"),
        "{}",
        stdout(&out)
    );
    assert!(unprotect(&second, &from_first, false).status.success());
}
both!(a_second_deployment_opens_the_first_ones_mail_after_importing_its_keys);

/// A message protected with `sealpost protect` and then sent through the
/// gateway: the internal recipient gets it still protected, the external
/// one a notification whose link opens the message inside.
async fn protected_mail_is_not_protected_twice(backend: Backend) {
    let catcher = crate::common::catcher::Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    let original = b"From: alice@corp.example\r\nTo: carol@corp.example, bob@gmail.example\r\nSubject: Inside\r\nMessage-ID: <inside@corp.example>\r\n\r\nThe words inside.\r\n".to_vec();
    let protected = protect(&app.db, &original, "do-not-forward");
    smtp_send(
        &app,
        "alice@corp.example",
        &["carol@corp.example", "bob@gmail.example"],
        &protected,
    )
    .await;
    let mails = catcher.wait_for(2).await;

    let carol = mails
        .iter()
        .find(|m| m.to == ["carol@corp.example"])
        .unwrap();
    let out = unprotect(&app.db, carol.data.as_bytes(), false);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        out.stdout == original,
        "carol's copy holds the exact original"
    );
    let info = stdout(&unprotect(&app.db, carol.data.as_bytes(), true));
    assert!(info.contains("Rights         : do-not-forward"), "{info}");

    let bob = mails
        .iter()
        .find(|m| m.to == ["bob@gmail.example"])
        .unwrap();
    assert!(!bob.data.contains("The words inside."));
    let link = link_of(bob);
    let reader = browser();
    let code = passcode_from_mail(&app, &catcher, &reader, &link).await;
    let r = enter_passcode(&app, &reader, &link, &code).await;
    assert_eq!(r.status(), 303);
    let message = page_text(&reader, app.url(&link)).await;
    assert!(message.contains("The words inside."), "{message}");
    assert!(
        message.contains("Do not forward"),
        "the envelope's rights apply"
    );
}
both!(protected_mail_is_not_protected_twice);

/// Another organization's protected mail passes untouched, or is bounced
/// when the organization says `--foreign-protected reject`.
async fn another_organizations_protected_mail_passes_or_is_refused(backend: Backend) {
    let catcher = crate::common::catcher::Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    let elsewhere = TestDatabase::new(backend).await;
    let original = b"From: alice@corp.example\r\nTo: bob@gmail.example\r\nSubject: From a partner\r\n\r\nPartner words.\r\n";
    let foreign = protect(&elsewhere, original, "encrypt-only");
    let envelope_part = |mail: &str| {
        let at = mail.find("filename=\"message.sealpost\"").unwrap();
        mail[at..].split("--sealpost-").next().unwrap().to_string()
    };

    // Not even a rule that matches every message touches it.
    app.rule(&[
        "new",
        "Tag all",
        "--prepend-subject",
        "[tagged] ",
        "--apply-protection",
        "do-not-forward",
    ]);
    smtp_send(&app, "alice@corp.example", &["bob@gmail.example"], &foreign).await;
    let passed = catcher.wait_for(1).await.remove(0);
    assert_eq!(passed.to, ["bob@gmail.example"]);
    assert_eq!(
        envelope_part(&passed.data),
        envelope_part(std::str::from_utf8(&foreign).unwrap()),
        "passed on untouched"
    );
    assert!(!passed.data.contains("[tagged]"), "{}", passed.data);
    assert_eq!(app.count_events("protected").await, 0);

    let out = app.cli(
        &["irm-config", "set", "--foreign-protected", "reject"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // A new message (an identical transaction would count as a retry).
    let foreign = protect(&elsewhere, original, "encrypt-only");
    smtp_send(&app, "alice@corp.example", &["bob@gmail.example"], &foreign).await;
    let report = catcher.wait_for(2).await.remove(1);
    assert_eq!(report.to, ["alice@corp.example"]);
    assert!(
        report.data.contains("protected by another organization"),
        "{}",
        report.data
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        catcher.caught().len(),
        2,
        "nothing went to bob the second time"
    );
}
both!(another_organizations_protected_mail_passes_or_is_refused);
