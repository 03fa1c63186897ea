//! Transport decryption (seed 004), first part: mail protected by this
//! organization reaches the agents in plaintext unless the setting is
//! `disabled` or a hop already inspected it; internal recipients get it
//! re-encrypted with the same rights, template and expiry, and marked.

mod common;

use common::catcher::Catcher;
use common::*;
use server::pipeline::faults::Faults;
use server::pipeline::{InFlight, Stage, StageError};
use server::startup::Agents;
use std::sync::{Arc, Mutex};

const LINE: &str = "Checked by the test agent.\r\n";

/// Sees each message's plaintext and appends a line to it.
#[derive(Default)]
struct TestAgent {
    seen: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl Stage for TestAgent {
    fn name(&self) -> &str {
        "test agent"
    }

    async fn process(&self, message: &mut InFlight) -> Result<(), StageError> {
        self.seen
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(&message.raw).into_owned());
        message.raw.extend_from_slice(LINE.as_bytes());
        Ok(())
    }
}

async fn gateway(backend: Backend, catcher: &Catcher) -> (TestApp, Arc<TestAgent>) {
    let (app, agent, _) = gateway_with_faults(backend, catcher).await;
    (app, agent)
}

async fn gateway_with_faults(
    backend: Backend,
    catcher: &Catcher,
) -> (TestApp, Arc<TestAgent>, Faults) {
    let agent = Arc::new(TestAgent::default());
    let faults = Faults::default();
    let db = TestDatabase::new(backend).await;
    let app = site(db, &catcher.url(), agent.clone(), faults.clone()).await;
    (app, agent, faults)
}

/// A gateway of corp.example relaying to `relay`, with one agent stage.
async fn site(db: TestDatabase, relay: &str, agent: Arc<dyn Stage>, faults: Faults) -> TestApp {
    TestApp::builder(db)
        .settings(&[("relay_url", relay), ("internal_domains", "corp.example")])
        .agents(Agents(vec![agent]))
        .faults(faults)
        .spawn()
        .await
}

