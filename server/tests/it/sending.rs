//! Sending protected mail through real SMTP: the intake stores it encrypted,
//! the pipeline protects it, and the outbound queue hands notifications and
//! inline copies to a relay (an SMTP catcher), retrying while it is down.

use crate::common::catcher::{Catcher, Caught};
use crate::common::mail::Mail;
use crate::common::*;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const ALICE: &str = "alice@corp.example";
const BOB: &str = "bob@gmail.example";
const CAROL: &str = "carol@corp.example";

async fn gateway(backend: Backend, catcher: &Catcher, extra: &[(&'static str, &str)]) -> TestApp {
    TestApp::on(backend)
        .await
        .gateway(catcher)
        .settings(extra)
        .spawn()
        .await
}

/// A message as lettre sends it: lettre adds the final CRLF itself.
fn message(subject: &str, body: &str, to: &[&str]) -> Vec<u8> {
    Mail::new(&format!("Alice <{ALICE}>"), to, subject)
        .dated()
        .utf8_text(None)
        .body(body)
        .without_final_line_break()
        .build()
}

/// Sends over SMTP with a standard client, as the organization's mail server would.
async fn send(
    app: &TestApp,
    from: &str,
    to: &[&str],
    raw: &[u8],
) -> Result<(), lettre::transport::smtp::Error> {
    let transport =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(app.smtp_addr.ip().to_string())
            .port(app.smtp_addr.port())
            .build();
    let envelope = lettre::address::Envelope::new(
        Some(from.parse().unwrap()),
        to.iter().map(|a| a.parse().unwrap()).collect(),
    )
    .unwrap();
    transport.send_raw(&envelope, raw).await.map(|_| ())
}

fn for_recipient<'a>(mails: &'a [Caught], address: &str) -> Vec<&'a Caught> {
    mails
        .iter()
        .filter(|m| m.to.contains(&address.to_string()))
        .collect()
}

fn link_in(text: &str, public_url: &str) -> String {
    let start = text
        .find(&format!("{public_url}/r/"))
        .expect("a portal link");
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_:/.".contains(*c))
        .collect()
}

