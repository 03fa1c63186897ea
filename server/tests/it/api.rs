//! The JSON API: tokens act with their user's role; status, revocation,
//! trace and templates; and a revocation made through one node is refused
//! by another node sharing the database on the very next request.

use crate::common::catcher::Catcher;
use crate::common::*;
use serde_json::{Value, json};

async fn gateway(backend: Backend) -> (TestApp, Catcher) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    app.add_user("alice@corp.example", "sender", "alice long password")
        .await;
    app.add_user("mallory@corp.example", "sender", "mallory long password")
        .await;
    app.add_user("root@corp.example", "admin", "root long password")
        .await;
    (app, catcher)
}

/// A token made with the command line, as an administrator would.
fn token(app: &TestApp, user: &str, name: &str) -> String {
    let out = app.cli(&["token", "create", "--user", user, "--name", name], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let token = stdout(&out).trim().to_string();
    assert!(token.starts_with("sp_"), "{token}");
    token
}

struct Api {
    base: String,
    token: Option<String>,
    client: reqwest::Client,
}

impl Api {
    fn new(base: &str, token: Option<&str>) -> Api {
        Api {
            base: format!("{base}/api/v1"),
            token: token.map(str::to_string),
            client: reqwest::Client::new(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let r = request.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.page().await;
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, None).await
    }
}

async fn tokens_act_with_their_users_role(backend: Backend) {
    let (app, _catcher) = gateway(backend).await;
    send_with_id(
        &app,
        "alice@corp.example",
        "bob@gmail.example",
        "plan-1@corp.example",
        "[secure] Plan",
    )
    .await;
    let alice = Api::new(
        &app.address,
        Some(&token(&app, "alice@corp.example", "alice's script")),
    );
    let mallory = Api::new(
        &app.address,
        Some(&token(&app, "mallory@corp.example", "mallory")),
    );
    let admin = Api::new(&app.address, Some(&token(&app, "root@corp.example", "ops")));

    // No token, or a wrong one: 401 with the error format.
    for api in [
        Api::new(&app.address, None),
        Api::new(&app.address, Some("sp_not-a-real-token")),
    ] {
        let (status, body) = api.get("/messages/plan-1@corp.example").await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["code"], "unauthorized");
        assert!(body["error"].as_str().unwrap().contains("Bearer"));
    }

    // The sender sees her message, with the command line's keys.
    let (status, body) = alice.get("/messages/%3Cplan-1@corp.example%3E").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["MessageId"], "<plan-1@corp.example>");
    assert_eq!(body[0]["Subject"], "Plan");
    assert_eq!(body[0]["IsRevocable"], true);
    assert_eq!(body[0]["Recipients"][0]["Experience"], "link");

    // Another sender may neither see nor revoke it; nor use admin operations.
    assert_eq!(mallory.get("/messages/plan-1@corp.example").await.0, 403);
    let (status, body) = mallory.post("/messages/plan-1@corp.example/revoke").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "forbidden");
    assert_eq!(mallory.get("/trace").await.0, 403);
    assert_eq!(mallory.get("/templates").await.0, 403);

    // Unknown Message-ID: 404.
    let (status, body) = admin.get("/messages/nothing@corp.example").await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "not_found");
    assert_eq!(
        body["error"],
        "No message with Message-ID <nothing@corp.example>."
    );

    // The administrator traces it, then the sender revokes it; twice is a conflict.
    let (status, body) = admin.get("/trace?sender=alice@corp.example").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["MessageId"], "<plan-1@corp.example>");
    let (status, body) = admin.get("/trace?since=yesterday").await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "invalid");

    let (status, body) = alice.post("/messages/plan-1@corp.example/revoke").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["Revoked"], true);
    let (status, body) = admin.post("/messages/plan-1@corp.example/revoke").await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "already_revoked");
    assert_eq!(
        body["error"],
        "The encrypted email with the subject 'Plan' is already revoked."
    );

    // A revoked token stops working at once.
    let out = app.cli(
        &[
            "token",
            "revoke",
            "--user",
            "alice@corp.example",
            "--name",
            "alice's script",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(alice.get("/messages/plan-1@corp.example").await.0, 401);
    let listed = stdout(&app.cli(&["token", "list"], None));
    assert!(
        listed.contains("alice's script") && !listed.contains("sp_"),
        "{listed}"
    );
}
both!(tokens_act_with_their_users_role);

async fn inline_only_messages_are_refused_with_the_reason(backend: Backend) {
    let (app, catcher) = gateway(backend).await;
    send_with_id(
        &app,
        "alice@corp.example",
        "carol@corp.example",
        "memo@corp.example",
        "[secure] Memo",
    )
    .await;
    // Carol's inline copy has left: the message is protected.
    catcher.wait_for(1).await;
    let admin = Api::new(&app.address, Some(&token(&app, "root@corp.example", "ops")));
    let (status, body) = admin.post("/messages/memo@corp.example/revoke").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "not_revocable");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("delivered inline to carol@corp.example"),
        "{body}"
    );
}
both!(inline_only_messages_are_refused_with_the_reason);

