//! Sender control (#19): one recipient's access removed from the Sent
//! folder, the command line or the API while the others keep reading; an
//! expiry chosen at compose; the message's branding and the organization's
//! name on every page and mail.

use crate::common::catcher::{Catcher, Caught};
use crate::common::*;

const REMOVED: &str = "The sender removed your access to this message.";
const REMOVED_JA: &str = "送信者によってこのメッセージへのアクセスが削除されました。";

/// Alice's protected message with one Message-ID to two people outside.
async fn to_two(app: &TestApp, catcher: &Catcher, id: &str, subject: &str) -> (String, String) {
    let before = catcher.caught().len();
    let raw = format!(
        "Message-ID: <{id}>\r\nFrom: alice@corp.example\r\nTo: bob@gmail.example, dave@yahoo.example\r\n\
         Subject: [secure] {subject}\r\n\r\nFor both of you."
    );
    smtp_send(
        app,
        "alice@corp.example",
        &["bob@gmail.example", "dave@yahoo.example"],
        raw.as_bytes(),
    )
    .await;
    let mails = catcher.wait_for(before + 2).await;
    let link_to = |who: &str| {
        let mail: &Caught = mails[before..]
            .iter()
            .find(|m| m.to.iter().any(|t| t == who))
            .expect("a notification for each");
        link_of(mail)
    };
    (link_to("bob@gmail.example"), link_to("dave@yahoo.example"))
}

/// Signs `client` in on the link with a passcode and returns the page.
async fn read(app: &TestApp, catcher: &Catcher, client: &reqwest::Client, link: &str) -> String {
    let code = passcode_from_mail(app, catcher, client, link).await;
    let r = enter_passcode(app, client, link, &code).await;
    assert_eq!(r.status(), 303, "the passcode opens the message");
    page_text(client, app.url(link)).await
}

