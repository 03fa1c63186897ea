//! Transport rules (seed 004): conditions on the message as the agents see
//! it, actions on the whole message, in priority order; managed with
//! `sealpost rule`. Every message goes in over real SMTP and comes out at
//! the catcher.

use crate::common::catcher::{Catcher, Caught};
use crate::common::mail::Mail;
use crate::common::*;
use server::pipeline::faults::Faults;
use server::startup::Agents;

fn subject_of(mail: &Caught) -> String {
    mail_parser::MessageParser::default()
        .parse_headers(mail.data.as_bytes())
        .and_then(|m| m.subject().map(str::to_string))
        .unwrap_or_default()
}

/// UTF-8 text (8bit), as rules read it.
fn message(from: &str, to: &str, subject: &str, body: &str) -> Vec<u8> {
    Mail::new(from, &[to], subject)
        .with_id()
        .utf8_text(Some("8bit"))
        .body(body)
        .build()
}

/// A message with one attachment of the given name and type.
fn with_attachment(
    from: &str,
    to: &str,
    subject: &str,
    body: &str,
    name: &str,
    kind: &str,
    bytes: usize,
) -> Vec<u8> {
    use base64::Engine;
    let id = uuid::Uuid::new_v4().simple();
    let data = base64::engine::general_purpose::STANDARD.encode(vec![b'x'; bytes]);
    let lines: Vec<&str> = data
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}@corp.example>\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n--b1\r\n\
Content-Type: {kind}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
        lines.join("\r\n")
    )
    .into_bytes()
}

/// The tags (`[from]`, ...) the rules put in front of a subject.
fn tags(subject: &str) -> Vec<String> {
    let mut tags: Vec<String> = subject
        .split_whitespace()
        .filter(|w| w.starts_with('[') && w.ends_with(']'))
        .map(str::to_string)
        .collect();
    tags.sort();
    tags
}

async fn every_condition_matches_and_does_not_match(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    for args in [
        &[
            "new",
            "from bob",
            "--from",
            "bob@corp.example",
            "--prepend-subject",
            "[from] ",
        ][..],
        &[
            "new",
            "to partner",
            "--sent-to",
            "partner.example",
            "--prepend-subject",
            "[to] ",
        ],
        &[
            "new",
            "outside",
            "--sent-to-scope",
            "external",
            "--prepend-subject",
            "[ext] ",
        ],
        &[
            "new",
            "inside",
            "--sent-to-scope",
            "internal",
            "--prepend-subject",
            "[int] ",
        ],
        &[
            "new",
            "words",
            "--subject-or-body-contains",
            "機密",
            "--subject-or-body-contains",
            "secret",
            "--prepend-subject",
            "[word] ",
        ],
        &[
            "new",
            "pattern",
            "--subject-or-body-matches",
            r"order\s+#\d{4}\b",
            "--prepend-subject",
            "[re] ",
        ],
        &[
            "new",
            "programs",
            "--attachment-name-matches",
            "*.exe",
            "--prepend-subject",
            "[exe] ",
        ],
        &[
            "new",
            "pdfs",
            "--attachment-type",
            "application/pdf",
            "--prepend-subject",
            "[pdf] ",
        ],
        &[
            "new",
            "large",
            "--size-over",
            "10KB",
            "--prepend-subject",
            "[big] ",
        ],
    ] {
        app.rule(args);
    }

    // Nothing matches but "inside".
    smtp_send(
        &app,
        "alice@corp.example",
        &["carol@corp.example"],
        &message(
            "alice@corp.example",
            "carol@corp.example",
            "Hello",
            "Lunch at noon? Order 12.",
        ),
    )
    .await;
    let plain = catcher.wait_for(1).await.remove(0);
    assert_eq!(tags(&subject_of(&plain)), ["[int]"]);

    // Sender, recipient domain, outside, a word in any case, the pattern
    // across a line's spaces, a PDF.
    smtp_send(
        &app,
        "bob@corp.example",
        &["dave@partner.example"],
        &with_attachment(
            "bob@corp.example",
            "dave@partner.example",
            "SECRET plans",
            "See ORDER   #1234 attached.",
            "q3.pdf",
            "application/pdf",
            100,
        ),
    )
    .await;
    let second = catcher.wait_for(2).await.remove(1);
    assert_eq!(
        tags(&subject_of(&second)),
        ["[ext]", "[from]", "[pdf]", "[re]", "[to]", "[word]"]
    );

    // A Japanese word in the body (full-width forms folded), a program by
    // its name in any case, and a message over 10 KB.
    smtp_send(
        &app,
        "alice@corp.example",
        &["carol@corp.example"],
        &with_attachment(
            "alice@corp.example",
            "carol@corp.example",
            "Tool",
            "これは機密です。",
            "Setup.EXE",
            "application/octet-stream",
            12 * 1024,
        ),
    )
    .await;
    let third = catcher.wait_for(3).await.remove(2);
    assert_eq!(
        tags(&subject_of(&third)),
        ["[big]", "[exe]", "[int]", "[word]"]
    );
    assert_eq!(
        app.count_events("rule programs matched: prepend subject '[exe] '")
            .await,
        1,
        "each match is in the trace"
    );
}
both!(every_condition_matches_and_does_not_match);