async fn templates_through_the_api(backend: Backend) {
    let (app, _catcher) = gateway(backend).await;
    let admin = Api::new(&app.address, Some(&token(&app, "root@corp.example", "ops")));
    use base64::Engine;
    let logo = base64::engine::general_purpose::STANDARD.encode(b"\x89PNG\r\n\x1a\nstand-in image");

    let (status, body) = admin
        .call(
            reqwest::Method::POST,
            "/templates",
            Some(json!({"Name": "Legal", "BackgroundColor": "#336699", "Logo": logo, "ExternalMailExpiryInDays": 30})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["BackgroundColor"], "#336699");
    assert_eq!(body["Logo"]["ContentType"], "image/png");
    assert_eq!(body["OTPEnabled"], true);

    let (status, body) = admin
        .call(
            reqwest::Method::PUT,
            "/templates/Legal",
            Some(json!({"BackgroundColor": "blue"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "invalid");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("background-color:"),
        "{body}"
    );

    // What GET returns can be sent back; null resets a field.
    let (_, shown) = admin.get("/templates/Legal").await;
    let mut changed = shown.clone();
    changed["PortalText"] = json!("Legal department");
    changed["BackgroundColor"] = Value::Null;
    let (status, body) = admin
        .call(reqwest::Method::PUT, "/templates/Legal", Some(changed))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["PortalText"], "Legal department");
    assert_eq!(body["BackgroundColor"], Value::Null);
    assert_eq!(
        body["Logo"]["ContentType"], "image/png",
        "the logo was kept"
    );

    let (status, body) = admin
        .call(reqwest::Method::DELETE, "/templates/Default", None)
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = admin
        .call(reqwest::Method::DELETE, "/templates/Legal", None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(admin.get("/templates/Legal").await.0, 404);

    // The document that describes all this is served.
    let (status, doc) = Api::new(&app.address, None).get("/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["paths"]["/messages/{message_id}/revoke"]["post"].is_object());
}
both!(templates_through_the_api);

/// Two nodes on one PostgreSQL database: a revocation through one node's
/// API is refused on the other node's portal on the very next request.
#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_on_one_node_holds_on_the_other_at_once() {
    let (app, catcher) = gateway(Backend::Postgres).await;
    send_with_id(
        &app,
        "alice@corp.example",
        "bob@gmail.example",
        "two-nodes@corp.example",
        "[secure] Both",
    )
    .await;
    let link = link_of(&catcher.wait_for(1).await.remove(0));
    let (other, _stop) = app.second_node().await;
    let bob = browser();
    let r = bob.get(format!("{other}{link}")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let admin = Api::new(&app.address, Some(&token(&app, "root@corp.example", "ops")));
    let (status, body) = admin.post("/messages/two-nodes@corp.example/revoke").await;
    assert_eq!(status, 200, "{body}");

    let r = bob.get(format!("{other}{link}")).send().await.unwrap();
    assert_eq!(r.status(), 410);
    assert!(
        r.page()
            .await
            .contains("The message was revoked by the sender.")
    );
}

async fn a_senders_token_revokes_only_as_the_sent_folder_offers(backend: Backend) {
    let (app, catcher) = gateway(backend).await;
    // To two recipients outside: the Sent folder offers no button.
    let raw = "Message-ID: <two@corp.example>\r\nFrom: alice@corp.example\r\nTo: bob@gmail.example, dan@gmail.example\r\nSubject: [secure] Two\r\n\r\nbody";
    smtp_send(
        &app,
        "alice@corp.example",
        &["bob@gmail.example", "dan@gmail.example"],
        raw.as_bytes(),
    )
    .await;
    catcher.wait_for(2).await;
    let alice = Api::new(
        &app.address,
        Some(&token(&app, "alice@corp.example", "script")),
    );
    let (status, body) = alice
        .call(
            reqwest::Method::POST,
            "/messages/two@corp.example/revoke",
            None,
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "not_revocable");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("an administrator can revoke it"),
        "{body}"
    );
    // An administrator revokes any revocable message.
    let root = Api::new(&app.address, Some(&token(&app, "root@corp.example", "ops")));
    let (status, body) = root
        .call(
            reqwest::Method::POST,
            "/messages/two@corp.example/revoke",
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["Revoked"], true);
}
both!(a_senders_token_revokes_only_as_the_sent_folder_offers);

async fn a_temporary_password_opens_nothing_but_the_password_change(backend: Backend) {
    let (app, _catcher) = gateway(backend).await;
    app.add_temporary_user("tim@corp.example", "sender", "a temporary password")
        .await;
    let tim = app.client();
    let r = sign_in(
        &app.address,
        &tim,
        "tim@corp.example",
        "a temporary password",
    )
    .await;
    assert_eq!(location(&r), "/account/password");
    // The pages send him to the password change...
    for path in ["/inbox", "/sent", "/compose"] {
        let page = page_text(&tim, app.url(path)).await;
        assert!(!page.contains("Signed in as"), "{path}: {page}");
    }
    // ...and the pages' server functions answer him nothing.
    let r = tim
        .post(app.url("/api/compose_options"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("reply=")
        .send()
        .await
        .unwrap();
    assert!(!r.status().is_success(), "{}", r.page().await);
    let r = tim
        .post(app.url("/api/sent"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("page=1")
        .send()
        .await
        .unwrap();
    let empty: serde_json::Value = serde_json::from_str(&r.page().await).unwrap();
    assert_eq!(empty["items"], serde_json::json!([]));
    // Nor does the API, to a token of his.
    let api = Api::new(
        &app.address,
        Some(&token(&app, "tim@corp.example", "early")),
    );
    let (status, body) = api
        .call(reqwest::Method::GET, "/messages/x@corp.example", None)
        .await;
    assert_eq!(status, 403, "{body}");
    // A visitor gets no compose options either.
    let r = reqwest::Client::new()
        .post(app.url("/api/compose_options"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("reply=")
        .send()
        .await
        .unwrap();
    assert!(!r.status().is_success());
}
both!(a_temporary_password_opens_nothing_but_the_password_change);

/// (SQLite only: PostgreSQL keeps its files itself.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_and_database_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDatabase::new(Backend::Sqlite).await;
    let data = db.dir.path().join("data");
    let url = format!("sqlite://{}", data.join("sealpost.db").display());
    let data_dir = data.display().to_string();
    let settings = [
        ("data_dir", data_dir.as_str()),
        ("database_url", url.as_str()),
    ];
    let out = run_cli(
        &db,
        &["user", "list"],
        None,
        &[
            ("SEALPOST_DATA_DIR", settings[0].1),
            ("SEALPOST_DATABASE_URL", settings[1].1),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("sealpost.db")), 0o600);
    assert_eq!(mode(&data.join("master.key")), 0o600);
}

/// The API answers as its own OpenAPI document says, for everything
/// schemathesis (PyPI, installed by `scripts/install-test-deps.sh`) sends
/// an administrator's token: no schema-valid request refused, no
/// schema-violating one accepted, no undocumented status or content type.
async fn the_api_conforms_to_its_openapi_document(backend: Backend) {
    let (app, _catcher) = gateway(backend).await;
    let token = token(&app, "root@corp.example", "schemathesis");
    let out = std::process::Command::new("st")
        .args(["run", &app.url("/api/v1/openapi.json")])
        .args([
            "--checks",
            "all",
            "--max-examples",
            "40",
            "--seed",
            "1",
            "--no-color",
        ])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        // Its cache goes with the test's files, not into the checkout.
        .current_dir(app.db.dir.path())
        .output()
        .expect("schemathesis (`st`) is installed: scripts/install-test-deps.sh");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
both!(the_api_conforms_to_its_openapi_document);
