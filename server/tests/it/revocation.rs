//! `sealpost message status` and `message revoke` (seed 000), against the
//! same database the running gateway uses; revocation cuts off the portal.

use crate::common::catcher::Catcher;
use crate::common::*;

async fn gateway(backend: Backend) -> (TestApp, Catcher) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    (app, catcher)
}

async fn status_then_revoke_then_status(backend: Backend) {
    let (app, catcher) = gateway(backend).await;
    send_with_id(
        &app,
        "alice@corp.example",
        "bob@gmail.example",
        "q3-1@corp.example",
        "[secure] Quarterly numbers",
    )
    .await;
    let link = link_of(&catcher.wait_for(1).await.remove(0));

    let out = app.cli(
        &["message", "status", "--message-id", "q3-1@corp.example"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines[0], "MessageId   : <q3-1@corp.example>");
    assert_eq!(lines[1], "Subject     : Quarterly numbers");
    assert_eq!(lines[2], "Sender      : alice@corp.example");
    assert!(
        lines[3].starts_with("SentAt      : 20") && lines[3].ends_with('Z'),
        "{shown}"
    );
    assert_eq!(lines[4], "IsRevocable : True");
    assert_eq!(lines[5], "Revoked     : False");

    let json = stdout(&app.cli(
        &[
            "message",
            "status",
            "--message-id",
            "<q3-1@corp.example>",
            "--json",
        ],
        None,
    ));
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed[0]["IsRevocable"], true);
    assert_eq!(parsed[0]["Revoked"], false);
    assert_eq!(parsed[0]["Recipients"][0]["Address"], "bob@gmail.example");
    assert_eq!(parsed[0]["Recipients"][0]["Experience"], "link");

    let out = app.cli(
        &["message", "revoke", "--message-id", "q3-1@corp.example"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "The encrypted email with the subject 'Quarterly numbers' was successfully revoked."
    );

    let shown = stdout(&app.cli(
        &["message", "status", "--message-id", "q3-1@corp.example"],
        None,
    ));
    assert!(
        shown.contains("IsRevocable : False\nRevoked     : True"),
        "{shown}"
    );
    let r = browser().get(app.url(&link)).send().await.unwrap();
    assert_eq!(r.status(), 410);
    assert!(
        r.page()
            .await
            .contains("The message was revoked by the sender.")
    );

    let again = app.cli(
        &["message", "revoke", "--message-id", "q3-1@corp.example"],
        None,
    );
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        stderr(&again).trim(),
        "sealpost: The encrypted email with the subject 'Quarterly numbers' is already revoked."
    );
}
both!(status_then_revoke_then_status);

async fn refusals_name_their_reason(backend: Backend) {
    let (app, catcher) = gateway(backend).await;
    send_with_id(
        &app,
        "alice@corp.example",
        "carol@corp.example",
        "inline-1@corp.example",
        "[secure] Internal plan",
    )
    .await;
    catcher.wait_for(1).await;
    let out = app.cli(
        &["message", "revoke", "--message-id", "inline-1@corp.example"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "sealpost: The encrypted email with the subject 'Internal plan' cannot be revoked: it was delivered inline to carol@corp.example."
    );
    let shown = stdout(&app.cli(
        &["message", "status", "--message-id", "inline-1@corp.example"],
        None,
    ));
    assert!(shown.contains("IsRevocable : False"), "{shown}");

    let out = app.cli(
        &["message", "revoke", "--message-id", "nope@corp.example"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "sealpost: No message with Message-ID <nope@corp.example>."
    );
    let out = app.cli(
        &["message", "status", "--message-id", "nope@corp.example"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));

    // Two senders, one Message-ID: revoke asks which.
    send_with_id(
        &app,
        "alice@corp.example",
        "bob@gmail.example",
        "dup-1@corp.example",
        "[secure] A",
    )
    .await;
    send_with_id(
        &app,
        "dave@corp.example",
        "bob@gmail.example",
        "dup-1@corp.example",
        "[secure] B",
    )
    .await;
    catcher.wait_for(3).await;
    let out = app.cli(
        &["message", "revoke", "--message-id", "dup-1@corp.example"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("alice@corp.example, dave@corp.example"),
        "{}",
        stderr(&out)
    );
    let out = app.cli(
        &[
            "message",
            "revoke",
            "--message-id",
            "dup-1@corp.example",
            "--sender",
            "dave@corp.example",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "The encrypted email with the subject 'B' was successfully revoked."
    );
}
both!(refusals_name_their_reason);

async fn trace_finds_messages_by_sender_and_recipient(backend: Backend) {
    let (app, catcher) = gateway(backend).await;
    send_with_id(
        &app,
        "alice@corp.example",
        "bob@gmail.example",
        "t-1@corp.example",
        "[secure] First",
    )
    .await;
    send_with_id(
        &app,
        "alice@corp.example",
        "carol@corp.example",
        "t-2@corp.example",
        "Second",
    )
    .await;
    catcher.wait_for(2).await;

    let out = app.cli(&["trace", "--sender", "alice@corp.example"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(
        shown.contains("MessageId  : <t-1@corp.example>")
            && shown.contains("MessageId  : <t-2@corp.example>"),
        "{shown}"
    );
    assert!(
        shown.contains("State      : protected") && shown.contains("State      : relayed"),
        "{shown}"
    );

    let json = stdout(&app.cli(
        &["trace", "--recipient", "carol@corp.example", "--json"],
        None,
    ));
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 1, "{json}");
    assert_eq!(parsed[0]["MessageId"], "<t-2@corp.example>");

    let none = stdout(&app.cli(
        &[
            "trace",
            "--sender",
            "alice@corp.example",
            "--until",
            "2020-01-01",
        ],
        None,
    ));
    assert_eq!(none.trim(), "No messages match.");
    let bad = app.cli(&["trace", "--since", "yesterday"], None);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("--since: 'yesterday' is not a date"),
        "{}",
        stderr(&bad)
    );
}
both!(trace_finds_messages_by_sender_and_recipient);

async fn an_expired_message_is_marked_and_cannot_be_revoked(backend: Backend) {
    let (app, catcher) = gateway(backend).await;
    send_with_id(
        &app,
        "alice@corp.example",
        "bob@gmail.example",
        "exp-1@corp.example",
        "[secure] Old news",
    )
    .await;
    catcher.wait_for(1).await;
    match app.store.db() {
        server::store::Db::Sqlite(p) => sqlx::query("UPDATE messages SET expires_at = 1")
            .execute(p)
            .await
            .map(|_| ()),
        server::store::Db::Postgres(p) => sqlx::query("UPDATE messages SET expires_at = 1")
            .execute(p)
            .await
            .map(|_| ()),
    }
    .unwrap();
    let mut state = String::new();
    for _ in 0..100 {
        state = stdout(&app.cli(&["trace", "--sender", "alice@corp.example"], None));
        if state.contains("State      : expired") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        state.contains("State      : expired"),
        "the expiry task marks it: {state}"
    );
    assert_eq!(app.store.events_of_kind("expired").await.unwrap().len(), 1);
    let out = app.cli(
        &["message", "revoke", "--message-id", "exp-1@corp.example"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "sealpost: The encrypted email with the subject 'Old news' has expired."
    );
}
both!(an_expired_message_is_marked_and_cannot_be_revoked);