fn protect(app: &TestApp, raw: &[u8]) -> Vec<u8> {
    let out = run_cli_bytes(
        &app.db,
        &["protect", "--rights", "do-not-forward"],
        Some(raw),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    out.stdout
}

fn unprotect(app: &TestApp, raw: &[u8], info: bool) -> String {
    let args: &[&str] = if info {
        &["unprotect", "--info"]
    } else {
        &["unprotect"]
    };
    let out = run_cli_bytes(&app.db, args, Some(raw), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// Alice sends `raw` to Carol through the gateway.
async fn to_carol(app: &TestApp, raw: &[u8]) {
    smtp_send(app, "alice@corp.example", &["carol@corp.example"], raw).await;
}

fn envelope_part(mail: &str) -> String {
    let at = mail.find("filename=\"message.sealpost\"").unwrap();
    mail[at..].split("--sealpost-").next().unwrap().to_string()
}

fn original(canary: &str) -> Vec<u8> {
    let id = uuid::Uuid::new_v4().simple();
    format!("From: alice@corp.example\r\nTo: carol@corp.example\r\nSubject: Plans\r\nMessage-ID: <{id}@corp.example>\r\n\r\nThe {canary} plans.\r\n").into_bytes()
}

async fn with_optional_the_agent_reads_and_the_copy_is_re_encrypted(backend: Backend) {
    let catcher = Catcher::start().await;
    let (app, agent) = gateway(backend, &catcher).await;
    let canary = format!("canary{}", uuid::Uuid::new_v4().simple());
    let protected = protect(&app, &original(&canary));
    let before = unprotect(&app, &protected, true);
    to_carol(&app, &protected).await;
    let copy = catcher.wait_for(1).await.remove(0);

    assert!(
        agent
            .seen
            .lock()
            .unwrap()
            .iter()
            .any(|m| m.contains(&canary)),
        "the agent saw the plaintext"
    );
    assert!(!copy.data.contains(&canary), "the copy is protected again");
    assert_ne!(
        envelope_part(&copy.data),
        envelope_part(std::str::from_utf8(&protected).unwrap())
    );
    let inside = unprotect(&app, copy.data.as_bytes(), false);
    assert!(
        inside.ends_with(LINE),
        "the agent's line is inside: {inside}"
    );
    let after = unprotect(&app, copy.data.as_bytes(), true);
    for field in ["OrgId", "MessageId", "Rights", "Template", "ExpiresAt"] {
        let line = |text: &str| {
            text.lines()
                .find(|l| l.starts_with(field))
                .map(str::to_string)
        };
        assert_eq!(line(&before), line(&after), "{field} is kept");
    }
    assert!(before.contains("Inspected      : False"), "{before}");
    assert!(
        !after.contains("Inspected      : False") && after.contains("Inspected      : 20"),
        "{after}"
    );
    let events: Vec<String> = [
        "decrypted",
        "inspected by transport rules, test agent",
        "re-encrypted",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for kind in &events {
        assert_eq!(
            app.store.events_of_kind(kind).await.unwrap().len(),
            1,
            "{kind}"
        );
    }

    // A later hop of the organization recognises the marker and does not
    // decrypt again; a forged marker is ignored.
    let seen = agent.seen.lock().unwrap().len();
    to_carol(&app, copy.data.as_bytes()).await;
    let again = catcher.wait_for(2).await.remove(1);
    assert_eq!(
        agent.seen.lock().unwrap().len(),
        seen,
        "not decrypted again"
    );
    assert_eq!(
        envelope_part(&again.data),
        envelope_part(&copy.data),
        "passed as it came"
    );
    assert_eq!(
        app.store
            .events_of_kind("decryption skipped: already inspected")
            .await
            .unwrap()
            .len(),
        1
    );
    let forged = copy.data.replacen("mac=", "mac=AAAA", 1);
    to_carol(&app, forged.as_bytes()).await;
    catcher.wait_for(3).await;
    assert_eq!(
        agent.seen.lock().unwrap().len(),
        seen + 1,
        "a forged marker is ignored"
    );
}
both!(with_optional_the_agent_reads_and_the_copy_is_re_encrypted);

async fn with_disabled_the_agent_sees_nothing_and_the_envelope_is_untouched(backend: Backend) {
    let catcher = Catcher::start().await;
    let (app, agent) = gateway(backend, &catcher).await;
    let out = app.cli(
        &["irm-config", "set", "--transport-decryption", "disabled"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let canary = format!("canary{}", uuid::Uuid::new_v4().simple());
    let protected = protect(&app, &original(&canary));
    to_carol(&app, &protected).await;
    let copy = catcher.wait_for(1).await.remove(0);
    assert!(
        agent
            .seen
            .lock()
            .unwrap()
            .iter()
            .all(|m| !m.contains(&canary)),
        "the agent saw nothing"
    );
    assert_eq!(
        envelope_part(&copy.data),
        envelope_part(std::str::from_utf8(&protected).unwrap()),
        "byte-identical"
    );
    assert_eq!(
        app.store
            .events_of_kind("decryption skipped: transport decryption is disabled")
            .await
            .unwrap()
            .len(),
        1
    );
}
both!(with_disabled_the_agent_sees_nothing_and_the_envelope_is_untouched);

/// With `mandatory`: one or two transient failures are retried and the
/// message is delivered inspected; a third, or a permanent failure, refuses
/// it with a report that returns it still encrypted; nothing is delivered.
async fn mandatory_retries_then_refuses(backend: Backend) {
    let catcher = Catcher::start().await;
    let (app, agent, faults) = gateway_with_faults(backend, &catcher).await;
    let out = app.cli(
        &["irm-config", "set", "--transport-decryption", "mandatory"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));

    faults.fail_decryption(2, false);
    let canary = format!("canary{}", uuid::Uuid::new_v4().simple());
    to_carol(&app, &protect(&app, &original(&canary))).await;
    let copy = catcher.wait_for(1).await.remove(0);
    assert_eq!(copy.to, ["carol@corp.example"]);
    assert!(
        unprotect(&app, copy.data.as_bytes(), false).ends_with(LINE),
        "inspected after two retries"
    );
    assert_eq!(
        app.store
            .events_of_kind("decryption failed (transient), try 2")
            .await
            .unwrap()
            .len(),
        1
    );

    faults.fail_decryption(3, false);
    let canary = format!("canary{}", uuid::Uuid::new_v4().simple());
    let protected = protect(&app, &original(&canary));
    let seen = agent.seen.lock().unwrap().len();
    to_carol(&app, &protected).await;
    let report = catcher.wait_for(2).await.remove(1);
    assert_eq!(report.to, ["alice@corp.example"]);
    assert!(
        report.data.contains("decryption failed three times"),
        "{}",
        report.data
    );
    // The encrypted original comes back whole, as message/rfc822.
    let parsed = mail_parser::MessageParser::default()
        .parse(report.data.as_bytes())
        .unwrap();
    let returned = parsed
        .attachments()
        .find(|a| a.is_message())
        .expect("the message/rfc822 part");
    let returned = String::from_utf8_lossy(returned.contents()).into_owned();
    assert!(returned.contains("message.sealpost"), "{returned}");
    assert!(!report.data.contains(&canary), "still encrypted");
    assert_eq!(agent.seen.lock().unwrap().len(), seen, "no agent saw it");

    // Permanent: refused at once; with optional, delivered uninspected.
    faults.fail_decryption(0, true);
    to_carol(&app, &protect(&app, &original("x"))).await;
    let report = catcher.wait_for(3).await.remove(2);
    assert_eq!(report.to, ["alice@corp.example"]);
    let out = app.cli(
        &["irm-config", "set", "--transport-decryption", "optional"],
        None,
    );
    assert!(out.status.success());
    let protected = protect(&app, &original("y"));
    to_carol(&app, &protected).await;
    let delivered = catcher.wait_for(4).await.remove(3);
    assert_eq!(delivered.to, ["carol@corp.example"]);
    assert_eq!(
        envelope_part(&delivered.data),
        envelope_part(std::str::from_utf8(&protected).unwrap()),
        "as it came"
    );
    assert_eq!(
        app.store
            .events_of_kind("delivered uninspected")
            .await
            .unwrap()
            .len(),
        1
    );
    faults.fail_decryption(0, false);
}
both!(mandatory_retries_then_refuses);

/// A permanent re-encryption failure: a report without any decrypted
/// content, whatever the setting, and nothing delivered.
async fn a_re_encryption_failure_is_reported_without_plaintext(backend: Backend) {
    let catcher = Catcher::start().await;
    let (app, agent, faults) = gateway_with_faults(backend, &catcher).await;
    faults.fail_reencryption(0, true);
    let canary = format!("canary{}", uuid::Uuid::new_v4().simple());
    to_carol(&app, &protect(&app, &original(&canary))).await;
    let report = catcher.wait_for(1).await.remove(0);
    assert!(
        agent
            .seen
            .lock()
            .unwrap()
            .iter()
            .any(|m| m.contains(&canary)),
        "the agent saw it"
    );
    assert_eq!(report.to, ["alice@corp.example"]);
    assert!(
        report.data.contains("re-encryption failed"),
        "{}",
        report.data
    );
    assert!(
        !report.data.contains(&canary),
        "no decrypted content in the report"
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        catcher.caught().iter().all(|m| !m.data.contains(&canary)),
        "nothing carries the plaintext"
    );
    assert_eq!(catcher.caught().len(), 1, "nothing was delivered");
}
both!(a_re_encryption_failure_is_reported_without_plaintext);

/// Wraps each message into a new one (`message/rfc822` inside), as some
/// archiving agents do.
struct WrappingAgent;

#[async_trait::async_trait]
impl Stage for WrappingAgent {
    fn name(&self) -> &str {
        "wrapping agent"
    }

    async fn process(&self, message: &mut InFlight) -> Result<(), StageError> {
        let mut wrapper = b"From: archive@corp.example\r\nTo: carol@corp.example\r\nSubject: Archived\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"wrap\"\r\n\r\n--wrap\r\nContent-Type: text/plain\r\n\r\nThe original is attached.\r\n--wrap\r\nContent-Type: message/rfc822\r\n\r\n".to_vec();
        wrapper.extend_from_slice(&message.raw);
        wrapper.extend_from_slice(b"\r\n--wrap--\r\n");
        message.raw = wrapper;
        Ok(())
    }
}

/// No bypass: when an agent wraps the message, the whole new message is
/// protected, the original inside it included.
async fn a_wrapped_message_is_protected_whole(backend: Backend) {
    let catcher = Catcher::start().await;
    let db = TestDatabase::new(backend).await;
    let app = site(
        db,
        &catcher.url(),
        Arc::new(WrappingAgent),
        Faults::default(),
    )
    .await;
    let canary = format!("canary{}", uuid::Uuid::new_v4().simple());
    let protected = protect(&app, &original(&canary));
    let before = unprotect(&app, &protected, true);
    to_carol(&app, &protected).await;
    let copy = catcher.wait_for(1).await.remove(0);
    assert!(
        !copy.data.contains(&canary),
        "only the protected format leaves"
    );
    assert!(copy.data.contains("X-Sealpost-Protected: v1;"));
    let inside = unprotect(&app, copy.data.as_bytes(), false);
    assert!(
        inside.contains("Subject: Archived") && inside.contains("message/rfc822"),
        "{inside}"
    );
    assert!(
        inside.contains(&canary),
        "the original is inside the wrapper"
    );
    let after = unprotect(&app, copy.data.as_bytes(), true);
    for field in ["MessageId", "Template", "ExpiresAt"] {
        let line = |text: &str| {
            text.lines()
                .find(|l| l.starts_with(field))
                .map(str::to_string)
        };
        assert_eq!(line(&before), line(&after), "{field} stays the original's");
    }
}
both!(a_wrapped_message_is_protected_whole);

/// Two sites of one organization (the second imported the first's keys),
/// the first relaying to the second: the second sees the first's marker and
/// does not decrypt again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_site_of_the_organization_does_not_decrypt_again() {
    let catcher = Catcher::start().await;
    // The second site, with the first's keys imported before it starts.
    let first_db = TestDatabase::new(Backend::Sqlite).await;
    let second_db = TestDatabase::new(Backend::Sqlite).await;
    share_keys(&first_db, &second_db);
    let second_agent = Arc::new(TestAgent::default());
    let second = site(
        second_db,
        &catcher.url(),
        second_agent.clone(),
        Faults::default(),
    )
    .await;
    let first_agent = Arc::new(TestAgent::default());
    let onward = format!("smtp://{}", second.smtp_addr);
    let first = site(first_db, &onward, first_agent.clone(), Faults::default()).await;

    let canary = format!("canary{}", uuid::Uuid::new_v4().simple());
    let protected = protect(&first, &original(&canary));
    to_carol(&first, &protected).await;
    let copy = catcher.wait_for(1).await.remove(0);
    assert!(
        first_agent
            .seen
            .lock()
            .unwrap()
            .iter()
            .any(|m| m.contains(&canary)),
        "the first site inspected it"
    );
    assert!(
        second_agent.seen.lock().unwrap().is_empty(),
        "the second site did not decrypt it"
    );
    assert_eq!(
        second
            .store
            .events_of_kind("decryption skipped: already inspected")
            .await
            .unwrap()
            .len(),
        1
    );
    let inside = unprotect(&second, copy.data.as_bytes(), false);
    assert_eq!(inside.matches(LINE).count(), 1, "inspected once: {inside}");
}

/// Everything the test binary logs, at TRACE level.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || Writer(sink.clone()))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        logs
    })
    .clone()
}

struct Writer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Files under `dir` (changed since `since`, when given) holding `needle`.
fn files_holding(
    dir: &std::path::Path,
    needle: &[u8],
    since: Option<std::time::SystemTime>,
) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            found.extend(files_holding(&path, needle, since));
        } else if meta.len() < 64 << 20
            && since.is_none_or(|t| meta.modified().is_ok_and(|m| m >= t))
            && std::fs::read(&path)
                .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        {
            found.push(path.display().to_string());
        }
    }
    found
}

