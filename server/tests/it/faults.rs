//! Faults under load: whatever breaks, every message that heard `250` is
//! delivered, once. (`bench/faults.sh` runs the same cases longer.)

use crate::common::smtp::{SmtpSession, message_id_of, numbered};
use crate::common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A tmpfs of the test's own over a directory, taken away on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// `None` when this process may not mount (not root).
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        if !root {
            return None;
        }
        let status = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .status()
            .expect("run mount");
        assert!(status.success(), "mount a tmpfs on {}", dir.display());
        Some(Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Fills the file system with `path` until `leave` bytes are free.
fn fill_leaving(path: &Path, leave: u64) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    while file.write_all(&chunk).is_ok() {
        written += chunk.len() as u64;
    }
    let _ = file.flush();
    file.set_len(written.saturating_sub(leave)).unwrap();
    file.sync_all().unwrap();
}

/// What the senders heard: Message-IDs answered `250`, and every other reply.
#[derive(Default)]
struct Heard {
    acknowledged: Vec<String>,
    refused: BTreeMap<String, usize>,
}

/// Waits until the relay has every acknowledged message; returns how many
/// times each Message-ID arrived.
async fn wait_delivered(
    catcher: &catcher::Catcher,
    acknowledged: &[String],
) -> BTreeMap<String, usize> {
    let mut missing = acknowledged.len();
    for _ in 0..1200 {
        let caught: Vec<String> = catcher
            .caught()
            .iter()
            .filter_map(|m| message_id_of(&m.data))
            .collect();
        missing = acknowledged
            .iter()
            .filter(|id| !caught.contains(id))
            .count();
        if missing == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(missing, 0, "acknowledged messages never delivered");
    // Anything sent twice would have come by now.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for m in catcher.caught() {
        if let Some(id) = message_id_of(&m.data) {
            *counts.entry(id).or_default() += 1;
        }
    }
    counts
}

/// Every acknowledged message delivered, none twice.
async fn assert_each_delivered_once(catcher: &catcher::Catcher, acknowledged: &[String]) {
    let counts = wait_delivered(catcher, acknowledged).await;
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_mail_with_452_and_loses_nothing_acknowledged() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let Some(fs) = Tmpfs::mount(db.dir.path(), "32m") else {
        eprintln!("skipped: mounting a small file system needs root");
        return;
    };
    let catcher = catcher::Catcher::start().await;
    // Short leases: an outcome the full disk swallowed would send its mail
    // again within the test, where it is counted.
    let faults = server::pipeline::faults::Faults::default();
    faults.short_leases(Duration::from_secs(2));
    let app = TestApp::builder(db)
        .gateway(&catcher)
        .faults(faults)
        .spawn()
        .await;
    // Unmounted before the node's directory is removed.
    let _fs = fs;
    let ballast = app.db.dir.path().join("ballast");
    fill_leaving(&ballast, 512 * 1024);

    // Four mail servers send until the disk has refused a few messages.
    let heard = Arc::new(Mutex::new(Heard::default()));
    let mut senders = Vec::new();
    for s in 0..4 {
        let heard = heard.clone();
        let addr = app.smtp_addr;
        senders.push(tokio::spawn(async move {
            let mut session = SmtpSession::open(addr).await.expect("an SMTP session");
            for i in 0..150 {
                let id = format!("full-{s}-{i}@corp.example");
                let reply = session
                    .send(
                        "alice@corp.example",
                        "bob@outside.example",
                        &numbered(&id, 24 * 1024),
                    )
                    .await
                    .expect("the session stays usable");
                let mut heard = heard.lock().unwrap();
                if reply.starts_with("250") {
                    heard.acknowledged.push(id);
                } else {
                    *heard.refused.entry(reply).or_default() += 1;
                }
                if heard.refused.values().sum::<usize>() >= 8 {
                    break;
                }
            }
            session
        }));
    }
    let mut sessions = Vec::new();
    for s in senders {
        sessions.push(s.await.unwrap());
    }
    let (acknowledged, refused) = {
        let heard = heard.lock().unwrap();
        (heard.acknowledged.clone(), heard.refused.clone())
    };
    assert!(!acknowledged.is_empty(), "some mail fitted on the disk");
    assert_eq!(
        refused.keys().collect::<Vec<_>>(),
        vec!["452 4.3.1 Insufficient system storage"],
        "a full disk is said as such, and nothing else is refused"
    );

    // Space comes back: the same sessions are heard again, no restart.
    std::fs::remove_file(&ballast).unwrap();
    let mut acknowledged = acknowledged;
    for (s, session) in sessions.iter_mut().enumerate() {
        let id = format!("after-{s}@corp.example");
        let reply = session
            .send(
                "alice@corp.example",
                "bob@outside.example",
                &numbered(&id, 1024),
            )
            .await
            .expect("the session stays usable");
        assert!(reply.starts_with("250"), "accepted again: {reply}");
        acknowledged.push(id);
    }
    assert_each_delivered_once(&catcher, &acknowledged).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_each_delivered_once(&catcher, &acknowledged).await;
    let out = app.cli(&["queue", "list", "--json"], None);
    assert_eq!(stdout(&out).trim(), "[]", "nothing left waiting");

    let pool = sqlx::SqlitePool::connect(&app.db.url).await.unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    pool.close().await;
}