async fn confidential_mail_to_outside_is_protected(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    app.rule(&[
        "new",
        "Confidential outside",
        "--sent-to-scope",
        "external",
        "--subject-or-body-contains",
        "confidential",
        "--apply-protection",
        "do-not-forward",
    ]);
    let canary = format!("canary{}", uuid::Uuid::new_v4().simple());
    smtp_send(
        &app,
        "alice@corp.example",
        &["carol@corp.example", "dave@partner.example"],
        &message(
            "alice@corp.example",
            "carol@corp.example, dave@partner.example",
            "Confidential: the merger",
            &format!("The {canary} terms."),
        ),
    )
    .await;
    let mails = catcher.wait_for(2).await;
    assert!(
        mails.iter().all(|m| !m.data.contains(&canary)),
        "nothing leaves in the clear"
    );
    let notification = mails
        .iter()
        .find(|m| m.to == ["dave@partner.example"])
        .expect("dave gets a notification");
    let link = link_of(notification);
    assert!(link.starts_with("/r/"), "{link}");
    let inline = mails
        .iter()
        .find(|m| m.to == ["carol@corp.example"])
        .expect("carol gets the inline copy");
    let out = run_cli_bytes(
        &app.db,
        &["unprotect", "--info"],
        Some(inline.data.as_bytes()),
        &[],
    );
    let info = stdout(&out);
    assert_eq!(field(&info, "Rights"), "do-not-forward", "{info}");
    let out = run_cli_bytes(&app.db, &["unprotect"], Some(inline.data.as_bytes()), &[]);
    assert!(stdout(&out).contains(&canary));
    let protected = app.store.events_of_kind("protected").await.unwrap();
    assert_eq!(
        protected[0].detail.as_deref(),
        Some("do-not-forward with template Default")
    );
    let matched = app
        .store
        .events_of_kind("rule Confidential outside matched: apply protection do-not-forward")
        .await
        .unwrap();
    assert_eq!(matched.len(), 1);

    // Without the word, or only inside, it goes as it is.
    smtp_send(
        &app,
        "alice@corp.example",
        &["dave@partner.example"],
        &message(
            "alice@corp.example",
            "dave@partner.example",
            "Lunch",
            &canary,
        ),
    )
    .await;
    smtp_send(
        &app,
        "alice@corp.example",
        &["carol@corp.example"],
        &message(
            "alice@corp.example",
            "carol@corp.example",
            "Confidential",
            &canary,
        ),
    )
    .await;
    let mails = catcher.wait_for(4).await;
    assert!(mails[2..].iter().all(|m| m.data.contains(&canary)));
}
both!(confidential_mail_to_outside_is_protected);

/// A field's value in Format-List output.
fn field(list: &str, name: &str) -> String {
    list.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(" : ")?;
            (k.trim() == name).then(|| v.trim().to_string())
        })
        .unwrap_or_default()
}

