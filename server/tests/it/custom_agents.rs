//! Custom agents (SPEC "Transport decryption contracts"): an organization's
//! own command reads the message on stdin and writes it on stdout, in an
//! empty environment and a temporary directory; exit 0 passes its output
//! on, 75 and the timeout try again later, anything else rejects.

use crate::common::catcher::Catcher;
use crate::common::mail::Mail;
use crate::common::*;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

/// An executable script in `dir`.
fn script(dir: &std::path::Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

/// A gateway whose one custom agent runs `command`.
async fn gateway(backend: Backend, catcher: &Catcher, command: &str, timeout: u64) -> TestApp {
    let toml = format!(
        "[[custom_agents]]\nname = \"checker\"\ncommand = [\"{command}\"]\ntimeout_secs = {timeout}\n"
    );
    TestApp::on(backend)
        .await
        .gateway(catcher)
        .config(&toml)
        .spawn()
        .await
}

/// Alice's report to `to`.
fn message(to: &str, body: &str) -> Vec<u8> {
    Mail::new("alice@corp.example", &[to], "Report")
        .with_id()
        .body(body)
        .build()
}

/// Alice writes to Dave, outside the organization.
async fn to_dave(app: &TestApp, body: &str) {
    let raw = message("dave@partner.example", body);
    smtp_send(app, "alice@corp.example", &["dave@partner.example"], &raw).await;
}

async fn an_agents_change_is_delivered_still_protected(backend: Backend) {
    let catcher = Catcher::start().await;
    let dir = tempfile::tempdir().unwrap();
    // It sees an empty environment and its own directory.
    let agent = script(
        dir.path(),
        "stamp.sh",
        "printf 'X-Checked-By: stamp; env=%s; pwd=%s\\r\\n' \"$(/usr/bin/env | /usr/bin/wc -l)\" \"$PWD\"\n/bin/cat",
    );
    let app = gateway(backend, &catcher, &agent, 10).await;
    let out = run_cli_bytes(
        &app.db,
        &["protect", "--rights", "do-not-forward"],
        Some(&message("carol@corp.example", "Numbers inside.")),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    smtp_send(
        &app,
        "alice@corp.example",
        &["carol@corp.example"],
        &out.stdout,
    )
    .await;
    let copy = catcher.wait_for(1).await.remove(0);
    assert!(copy.data.contains("message.sealpost") && !copy.data.contains("Numbers inside"));
    let inside = stdout(&run_cli_bytes(
        &app.db,
        &["unprotect"],
        Some(copy.data.as_bytes()),
        &[],
    ));
    let stamp = inside
        .lines()
        .find(|l| l.starts_with("X-Checked-By: stamp"))
        .unwrap_or_else(|| panic!("the agent's header is inside: {inside}"));
    // `env` prints PWD, SHLVL and `_` that the shell itself sets: nothing of ours.
    assert!(stamp.contains("pwd=/tmp/sealpost-agent-"), "{stamp}");
    let pwd = stamp.split("pwd=").nth(1).unwrap().trim();
    assert!(
        !std::path::Path::new(pwd).exists(),
        "the directory is removed"
    );
    let count: usize = stamp
        .split("env=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(count <= 3, "an empty environment: {stamp}");
    assert_eq!(app.count_events("changed by custom agent checker").await, 1);
}
both!(an_agents_change_is_delivered_still_protected);

async fn exit_75_is_tried_again(backend: Backend) {
    let catcher = Catcher::start().await;
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("tried");
    let agent = script(
        dir.path(),
        "busy.sh",
        &format!(
            "if [ -e {f} ]; then /bin/cat; else : > {f}; exit 75; fi",
            f = flag.display()
        ),
    );
    let app = gateway(backend, &catcher, &agent, 10).await;
    to_dave(&app, "Later.").await;
    let mail = catcher.wait_for(1).await.remove(0);
    assert!(mail.data.contains("Later."));
    let deferred = app.store.events_of_kind("deferred").await.unwrap();
    assert_eq!(deferred.len(), 1);
    assert!(
        deferred[0]
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("exit 75"),
        "{:?}",
        deferred[0].detail
    );
}
both!(exit_75_is_tried_again);

async fn exit_1_rejects_without_the_agents_output(backend: Backend) {
    let catcher = Catcher::start().await;
    let dir = tempfile::tempdir().unwrap();
    let agent = script(
        dir.path(),
        "refuse.sh",
        "/bin/echo AGENT-STDOUT-SECRET; /bin/echo AGENT-STDERR-SECRET >&2; exit 1",
    );
    let app = gateway(backend, &catcher, &agent, 10).await;
    to_dave(&app, "Refused.").await;
    let report = catcher.wait_for(1).await.remove(0);
    assert_eq!(report.to, ["alice@corp.example"]);
    assert!(
        text_of(&report).contains("the custom agent checker refused the message"),
        "{}",
        report.data
    );
    assert!(
        !report.data.contains("AGENT-STDOUT-SECRET")
            && !report.data.contains("AGENT-STDERR-SECRET")
    );
    assert!(!report.data.contains("Refused."), "no content");
    assert_eq!(
        app.count_events("rejected by custom agent checker").await,
        1
    );
}
both!(exit_1_rejects_without_the_agents_output);

async fn garbage_is_rejected(backend: Backend) {
    let catcher = Catcher::start().await;
    let dir = tempfile::tempdir().unwrap();
    let agent = script(
        dir.path(),
        "garbage.sh",
        "/usr/bin/printf 'not a message at all'",
    );
    let app = gateway(backend, &catcher, &agent, 10).await;
    to_dave(&app, "x").await;
    let report = catcher.wait_for(1).await.remove(0);
    assert_eq!(report.to, ["alice@corp.example"]);
    assert!(
        text_of(&report).contains("returned an unusable message (not a MIME message)"),
        "{}",
        report.data
    );
}
both!(garbage_is_rejected);

#[tokio::test]
async fn a_hanging_agent_is_killed_with_its_children_at_the_timeout() {
    let catcher = Catcher::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let agent = script(
        dir.path(),
        "hang.sh",
        &format!(
            "/bin/sleep 300 &\necho $! >> {p}\necho $$ >> {p}\n/bin/sleep 300",
            p = pids.display()
        ),
    );
    let app = gateway(Backend::Sqlite, &catcher, &agent, 1).await;
    to_dave(&app, "x").await;
    let mut deferred = Vec::new();
    for _ in 0..100 {
        deferred = app.store.events_of_kind("deferred").await.unwrap();
        if !deferred.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        deferred[0]
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("timed out after 1 s"),
        "{:?}",
        deferred
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let first_run: Vec<i32> = std::fs::read_to_string(&pids)
        .unwrap()
        .lines()
        .take(2)
        .map(|l| l.trim().parse().unwrap())
        .collect();
    for pid in first_run {
        let alive = std::path::Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z ");
        assert!(!alive, "process {pid} was killed");
    }
    assert!(catcher.caught().is_empty(), "nothing delivered");
}

#[tokio::test]
async fn agent_test_shows_the_verdict_and_the_change() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let stamp = script(
        dir.path(),
        "stamp.sh",
        "printf 'X-Checked-By: stamp\\r\\n'; /bin/cat",
    );
    let refuse = script(dir.path(), "refuse.sh", "exit 3");
    let config = dir.path().join("sealpost.toml");
    std::fs::write(
        &config,
        format!(
            "[[custom_agents]]\nname = \"stamp\"\ncommand = [\"{stamp}\"]\n\n[[custom_agents]]\nname = \"refuse\"\ncommand = [\"{refuse}\"]\ntimeout_secs = 5\n"
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let input = message("dave@partner.example", "Body.");
    let out = run_cli_bytes(
        &db,
        &["--config", config, "agent", "test", "stamp"],
        Some(&input),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(shown.contains("Verdict : accepted (exit 0)"), "{shown}");
    assert!(shown.contains("+X-Checked-By: stamp"), "{shown}");
    let out = run_cli_bytes(
        &db,
        &["--config", config, "agent", "test", "refuse"],
        Some(&input),
        &[],
    );
    assert!(
        stdout(&out).contains("refused (exit 3): the message would be rejected"),
        "{}",
        stdout(&out)
    );
    let out = run_cli_bytes(
        &db,
        &["--config", config, "agent", "test", "nobody"],
        Some(&input),
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the configured ones: stamp, refuse"),
        "{}",
        stderr(&out)
    );
    let listed = stdout(&run_cli(
        &db,
        &["--config", config, "agent", "list"],
        None,
        &[],
    ));
    let names: Vec<&str> = listed
        .lines()
        .filter_map(|l| l.strip_prefix("Name  : "))
        .collect();
    assert_eq!(
        names,
        [
            "transport decryption",
            "transport rules",
            "custom agent stamp",
            "custom agent refuse",
            "protection"
        ]
    );

    // Set in the file only, and checked there.
    std::fs::write(
        dir.path().join("bad.toml"),
        "[[custom_agents]]\nname = \"x\"\ncommand = [\"relative.sh\"]\n",
    )
    .unwrap();
    let bad = dir.path().join("bad.toml");
    let out = run_cli(
        &db,
        &["--config", bad.to_str().unwrap(), "agent", "list"],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("absolute path"), "{}", stderr(&out));
}