/// Four SMTP clients send `per_sender` messages each; returns the
/// Message-IDs answered `250` (all of them, or the test fails).
async fn send_load(app: &TestApp, tag: &str, per_sender: usize) -> Vec<String> {
    send_load_to(app.smtp_addr, tag, per_sender).await
}

async fn send_load_to(addr: std::net::SocketAddr, tag: &str, per_sender: usize) -> Vec<String> {
    let mut senders = Vec::new();
    for s in 0..4 {
        let tag = tag.to_string();
        senders.push(tokio::spawn(async move {
            let mut session = SmtpSession::open(addr).await.expect("an SMTP session");
            let mut acknowledged = Vec::new();
            for i in 0..per_sender {
                let id = format!("{tag}-{s}-{i}@corp.example");
                let reply = session
                    .send(
                        "alice@corp.example",
                        "bob@outside.example",
                        &numbered(&id, 2048),
                    )
                    .await
                    .expect("the session stays usable");
                assert!(reply.starts_with("250"), "accepted: {reply}");
                acknowledged.push(id);
            }
            acknowledged
        }));
    }
    let mut all = Vec::new();
    for s in senders {
        all.extend(s.await.unwrap());
    }
    all
}

async fn the_relay_away_defers_mail_that_is_delivered_once_when_it_is_back(backend: Backend) {
    let catcher = catcher::Catcher::start().await;
    catcher.stop();
    let app = TestApp::on(backend)
        .await
        .gateway(&catcher)
        .setting("metrics_addr", "127.0.0.1:0")
        .spawn()
        .await;
    let acknowledged = send_load(&app, "relay-away", 5).await;
    assert_eq!(
        app.metric(r#"sealpost_smtp_messages_total{code="250"}"#)
            .await,
        20.0
    );

    // The operator sees every one of them waiting, with the relay's error.
    let mut waiting = Vec::new();
    for _ in 0..200 {
        let out = app.cli(&["queue", "list", "--kind", "outbound", "--json"], None);
        assert!(out.status.success(), "{}", stderr(&out));
        waiting = serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap();
        if waiting.len() == acknowledged.len() && waiting.iter().all(|j| !j["LastError"].is_null())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(waiting.len(), acknowledged.len(), "{waiting:#?}");
    assert!(
        waiting.iter().all(|j| !j["LastError"].is_null()),
        "{waiting:#?}"
    );
    assert!(
        app.metric(r#"sealpost_deliveries_total{result="deferred"}"#)
            .await
            >= 20.0
    );
    assert_eq!(
        app.metric(r#"sealpost_deliveries_total{result="sent"}"#)
            .await,
        0.0
    );

    catcher.restart().await;
    let out = app.cli(&["queue", "retry", "--all"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_each_delivered_once(&catcher, &acknowledged).await;
    assert_eq!(
        app.metric(r#"sealpost_deliveries_total{result="sent"}"#)
            .await,
        20.0
    );
    assert_eq!(
        app.metric(r#"sealpost_queue_jobs{kind="outbound",state="waiting"}"#)
            .await
            + app
                .metric(r#"sealpost_queue_jobs{kind="outbound",state="ready"}"#)
                .await,
        0.0
    );
    let out = app.cli(&["queue", "list", "--json"], None);
    assert_eq!(stdout(&out).trim(), "[]");
}
both!(the_relay_away_defers_mail_that_is_delivered_once_when_it_is_back);

/// A TCP proxy in front of PostgreSQL that the test can cut (every
/// connection dropped, new ones refused) and restore on the same port: the
/// database going away, as a node sees it, without stopping the server
/// other tests share.
struct DbProxy {
    addr: std::net::SocketAddr,
    target: String,
    tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl DbProxy {
    async fn start(target: String) -> DbProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = DbProxy {
            addr: listener.local_addr().unwrap(),
            target,
            tasks: Arc::default(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let target = self.target.clone();
        let tasks = self.tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap().push(pipe);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    async fn restore(&self) {
        for _ in 0..200 {
            if let Ok(listener) = tokio::net::TcpListener::bind(self.addr).await {
                self.serve(listener);
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the proxy's port {} stayed taken", self.addr);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_away_is_said_with_451_and_503_and_the_node_carries_on_after() {
    let mut db = TestDatabase::new(Backend::Postgres).await;
    let mut url = url::Url::parse(&db.url).unwrap();
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let proxy = DbProxy::start(target).await;
    url.set_port(Some(proxy.addr.port())).unwrap();
    db.url = url.to_string();
    let catcher = catcher::Catcher::start().await;
    let app = TestApp::builder(db)
        .gateway(&catcher)
        .setting("metrics_addr", "127.0.0.1:0")
        .spawn()
        .await;
    let mut acknowledged = send_load(&app, "before", 5).await;

    proxy.cut();
    let mut session = SmtpSession::open(app.smtp_addr)
        .await
        .expect("the intake still greets");
    let reply = session
        .send(
            "alice@corp.example",
            "bob@outside.example",
            &numbered("while-away@corp.example", 2048),
        )
        .await
        .expect("an answer, not a dropped connection");
    assert!(reply.starts_with("451 4.3.0"), "{reply}");
    let health = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 503);
    let page = browser()
        .get(app.url("/r/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 503);
    assert!(
        page.page()
            .await
            .contains("sealpost cannot answer right now")
    );
    // The operator's graphs go on: counters are served without the database.
    assert_eq!(
        app.metric(r#"sealpost_smtp_messages_total{code="451"}"#)
            .await,
        1.0
    );

    // Back: the same node and the same session go on, no restart.
    proxy.restore().await;
    let mut reply = String::new();
    for _ in 0..30 {
        reply = session
            .send(
                "alice@corp.example",
                "bob@outside.example",
                &numbered("after-away@corp.example", 2048),
            )
            .await
            .expect("the session stays usable");
        if reply.starts_with("250") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(reply.starts_with("250"), "{reply}");
    acknowledged.push("after-away@corp.example".into());
    acknowledged.extend(send_load(&app, "after", 5).await);
    assert_each_delivered_once(&catcher, &acknowledged).await;
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        200
    );
}

fn free_addr() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A `sealpost serve` process, killed (`-9`) when dropped.
struct Serve(std::process::Child);

impl Serve {
    fn kill_9(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// `sealpost serve` as its own process, as an operator runs it.
/// Mails in flight to the relay per node in the kill tests.
const IN_FLIGHT: usize = 4;

fn serve(
    db: &TestDatabase,
    relay: &str,
    smtp: std::net::SocketAddr,
    http: std::net::SocketAddr,
) -> Serve {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(db.dir.path().join("serve.log"))
        .unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_sealpost"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SEALPOST_DATA_DIR", db.dir.path())
        .env("SEALPOST_DATABASE_URL", &db.url)
        .env("SEALPOST_HTTP_ADDR", http.to_string())
        .env("SEALPOST_SMTP_ADDR", smtp.to_string())
        .env("SEALPOST_RELAY_URL", relay)
        .env("SEALPOST_INTERNAL_DOMAINS", "corp.example")
        // A killed process's leased jobs come back after 5 s, not minutes
        // (debug builds only: `make test` runs those).
        .env("SEALPOST_TEST_LEASE_MS", "5000")
        // At most this many mails are handed to the relay before their
        // outcome is durable: what a kill can make go twice.
        .env("SEALPOST_OUTBOUND_IN_FLIGHT", IN_FLIGHT.to_string())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start sealpost serve");
    Serve(child)
}

async fn wait_ready(smtp: std::net::SocketAddr) {
    for _ in 0..600 {
        if SmtpSession::open(smtp).await.is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("sealpost serve did not start");
}

async fn kill_9_under_load_loses_nothing_acknowledged(backend: Backend) {
    const KILLS: usize = 2;
    let catcher = catcher::Catcher::start().await;
    let relay = catcher.url();
    let db = TestDatabase::new(backend).await;
    let (smtp, http) = (free_addr(), free_addr());
    let mut node = serve(&db, &relay, smtp, http);
    wait_ready(smtp).await;

    // Eight mail servers send without pause; each retries what was not
    // answered 250 under a new Message-ID, as a new message.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut senders = Vec::new();
    for s in 0..8 {
        let (stop, acknowledged) = (stop.clone(), acknowledged.clone());
        senders.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let Some(mut session) = SmtpSession::open(smtp).await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    n += 1;
                    let id = format!("kill-{s}-{n}@corp.example");
                    let raw = numbered(&id, 2048);
                    match session
                        .send("alice@corp.example", "bob@outside.example", &raw)
                        .await
                    {
                        Some(reply) if reply.starts_with("250") => {
                            acknowledged.lock().unwrap().push(id)
                        }
                        Some(_) => {}
                        None => break,
                    }
                }
            }
        }));
    }
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        node.kill_9();
        node = serve(&db, &relay, smtp, http);
        wait_ready(smtp).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for s in senders {
        s.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 50,
        "load went on: {}",
        acknowledged.len()
    );
    let counts = wait_delivered(&catcher, &acknowledged).await;
    // At least once: a mail the relay took just before the kill, whose
    // outcome was not yet written, goes again (at most one per mail in
    // flight).
    let twice = counts.values().filter(|n| **n > 1).count();
    assert!(
        twice <= IN_FLIGHT * KILLS,
        "{twice} delivered twice: {counts:?}"
    );
    drop(node);
}
both!(kill_9_under_load_loses_nothing_acknowledged);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres_one_killed_lose_nothing() {
    let catcher = catcher::Catcher::start().await;
    let relay = catcher.url();
    let db = TestDatabase::new(Backend::Postgres).await;
    // Two nodes of one organization: one database, one root key file.
    let (a_smtp, b_smtp) = (free_addr(), free_addr());
    let mut a = serve(&db, &relay, a_smtp, free_addr());
    wait_ready(a_smtp).await;
    let b = serve(&db, &relay, b_smtp, free_addr());
    wait_ready(b_smtp).await;

    // Four mail servers send without pause, two to each node; those of
    // the killed node go on to the other one.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut senders = Vec::new();
    for (s, first) in [a_smtp, b_smtp, a_smtp, b_smtp].into_iter().enumerate() {
        let stop = stop.clone();
        senders.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut smtp = first;
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let Some(mut session) = SmtpSession::open(smtp).await else {
                    smtp = b_smtp;
                    continue;
                };
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    n += 1;
                    let id = format!("nodes-{s}-{n}@corp.example");
                    let raw = numbered(&id, 2048);
                    match session
                        .send("alice@corp.example", "bob@outside.example", &raw)
                        .await
                    {
                        Some(reply) if reply.starts_with("250") => mine.push(id),
                        Some(_) => {}
                        None => {
                            smtp = b_smtp;
                            break;
                        }
                    }
                }
            }
            mine
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    a.kill_9();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut acknowledged = Vec::new();
    for s in senders {
        acknowledged.extend(s.await.unwrap());
    }
    acknowledged.extend(send_load_to(b_smtp, "after-kill", 5).await);
    // The survivor takes the dead node's leased jobs once their lease ran out.
    let counts = wait_delivered(&catcher, &acknowledged).await;
    let twice = counts.values().filter(|n| **n > 1).count();
    assert!(twice <= IN_FLIGHT, "{twice} delivered twice: {counts:?}");
    drop(b);
}

/// `systemctl stop` (SIGTERM) while a client is sending a message: the node
/// takes no new session, finishes taking in the message and answers `250`,
/// says `421 4.3.2` at the client's next command, and exits 0; the message
/// it acknowledged is delivered, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_message_being_received() {
    let catcher = catcher::Catcher::start().await;
    let relay = catcher.url();
    let db = TestDatabase::new(Backend::Sqlite).await;
    let (smtp, http) = (free_addr(), free_addr());
    let mut node = serve(&db, &relay, smtp, http);
    wait_ready(smtp).await;

    let mut session = SmtpSession::open(smtp).await.unwrap();
    for (line, expect) in [
        ("MAIL FROM:<alice@corp.example>", "250"),
        ("RCPT TO:<bob@outside.example>", "250"),
        ("DATA", "354"),
    ] {
        let reply = session.command(line).await.unwrap();
        assert!(reply.starts_with(expect), "{line}: {reply}");
    }
    let raw = numbered("during-sigterm@corp.example", 8192);
    let (head, tail) = raw.split_at(raw.len() / 2);
    session.write(head).await.unwrap();

    let term = std::process::Command::new("kill")
        .args(["-TERM", &node.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        SmtpSession::open(smtp).await.is_none(),
        "a new session is taken after SIGTERM"
    );

    // The next transaction pipelined behind the message's end, as a busy
    // mail server sends it: the message is answered, the rest is not taken.
    session
        .write(&format!(
            "{tail}\r\n.\r\nMAIL FROM:<alice@corp.example>\r\n"
        ))
        .await
        .unwrap();
    let reply = session.reply().await.expect("an answer to the message");
    assert!(reply.starts_with("250"), "{reply}");
    let next = session.reply().await;
    assert!(
        next.as_deref().is_some_and(|r| r.starts_with("421 4.3.2")),
        "{next:?}"
    );

    let mut exited = None;
    for _ in 0..450 {
        if let Some(status) = node.0.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = exited.expect("sealpost serve still runs 45 s after SIGTERM");
    assert!(status.success(), "{status}");

    // Whatever the stopped node had not relayed yet, the next one does.
    let _node = serve(&db, &relay, smtp, http);
    assert_each_delivered_once(&catcher, &["during-sigterm@corp.example".to_string()]).await;
}
