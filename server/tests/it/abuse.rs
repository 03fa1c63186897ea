//! Abuse resistance: no message brings a node down. Mail nested deeper than
//! the MIME limit is refused at the door, and a message that kills its
//! worker every time is quarantined while other mail keeps flowing.

use crate::common::catcher::Catcher;
use crate::common::*;
use server::pipeline::faults::Faults;
use server::startup::Agents;
use std::time::Duration;

const ALICE: &str = "alice@corp.example";
const BOB: &str = "bob@gmail.example";

/// `levels` multiparts inside each other around one text part.
fn nested(levels: usize) -> Vec<u8> {
    let mut out = format!(
        "From: {ALICE}\r\nTo: {BOB}\r\nSubject: deep\r\nMessage-ID: <deep-{levels}@corp.example>\r\nMIME-Version: 1.0\r\n"
    )
    .into_bytes();
    for i in 0..levels {
        out.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n")
                .as_bytes(),
        );
    }
    out.extend_from_slice(b"Content-Type: text/plain\r\n\r\nthe innermost part\r\n");
    for i in (0..levels).rev() {
        out.extend_from_slice(format!("--b{i}--\r\n").as_bytes());
    }
    out
}

async fn send(app: &TestApp, raw: &[u8]) -> Result<(), lettre::transport::smtp::Error> {
    use lettre::AsyncTransport;
    let transport =
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(app.smtp_addr.port())
            .build();
    let envelope =
        lettre::address::Envelope::new(Some(ALICE.parse().unwrap()), vec![BOB.parse().unwrap()])
            .unwrap();
    transport.send_raw(&envelope, raw).await.map(|_| ())
}

fn plain(subject: &str) -> Vec<u8> {
    format!("From: {ALICE}\r\nTo: {BOB}\r\nSubject: {subject}\r\n\r\nhello\r\n").into_bytes()
}

async fn mail_nested_20000_levels_deep_is_refused_and_the_node_stays_up(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    // The disclaimer walks every part: the rule that made the node abort.
    app.rule(&[
        "new",
        "Disclaimer",
        "--append-disclaimer-text",
        "Confidential.",
    ]);

    let deep = nested(20_000);
    assert!(deep.len() > 1_000_000, "{}", deep.len());
    let refused = send(&app, &deep).await.expect_err("refused");
    let text = refused.to_string();
    assert!(
        text.contains("554")
            || refused
                .status()
                .is_some_and(|c| c.to_string().starts_with("554")),
        "{text}"
    );
    assert!(text.contains("MIME nesting exceeds 100 levels"), "{text}");
    assert!(
        app.store
            .status_rows("<deep-20000@corp.example>", None)
            .await
            .unwrap()
            .is_empty(),
        "a refused message is not stored"
    );
    // 101 levels is one too many; 100 goes through, disclaimer and all.
    assert!(send(&app, &nested(101)).await.is_err());
    send(&app, &nested(100))
        .await
        .expect("100 levels are accepted");
    let mails = catcher.wait_for(1).await;
    assert!(mails[0].data.contains("the innermost part"));
    assert!(
        mails[0].data.contains("Confidential."),
        "the disclaimer was added"
    );
    // Still up: the next message is delivered too.
    send(&app, &plain("after")).await.unwrap();
    catcher.wait_for(2).await;
}
both!(mail_nested_20000_levels_deep_is_refused_and_the_node_stays_up);

async fn protect_refuses_mail_nested_too_deep(backend: Backend) {
    let app = TestApp::on(backend).await.spawn().await;
    let out = app.cli(
        &["protect", "--rights", "encrypt-only"],
        Some(std::str::from_utf8(&nested(101)).unwrap()),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("MIME nesting exceeds 100 levels"),
        "{}",
        stderr(&out)
    );
}
both!(protect_refuses_mail_nested_too_deep);