async fn status_of(app: &TestApp, id: &str) -> serde_json::Value {
    let out = app.cli(&["message", "status", "--message-id", id, "--json"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn state_of(status: &serde_json::Value, address: &str) -> String {
    status[0]["Recipients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["Address"] == address)
        .map(|r| r["State"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn a_sender_removes_one_of_two_recipients(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    app.add_user("alice@corp.example", "sender", "alice long password")
        .await;
    let (bob_link, dave_link) = to_two(&app, &catcher, "two-1@corp.example", "Offer").await;
    let bob = browser();
    assert!(
        read(&app, &catcher, &bob, &bob_link)
            .await
            .contains("For both of you.")
    );

    let alice = app.client();
    sign_in(
        &app.address,
        &alice,
        "alice@corp.example",
        "alice long password",
    )
    .await;
    let list = page_text(&alice, app.url("/sent")).await;
    let start = list.find("href=\"/sent/").unwrap() + 6;
    let path: String = list[start..].chars().take_while(|c| *c != '"').collect();
    let page = page_text(&alice, app.url(&path)).await;
    // Two outside recipients: no whole-message button, one per recipient.
    assert!(!page.contains(">Remove external access<"), "{page}");
    assert!(
        page.contains("Remove access for bob@gmail.example"),
        "{page}"
    );
    assert!(
        page.contains("Remove access for dave@yahoo.example"),
        "{page}"
    );

    let r = alice
        .post(app.url(&path))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("recipient", "bob@gmail.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = page_text(&alice, app.url(&path)).await;
    assert!(
        page.contains("Access was removed for bob@gmail.example."),
        "{page}"
    );
    assert!(page.contains("bob@gmail.example (link, removed)"), "{page}");
    assert!(
        !page.contains("Remove access for bob@gmail.example"),
        "{page}"
    );

    // Bob, signed in a moment ago, is shut out on his very next request,
    // downloads included; in Japanese for a Japanese browser.
    let r = bob.get(app.url(&bob_link)).send().await.unwrap();
    assert_eq!(r.status(), 410);
    assert!(r.page().await.contains(REMOVED));
    let r = bob
        .get(app.url(&format!("{bob_link}/attachments/0")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    let r = browser_in("ja")
        .get(app.url(&bob_link))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    assert!(r.page().await.contains(REMOVED_JA));
    // Dave still reads.
    assert!(
        read(&app, &catcher, &browser(), &dave_link)
            .await
            .contains("For both of you.")
    );

    let status = status_of(&app, "two-1@corp.example").await;
    assert_eq!(state_of(&status, "bob@gmail.example"), "removed");
    assert_eq!(state_of(&status, "dave@yahoo.example"), "opened");
    let shown = stdout(&app.cli(
        &["message", "status", "--message-id", "two-1@corp.example"],
        None,
    ));
    assert!(
        shown.contains("bob@gmail.example (link, removed), dave@yahoo.example (link, opened)"),
        "{shown}"
    );
    // Who did it, in the message's timeline and the audit trail.
    let page = page_text(&alice, app.url(&path)).await;
    assert!(page.contains("access removed"), "{page}");
    let audit = stdout(&app.cli(&["audit", "--actor", "alice@corp.example"], None));
    assert!(audit.contains("recipient access removed"), "{audit}");
    assert!(audit.contains("bob@gmail.example of 'Offer'"), "{audit}");

    // Removing again says so; an address that was never a recipient too.
    let page = page_text(&alice, app.url(&path)).await;
    for (address, says) in [
        (
            "bob@gmail.example",
            "was already removed for bob@gmail.example",
        ),
        (
            "eve@evil.example",
            "eve@evil.example is not an external (link-based) recipient",
        ),
    ] {
        let r = alice
            .post(app.url(&path))
            .form(&[("csrf", csrf_of(&page).as_str()), ("recipient", address)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 409);
        let text = r.page().await;
        assert!(text.contains(says), "{text}");
    }
}
both!(a_sender_removes_one_of_two_recipients);

async fn the_command_line_and_the_api_remove_one_recipient(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    app.add_user("alice@corp.example", "sender", "alice long password")
        .await;

    let (bob_link, dave_link) = to_two(&app, &catcher, "cli-1@corp.example", "Plan").await;
    let out = app.cli(
        &[
            "message",
            "revoke",
            "--message-id",
            "cli-1@corp.example",
            "--recipient",
            "Dave@Yahoo.example",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "Access to the encrypted email with the subject 'Plan' was removed for dave@yahoo.example."
    );
    let r = browser().get(app.url(&dave_link)).send().await.unwrap();
    assert_eq!(r.status(), 410);
    assert!(r.page().await.contains(REMOVED));
    assert_eq!(
        browser()
            .get(app.url(&bob_link))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let bad = app.cli(
        &[
            "message",
            "revoke",
            "--message-id",
            "cli-1@corp.example",
            "--recipient",
            "not an address",
        ],
        None,
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("--recipient:"), "{}", stderr(&bad));

    // Alice's own token removes one recipient of a message to two, which
    // the whole-message revocation refuses her.
    let (bob_link, dave_link) = to_two(&app, &catcher, "api-1@corp.example", "Budget").await;
    let out = app.cli(
        &[
            "token",
            "create",
            "--user",
            "alice@corp.example",
            "--name",
            "script",
        ],
        None,
    );
    let token = stdout(&out).trim().to_string();
    let api = reqwest::Client::new();
    let revoke = |query: &str| {
        api.post(app.url(&format!(
            "/api/v1/messages/api-1@corp.example/revoke{query}"
        )))
        .bearer_auth(&token)
        .send()
    };
    let r = revoke("").await.unwrap();
    assert_eq!(
        r.status(),
        409,
        "a sender revokes whole messages to one only"
    );
    let r = revoke("?recipient=bob@gmail.example").await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        state_of(&serde_json::json!([body]), "bob@gmail.example"),
        "removed"
    );
    assert_eq!(body["Revoked"], false);
    assert_eq!(
        browser()
            .get(app.url(&bob_link))
            .send()
            .await
            .unwrap()
            .status(),
        410
    );
    assert_eq!(
        browser()
            .get(app.url(&dave_link))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = revoke("?recipient=bob@gmail.example").await.unwrap();
    assert_eq!(r.status(), 409);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "already_removed", "{body}");
    let r = revoke("?recipient=nobody").await.unwrap();
    assert_eq!(r.status(), 400);
}
both!(the_command_line_and_the_api_remove_one_recipient);

/// A gateway where Alice sends, with a template whose messages expire
/// after 30 days.
async fn alice_and_a_month_template(backend: Backend) -> (TestApp, Catcher) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    app.add_user("alice@corp.example", "sender", "alice long password")
        .await;
    let out = app.cli(
        &["template", "new", "--name", "Month", "--expiry-days", "30"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    (app, catcher)
}

/// The message's `ExpiresAt` is seven days from now.
async fn expires_in_seven_days(app: &TestApp, message_id: &str) {
    let status = status_of(app, message_id).await;
    let expires = status[0]["ExpiresAt"].as_str().unwrap().to_string();
    let expected = time::OffsetDateTime::now_utc() + time::Duration::days(7);
    assert!(
        expires.starts_with(&expected.date().to_string()),
        "seven days from now: {expires}"
    );
}

async fn compose_takes_an_expiry_within_the_templates(backend: Backend) {
    let (app, catcher) = alice_and_a_month_template(backend).await;
    let alice = app.client();
    sign_in(
        &app.address,
        &alice,
        "alice@corp.example",
        "alice long password",
    )
    .await;
    let compose = |template: &'static str, days: &'static str| {
        let alice = alice.clone();
        let url = app.url("/compose");
        async move {
            let page = page_text(&alice, url.clone()).await;
            let form = reqwest::multipart::Form::new()
                .text("csrf", csrf_of(&page))
                .text("to", "bob@gmail.example")
                .text("subject", "Short-lived")
                .text("body", "Read it this week.")
                .text("rights", "encrypt-only")
                .text("template", template)
                .text("expiry_days", days);
            alice.post(url).multipart(form).send().await.unwrap()
        }
    };
    let r = compose("Month", "31").await;
    assert_eq!(r.status(), 422);
    let text = r.page().await;
    assert!(
        text.contains("31 days is longer than the template&#x27;s expiry of 30 days")
            || text.contains("31 days is longer than the template's expiry of 30 days"),
        "{text}"
    );
    assert_eq!(compose("Month", "0").await.status(), 422);
    assert_eq!(compose("", "731").await.status(), 422);
    assert_eq!(compose("Month", "7").await.status(), 303);
    let link = link_of(&catcher.wait_for(1).await.remove(0));

    expires_in_seven_days(&app, &sent_message_id(&app).await).await;
    // The Sent folder and the message page say when.
    let sent = page_text(&alice, app.url("/sent")).await;
    assert!(sent.contains("Expires "), "{sent}");
    let page = read(&app, &catcher, &browser(), &link).await;
    assert!(page.contains("Expires"), "{page}");
}
both!(compose_takes_an_expiry_within_the_templates);

async fn sent_message_id(app: &TestApp) -> String {
    let out = app.cli(&["trace", "--sender", "alice@corp.example", "--json"], None);
    let lines: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    lines[0]["MessageId"].as_str().unwrap().to_string()
}

async fn every_page_and_mail_carries_the_messages_branding(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend)
        .await
        .gateway(&catcher)
        .setting("organization_name", "Contoso")
        .spawn()
        .await;
    let out = app.cli(
        &[
            "template",
            "set",
            "--name",
            "Default",
            "--background-color",
            "#7a1f5c",
            "--portal-text",
            "Contoso secure mail",
            "--privacy-statement-url",
            "https://corp.example/privacy",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (bob_link, dave_link) = to_two(&app, &catcher, "brand-1@corp.example", "Brand").await;
    // The notification names the organization and links its privacy statement.
    let notification = text_of(
        catcher
            .caught()
            .iter()
            .find(|m| m.to == ["dave@yahoo.example"])
            .unwrap(),
    );
    assert!(
        notification.contains("This notification comes from Contoso's secure mail."),
        "{notification}"
    );
    assert!(
        notification.contains("Privacy statement: https://corp.example/privacy"),
        "{notification}"
    );
    let landing = page_text(&browser(), app.url(&dave_link)).await;
    assert!(landing.contains("· Contoso</title>"), "{landing}");
    assert!(
        landing.contains(r#"href="https://corp.example/privacy""#),
        "{landing}"
    );
    // The passcode mail wears the template too.
    let dave = browser();
    passcode_from_mail(&app, &catcher, &dave, &dave_link).await;
    let passcode_mail = catcher.caught().pop().unwrap();
    let html = mail_parser::MessageParser::default()
        .parse(passcode_mail.data.as_bytes())
        .and_then(|m| m.body_html(0).map(|h| h.into_owned()))
        .expect("a passcode mail with an HTML part");
    assert!(html.contains("background:#7a1f5c"), "{html}");
    assert!(html.contains("Contoso secure mail"), "{html}");
    assert!(html.contains("https://corp.example/privacy"), "{html}");

    app.cli(
        &[
            "message",
            "revoke",
            "--message-id",
            "brand-1@corp.example",
            "--recipient",
            "bob@gmail.example",
        ],
        None,
    );
    let removed = page_text(&browser(), app.url(&bob_link)).await;
    app.cli(
        &["message", "revoke", "--message-id", "brand-1@corp.example"],
        None,
    );
    let revoked = page_text(&browser(), app.url(&dave_link)).await;
    for page in [&removed, &revoked] {
        assert!(page.contains("background:#7a1f5c"), "{page}");
        assert!(page.contains("Contoso secure mail"), "{page}");
        assert!(
            page.contains(r#"href="https://corp.example/privacy""#),
            "{page}"
        );
        assert!(page.contains("· Contoso</title>"), "{page}");
    }
    assert!(removed.contains(REMOVED), "{removed}");
    assert!(
        revoked.contains("The message was revoked by the sender."),
        "{revoked}"
    );
}
both!(every_page_and_mail_carries_the_messages_branding);

async fn the_api_sends_with_an_expiry(backend: Backend) {
    let (app, catcher) = alice_and_a_month_template(backend).await;
    let out = app.cli(
        &[
            "token",
            "create",
            "--user",
            "alice@corp.example",
            "--name",
            "mailer",
        ],
        None,
    );
    let token = stdout(&out).trim().to_string();
    let send = |body: serde_json::Value| {
        reqwest::Client::new()
            .post(app.url("/api/v1/messages"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let r = send(serde_json::json!({
        "to": ["bob@gmail.example"],
        "subject": "Too long",
        "template": "Month",
        "expiry_days": 31,
    }))
    .await
    .unwrap();
    assert_eq!(r.status(), 409);
    // A list longer than the document allows is refused while it is read.
    let many: Vec<&str> = vec![""; 10_000];
    let r = send(serde_json::json!({"to": many, "subject": "Many"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // An encoded word that decodes to a control character is stored
    // without it, on either database.
    let r =
        send(serde_json::json!({"to": ["bob@gmail.example"], "subject": "=?utf-8?B?AA==?= Hi"}))
            .await
            .unwrap();
    assert_eq!(r.status(), 202);
    let _ = catcher.wait_for(1).await;
    let r = send(serde_json::json!({"to": [], "subject": "Nobody"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = send(serde_json::json!({
        "to": ["bob@gmail.example"],
        "subject": "Contract",
        "body": "Please sign.",
        "rights": "do-not-forward",
        "template": "Month",
        "expiry_days": 7,
        "attachments": [{"name": "contract.pdf", "content_type": "application/pdf", "content": "JVBERi0xLjQ="}],
    }))
    .await
    .unwrap();
    assert_eq!(r.status(), 202);
    let sent: serde_json::Value = r.json().await.unwrap();
    assert_eq!(sent["recipients"], serde_json::json!(["bob@gmail.example"]));
    let message_id = sent["message_id"].as_str().unwrap().to_string();
    let link = link_of(&catcher.wait_for(2).await.remove(1));

    expires_in_seven_days(&app, &message_id).await;
    let page = read(&app, &catcher, &browser(), &link).await;
    assert!(page.contains("Please sign."), "{page}");
    assert!(page.contains("contract.pdf"), "{page}");
}
both!(the_api_sends_with_an_expiry);
