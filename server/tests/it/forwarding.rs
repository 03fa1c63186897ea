//! Rights travel with the message (protected format v2): a do-not-forward
//! message re-submitted to new addresses reaches none of them, wherever it
//! is re-submitted from; an encrypt-only one may be forwarded, and the
//! forward is recorded.

use crate::common::catcher::{Catcher, Caught};
use crate::common::*;

const ALICE: &str = "alice@corp.example";
const CAROL: &str = "carol@corp.example";
const DAVE: &str = "dave@corp.example";
const EVE: &str = "eve@gmail.example";

/// Alice protects a message for Carol and, Bcc, Bob (as a mail client
/// plug-in would, with `sealpost protect`) and sends it through the
/// gateway; returns Carol's copy as the relay got it.
async fn carols_copy(app: &TestApp, catcher: &Catcher, rights: &str, body: &str) -> Caught {
    let raw = format!(
        "From: {ALICE}\r\nTo: {CAROL}\r\nBcc: bob@corp.example\r\nSubject: Board minutes\r\nMessage-ID: <minutes-{rights}@corp.example>\r\n\r\n{body}\r\n"
    );
    let out = run_cli_bytes(
        &app.db,
        &["protect", "--rights", rights],
        Some(raw.as_bytes()),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let raw = out.stdout;
    let before = catcher.caught().len();
    smtp_send(app, ALICE, &[CAROL, "bob@corp.example"], &raw).await;
    let mails = catcher.wait_for(before + 2).await;
    mails
        .into_iter()
        .skip(before)
        .find(|m| m.to == [CAROL])
        .expect("Carol's inline copy")
}

async fn a_resubmitted_do_not_forward_message_reaches_no_new_address(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    let copy = carols_copy(&app, &catcher, "do-not-forward", "The confidential words.").await;
    assert!(!copy.data.contains("The confidential words."));
    // The envelope names who may read it, Bcc included, without addresses.
    let info = stdout(&run_cli_bytes(
        &app.db,
        &["unprotect", "--info"],
        Some(copy.data.as_bytes()),
        &[],
    ));
    assert!(
        info.contains("Sender         : alice@corp.example"),
        "{info}"
    );
    assert!(info.contains("RecipientCount : 2"), "{info}");
    assert!(!copy.data.contains("bob@corp.example"), "Bcc stays hidden");

    // Another host of the relay network re-submits Carol's copy to Eve
    // (outside) and to Dave (inside), and to Carol again.
    let before = catcher.caught().len();
    smtp_send(&app, CAROL, &[EVE, DAVE, CAROL], copy.data.as_bytes()).await;
    let mails = catcher.wait_for(before + 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let new: Vec<Caught> = catcher.caught().into_iter().skip(before).collect();
    assert_eq!(
        new.len(),
        2,
        "{:?}",
        new.iter().map(|m| &m.to).collect::<Vec<_>>()
    );
    assert!(
        new.iter().any(|m| m.to == [CAROL] && !m.from.is_empty()),
        "Carol may have it"
    );
    let report = new
        .iter()
        .find(|m| m.from.is_empty())
        .expect("a report to Carol");
    assert_eq!(report.to, [CAROL]);
    let text = text_of(report);
    assert!(
        text.contains(
            "do not forward: eve@gmail.example was not a recipient of the original message"
        ),
        "{text}"
    );
    assert!(text.contains("do not forward: dave@corp.example was not a recipient"));
    assert!(!mails.iter().any(|m| m.to == [EVE]), "Eve gets no link");

    // Dave's Inbox does not show it, and no link for Eve exists.
    app.add_user(DAVE, "sender", "dave's long password").await;
    let dave = app.client();
    assert_eq!(
        sign_in(&app.address, &dave, DAVE, "dave's long password")
            .await
            .status(),
        303
    );
    let inbox = page_text(&dave, app.url("/inbox")).await;
    assert!(!inbox.contains("Board minutes"), "{inbox}");
    let status = stdout(&app.cli(
        &[
            "message",
            "status",
            "--message-id",
            "<minutes-do-not-forward@corp.example>",
            "--json",
        ],
        None,
    ));
    assert!(!status.contains(EVE) && !status.contains(DAVE), "{status}");

    // Sent only to Eve, the message goes nowhere.
    let before = catcher.caught().len();
    smtp_send(&app, CAROL, &[EVE], copy.data.as_bytes()).await;
    let report = catcher.wait_for(before + 1).await.pop().unwrap();
    assert!(report.from.is_empty() && report.to == [CAROL]);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(catcher.caught().len(), before + 1);
}
both!(a_resubmitted_do_not_forward_message_reaches_no_new_address);

async fn an_encrypt_only_message_may_be_forwarded_and_the_forward_is_recorded(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    let copy = carols_copy(&app, &catcher, "encrypt-only", "Words Eve may read.").await;
    let before = catcher.caught().len();
    smtp_send(&app, CAROL, &[EVE], copy.data.as_bytes()).await;
    let notification = catcher.wait_for(before + 1).await.pop().unwrap();
    assert_eq!(notification.to, [EVE]);
    let link = link_of(&notification);
    assert_eq!(
        app.count_events(&format!("forwarded to {EVE} by {CAROL}"))
            .await,
        1
    );
    // Eve signs in with a passcode and reads it.
    let eve = browser();
    let code = passcode_from_mail(&app, &catcher, &eve, &link).await;
    let r = enter_passcode(&app, &eve, &link, &code).await;
    assert_eq!(r.status(), 303);
    let message = page_text(&eve, app.url(&link)).await;
    assert!(message.contains("Words Eve may read."), "{message}");
}
both!(an_encrypt_only_message_may_be_forwarded_and_the_forward_is_recorded);

async fn a_v1_envelope_reaches_only_the_recipients_recorded_for_it(backend: Backend) {
    use server::protected;
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    // Recorded for Carol, as an earlier sealpost did...
    let original = format!(
        "From: {ALICE}\r\nTo: {CAROL}\r\nSubject: Old minutes\r\nMessage-ID: <old@corp.example>\r\n\r\nOld words.\r\n"
    );
    let out = run_cli_bytes(
        &app.db,
        &["protect", "--rights", "encrypt-only"],
        Some(original.as_bytes()),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // ...in format v1, whose envelope names nobody.
    let (_, keys) = server::startup::open(&test_settings(&app.db, &[]))
        .await
        .unwrap();
    let header = protected::Header {
        org: keys.org_id.clone(),
        message_id: "<old@corp.example>".into(),
        rights: server::domain::Rights::EncryptOnly,
        template: "Default".into(),
        expires_at: None,
        created_at: server::store::now_ms(),
        recipients: Vec::new(),
        sender: String::new(),
    };
    let envelope = protected::seal_version(&keys.keyring, &header, original.as_bytes(), 1);
    let v1 = protected::wrap(
        original.as_bytes(),
        &envelope,
        keys.keyring.current(),
        &header,
        &protected::Notice {
            sender: ALICE,
            inbox_url: "http://127.0.0.1:3000/inbox/x",
        },
        None,
    );
    let info = stdout(&run_cli_bytes(
        &app.db,
        &["unprotect", "--info"],
        Some(&v1),
        &[],
    ));
    assert!(
        info.contains("RecipientCount : unknown (format v1)"),
        "{info}"
    );

    // Even encrypt-only, a v1 message reaches only its recorded recipients.
    smtp_send(&app, CAROL, &[CAROL, EVE], &v1).await;
    let mails = catcher.wait_for(2).await;
    assert!(mails.iter().any(|m| m.to == [CAROL] && !m.from.is_empty()));
    let report = mails.iter().find(|m| m.from.is_empty()).expect("a report");
    assert!(
        text_of(report).contains("do not forward: eve@gmail.example was not a recipient"),
        "{}",
        text_of(report)
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!catcher.caught().iter().any(|m| m.to == [EVE]));
}
both!(a_v1_envelope_reaches_only_the_recipients_recorded_for_it);