async fn a_job_that_kills_its_worker_five_times_is_quarantined(backend: Backend) {
    let catcher = Catcher::start().await;
    let db = TestDatabase::new(backend).await;
    let faults = Faults::default();
    faults.always_die_on("poison", Duration::from_millis(300));
    let relay = catcher.url();
    let app = TestApp::builder(db)
        .settings(&[
            ("relay_url", relay.as_str()),
            ("internal_domains", "corp.example"),
        ])
        .agents(Agents::default())
        .faults(faults)
        .spawn()
        .await;

    send(&app, &plain("poison pill")).await.unwrap();
    send(&app, &plain("ordinary mail")).await.unwrap();
    // Other mail is delivered while the poison kills worker after worker.
    let mails = catcher.wait_for(1).await;
    assert!(mails[0].data.contains("ordinary mail"));

    let quarantined = wait_for_quarantine(&app).await;
    assert_eq!(quarantined["Kind"], "pipeline");
    assert_eq!(quarantined["Sender"], ALICE);
    let id = quarantined["Id"].as_str().unwrap().to_string();
    assert_eq!(app.count_events("quarantined").await, 1);
    // The sender is told, from the null sender, without the content.
    let mails = catcher.wait_for(2).await;
    let report = mails.iter().find(|m| m.from.is_empty()).expect("a report");
    assert_eq!(report.to, vec![ALICE.to_string()]);
    assert!(report.data.contains("set aside for an administrator"));
    assert!(
        report.data.contains("poison pill"),
        "the report names the subject"
    );

    // Format-List by default.
    let out = app.cli(&["queue", "list", "--state", "quarantined"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("Id         : {id}")),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("State      : quarantined"));

    // An administrator sees it on /admin/queue and releases it there: it
    // is tried again, and quarantined again.
    app.add_user("admin@corp.example", "admin", "the admin's long password")
        .await;
    let admin = app.client();
    let r = sign_in(
        &app.address,
        &admin,
        "admin@corp.example",
        "the admin's long password",
    )
    .await;
    assert_eq!(r.status(), 303);
    let page = page_text(&admin, app.url("/admin/queue")).await;
    assert!(page.contains(&id) && page.contains("quarantined"), "{page}");
    assert!(page.contains(">Release</button>"), "{page}");
    let r = admin
        .post(app.url("/admin/queue"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("id", id.as_str()),
            ("action", "release"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = page_text(&admin, app.url("/admin/queue")).await;
    assert!(
        alert_of(&page).is_some_and(|a| a.contains("released from quarantine")),
        "{page}"
    );
    assert!(list(&app, "quarantined").is_empty());
    assert_eq!(app.count_events("released from quarantine").await, 1);
    wait_for_quarantine(&app).await;
    let out = app.cli(&["queue", "release", "no-such-job"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("No job with id no-such-job"),
        "{}",
        stderr(&out)
    );

    // Deleted, it is gone for good and the sender hears so (the command
    // runs with the node's settings, as an administrator's would).
    let internal = [("SEALPOST_INTERNAL_DOMAINS", "corp.example")];
    let out = run_cli(&app.db, &["queue", "delete", &id], None, &internal);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("removed from the pipeline queue"));
    assert!(list(&app, "quarantined").is_empty());
    // (The second quarantine was not reported again: one report a job.)
    let mails = catcher.wait_for(3).await;
    assert!(
        mails
            .iter()
            .any(|m| m.from.is_empty() && m.data.contains("an administrator removed the message")),
        "a deletion report"
    );
    let out = app.cli(&["queue", "delete", &id], None);
    assert_eq!(out.status.code(), Some(1), "deleted once");
}
both!(a_job_that_kills_its_worker_five_times_is_quarantined);

fn list(app: &TestApp, state: &str) -> Vec<serde_json::Value> {
    let out = app.cli(&["queue", "list", "--state", state, "--json"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn wait_for_quarantine(app: &TestApp) -> serde_json::Value {
    for _ in 0..300 {
        if let Some(job) = list(app, "quarantined").into_iter().next() {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no job was quarantined");
}

async fn visitors_who_have_not_signed_in_store_no_session(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    smtp_send(
        &app,
        ALICE,
        &[BOB],
        format!("From: {ALICE}\r\nTo: {BOB}\r\nSubject: [secure] hi\r\n\r\nbody\r\n").as_bytes(),
    )
    .await;
    let link = link_of(&catcher.wait_for(1).await[0]);
    // 300 page views without a cookie: sign-in pages and a portal landing.
    for i in 0..300 {
        let path = if i % 2 == 0 { "/login" } else { link.as_str() };
        let r = reqwest::Client::new()
            .get(app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            session_cookie(&r).is_none(),
            "no session cookie for a visitor"
        );
    }
    assert_eq!(app.session_data().await.len(), 0);

    // The forms still work: their CSRF token is bound to the visitor
    // cookie, and signing in is what makes a session.
    app.add_user(ALICE, "sender", "alice's long password").await;
    let alice = app.client();
    let r = sign_in(&app.address, &alice, ALICE, "alice's long password").await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.session_data().await.len(), 1);
    // Another browser's token does not pass for this one.
    let mallory = app.client();
    let page = page_text(&mallory, app.url("/login")).await;
    let stranger = app.client();
    page_text(&stranger, app.url("/login")).await;
    let r = stranger
        .post(app.url("/login"))
        .form(&[
            ("email", ALICE),
            ("password", "alice's long password"),
            ("csrf", &csrf_of(&page)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}
both!(visitors_who_have_not_signed_in_store_no_session);

async fn spent_rows_are_deleted_in_the_background(backend: Backend) {
    let app = TestApp::on(backend).await.spawn().await;
    let old = "INSERT INTO login_failures (surface, email, ip, at) VALUES ('web', 'x@corp.example', '192.0.2.1', 1)";
    let recent = format!(
        "INSERT INTO login_failures (surface, email, ip, at) VALUES ('web', 'y@corp.example', '192.0.2.1', {})",
        server::store::now_ms()
    );
    let count = "SELECT COUNT(*) FROM login_failures";
    macro_rules! on {
        ($sql:expr, $run:ident) => {
            match app.store.db() {
                server::store::Db::Sqlite(p) => sqlx::query_scalar::<_, i64>($sql).$run(p).await,
                server::store::Db::Postgres(p) => sqlx::query_scalar::<_, i64>($sql).$run(p).await,
            }
        };
    }
    on!(old, fetch_optional).unwrap();
    on!(&recent, fetch_optional).unwrap();
    assert_eq!(on!(count, fetch_one).unwrap(), 2);
    for _ in 0..50 {
        if on!(count, fetch_one).unwrap() == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the old sign-in failure was not deleted");
}
both!(spent_rows_are_deleted_in_the_background);

async fn forms_have_a_body_limit(backend: Backend) {
    let app = TestApp::on(backend).await.spawn().await;
    let client = app.client();
    let page = page_text(&client, app.url("/login")).await;
    let huge = "x".repeat(200 * 1024);
    let r = client
        .post(app.url("/login"))
        .form(&[
            ("email", huge.as_str()),
            ("password", "x"),
            ("csrf", &csrf_of(&page)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}
both!(forms_have_a_body_limit);

/// Opens an SMTP connection from 127.0.0.1 and reads its greeting.
async fn greeting(app: &TestApp) -> (tokio::net::TcpStream, String) {
    greeting_from(app, "127.0.0.1").await
}

/// The same from another loopback address (another client).
async fn greeting_from(app: &TestApp, source: &str) -> (tokio::net::TcpStream, String) {
    use tokio::io::AsyncReadExt;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    let mut stream = socket.connect(app.smtp_addr).await.unwrap();
    let mut buf = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("a greeting")
        .unwrap();
    (stream, String::from_utf8_lossy(&buf[..n]).into_owned())
}

async fn smtp_sessions_are_limited_per_client_and_in_all(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let app = TestApp::builder(db)
        .settings(&[
            ("smtp_max_sessions_per_client", "2"),
            ("smtp_max_sessions", "3"),
        ])
        .spawn()
        .await;
    let (first, hello) = greeting(&app).await;
    assert!(hello.starts_with("220 "), "{hello}");
    let (_second, hello) = greeting(&app).await;
    assert!(hello.starts_with("220 "), "{hello}");
    let (_, refused) = greeting(&app).await;
    assert_eq!(refused, "421 4.7.0 Too many connections\r\n");
    // Another client still gets in, up to the limit in all.
    let (_third, hello) = greeting_from(&app, "127.0.0.2").await;
    assert!(hello.starts_with("220 "), "{hello}");
    let (_, refused) = greeting_from(&app, "127.0.0.3").await;
    assert_eq!(refused, "421 4.7.0 Too many connections\r\n");
    // A session that ends gives its place back.
    drop(first);
    let mut hello = String::new();
    for _ in 0..50 {
        let (stream, text) = greeting(&app).await;
        hello = text;
        if hello.starts_with("220 ") {
            drop(stream);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(hello.starts_with("220 "), "{hello}");
}
both!(smtp_sessions_are_limited_per_client_and_in_all);