/// After a permanent re-encryption failure, the plaintext the agent saw is
/// nowhere: not in what left, not in the database (file, WAL or dump), the
/// data directory, the logs at TRACE level, or a temporary file.
async fn the_plaintext_is_found_nowhere_after_a_re_encryption_failure(backend: Backend) {
    let logs = captured_logs();
    let started = std::time::SystemTime::now();
    let catcher = Catcher::start().await;
    let (app, agent, faults) = gateway_with_faults(backend, &catcher).await;
    faults.fail_reencryption(0, true);
    let canary = format!("canary{}", uuid::Uuid::new_v4().simple());
    to_carol(&app, &protect(&app, &original(&canary))).await;
    catcher.wait_for(1).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        agent
            .seen
            .lock()
            .unwrap()
            .iter()
            .any(|m| m.contains(&canary)),
        "the agent saw the plaintext"
    );

    let needle = canary.as_bytes();
    assert!(
        catcher.caught().iter().all(|m| !m.data.contains(&canary)),
        "what left"
    );
    assert_eq!(
        files_holding(app.db.dir.path(), needle, None),
        Vec::<String>::new(),
        "the data directory (SQLite file and WAL)"
    );
    if backend == Backend::Postgres {
        let dump = std::process::Command::new("pg_dump")
            .arg(&app.db.url)
            .output()
            .expect("pg_dump runs");
        assert!(
            dump.status.success(),
            "{}",
            String::from_utf8_lossy(&dump.stderr)
        );
        assert!(
            !dump.stdout.windows(needle.len()).any(|w| w == needle),
            "a pg_dump of the database"
        );
    }
    let logged = logs.lock().unwrap().clone();
    assert!(!logged.is_empty(), "TRACE logs were captured");
    assert!(
        !logged.windows(needle.len()).any(|w| w == needle),
        "the logs at TRACE level"
    );
    assert_eq!(
        files_holding(&std::env::temp_dir(), needle, Some(started)),
        Vec::<String>::new(),
        "temporary files"
    );
}
both!(the_plaintext_is_found_nowhere_after_a_re_encryption_failure);

