//! The administrator's pages: encryption report (and its CSV), message
//! detail with "Revoke message", trace, branding templates, transport rules
//! and users. Only administrators reach them.

use crate::common::catcher::Catcher;
use crate::common::*;
use reqwest::multipart::{Form, Part};

const ADMIN: &str = "root@corp.example";
const ADMIN_PASSWORD: &str = "root's long password";

struct Admin {
    app: TestApp,
    catcher: Catcher,
    client: reqwest::Client,
}

impl Admin {
    async fn start(backend: Backend) -> Admin {
        let catcher = Catcher::start().await;
        let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
        app.add_user(ADMIN, "admin", ADMIN_PASSWORD).await;
        app.add_user("alice@corp.example", "sender", "alice long password")
            .await;
        let client = browser();
        assert_eq!(
            sign_in(&app.address, &client, ADMIN, ADMIN_PASSWORD)
                .await
                .status(),
            303
        );
        Admin {
            app,
            catcher,
            client,
        }
    }

    async fn page(&self, path: &str) -> (u16, String) {
        let r = self.client.get(self.app.url(path)).send().await.unwrap();
        (r.status().as_u16(), r.page().await)
    }
}

async fn only_administrators_reach_the_admin_pages(backend: Backend) {
    let a = Admin::start(backend).await;
    for path in [
        "/admin/report",
        "/admin/trace",
        "/admin/templates",
        "/admin/users",
        "/admin/settings",
        "/admin/rules",
        "/admin/rules/new",
        "/admin/report.csv",
    ] {
        // Signed out: sent to sign in.
        let r = browser().get(a.app.url(path)).send().await.unwrap();
        assert!(
            r.status().is_redirection(),
            "{path} signed out: {}",
            r.status()
        );
        assert_eq!(location(&r), "/login", "{path}");
        // A sender: 403, told so, and no data.
        let alice = browser();
        sign_in(
            &a.app.address,
            &alice,
            "alice@corp.example",
            "alice long password",
        )
        .await;
        let r = alice.get(a.app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 403, "{path} as a sender");
        let page = r.page().await;
        assert!(page.contains("This page is for administrators."), "{page}");
        // The administrator: 200.
        let (status, _) = a.page(path).await;
        assert_eq!(status, 200, "{path} as the administrator");
    }
    // A sender's POST to an admin form is refused too.
    let alice = browser();
    sign_in(
        &a.app.address,
        &alice,
        "alice@corp.example",
        "alice long password",
    )
    .await;
    let page = page_text(&alice, a.app.url("/")).await;
    let r = alice
        .post(a.app.url("/admin/users"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("email", "eve@corp.example"),
            ("role", "admin"),
            ("password", "a long enough password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(!a.page("/admin/users").await.1.contains("eve@corp.example"));
}
both!(only_administrators_reach_the_admin_pages);

async fn the_report_finds_a_message_and_the_detail_view_revokes_it(backend: Backend) {
    let a = Admin::start(backend).await;
    send_with_id(
        &a.app,
        "alice@corp.example",
        "bob@gmail.example",
        "q4@corp.example",
        "[secure] Q4, \"final\"",
    )
    .await;
    let link = link_of(&a.catcher.wait_for(1).await.remove(0));

    let (status, report) = a.page("/admin/report?sender=alice%40corp.example").await;
    assert_eq!(status, 200);
    assert!(report.contains("&lt;q4@corp.example&gt;"), "{report}");
    assert!(report.contains("bob@gmail.example"));
    let (_, none) = a.page("/admin/report?state=revoked").await;
    assert!(none.contains("No messages match."), "{none}");
    let (_, refused) = a.page("/admin/report?since=last+week").await;
    assert!(
        alert_of(&refused)
            .unwrap()
            .starts_with("From: 'last week' is not a date"),
        "{refused}"
    );

    // The CSV has the same line, quoted where it must be.
    let r = a
        .client
        .get(a.app.url("/admin/report.csv?sender=alice%40corp.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = r.page().await;
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("ReceivedAt,Sender,Recipients,Subject,State,MessageId")
    );
    let row = lines.next().unwrap();
    assert!(row.contains(",alice@corp.example,bob@gmail.example,\"Q4, \"\"final\"\"\",protected,<q4@corp.example>"), "{row}");

    // The detail view: status, then "Revoke message".
    let detail = "/admin/message?id=%3Cq4%40corp.example%3E&sender=alice%40corp.example";
    let (status, page) = a.page(detail).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(r#"<dd id="is-revocable">True</dd>"#),
        "{page}"
    );
    assert!(page.contains("Revoke message"));
    assert!(page.contains("notification sent"), "the timeline: {page}");
    let r = a
        .client
        .post(a.app.url("/admin/message/revoke"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("id", "<q4@corp.example>"),
            ("sender", "alice@corp.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, page) = a.page(detail).await;
    assert!(page.contains(r#"<dd id="revoked">True</dd>"#), "{page}");
    assert_eq!(
        alert_of(&page).as_deref(),
        Some("The encrypted email with the subject 'Q4, \"final\"' was successfully revoked.")
    );
    assert!(!page.contains(">Revoke message<"));
    // The recipient's link says so at once.
    let r = browser().get(a.app.url(&link)).send().await.unwrap();
    assert_eq!(r.status(), 410);

    // The trace shows it too, revoked.
    let (_, trace) = a.page("/admin/trace?recipient=bob%40gmail.example").await;
    assert!(trace.contains("<td>revoked</td>"), "{trace}");
}
both!(the_report_finds_a_message_and_the_detail_view_revokes_it);

async fn a_changed_template_brands_the_next_notification_and_portal(backend: Backend) {
    let a = Admin::start(backend).await;
    let (_, list) = a.page("/admin/templates").await;
    let r = a
        .client
        .post(a.app.url("/admin/templates"))
        .form(&[("csrf", csrf_of(&list).as_str()), ("name", "Default2")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/admin/templates/Default2");

    // Edit the default template: color, portal text, a logo.
    let (status, edit) = a.page("/admin/templates/Default").await;
    assert_eq!(status, 200);
    assert!(edit.contains("id=\"preview-mail\"") && edit.contains("id=\"preview-portal\""));
    // The color is in the form as served: saved without JavaScript (or
    // before the editor hydrates) it stays what it was.
    assert!(edit.contains(r##"type="color" value="#1f4e79""##), "{edit}");
    let logo = b"\x89PNG\r\n\x1a\nstand-in logo".to_vec();
    let form = Form::new()
        .text("csrf", csrf_of(&edit))
        .text("name", "Default")
        .text("background_color", "#7a1f5c")
        .text("portal_text", "Contoso Legal")
        .text("otp_enabled", "yes")
        .text("social_enabled", "yes")
        .text("expiry_days", "0")
        .part(
            "logo",
            Part::bytes(logo.clone())
                .file_name("logo.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let r = a
        .client
        .post(a.app.url("/admin/templates/Default"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.page().await);
    let (_, edit) = a.page("/admin/templates/Default").await;
    assert_eq!(
        alert_of(&edit).as_deref(),
        Some("Saved. The next notifications and portal pages use it.")
    );

    // A bad color is refused with the field named, and nothing changes.
    let form = Form::new()
        .text("csrf", csrf_of(&edit))
        .text("name", "Default")
        .text("background_color", "purple")
        .text("otp_enabled", "yes");
    let r = a
        .client
        .post(a.app.url("/admin/templates/Default"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(
        alert_of(&r.page().await)
            .unwrap()
            .starts_with("background-color: 'purple'")
    );

    // The next notification and the portal wear it.
    smtp_send(&a.app, "alice@corp.example", &["bob@gmail.example"], b"From: alice@corp.example\r\nTo: bob@gmail.example\r\nSubject: [secure] Branded\r\n\r\nbody").await;
    let mail = a.catcher.wait_for(1).await.remove(0);
    assert!(mail.data.contains("#7a1f5c"), "the notification's color");
    let portal = page_text(&browser(), a.app.url(&link_of(&mail))).await;
    assert!(portal.contains("background:#7a1f5c"), "{portal}");
    assert!(portal.contains("Contoso Legal"));
    assert!(portal.contains("/branding/"), "the logo: {portal}");

    // The default template cannot be removed.
    let r = a
        .client
        .post(a.app.url("/admin/templates/Default/remove"))
        .form(&[("csrf", csrf_of(&edit).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
}
both!(a_changed_template_brands_the_next_notification_and_portal);

async fn an_administrator_adds_a_user(backend: Backend) {
    let a = Admin::start(backend).await;
    let (_, page) = a.page("/admin/users").await;
    let add = |email: &'static str, password: &'static str| {
        let csrf = csrf_of(&page);
        let client = a.client.clone();
        let url = a.app.url("/admin/users");
        async move {
            client
                .post(url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("email", email),
                    ("role", "sender"),
                    ("password", password),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let r = add("carol@corp.example", "short").await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        alert_of(&r.page().await).as_deref(),
        Some("Temporary password: at least 12 characters.")
    );
    let r = add("carol@corp.example", "a temporary password").await;
    assert_eq!(r.status(), 303);
    let (_, page) = a.page("/admin/users").await;
    assert!(page.contains("<td>carol@corp.example</td>"), "{page}");
    assert!(page.contains("must choose a password"));
    // She signs in and must choose her own password first.
    let carol = browser();
    let r = sign_in(
        &a.app.address,
        &carol,
        "carol@corp.example",
        "a temporary password",
    )
    .await;
    assert_eq!(location(&r), "/account/password");
}
both!(an_administrator_adds_a_user);

async fn the_protection_settings_page_changes_what_irm_config_shows(backend: Backend) {
    let a = Admin::start(backend).await;
    let (status, page) = a.page("/admin/settings").await;
    assert_eq!(status, 200);
    assert!(
        page.contains(r#"<option value="optional" selected"#),
        "{page}"
    );
    let r = a
        .client
        .post(a.app.url("/admin/settings"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("transport_decryption", "mandatory"),
            ("foreign_protected", "reject"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let shown = stdout(&a.app.cli(&["irm-config", "show"], None));
    assert_eq!(
        shown,
        "TransportDecryption : mandatory\nForeignProtected    : reject\n"
    );
    let r = a
        .client
        .post(a.app.url("/admin/settings"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("transport_decryption", "sometimes"),
            ("foreign_protected", "pass"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
}
both!(the_protection_settings_page_changes_what_irm_config_shows);

async fn rules_are_managed_from_the_admin_pages(backend: Backend) {
    let a = Admin::start(backend).await;
    let (status, page) = a.page("/admin/rules").await;
    assert_eq!(status, 200);
    assert!(page.contains("There are no transport rules yet."), "{page}");
    let (_, form) = a.page("/admin/rules/new").await;
    let csrf = csrf_of(&form);
    let post = |path: &'static str, fields: Vec<(&'static str, &'static str)>| {
        let mut fields = fields;
        fields.push(("csrf", csrf.as_str()));
        let form: Vec<(String, String)> = fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        a.client.post(a.app.url(path)).form(&form).send()
    };
    // Refused: no action; the form comes back as typed, with why.
    let r = post(
        "/admin/rules/save",
        vec![
            ("original_name", ""),
            ("name", "Outside"),
            ("sent_to_scope", "external"),
            ("subject_or_body_contains", "confidential\nsecret"),
            ("enabled", "yes"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    let page = r.page().await;
    assert!(
        page.contains("A rule needs an action: Put in front of the subject, Apply protection, Append this disclaimer or Reject the message with this text."),
        "{page}"
    );
    assert!(
        page.contains("confidential\nsecret</textarea>"),
        "kept: {page}"
    );
    assert!(
        page.contains(r#"<option value="external" selected"#),
        "{page}"
    );
    // A bad pattern names the field.
    let r = post(
        "/admin/rules/save",
        vec![
            ("original_name", ""),
            ("name", "Outside"),
            ("subject_or_body_matches", "(unclosed"),
            ("prepend_subject", "[EXT] "),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    assert!(
        r.page()
            .await
            .contains("The subject or body matches: not a valid regular expression")
    );

    for (name, prefix) in [("Outside", "[EXT] "), ("Second", "[2] ")] {
        let r = post(
            "/admin/rules/save",
            vec![
                ("original_name", ""),
                ("name", name),
                ("sent_to_scope", "external"),
                ("prepend_subject", prefix),
                ("apply_protection", "do-not-forward"),
                ("enabled", "yes"),
            ],
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 303, "{name}");
    }
    let shown = stdout(&a.app.cli(&["rule", "show", "Outside"], None));
    assert!(shown.contains("PrependSubject     : [EXT] "), "{shown}");
    assert!(
        shown.contains("ApplyProtection    : do-not-forward"),
        "{shown}"
    );
    let (_, page) = a.page("/admin/rules").await;
    assert!(page.contains("Created the rule"), "{page}");
    assert!(
        page.contains("If a recipient is outside the organization: prepend"),
        "{page}"
    );

    // Move the second up; disable it; the command line sees the same.
    let r = post(
        "/admin/rules/change",
        vec![("name", "Second"), ("do", "up")],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let r = post(
        "/admin/rules/change",
        vec![("name", "Second"), ("do", "disable")],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&a.app.cli(&["rule", "list", "--json"], None))).unwrap();
    assert_eq!(json[0]["name"], "Second");
    assert_eq!(json[0]["enabled"], false);

    // Edit: the form holds the rule; an emptied field removes the setting.
    let (status, edit) = a.page("/admin/rules/edit?name=Outside").await;
    assert_eq!(status, 200);
    assert!(edit.contains(r#"value="[EXT] ""#), "{edit}");
    let r = post(
        "/admin/rules/save",
        vec![
            ("original_name", "Outside"),
            ("name", "Outside mail"),
            ("sent_to_scope", "external"),
            ("prepend_subject", "[EXT] "),
            ("apply_protection", ""),
            ("enabled", "yes"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let shown = stdout(&a.app.cli(&["rule", "show", "Outside mail"], None));
    assert!(!shown.contains("ApplyProtection"), "{shown}");
    assert_eq!(a.page("/admin/rules/edit?name=Outside").await.0, 404);

    // Removing needs the box ticked.
    let r = post(
        "/admin/rules/change",
        vec![("name", "Outside mail"), ("do", "remove")],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    let r = post(
        "/admin/rules/change",
        vec![
            ("name", "Outside mail"),
            ("do", "remove"),
            ("confirm", "yes"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(a.app.count_events("rule removed").await, 1);
    assert!(!stdout(&a.app.cli(&["rule", "list"], None)).contains("Outside mail"));
}
both!(rules_are_managed_from_the_admin_pages);

/// The day's row of the report's chart table: sent, opened, revoked, expired.
fn chart_row(page: &str, day: &str) -> Vec<u32> {
    let row = page
        .split(&format!(r#"<th scope="row">{day}</th>"#))
        .nth(1)
        .expect("a row for the day")
        .split("</tr>")
        .next()
        .unwrap();
    row.split("<td>")
        .skip(1)
        .map(|cell| cell.split('<').next().unwrap().parse().unwrap())
        .collect()
}

async fn the_report_charts_the_days_and_pages_at_fifty(backend: Backend) {
    let a = Admin::start(backend).await;
    // 52 protected messages today: one Bob opens, one Alice revokes.
    for n in 0..52 {
        send_with_id(
            &a.app,
            "alice@corp.example",
            "bob@gmail.example",
            &format!("day-{n}@corp.example"),
            &format!("[secure] Note {n}"),
        )
        .await;
    }
    let mails = a.catcher.wait_for(52).await;
    let link = link_of(
        mails
            .iter()
            .find(|m| text_of(m).contains("Note 7"))
            .unwrap(),
    );
    let bob = browser();
    let code = passcode_from_mail(&a.app, &a.catcher, &bob, &link).await;
    enter_passcode(&a.app, &bob, &link, &code).await;
    let out = a.app.cli(
        &["message", "revoke", "--message-id", "day-3@corp.example"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));

    let (status, page) = a.page("/admin/report").await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"class="bars""#), "an SVG chart: {page}");
    assert!(page.contains("Protected messages per day"), "{page}");
    let today = time::OffsetDateTime::now_utc().date().to_string();
    assert_eq!(chart_row(&page, &today), [50, 1, 1, 0]);
    // Date inputs, readable times, 50 lines and a way on.
    assert!(
        page.contains(r#"id="since" name="since" type="date""#),
        "{page}"
    );
    assert!(page.contains(" UTC</time>"), "{page}");
    assert_eq!(page.matches("/admin/message?id=").count(), 50);
    assert!(
        page.contains(r#"href="/admin/report?page=2" rel="next""#),
        "{page}"
    );
    let (_, second) = a.page("/admin/report?page=2").await;
    assert_eq!(second.matches("/admin/message?id=").count(), 2);
    assert!(second.contains(r#"rel="prev""#), "{second}");
    assert!(!second.contains(r#"rel="next""#), "{second}");
    // In Japanese, the chart's words follow the page.
    let ja = a
        .client
        .get(a.app.url("/admin/report"))
        .header("accept-language", "ja")
        .send()
        .await
        .unwrap()
        .page()
        .await;
    assert!(ja.contains("1 日あたりの保護されたメッセージ"), "{ja}");
    assert!(ja.contains("開封済み"), "{ja}");

    // The Sent folder pages the same way.
    let alice = a.app.client();
    sign_in(
        &a.app.address,
        &alice,
        "alice@corp.example",
        "alice long password",
    )
    .await;
    let sent = page_text(&alice, a.app.url("/sent")).await;
    assert_eq!(sent.matches(r#"<h2><a href="/sent/"#).count(), 50, "{sent}");
    assert!(sent.contains(r#"href="/sent?page=2" rel="next""#), "{sent}");
    let sent = page_text(&alice, a.app.url("/sent?page=2")).await;
    assert_eq!(sent.matches(r#"<h2><a href="/sent/"#).count(), 2, "{sent}");
}
both!(the_report_charts_the_days_and_pages_at_fifty);