/// Whether any stored byte (SQLite file and its WAL, or every blob and text
/// column that holds mail in PostgreSQL) contains `needle`.
async fn database_holds(app: &TestApp, needle: &str) -> bool {
    if app.db.url.starts_with("sqlite") {
        let dir = app.db.dir.path();
        return ["sealpost.db", "sealpost.db-wal"].iter().any(|f| {
            std::fs::read(dir.join(f))
                .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        });
    }
    let server::store::Db::Postgres(pool) = app.store.db() else {
        unreachable!()
    };
    let blobs: Vec<Option<Vec<u8>>> = sqlx::query_scalar(
        "SELECT content FROM messages UNION ALL SELECT payload FROM jobs UNION ALL SELECT content FROM outbox \
         UNION ALL SELECT token_hash FROM recipients UNION ALL SELECT convert_to(subject || coalesce(detail, ''), 'UTF8') FROM messages, events",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    blobs
        .into_iter()
        .flatten()
        .any(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
}

async fn protected_mail_notifies_outside_and_delivers_inside(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = gateway(backend, &catcher, &[]).await;
    let canary = format!("canary-{}", uuid::Uuid::new_v4().simple());
    let raw = message(
        "[secure] Quarterly numbers",
        &format!("The {canary} numbers are up."),
        &[BOB, CAROL],
    );
    send(&app, ALICE, &[BOB, CAROL], &raw)
        .await
        .expect("the intake accepts the message");

    let mails = catcher.wait_for(2).await;
    let notification = for_recipient(&mails, BOB);
    assert_eq!(
        notification.len(),
        1,
        "one notification per external recipient"
    );
    let raw_notification = &notification[0].data;
    assert!(
        raw_notification.contains("Subject: Quarterly numbers"),
        "{raw_notification}"
    );
    assert!(
        !raw_notification.contains(&canary),
        "a notification carries no message content"
    );
    let parsed = mail_parser::MessageParser::default()
        .parse(raw_notification.as_bytes())
        .unwrap();
    let notification = parsed.body_text(0).unwrap().into_owned();
    assert!(
        notification.contains("alice@corp.example has sent you a protected message."),
        "{notification}"
    );
    let html = parsed.body_html(0).unwrap();
    assert!(html.contains("Read the message"), "{html}");
    assert!(
        !notification.contains(&canary),
        "a notification carries no message content"
    );
    let link = link_in(&notification, "http://127.0.0.1:3000");
    assert!(
        html.contains(&format!("href=\"{link}\"")),
        "the button links to the portal"
    );
    let token = link.rsplit('/').next().unwrap();
    assert_eq!(token.len(), 43, "a 256-bit base64url token: {link}");

    let inline = for_recipient(&mails, CAROL);
    assert_eq!(inline.len(), 1);
    // The internal recipient gets it in the protected format: the subject
    // in the clear (tag removed), the body only inside the envelope.
    assert!(
        !inline[0].data.contains(&canary),
        "the inline copy is protected"
    );
    assert!(
        inline[0].data.contains("Subject: Quarterly numbers"),
        "the tag is removed"
    );
    assert!(!inline[0].data.contains("[secure]"));
    assert!(inline[0].data.contains("X-Sealpost-Protected: v1; org="));
    assert!(
        text_of(inline[0])
            .contains("sent you a protected message: open it at http://127.0.0.1:3000/inbox/")
    );
    assert_eq!(inline[0].from, ALICE);
    let out = run_cli_bytes(
        &app.db,
        &["unprotect"],
        Some(inline[0].data.as_bytes()),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let original = String::from_utf8(out.stdout).unwrap();
    assert!(
        original.contains(&canary),
        "unprotect gives the message back"
    );
    assert!(original.contains("Subject: Quarterly numbers"));

    // At rest, neither the body nor the link token is readable.
    assert!(
        !database_holds(&app, &canary).await,
        "the database holds the plaintext body"
    );
    assert!(
        !database_holds(&app, token).await,
        "the database holds the link token"
    );

    let states = recipient_states(&app).await;
    assert_eq!(
        states,
        vec![
            (BOB.to_string(), "link".to_string(), "notified".to_string()),
            (
                CAROL.to_string(),
                "inline".to_string(),
                "delivered".to_string()
            )
        ]
    );
}
both!(protected_mail_notifies_outside_and_delivers_inside);

async fn recipient_states(app: &TestApp) -> Vec<(String, String, String)> {
    // Delivery and its state update are two steps: wait for the second.
    for _ in 0..100 {
        let rows = match app.store.db() {
            server::store::Db::Sqlite(pool) => {
                sqlx::query_as("SELECT address, experience, state FROM recipients ORDER BY address")
                    .fetch_all(pool)
                    .await
                    .unwrap()
            }
            server::store::Db::Postgres(pool) => {
                sqlx::query_as("SELECT address, experience, state FROM recipients ORDER BY address")
                    .fetch_all(pool)
                    .await
                    .unwrap()
            }
        };
        let rows: Vec<(String, String, String)> = rows;
        if rows.iter().all(|r| r.2 != "pending") {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("recipient states stayed pending");
}

async fn unprotected_mail_is_relayed_unchanged(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = gateway(backend, &catcher, &[]).await;
    let raw = message("Lunch", "See you at noon.", &[BOB, CAROL]);
    let raw = [b"Message-ID: <lunch-1@corp.example>\r\n".as_slice(), &raw].concat();
    send(&app, ALICE, &[BOB, CAROL], &raw).await.unwrap();
    let mails = catcher.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec![BOB.to_string(), CAROL.to_string()]);
    // Only sealpost's own Received line is added in front.
    let data = &mails[0].data;
    assert!(data.starts_with("Received: from "), "{data}");
    let sent = format!("{}\r\n", std::str::from_utf8(&raw).unwrap());
    assert!(data.ends_with(&sent), "{data}");
}
both!(unprotected_mail_is_relayed_unchanged);

async fn mail_waits_while_the_relay_is_down_and_goes_once_it_is_back(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = gateway(backend, &catcher, &[]).await;
    catcher.stop();
    for i in 0..3 {
        let raw = message(&format!("[secure] report {i}"), "numbers", &[BOB]);
        send(&app, ALICE, &[BOB], &raw).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(catcher.caught().is_empty());
    let deferred = app.store.events_of_kind("deferred").await.unwrap();
    assert!(!deferred.is_empty(), "failed tries are recorded");

    catcher.restart().await;
    let mails = catcher.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        catcher.caught().len(),
        3,
        "each notification is delivered once: {mails:?}"
    );
}
both!(mail_waits_while_the_relay_is_down_and_goes_once_it_is_back);

async fn a_retried_identical_transaction_is_processed_once(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = gateway(backend, &catcher, &[]).await;
    let raw = message("Minutes", "Agreed.", &[BOB]);
    send(&app, ALICE, &[BOB], &raw).await.unwrap();
    send(&app, ALICE, &[BOB], &raw).await.unwrap();
    catcher.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(catcher.caught().len(), 1);
    // The same content to another recipient is a new transaction.
    send(&app, ALICE, &[CAROL], &raw).await.unwrap();
    catcher.wait_for(2).await;
}
both!(a_retried_identical_transaction_is_processed_once);

/// The relay sees a few connections that each carry many mails, never more
/// at once than `outbound_in_flight`, and more than one at once when there
/// is more than one mail to send.
async fn mail_to_the_relay_shares_a_bounded_set_of_connections(backend: Backend) {
    let catcher = Catcher::start().await;
    *catcher.data_delay.lock().unwrap() = Duration::from_millis(150);
    let app = gateway(backend, &catcher, &[("outbound_in_flight", "3")]).await;
    // Eight clients, three messages each.
    let mut sending = tokio::task::JoinSet::new();
    for client in 0..8 {
        let app_smtp = app.smtp_addr;
        sending.spawn(async move {
            let transport =
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(app_smtp.ip().to_string())
                    .port(app_smtp.port())
                    .build();
            for i in 0..3 {
                let raw = message(&format!("[secure] batch {client}.{i}"), "numbers", &[BOB]);
                let envelope = lettre::address::Envelope::new(
                    Some(ALICE.parse().unwrap()),
                    vec![BOB.parse().unwrap()],
                )
                .unwrap();
                transport.send_raw(&envelope, &raw).await.unwrap();
            }
        });
    }
    sending.join_all().await;
    let mails = catcher.wait_for(24).await;
    assert_eq!(mails.len(), 24, "one notification each");
    let most = catcher
        .most_at_once
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(most <= 3, "at most 3 mails at once, saw {most}");
    assert!(
        most >= 2,
        "mails go to the relay side by side, saw {most} at once"
    );
    let connections = catcher
        .connections
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        connections <= 6,
        "24 mails over {connections} connections: each connection carries several"
    );
}
both!(mail_to_the_relay_shares_a_bounded_set_of_connections);

async fn a_refused_recipient_gets_the_sender_a_report(backend: Backend) {
    let catcher = Catcher::start().await;
    catcher
        .reject
        .lock()
        .unwrap()
        .push("nobody@gmail.example".into());
    let app = gateway(backend, &catcher, &[]).await;
    let raw = message("[secure] Offer", "secret offer", &["nobody@gmail.example"]);
    send(&app, ALICE, &["nobody@gmail.example"], &raw)
        .await
        .unwrap();
    let mails = catcher.wait_for(1).await;
    let report = &mails[0];
    assert_eq!(report.from, "", "reports come from the null sender");
    assert_eq!(report.to, vec![ALICE.to_string()]);
    assert!(report.data.contains("multipart/report"), "{}", report.data);
    assert!(
        report.data.contains("report-type=\"delivery-status\"")
            || report.data.contains("report-type=delivery-status")
    );
    assert!(
        report
            .data
            .contains("Final-Recipient: rfc822; nobody@gmail.example")
    );
    assert!(
        !report.data.contains("secret offer"),
        "a report carries no content"
    );
}
both!(a_refused_recipient_gets_the_sender_a_report);

/// Two nodes on one PostgreSQL database share the queue: every job is sent
/// exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_never_send_a_job_twice() {
    let catcher = Catcher::start().await;
    let app = gateway(Backend::Postgres, &catcher, &[]).await;
    let (_second, _stop) = app.second_node().await;
    let n = 30;
    for i in 0..n {
        let to = format!("user{i}@gmail.example");
        let raw = message(&format!("[secure] note {i}"), "body", &[&to]);
        send(&app, ALICE, &[&to], &raw).await.unwrap();
    }
    catcher.wait_for(n).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mails = catcher.caught();
    assert_eq!(mails.len(), n);
    let mut recipients: Vec<String> = mails.iter().map(|m| m.to[0].clone()).collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(
        recipients.len(),
        n,
        "every recipient got exactly one notification"
    );
}

struct RawSmtp {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl RawSmtp {
    async fn connect(app: &TestApp) -> (RawSmtp, String) {
        let stream = tokio::net::TcpStream::connect(app.smtp_addr).await.unwrap();
        let (r, w) = stream.into_split();
        let mut client = RawSmtp {
            reader: BufReader::new(r),
            writer: w,
        };
        let greeting = client.reply().await;
        (client, greeting)
    }

    async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).await.unwrap();
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return all;
            }
        }
    }

    async fn say(&mut self, line: &str) -> String {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
        self.reply().await
    }
}

