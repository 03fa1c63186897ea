//! `sealpost template ...`: branding templates, and their effect on the
//! notification and the portal.

use crate::common::catcher::Catcher;
use crate::common::*;

async fn a_template_brands_the_notification_and_the_portal(backend: Backend) {
    let catcher = Catcher::start().await;
    let db = TestDatabase::new(backend).await;
    let relay = catcher.url();
    let app = TestApp::builder(db)
        .settings(&[("relay_url", relay.as_str())])
        .spawn()
        .await;
    let logo = app.db.dir.path().join("logo.png");
    std::fs::write(&logo, b"\x89PNG\r\n\x1a\nnot really an image").unwrap();

    let out = app.cli(
        &[
            "template",
            "new",
            "--name",
            "Legal",
            "--background-color",
            "#FFCC00",
            "--portal-text",
            "Legal department",
            "--logo",
            logo.to_str().unwrap(),
            "--expiry-days",
            "30",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&app.cli(&["template", "show", "--name", "Legal"], None));
    assert!(
        shown.contains("BackgroundColor          : #ffcc00"),
        "{shown}"
    );
    assert!(
        shown.contains("Logo                     : image/png (27 bytes)"),
        "{shown}"
    );
    assert!(shown.contains("ExternalMailExpiryInDays : 30"), "{shown}");

    // Bad values name their flag; the default template stays.
    let bad = app.cli(
        &[
            "template",
            "set",
            "--name",
            "Legal",
            "--background-color",
            "yellow",
        ],
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("--background-color: 'yellow' is not a color"),
        "{}",
        stderr(&bad)
    );
    let bad = app.cli(
        &["template", "set", "--name", "Legal", "--expiry-days", "731"],
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
    let default = app.cli(&["template", "remove", "--name", "Default"], None);
    assert_eq!(default.status.code(), Some(1));
    assert_eq!(
        stderr(&default).trim(),
        "sealpost: 'Default' is the default template and cannot be removed."
    );

    // A message sent with the template carries its branding and expiry.
    app.add_user("alice@corp.example", "sender", "alice long password")
        .await;
    let alice = app.client();
    sign_in(
        &app.address,
        &alice,
        "alice@corp.example",
        "alice long password",
    )
    .await;
    let page = alice
        .get(app.url("/compose"))
        .send()
        .await
        .unwrap()
        .page()
        .await;
    assert!(page.contains(r#"<option value="Legal""#), "{page}");
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf_of(&page))
        .text("to", "bob@gmail.example")
        .text("subject", "Contract")
        .text("body", "Sign here.")
        .text("rights", "encrypt-only")
        .text("template", "Legal");
    assert_eq!(
        alice
            .post(app.url("/compose"))
            .multipart(form)
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let mail = catcher.wait_for(1).await.remove(0);
    let parsed = mail_parser::MessageParser::default()
        .parse(mail.data.as_bytes())
        .unwrap();
    assert!(
        parsed
            .body_html(0)
            .unwrap()
            .contains("background:#ffcc00;color:#000000"),
        "readable text on the template's color"
    );
    let link = link_of(&mail);
    let landing = browser()
        .get(app.url(&link))
        .send()
        .await
        .unwrap()
        .page()
        .await;
    assert!(landing.contains("Legal department"), "{landing}");
    assert!(landing.contains("background:#ffcc00"), "{landing}");

    // The logo: inline in the notification, served for the portal.
    assert!(parsed.body_html(0).unwrap().contains(r#"src="cid:logo""#));
    assert!(
        mail.data.contains("Content-ID: <logo>"),
        "the notification carries the logo inline"
    );
    let start = landing
        .find("/branding/")
        .expect("the landing shows the logo");
    let logo_path: String = landing[start..].chars().take_while(|c| *c != '"').collect();
    let r = browser().get(app.url(&logo_path)).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        b"\x89PNG\r\n\x1a\nnot really an image"
    );

    // In use by a message, the template cannot be removed; the notice says why.
    let used = app.cli(&["template", "remove", "--name", "Legal"], None);
    assert_eq!(used.status.code(), Some(1));
    assert!(
        stderr(&used).contains("is used by messages"),
        "{}",
        stderr(&used)
    );
    let reset = app.cli(
        &[
            "template",
            "set",
            "--name",
            "Legal",
            "--portal-text",
            "null",
        ],
        None,
    );
    assert!(
        stdout(&reset).contains("PortalText               : \n"),
        "{}",
        stdout(&reset)
    );
}
both!(a_template_brands_the_notification_and_the_portal);
