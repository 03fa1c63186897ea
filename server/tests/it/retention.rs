//! Retention (#19 item 4): with `SEALPOST_RETENTION` set, the content of
//! messages revoked, expired or older than the period is deleted by
//! `sealpost purge` and by the background task; the link then answers the
//! expired page, and the row stays for the report.

use crate::common::catcher::Catcher;
use crate::common::*;

async fn exec(app: &TestApp, sql: &str) {
    match app.store.db() {
        server::store::Db::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        server::store::Db::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
    }
    .unwrap();
}

/// Whether the message's ciphertext is still in the database.
async fn has_content(app: &TestApp, message_id: &str) -> bool {
    let sql = "SELECT COUNT(*) FROM messages WHERE message_id = $1 AND content IS NOT NULL";
    let n: i64 = match app.store.db() {
        server::store::Db::Sqlite(p) => sqlx::query_scalar(sql).bind(message_id).fetch_one(p).await,
        server::store::Db::Postgres(p) => {
            sqlx::query_scalar(sql).bind(message_id).fetch_one(p).await
        }
    }
    .unwrap();
    n > 0
}

/// The command line with a retention period the node itself does not
/// have (its background task would race the command).
fn purge(app: &TestApp, args: &[&str]) -> std::process::Output {
    run_cli(&app.db, args, None, &[("SEALPOST_RETENTION", "30d")])
}

async fn send(app: &TestApp, catcher: &Catcher, id: &str, subject: &str) -> String {
    let before = catcher.caught().len();
    send_with_id(app, "alice@corp.example", "bob@gmail.example", id, subject).await;
    link_of(&catcher.wait_for(before + 1).await.pop().unwrap())
}

async fn purge_deletes_old_and_revoked_content(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    let old = send(&app, &catcher, "old-1@corp.example", "[secure] Last year").await;
    let fresh = send(&app, &catcher, "new-1@corp.example", "[secure] This week").await;
    // Bob is reading the old one when it goes.
    let bob = browser();
    let code = passcode_from_mail(&app, &catcher, &bob, &old).await;
    assert_eq!(enter_passcode(&app, &bob, &old, &code).await.status(), 303);
    assert!(page_text(&bob, app.url(&old)).await.contains("body"));
    let day = 86_400_000i64;
    let long_ago = server::store::now_ms() - 31 * day;
    exec(
        &app,
        &format!(
            "UPDATE messages SET received_at = {long_ago} WHERE message_id = '<old-1@corp.example>'"
        ),
    )
    .await;

    let out = purge(&app, &["purge", "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(
        shown.contains("<old-1@corp.example>") && shown.contains("older than the retention period"),
        "{shown}"
    );
    assert!(
        shown.contains("'Last year' from alice@corp.example"),
        "{shown}"
    );
    assert!(!shown.contains("new-1"), "{shown}");
    assert!(
        shown.ends_with("Would delete the content of 1 message(s).\n"),
        "{shown}"
    );
    assert!(
        has_content(&app, "<old-1@corp.example>").await,
        "a dry run deletes nothing"
    );

    let out = purge(&app, &["purge"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).ends_with("Deleted the content of 1 message(s).\n"),
        "{}",
        stdout(&out)
    );
    assert!(!has_content(&app, "<old-1@corp.example>").await);
    assert!(has_content(&app, "<new-1@corp.example>").await);
    // The link, even in Bob's open session, answers the expired page.
    let r = bob.get(app.url(&old)).send().await.unwrap();
    assert_eq!(r.status(), 410);
    assert!(r.page().await.contains("This message has expired."));
    let r = bob
        .get(app.url(&format!("{old}/attachments/0")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    assert_eq!(
        browser()
            .get(app.url(&fresh))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The row stays for the report, with what happened to it.
    let since = (time::OffsetDateTime::now_utc() - time::Duration::days(60))
        .date()
        .to_string();
    let trace = stdout(&app.cli(
        &["trace", "--sender", "alice@corp.example", "--since", &since],
        None,
    ));
    assert!(trace.contains("<old-1@corp.example>"), "{trace}");
    assert_eq!(app.count_events("content deleted").await, 1);
    let audit = stdout(&app.cli(&["audit"], None));
    assert!(audit.contains("content purged"), "{audit}");

    let again = stdout(&purge(&app, &["purge"]));
    assert_eq!(again.trim(), "No message content is due for deletion.");
}
both!(purge_deletes_old_and_revoked_content);

async fn the_background_task_deletes_a_revoked_messages_content(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend)
        .await
        .gateway(&catcher)
        .setting("retention", "365d")
        .spawn()
        .await;
    let link = send(&app, &catcher, "gone-1@corp.example", "[secure] Mistake").await;
    let out = app.cli(
        &["message", "revoke", "--message-id", "gone-1@corp.example"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut deleted = false;
    for _ in 0..100 {
        if !has_content(&app, "<gone-1@corp.example>").await {
            deleted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(deleted, "the background task deletes it");
    assert_eq!(app.count_events("content deleted").await, 1);
    assert_eq!(
        browser().get(app.url(&link)).send().await.unwrap().status(),
        410
    );
}
both!(the_background_task_deletes_a_revoked_messages_content);

async fn without_retention_content_is_kept(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    send(&app, &catcher, "keep-1@corp.example", "[secure] Keep").await;
    app.cli(
        &["message", "revoke", "--message-id", "keep-1@corp.example"],
        None,
    );
    let out = app.cli(&["purge"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "SEALPOST_RETENTION is not set: message content is kept, nothing is deleted."
    );
    assert!(has_content(&app, "<keep-1@corp.example>").await);
    // A period shorter than a day is a mistake, said at once.
    let bad = run_cli(&app.db, &["purge"], None, &[("SEALPOST_RETENTION", "5m")]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("'5m' is not a duration of a day or more, such as 365d"),
        "{}",
        stderr(&bad)
    );
}
both!(without_retention_content_is_kept);
