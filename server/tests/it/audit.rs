//! The audit trail: every change an administrator makes, from the command
//! line, the JSON API or the admin pages, is listed by `sealpost audit` and
//! on `/admin/audit` with who made it and from where; and a change whose
//! audit line cannot be written is not made, from any surface.

use crate::common::*;
use serde_json::{Value, json};

/// `sealpost ARGS` run by `ops`, which must succeed: its standard output.
fn ops_ok(app: &TestApp, args: &[&str]) -> String {
    let out = ops(app, args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

/// An admin page's form posted by `admin`, with the page's CSRF token.
async fn post_on(
    admin: &reqwest::Client,
    app: &TestApp,
    page: &str,
    to: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let csrf = csrf_on(admin, app, page).await;
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    admin.post(app.url(to)).form(&form).send().await.unwrap()
}

/// `sealpost ARGS` run by the operating-system user `ops`.
fn ops(app: &TestApp, args: &[&str]) -> std::process::Output {
    run_cli(&app.db, args, None, &[("USER", "ops")])
}

async fn signed_in_admin(app: &TestApp) -> reqwest::Client {
    let client = app.client();
    let r = sign_in(
        &app.address,
        &client,
        "root@corp.example",
        "root long password",
    )
    .await;
    assert_eq!(location(&r), "/", "the administrator signs in");
    client
}

/// The CSRF token of the form on `path`.
async fn csrf_on(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    csrf_of(&page_text(client, app.url(path)).await)
}

/// The admin page's "Add user" form, for new@corp.example.
async fn add_new_user(admin: &reqwest::Client, app: &TestApp, csrf: &str) -> reqwest::Response {
    admin
        .post(app.url("/admin/users"))
        .form(&[
            ("csrf", csrf),
            ("email", "new@corp.example"),
            ("role", "sender"),
            ("password", "a temporary password"),
        ])
        .send()
        .await
        .unwrap()
}

async fn api_put_template(app: &TestApp, token: &str, name: &str, body: Value) -> u16 {
    reqwest::Client::new()
        .put(app.url(&format!("/api/v1/templates/{name}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn every_surface_is_in_the_audit_trail(backend: Backend) {
    let app = TestApp::on(backend).await.spawn().await;
    app.add_user("root@corp.example", "admin", "root long password")
        .await;
    app.add_user("sam@corp.example", "sender", "sam long password")
        .await;

    // The command line makes a template and a token for a script.
    ops_ok(
        &app,
        &[
            "template",
            "new",
            "--name",
            "Legal",
            "--background-color",
            "#1f4e79",
        ],
    );
    let out = ops_ok(
        &app,
        &[
            "token",
            "create",
            "--user",
            "root@corp.example",
            "--name",
            "deploy",
        ],
    );
    let token = out.trim().to_string();

    // The script changes the template through the API.
    let status = api_put_template(&app, &token, "Legal", json!({"PortalText": "Legal team"})).await;
    assert_eq!(status, 200);

    // The administrator removes it on the admin pages and adds a user.
    let admin = signed_in_admin(&app).await;
    let r = post_on(
        &admin,
        &app,
        "/admin/templates/Legal",
        "/admin/templates/Legal/remove",
        &[],
    )
    .await;
    assert_eq!(location(&r), "/admin/templates", "the template is removed");
    let csrf = csrf_on(&admin, &app, "/admin/users").await;
    let r = add_new_user(&admin, &app, &csrf).await;
    assert_eq!(location(&r), "/admin/users", "the user is added");
    let settings = [
        ("transport_decryption", "mandatory"),
        ("foreign_protected", "pass"),
    ];
    let r = post_on(
        &admin,
        &app,
        "/admin/settings",
        "/admin/settings",
        &settings,
    )
    .await;
    assert_eq!(location(&r), "/admin/settings", "the settings are saved");

    // The command line adds a rule and revokes the script's token.
    ops_ok(
        &app,
        &[
            "rule",
            "new",
            "Outside",
            "--sent-to-scope",
            "external",
            "--prepend-subject",
            "[EXT] ",
        ],
    );
    ops_ok(
        &app,
        &[
            "token",
            "revoke",
            "--user",
            "root@corp.example",
            "--name",
            "deploy",
        ],
    );

    // `sealpost audit --json` lists each change with its actor and surface.
    let out = ops(&app, &["audit", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let trail: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
    // The first start made the first administrator.
    let first = &trail[0];
    assert!(
        first["Actor"]
            .as_str()
            .unwrap()
            .starts_with("command line as ")
    );
    assert_eq!(
        (
            &first["Surface"],
            &first["Action"],
            &first["Target"],
            &first["Detail"]
        ),
        (
            &json!("cli"),
            &json!("user added"),
            &json!("admin@localhost"),
            &json!("admin, temporary password")
        )
    );
    let said: Vec<(String, String, String, String)> = trail
        .iter()
        .skip(1)
        .filter(|e| e["Actor"] != "command line as test setup")
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (
                text("Actor"),
                text("Surface"),
                text("Action"),
                text("Target"),
            )
        })
        .collect();
    let line = |actor: &str, surface: &str, action: &str, target: &str| {
        (actor.into(), surface.into(), action.into(), target.into())
    };
    assert_eq!(
        said,
        vec![
            line("command line as ops", "cli", "template created", "Legal"),
            line(
                "command line as ops",
                "cli",
                "API token created",
                "deploy of root@corp.example"
            ),
            line(
                "token:deploy of root@corp.example",
                "api",
                "template changed",
                "Legal"
            ),
            line("user:root@corp.example", "web", "template removed", "Legal"),
            line(
                "user:root@corp.example",
                "web",
                "user added",
                "new@corp.example"
            ),
            line(
                "user:root@corp.example",
                "web",
                "protection settings changed",
                ""
            ),
            line("command line as ops", "cli", "rule created", "Outside"),
            line(
                "command line as ops",
                "cli",
                "API token revoked",
                "deploy of root@corp.example"
            ),
        ]
    );
    let changed = trail
        .iter()
        .find(|e| e["Action"] == "template changed")
        .unwrap();
    assert_eq!(changed["Detail"], "PortalText changed");
    let settings = trail
        .iter()
        .find(|e| e["Action"] == "protection settings changed")
        .unwrap();
    assert_eq!(
        settings["Detail"],
        "TransportDecryption mandatory, ForeignProtected pass"
    );
    assert!(
        trail
            .iter()
            .all(|e| e["At"].as_str().unwrap().ends_with('Z')),
        "times are RFC 3339 in UTC"
    );

    // --actor: one person's changes, through the pages and their tokens.
    let out = ops(&app, &["audit", "--actor", "ROOT@corp.example"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.matches("Actor   : ").count(), 4, "{text}");
    assert!(
        text.contains("Actor   : token:deploy of root@corp.example"),
        "{text}"
    );
    assert!(text.contains("Surface : web"), "{text}");
    assert!(!text.contains("command line as ops"), "{text}");
    let out = ops(&app, &["audit", "--actor", "command line as ops"]);
    assert_eq!(stdout(&out).matches("Actor   : ").count(), 4);

    // --since: nothing yet in the future; a date that is no date is refused.
    let out = ops(&app, &["audit", "--since", "2999-01-01"]);
    assert!(out.status.success());
    assert_eq!(stdout(&out).trim(), "No changes match.");
    let out = ops(&app, &["audit", "--since", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--since: 'yesterday' is not a date"),
        "{}",
        stderr(&out)
    );

    // The admin page shows the same, newest first, and filters the same way.
    let page = page_text(&admin, app.url("/admin/audit")).await;
    let removed = page
        .find("template removed")
        .expect("the page lists the removal");
    let created = page
        .find("template created")
        .expect("the page lists the creation");
    assert!(removed < created, "newest first");
    assert!(page.contains("token:deploy of root@corp.example"), "{page}");
    let page = page_text(&admin, app.url("/admin/audit?actor=root%40corp.example")).await;
    assert!(!page.contains("command line as ops"), "{page}");
    assert!(page.contains("user added"), "{page}");
    let page = page_text(&admin, app.url("/admin/audit?since=soon")).await;
    assert!(
        page.contains("From: &#x27;soon&#x27; is not a date")
            || page.contains("From: 'soon' is not a date"),
        "{page}"
    );

    // A sender sees no audit trail.
    let sam = app.client();
    sign_in(&app.address, &sam, "sam@corp.example", "sam long password").await;
    let r = sam.get(app.url("/admin/audit")).send().await.unwrap();
    assert_eq!(r.status(), 403);
}
both!(every_surface_is_in_the_audit_trail);

/// Renames the audit table away, so every audit write fails.
async fn break_the_audit_trail(app: &TestApp) {
    let sql = "ALTER TABLE audit RENAME TO audit_away";
    match app.store.db() {
        server::store::Db::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        server::store::Db::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
    }
    .expect("rename the audit table");
}

async fn a_change_that_cannot_be_recorded_is_not_made(backend: Backend) {
    let app = TestApp::on(backend).await.spawn().await;
    app.add_user("root@corp.example", "admin", "root long password")
        .await;
    let token = ops_ok(
        &app,
        &[
            "token",
            "create",
            "--user",
            "root@corp.example",
            "--name",
            "deploy",
        ],
    )
    .trim()
    .to_string();
    ops_ok(&app, &["template", "new", "--name", "Legal"]);
    let admin = signed_in_admin(&app).await;
    let csrf = csrf_on(&admin, &app, "/admin/users").await;
    break_the_audit_trail(&app).await;

    // The command line: refused, and no template was made.
    let out = ops(&app, &["template", "new", "--name", "Unrecorded"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).starts_with("sealpost: database error"),
        "{}",
        stderr(&out)
    );
    // The API: the change is refused and the template keeps its text.
    let status = api_put_template(&app, &token, "Legal", json!({"PortalText": "Unrecorded"})).await;
    assert_eq!(status, 503);
    // The admin pages: the user is not added.
    let r = add_new_user(&admin, &app, &csrf).await;
    assert_eq!(r.status(), 503);

    let names: Vec<String> = app
        .store
        .templates_full()
        .await
        .unwrap()
        .into_iter()
        .map(|t| {
            assert_ne!(t.portal_text.as_deref(), Some("Unrecorded"));
            t.name
        })
        .collect();
    assert_eq!(names, ["Default", "Legal"]);
    let new = server::domain::EmailAddress::parse("new@corp.example").unwrap();
    assert!(app.store.user_by_email(&new).await.unwrap().is_none());
}
both!(a_change_that_cannot_be_recorded_is_not_made);