/// Re-encryption, like decryption: two transient failures are retried and
/// the message is delivered; a third refuses it, whatever the setting.
async fn re_encryption_is_tried_three_times(backend: Backend) {
    let catcher = Catcher::start().await;
    let (app, _agent, faults) = gateway_with_faults(backend, &catcher).await;
    faults.fail_reencryption(2, false);
    to_carol(&app, &protect(&app, &original("a"))).await;
    let copy = catcher.wait_for(1).await.remove(0);
    assert_eq!(copy.to, ["carol@corp.example"]);
    assert!(unprotect(&app, copy.data.as_bytes(), false).ends_with(LINE));
    assert_eq!(
        app.store
            .events_of_kind("re-encryption failed (transient), try 2")
            .await
            .unwrap()
            .len(),
        1
    );

    faults.fail_reencryption(3, false);
    to_carol(&app, &protect(&app, &original("b"))).await;
    let report = catcher.wait_for(2).await.remove(1);
    assert_eq!(report.to, ["alice@corp.example"]);
    assert!(
        report.data.contains("re-encryption failed three times"),
        "{}",
        report.data
    );
}
both!(re_encryption_is_tried_three_times);

/// A marker copied from another message does not verify: the message is
/// decrypted and inspected.
async fn a_copied_marker_is_ignored(backend: Backend) {
    let catcher = Catcher::start().await;
    let (app, agent) = gateway(backend, &catcher).await;
    to_carol(&app, &protect(&app, &original("one"))).await;
    let marked = catcher.wait_for(1).await.remove(0);
    let marker = marked
        .data
        .lines()
        .find(|l| l.starts_with("X-Sealpost-Inspected:"))
        .expect("the copy is marked")
        .to_string();
    let other = String::from_utf8(protect(&app, &original("two"))).unwrap();
    let with_copied = format!("{marker}\r\n{other}");
    let seen = agent.seen.lock().unwrap().len();
    to_carol(&app, with_copied.as_bytes()).await;
    catcher.wait_for(2).await;
    assert_eq!(
        agent.seen.lock().unwrap().len(),
        seen + 1,
        "decrypted and inspected"
    );
}
both!(a_copied_marker_is_ignored);