async fn the_intake_answers_bad_input_and_stays_usable(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = gateway(backend, &catcher, &[("max_message_bytes", "2KB")]).await;
    let (mut smtp, greeting) = RawSmtp::connect(&app).await;
    assert!(greeting.starts_with("220 "), "{greeting}");
    assert!(
        smtp.say("MAIL FROM:<alice@corp.example>")
            .await
            .starts_with("503 "),
        "EHLO first"
    );
    let ehlo = smtp.say("EHLO client.corp.example").await;
    assert!(
        // The ceiling: 1.4 times the limit, for mail already protected.
        ehlo.contains("SIZE 2867") && ehlo.contains("PIPELINING") && ehlo.contains("8BITMIME"),
        "{ehlo}"
    );
    assert!(smtp.say("FROB").await.starts_with("500 "));
    assert!(
        smtp.say("MAIL FROM:<alice@corp.example> SIZE=999999")
            .await
            .starts_with("552 ")
    );
    assert!(
        smtp.say("MAIL FROM:<alice@corp.example>")
            .await
            .starts_with("250 ")
    );
    assert!(smtp.say("RCPT TO:<not an address>").await.starts_with("5"));
    assert!(
        smtp.say("RCPT TO:<bob@gmail.example>")
            .await
            .starts_with("250 ")
    );
    assert!(smtp.say("DATA").await.starts_with("354 "));
    let big = "x".repeat(100);
    for _ in 0..40 {
        smtp.writer
            .write_all(format!("{big}\r\n").as_bytes())
            .await
            .unwrap();
    }
    let reply = smtp.say(".").await;
    assert!(reply.starts_with("552 5.3.4 "), "{reply}");
    // Over the limit but under the ceiling: unprotected mail is still too big.
    assert!(
        smtp.say("MAIL FROM:<alice@corp.example>")
            .await
            .starts_with("250 ")
    );
    assert!(
        smtp.say("RCPT TO:<bob@gmail.example>")
            .await
            .starts_with("250 ")
    );
    assert!(smtp.say("DATA").await.starts_with("354 "));
    for _ in 0..25 {
        smtp.writer
            .write_all(format!("{big}\r\n").as_bytes())
            .await
            .unwrap();
    }
    let reply = smtp.say(".").await;
    assert_eq!(
        reply.trim(),
        "552 5.3.4 Message too big: the limit is 2048 bytes"
    );
    // The connection is still usable: a small message goes through.
    assert!(
        smtp.say("MAIL FROM:<alice@corp.example>")
            .await
            .starts_with("250 ")
    );
    assert!(
        smtp.say("RCPT TO:<bob@gmail.example>")
            .await
            .starts_with("250 ")
    );
    assert!(smtp.say("DATA").await.starts_with("354 "));
    smtp.writer
        .write_all(b"Subject: small\r\n\r\n..a dot-stuffed line\r\n")
        .await
        .unwrap();
    let reply = smtp.say(".").await;
    assert!(reply.starts_with("250 2.0.0 Ok: queued as "), "{reply}");
    assert!(smtp.say("QUIT").await.starts_with("221 "));
    let mails = catcher.wait_for(1).await;
    assert!(
        mails[0]
            .data
            .ends_with("Subject: small\r\n\r\n.a dot-stuffed line\r\n"),
        "{}",
        mails[0].data
    );
}
both!(the_intake_answers_bad_input_and_stays_usable);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_relay_networks_may_relay() {
    let catcher = Catcher::start().await;
    let app = gateway(
        Backend::Sqlite,
        &catcher,
        &[("smtp_relay_networks", "10.0.0.0/8")],
    )
    .await;
    let (mut smtp, _) = RawSmtp::connect(&app).await;
    smtp.say("EHLO outside.example").await;
    let reply = smtp.say("MAIL FROM:<alice@corp.example>").await;
    assert!(reply.starts_with("530 5.7.0 "), "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_relay_mail_goes_to_the_local_outbox() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let app = TestApp::builder(db)
        .settings(&[("dev_mode", "true"), ("internal_domains", "corp.example")])
        .spawn()
        .await;
    send(
        &app,
        ALICE,
        &[BOB],
        &message("[secure] Plans", "the plans", &[BOB]),
    )
    .await
    .unwrap();
    let client = browser();
    let mut page = String::new();
    for _ in 0..100 {
        page = client
            .get(app.url("/dev/outbox"))
            .send()
            .await
            .unwrap()
            .page()
            .await;
        if page.contains("/dev/outbox/") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        page.contains("bob@gmail.example") && page.contains(">Plans<"),
        "{page}"
    );
    let start = page.find("/dev/outbox/").unwrap();
    let item: String = page[start..].chars().take_while(|c| *c != '"').collect();
    let shown = client
        .get(app.url(&item))
        .send()
        .await
        .unwrap()
        .page()
        .await;
    assert!(
        shown.contains("alice@corp.example has sent you a protected message."),
        "{shown}"
    );
    let health: serde_json::Value = reqwest::get(app.url("/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["relay"], "none (local outbox)");

    // Outside development mode the outbox does not exist.
    let plain = TestApp::on(Backend::Sqlite).await.spawn().await;
    assert_eq!(
        browser()
            .get(plain.url("/dev/outbox"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

async fn a_message_that_passed_three_times_is_a_loop(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = gateway(backend, &catcher, &[]).await;
    let org = app.store.organization().await.unwrap().unwrap().org_id;
    let hop = |n: usize| {
        format!(
            "Received: from relay{n}.corp.example ([10.0.0.{n}])\r\n\tby gw{n}.corp.example (sealpost {org}) with ESMTP id x{n};\r\n\tMon, 23 Nov 2026 09:0{n}:00 +0000\r\n"
        )
    };
    let message = |hops: usize, subject: &str| {
        let lines: String = (1..=hops).map(hop).collect();
        format!(
            "{lines}From: {ALICE}\r\nTo: bob@gmail.example\r\nSubject: {subject}\r\n\r\nbody\r\n"
        )
    };
    // Twice through here already: still relayed.
    smtp_send(
        &app,
        ALICE,
        &["bob@gmail.example"],
        message(2, "Twice").as_bytes(),
    )
    .await;
    let relayed = catcher.wait_for(1).await;
    assert_eq!(relayed[0].to, ["bob@gmail.example"]);
    // Three times: a loop. Bob gets nothing, Alice a report.
    smtp_send(
        &app,
        ALICE,
        &["bob@gmail.example"],
        message(3, "Thrice").as_bytes(),
    )
    .await;
    let mails = catcher.wait_for(2).await;
    let report = &mails[1];
    assert_eq!(report.to, [ALICE]);
    assert_eq!(report.from, "");
    assert!(report.data.contains("multipart/report"), "{}", report.data);
    assert!(report.data.contains("mail loop"), "{}", report.data);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        catcher
            .caught()
            .iter()
            .all(|m| !m.data.contains("Subject: Thrice") || m.to == [ALICE]),
        "the looping message was not relayed"
    );
}
both!(a_message_that_passed_three_times_is_a_loop);