async fn a_reject_rule_bounces_with_the_administrators_text(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    app.rule(&[
        "new",
        "No programs",
        "--attachment-name-matches",
        "*.exe",
        "--reject",
        "Programs may not be sent by mail; use the file share.",
    ]);
    smtp_send(
        &app,
        "alice@corp.example",
        &["dave@partner.example"],
        &with_attachment(
            "alice@corp.example",
            "dave@partner.example",
            "The tool",
            "Here it is.",
            "tool.exe",
            "application/octet-stream",
            64,
        ),
    )
    .await;
    let report = catcher.wait_for(1).await.remove(0);
    assert_eq!(report.to, ["alice@corp.example"], "only the sender hears");
    assert!(
        report
            .data
            .contains("Programs may not be sent by mail; use the file share."),
        "{}",
        report.data
    );
    assert!(
        !report.data.contains("Here it is."),
        "no content in the report"
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(catcher.caught().len(), 1, "dave gets nothing");
    assert_eq!(app.count_events("rejected by rule No programs").await, 1);
}
both!(a_reject_rule_bounces_with_the_administrators_text);

async fn priorities_and_stop_order_the_actions(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    app.rule(&["new", "A", "--prepend-subject", "[A] ", "--stop"]);
    app.rule(&["new", "B", "--prepend-subject", "[B] "]);
    let send = |n: usize| {
        let app = &app;
        let catcher = &catcher;
        async move {
            smtp_send(
                app,
                "alice@corp.example",
                &["carol@corp.example"],
                &message("alice@corp.example", "carol@corp.example", "News", "Hi."),
            )
            .await;
            subject_of(&catcher.wait_for(n).await[n - 1])
        }
    };
    assert_eq!(send(1).await, "[A] News", "A stops processing");
    app.rule(&["set", "A", "--stop", "false"]);
    assert_eq!(send(2).await, "[B] [A] News", "A, then B");
    app.rule(&["set", "B", "--priority", "0"]);
    assert_eq!(send(3).await, "[A] [B] News", "B, then A");
    app.rule(&["disable", "B"]);
    assert_eq!(send(4).await, "[A] News", "a disabled rule does not run");
    let list = app.rule(&["list"]);
    let order: Vec<&str> = list
        .lines()
        .filter_map(|l| l.strip_prefix("Name"))
        .map(|l| l.trim_start_matches([' ', ':']))
        .collect();
    assert_eq!(order, ["B", "A"]);
    assert!(list.contains("State              : Disabled"), "{list}");
}
both!(priorities_and_stop_order_the_actions);

async fn a_rule_sees_the_decrypted_body_and_only_raises_rights(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    app.rule(&[
        "new",
        "Merger",
        "--subject-or-body-contains",
        "merger",
        "--prepend-subject",
        "[M&A] ",
        "--apply-protection",
        "do-not-forward",
    ]);
    let original = message(
        "alice@corp.example",
        "carol@corp.example",
        "Plans",
        "The merger closes Friday.",
    );
    let out = run_cli_bytes(
        &app.db,
        &["protect", "--rights", "encrypt-only"],
        Some(&original),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let protected = out.stdout;
    assert!(!String::from_utf8_lossy(&protected).contains("merger"));
    let info_before = stdout(&run_cli_bytes(
        &app.db,
        &["unprotect", "--info"],
        Some(&protected),
        &[],
    ));
    smtp_send(
        &app,
        "alice@corp.example",
        &["carol@corp.example"],
        &protected,
    )
    .await;
    let copy = catcher.wait_for(1).await.remove(0);
    assert!(!copy.data.contains("merger"), "still protected");
    let inside = stdout(&run_cli_bytes(
        &app.db,
        &["unprotect"],
        Some(copy.data.as_bytes()),
        &[],
    ));
    assert!(inside.contains("Subject: [M&A] Plans"), "{inside}");
    let info = stdout(&run_cli_bytes(
        &app.db,
        &["unprotect", "--info"],
        Some(copy.data.as_bytes()),
        &[],
    ));
    assert_eq!(field(&info, "Rights"), "do-not-forward", "raised: {info}");
    for field in ["Template", "ExpiresAt", "MessageId"] {
        let line = |text: &str| {
            text.lines()
                .find(|l| l.starts_with(field))
                .map(str::to_string)
        };
        assert_eq!(line(&info_before), line(&info), "{field} is kept");
    }
}
both!(a_rule_sees_the_decrypted_body_and_only_raises_rights);

async fn a_job_that_runs_twice_prepends_once(backend: Backend) {
    let catcher = Catcher::start().await;
    let faults = Faults::default();
    let db = TestDatabase::new(backend).await;
    let relay = catcher.url();
    let app = TestApp::builder(db)
        .settings(&[
            ("relay_url", relay.as_str()),
            ("internal_domains", "corp.example"),
        ])
        .agents(Agents::default())
        .faults(faults.clone())
        .spawn()
        .await;
    app.rule(&[
        "new",
        "External",
        "--sent-to-scope",
        "external",
        "--prepend-subject",
        "[EXT] ",
    ]);
    // The worker dies right after the rules changed the message, holding
    // the job; another worker takes it when the lease runs out.
    faults.die_after_stage("transport rules", std::time::Duration::from_secs(1));
    smtp_send(
        &app,
        "alice@corp.example",
        &["dave@partner.example"],
        &message("alice@corp.example", "dave@partner.example", "Hello", "Hi."),
    )
    .await;
    let mail = catcher.wait_for(1).await.remove(0);
    assert_eq!(subject_of(&mail), "[EXT] Hello");
    assert!(!faults.dies_after("transport rules"), "the worker did die");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(catcher.caught().len(), 1, "delivered once");
    assert_eq!(
        app.count_events("rule External matched: prepend subject '[EXT] '")
            .await,
        1,
        "applied once"
    );
}
both!(a_job_that_runs_twice_prepends_once);

async fn rule_commands_validate_and_explain(backend: Backend) {
    let app = TestApp::on(backend).await.spawn().await;
    let fails = |args: &[&str], code: i32, says: &str| {
        let mut all = vec!["rule"];
        all.extend_from_slice(args);
        let out = app.cli(&all, None);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    };
    fails(
        &["new", "Nothing", "--from", "corp.example"],
        2,
        "needs an action",
    );
    fails(
        &["new", "Bad", "--size-over", "huge", "--reject", "No."],
        2,
        "--size-over",
    );
    fails(
        &[
            "new",
            "Bad",
            "--subject-or-body-matches",
            "([a-z]",
            "--reject",
            "No.",
        ],
        2,
        "not a valid regular expression",
    );
    fails(
        &[
            "new",
            "Bad",
            "--apply-protection",
            "do-not-forward",
            "--template",
            "Nope",
        ],
        1,
        "No branding template named 'Nope'",
    );
    fails(&["show", "Missing"], 1, "No rule named 'Missing'");
    fails(&["remove", "Missing"], 1, "No rule named 'Missing'");

    let shown = app.rule(&[
        "new",
        "Big mail",
        "--size-over",
        "10MB",
        "--sent-to",
        "Partner.Example",
        "--prepend-subject",
        "[big] ",
    ]);
    assert!(shown.contains("MessageSizeOver    : 10MB"), "{shown}");
    assert!(
        shown.contains("SentTo             : partner.example"),
        "{shown}"
    );
    assert!(
        shown.contains("Description        : If a recipient is partner.example and the message is larger than 10MB: prepend '[big] ' to the subject."),
        "{shown}"
    );
    fails(&["new", "Big mail", "--reject", "No."], 1, "already exists");
    let json: serde_json::Value =
        serde_json::from_str(&app.rule(&["show", "Big mail", "--json"])).unwrap();
    assert_eq!(json["conditions"]["size-over"], 10 * 1024 * 1024);
    assert_eq!(json["priority"], 0);
    assert_eq!(json["enabled"], true);
    app.rule(&[
        "set",
        "Big mail",
        "--new-name",
        "Large mail",
        "--size-over",
        "",
    ]);
    let json: serde_json::Value = serde_json::from_str(&app.rule(&["list", "--json"])).unwrap();
    assert_eq!(json[0]["name"], "Large mail");
    assert!(json[0]["conditions"].get("size-over").is_none());
    let stages = stdout(&app.cli(&["agent", "list"], None));
    assert!(
        stages.contains("Name  : transport rules") && stages.contains("(1 enabled)"),
        "{stages}"
    );
    assert!(
        app.rule(&["remove", "Large mail"])
            .contains("Removed the rule 'Large mail'.")
    );
    assert_eq!(app.rule(&["list"]).trim(), "No transport rules.");
}
both!(rule_commands_validate_and_explain);

#[tokio::test]
async fn rule_test_shows_what_would_happen_and_changes_nothing() {
    let catcher = Catcher::start().await;
    let app = TestApp::on(Backend::Sqlite)
        .await
        .gateway(&catcher)
        .spawn()
        .await;
    app.rule(&[
        "new",
        "Outside",
        "--sent-to-scope",
        "external",
        "--prepend-subject",
        "[EXT] ",
        "--stop",
    ]);
    app.rule(&[
        "new",
        "Secret",
        "--subject-or-body-contains",
        "secret",
        "--apply-protection",
        "encrypt-only",
    ]);
    app.rule(&[
        "new",
        "Never",
        "--from",
        "nobody.example",
        "--reject",
        "No.",
    ]);
    let file = app.db.dir.path().join("message.eml");
    std::fs::write(
        &file,
        message(
            "alice@corp.example",
            "dave@partner.example",
            "A secret",
            "Hi.",
        ),
    )
    .unwrap();
    let out = app.rule(&["test", "--file", file.to_str().unwrap()]);
    let block = |name: &str| {
        out.split("\n\n")
            .find(|b| b.contains(&format!("Rule     : {name}")))
            .unwrap_or_else(|| panic!("{name} in {out}"))
            .to_string()
    };
    assert!(
        block("Outside")
            .contains("WouldDo  : prepend '[EXT] ' to the subject; stop processing more rules"),
        "{out}"
    );
    assert!(
        block("Secret").contains("Matched  : True")
            && block("Secret").contains("an earlier rule stopped processing"),
        "{out}"
    );
    assert!(block("Never").contains("Matched  : False"), "{out}");
    assert!(
        out.contains("Recipients           : dave@partner.example"),
        "{out}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(catcher.caught().is_empty(), "nothing was sent");
}

/// Mail a rule protected carries the inspection marker: the next site of
/// the organization (same keys) does not decrypt it again.
#[tokio::test]
async fn mail_a_rule_protected_is_not_inspected_again_at_the_next_site() {
    let catcher = Catcher::start().await;
    let first_db = TestDatabase::new(Backend::Sqlite).await;
    let second_db = TestDatabase::new(Backend::Postgres).await;
    share_keys(&first_db, &second_db);
    let relay = catcher.url();
    let second = TestApp::builder(second_db)
        .settings(&[
            ("relay_url", relay.as_str()),
            ("internal_domains", "corp.example"),
        ])
        .spawn()
        .await;
    let onward = format!("smtp://{}", second.smtp_addr);
    let first = TestApp::builder(first_db)
        .settings(&[
            ("relay_url", onward.as_str()),
            ("internal_domains", "corp.example"),
        ])
        .spawn()
        .await;
    first.rule(&[
        "new",
        "Merger",
        "--subject-or-body-contains",
        "merger",
        "--apply-protection",
        "do-not-forward",
    ]);
    // Would show if the second site decrypted and ran its rules.
    second.rule(&["new", "Seen", "--prepend-subject", "[seen here] "]);

    smtp_send(
        &first,
        "alice@corp.example",
        &["carol@corp.example"],
        &message(
            "alice@corp.example",
            "carol@corp.example",
            "Plans",
            "The merger closes Friday.",
        ),
    )
    .await;
    let copy = catcher.wait_for(1).await.remove(0);
    assert!(!copy.data.contains("merger"), "protected by the rule");
    assert!(copy.data.contains("X-Sealpost-Inspected: v1;"), "marked");
    assert_eq!(
        second
            .count_events("decryption skipped: already inspected")
            .await,
        1
    );
    let inside = stdout(&run_cli_bytes(
        &second.db,
        &["unprotect"],
        Some(copy.data.as_bytes()),
        &[],
    ));
    assert!(
        inside.contains("Subject: Plans"),
        "the second site's rules did not run: {inside}"
    );
    assert!(inside.contains("The merger closes Friday."));
}

async fn the_strictest_rights_and_the_first_rules_template_win(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    for name in ["Legal", "Finance"] {
        let out = app.cli(&["template", "new", "--name", name], None);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    app.rule(&[
        "new",
        "Legal first",
        "--subject-or-body-contains",
        "contract",
        "--apply-protection",
        "encrypt-only",
        "--template",
        "Legal",
    ]);
    app.rule(&[
        "new",
        "Finance strict",
        "--subject-or-body-contains",
        "contract",
        "--apply-protection",
        "do-not-forward",
        "--template",
        "Finance",
    ]);
    smtp_send(
        &app,
        "alice@corp.example",
        &["dave@partner.example"],
        &message(
            "alice@corp.example",
            "dave@partner.example",
            "The contract",
            "Attached.",
        ),
    )
    .await;
    catcher.wait_for(1).await;
    let protected = app.store.events_of_kind("protected").await.unwrap();
    assert_eq!(
        protected[0].detail.as_deref(),
        Some("do-not-forward with template Legal")
    );
}
both!(the_strictest_rights_and_the_first_rules_template_win);
