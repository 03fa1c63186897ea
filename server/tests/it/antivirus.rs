//! Antivirus (seed 004): a real clamd scans what the agents saw, protected
//! mail after decryption; infected mail is stopped with a report to the
//! sender that names the signature and carries no content; when clamd cannot
//! scan, `SEALPOST_CLAMD_UNAVAILABLE` decides.

use crate::common::catcher::Catcher;
use crate::common::clamd::{Clamd, SIGNATURE, VIRUS_MARKER};
use crate::common::*;
use std::time::Duration;

async fn gateway(backend: Backend, catcher: &Catcher, clamd: &Clamd, unavailable: &str) -> TestApp {
    TestApp::on(backend)
        .await
        .gateway(catcher)
        .setting("clamd_addr", clamd.setting())
        .setting("clamd_unavailable", unavailable)
        .spawn()
        .await
}

/// Alice's message with one attachment (base64), to `to`.
fn with_attachment(to: &str, subject: &str, attachment: &str) -> Vec<u8> {
    use base64::Engine;
    let id = uuid::Uuid::new_v4().simple();
    let data = base64::engine::general_purpose::STANDARD.encode(attachment);
    format!(
        "From: alice@corp.example\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}@corp.example>\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
Content-Type: text/plain\r\n\r\nThe quarterly figures.\r\n--b\r\n\
Content-Type: application/octet-stream; name=\"figures.bin\"\r\n\
Content-Disposition: attachment; filename=\"figures.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{data}\r\n--b--\r\n"
    )
    .into_bytes()
}

fn protect(app: &TestApp, raw: &[u8]) -> Vec<u8> {
    let out = run_cli_bytes(
        &app.db,
        &["protect", "--rights", "encrypt-only"],
        Some(raw),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    out.stdout
}

async fn infected_mail_is_stopped_and_clean_mail_delivered(backend: Backend) {
    let catcher = Catcher::start().await;
    let clamd = Clamd::start().await;
    let app = gateway(backend, &catcher, &clamd, "defer").await;

    // Inside a protected message: only decryption shows it.
    let infected = protect(
        &app,
        &with_attachment(
            "carol@corp.example",
            "Figures",
            &format!("data {VIRUS_MARKER} data"),
        ),
    );
    assert!(!String::from_utf8_lossy(&infected).contains(VIRUS_MARKER));
    smtp_send(
        &app,
        "alice@corp.example",
        &["carol@corp.example"],
        &infected,
    )
    .await;
    let report = catcher.wait_for(1).await.remove(0);
    assert_eq!(report.to, ["alice@corp.example"], "only the sender hears");
    assert!(report.data.contains(SIGNATURE), "{}", report.data);
    assert!(!report.data.contains("quarterly figures"), "no content");
    assert!(
        !report.data.contains("message.sealpost"),
        "not even encrypted"
    );
    assert_eq!(app.count_events("rejected: virus found").await, 1);

    // A clean protected message: delivered, still protected.
    let clean = protect(
        &app,
        &with_attachment("carol@corp.example", "Clean", "just data"),
    );
    smtp_send(&app, "alice@corp.example", &["carol@corp.example"], &clean).await;
    let copy = catcher.wait_for(2).await.remove(1);
    assert_eq!(copy.to, ["carol@corp.example"]);
    assert!(copy.data.contains("message.sealpost") && !copy.data.contains("just data"));
    assert_eq!(app.count_events("scanned: clean").await, 1);

    // An infected unprotected message to someone outside: stopped too.
    smtp_send(
        &app,
        "alice@corp.example",
        &["dave@partner.example"],
        &with_attachment("dave@partner.example", "Plain", VIRUS_MARKER),
    )
    .await;
    let report = catcher.wait_for(3).await.remove(2);
    assert_eq!(report.to, ["alice@corp.example"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        catcher
            .caught()
            .iter()
            .all(|m| m.to != ["dave@partner.example"])
    );
}
both!(infected_mail_is_stopped_and_clean_mail_delivered);

/// Waits (up to a minute) for the catcher to hold `n` mails.
async fn delivered(catcher: &Catcher, n: usize) -> Vec<crate::common::catcher::Caught> {
    for _ in 0..600 {
        if catcher.caught().len() >= n {
            return catcher.caught();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{n} mails expected, {} arrived", catcher.caught().len());
}

async fn with_clamd_away_defer_waits_and_deliver_records_not_scanned(backend: Backend) {
    let catcher = Catcher::start().await;
    let clamd = Clamd::start().await;
    let app = gateway(backend, &catcher, &clamd, "defer").await;
    clamd.stop();
    smtp_send(
        &app,
        "alice@corp.example",
        &["dave@partner.example"],
        &with_attachment("dave@partner.example", "Waits", "data"),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(catcher.caught().is_empty(), "kept in the queue");
    assert!(app.count_events("deferred").await >= 1);
    clamd.restart().await;
    let mails = delivered(&catcher, 1).await;
    assert_eq!(mails[0].to, ["dave@partner.example"]);
    assert_eq!(app.count_events("scanned: clean").await, 1);

    // With `deliver`: at once, and the trace says it was not scanned.
    let catcher2 = Catcher::start().await;
    let app2 = gateway(backend, &catcher2, &clamd, "deliver").await;
    clamd.stop();
    smtp_send(
        &app2,
        "alice@corp.example",
        &["dave@partner.example"],
        &with_attachment("dave@partner.example", "Goes", "data"),
    )
    .await;
    catcher2.wait_for(1).await;
    assert_eq!(app2.count_events("not scanned").await, 1);
}
both!(with_clamd_away_defer_waits_and_deliver_records_not_scanned);

#[tokio::test]
async fn agent_list_shows_antivirus_last_before_protection() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let out = run_cli(
        &db,
        &["agent", "list"],
        None,
        &[("SEALPOST_CLAMD_ADDR", "127.0.0.1:3310")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let names: Vec<String> = stdout(&out)
        .lines()
        .filter_map(|l| l.strip_prefix("Name  : ").map(str::to_string))
        .collect();
    assert_eq!(
        names,
        [
            "transport decryption",
            "transport rules",
            "antivirus",
            "protection"
        ]
    );
    let refused = run_cli(
        &db,
        &["agent", "list"],
        None,
        &[("SEALPOST_CLAMD_ADDR", "10.0.0.5:3310")],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("SEALPOST_CLAMD_ADDR"),
        "{}",
        stderr(&refused)
    );
}

#[tokio::test]
async fn clamd_on_a_unix_socket_stops_an_infected_message() {
    let catcher = Catcher::start().await;
    let clamd = Clamd::start_unix().await;
    let app = gateway(Backend::Sqlite, &catcher, &clamd, "defer").await;
    smtp_send(
        &app,
        "alice@corp.example",
        &["dave@partner.example"],
        &with_attachment("dave@partner.example", "Plain", VIRUS_MARKER),
    )
    .await;
    let report = catcher.wait_for(1).await.remove(0);
    assert_eq!(report.to, ["alice@corp.example"]);
    assert!(text_of(&report).contains(SIGNATURE), "{}", report.data);
}
