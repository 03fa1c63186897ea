//! The `sealpost` command line: users, keys and configuration errors, with
//! the exit statuses scripts rely on.

use crate::common::*;
use server::crypto::Keyring;

async fn an_added_user_can_sign_in(backend: Backend) {
    let app = TestApp::on(backend).await.spawn().await;
    let out = app.cli(
        &[
            "user",
            "add",
            "--email",
            "Dave@Corp.Example",
            "--role",
            "sender",
            "--password-stdin",
        ],
        Some("dave's long password\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "Added dave@corp.example as sender.");
    let r = sign_in(
        &app.address,
        &app.client(),
        "dave@corp.example",
        "dave's long password",
    )
    .await;
    assert_eq!(location(&r), "/");

    let again = app.cli(
        &[
            "user",
            "add",
            "--email",
            "dave@corp.example",
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some("another long password\n"),
    );
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        stderr(&again).trim(),
        "sealpost: A user with the email dave@corp.example already exists."
    );

    let listed = stdout(&app.cli(&["user", "list"], None));
    assert!(
        listed.contains("Email              : dave@corp.example\nRole               : sender"),
        "{listed}"
    );
}
both!(an_added_user_can_sign_in);

async fn set_password_replaces_the_old_one(backend: Backend) {
    let app = TestApp::on(backend).await.spawn().await;
    app.add_user("erin@corp.example", "sender", "the first password")
        .await;
    let out = app.cli(
        &[
            "user",
            "set-password",
            "--email",
            "erin@corp.example",
            "--password-stdin",
        ],
        Some("the second password\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        sign_in(
            &app.address,
            &app.client(),
            "erin@corp.example",
            "the first password"
        )
        .await
        .status(),
        422
    );
    assert_eq!(
        sign_in(
            &app.address,
            &app.client(),
            "erin@corp.example",
            "the second password"
        )
        .await
        .status(),
        303
    );

    let missing = app.cli(
        &[
            "user",
            "set-password",
            "--email",
            "nobody@corp.example",
            "--password-stdin",
        ],
        Some("the second password\n"),
    );
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        stderr(&missing).trim(),
        "sealpost: No user with the email nobody@corp.example."
    );
}
both!(set_password_replaces_the_old_one);

#[tokio::test]
async fn bad_input_is_a_usage_error_naming_what_is_wrong() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let weak = run_cli(
        &db,
        &[
            "user",
            "add",
            "--email",
            "x@corp.example",
            "--role",
            "sender",
            "--password-stdin",
        ],
        Some("short\n"),
        &[],
    );
    assert_eq!(weak.status.code(), Some(2));
    assert_eq!(
        stderr(&weak).trim(),
        "sealpost: The password must be at least 12 characters long."
    );

    let role = run_cli(
        &db,
        &["user", "add", "--email", "x@corp.example", "--role", "boss"],
        None,
        &[],
    );
    assert_eq!(role.status.code(), Some(2));
    assert!(
        stderr(&role).contains("[possible values: sender, admin]"),
        "{}",
        stderr(&role)
    );

    let email = run_cli(
        &db,
        &[
            "user",
            "add",
            "--email",
            "not-an-address",
            "--role",
            "sender",
            "--password-stdin",
        ],
        Some("long enough password\n"),
        &[],
    );
    assert_eq!(email.status.code(), Some(2));
    assert!(
        stderr(&email).contains("'not-an-address' is not a valid email address"),
        "{}",
        stderr(&email)
    );

    let no_tty = run_cli(
        &db,
        &[
            "user",
            "add",
            "--email",
            "x@corp.example",
            "--role",
            "sender",
        ],
        None,
        &[],
    );
    assert_eq!(no_tty.status.code(), Some(2));
    assert!(stderr(&no_tty).contains("use --password-stdin"));
}

#[tokio::test]
async fn bad_settings_stop_start_up_with_one_line_naming_the_setting() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    for (name, value, expected) in [
        (
            "SEALPOST_HTTP_ADDR",
            "localhost",
            "SEALPOST_HTTP_ADDR: 'localhost' is not an address",
        ),
        (
            "SEALPOST_DATABASE_URL",
            "mysql://x",
            "SEALPOST_DATABASE_URL: 'mysql://x' must start with",
        ),
        ("SEALPOST_PUBLIC_URL", "ftp://x", "SEALPOST_PUBLIC_URL:"),
        (
            "SEALPOST_INTERNAL_DOMAINS",
            "corp.example,not a domain",
            "SEALPOST_INTERNAL_DOMAINS: 'not a domain'",
        ),
        (
            "SEALPOST_LANGUAGE",
            "fr",
            "SEALPOST_LANGUAGE: 'fr' is not one of: en, ja",
        ),
        (
            "SEALPOST_SMTP_RELAY_NETWORKS",
            "10.0.0.0/33",
            "SEALPOST_SMTP_RELAY_NETWORKS:",
        ),
        (
            "SEALPOST_MASTER_KEY",
            "c2hvcnQ=",
            "SEALPOST_MASTER_KEY: must be the base64 of exactly 32 bytes",
        ),
        (
            "SEALPOST_NO_SUCH_THING",
            "1",
            "SEALPOST_NO_SUCH_THING: is not a setting",
        ),
        (
            "SEALPOST_SMTP_TLS_CERT",
            "/no/cert.pem",
            "SEALPOST_SMTP_TLS_KEY: must be set with SEALPOST_SMTP_TLS_CERT",
        ),
        (
            "SEALPOST_QUEUE_LIFETIME",
            "soon",
            "SEALPOST_QUEUE_LIFETIME: 'soon' is not a duration",
        ),
    ] {
        let out = run_cli(&db, &["serve"], None, &[(name, value)]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(expected), "{name}: {err}");
    }
    let config = db.dir.path().join("sealpost.toml");
    std::fs::write(&config, "http_adr = \"127.0.0.1:1\"\n").unwrap();
    let out = run_cli(
        &db,
        &["--config", config.to_str().unwrap(), "serve"],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown setting 'http_adr'"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn serve_help_lists_every_setting_with_its_default() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let help = stdout(&run_cli(&db, &["serve", "--help"], None, &[]));
    for setting in server::config::SETTINGS {
        let env = server::config::env_name(setting.key);
        assert!(help.contains(&env), "{env} missing from serve --help");
        assert!(
            help.contains(&format!("[default: {}]", setting.default)),
            "{}",
            setting.key
        );
    }
}

/// Every `SEALPOST_*` name written in `text`.
fn setting_names(text: &str) -> std::collections::BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("SEALPOST_") && w.len() > "SEALPOST_".len())
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn the_readme_and_serve_help_list_exactly_the_settings_there_are() {
    let settings: std::collections::BTreeSet<String> = server::config::SETTINGS
        .iter()
        .map(|s| server::config::env_name(s.key))
        .collect();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let section = readme
        .split("\n## Settings\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("a Settings section");
    let table: String = section
        .lines()
        .filter(|l| l.starts_with("| `SEALPOST_"))
        .map(|l| l.split('|').nth(1).unwrap_or_default())
        .collect();
    assert_eq!(setting_names(&table), settings, "README's settings table");

    let db = TestDatabase::new(Backend::Sqlite).await;
    let help = stdout(&run_cli(&db, &["serve", "--help"], None, &[]));
    let mut in_help = setting_names(&help);
    in_help.remove("SEALPOST_CONFIG"); // the file's name, not a setting in it
    assert_eq!(in_help, settings, "sealpost serve --help");
}

#[tokio::test]
async fn an_http_port_in_use_stops_start_up() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run_cli(
        &db,
        &["serve"],
        None,
        &[
            ("SEALPOST_SMTP_ADDR", &addr),
            ("SEALPOST_HTTP_ADDR", "127.0.0.1:0"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("cannot listen on SEALPOST_SMTP_ADDR {addr}")),
        "{}",
        stderr(&out)
    );
}

async fn rotation_keeps_old_ciphertexts_readable(backend: Backend) {
    let app = TestApp::on(backend).await.spawn().await;
    let settings = test_settings(&app.db, &[]);
    let before = server::keys::load_or_create(&app.store, &settings)
        .await
        .unwrap();
    let sealed = before.keyring.seal(b"message-1", b"quarterly numbers");

    let out = app.cli(&["keys", "rotate"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let new_id = stdout(&out)
        .lines()
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();

    let after = server::keys::load_or_create(&app.store, &settings)
        .await
        .unwrap();
    assert_eq!(after.keyring.current().to_hex(), new_id);
    assert_ne!(after.keyring.current(), before.keyring.current());
    assert_eq!(
        after.keyring.open(b"message-1", &sealed).unwrap(),
        b"quarterly numbers"
    );
    let resealed = after.keyring.seal(b"message-2", b"new");
    assert_eq!(Keyring::key_id_of(&resealed).unwrap().to_hex(), new_id);

    let listed = stdout(&app.cli(&["keys", "list"], None));
    assert_eq!(listed.matches("KeyId").count(), 2, "{listed}");
    assert_eq!(listed.matches("IsCurrent : True").count(), 1, "{listed}");
}
both!(rotation_keeps_old_ciphertexts_readable);

async fn a_wrong_root_key_stops_start_up(backend: Backend) {
    let app = TestApp::on(backend).await.spawn().await;
    let other = server::crypto::RootKey::random().to_base64();
    assert!(
        app.cli(&["keys", "list"], None).status.success(),
        "the key file opens"
    );
    let out = run_cli(
        &app.db,
        &["keys", "list"],
        None,
        &[("SEALPOST_MASTER_KEY", &other)],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("the root key does not open the keys in the database"),
        "{}",
        stderr(&out)
    );

    // Without the key file, nothing is silently re-created.
    std::fs::remove_file(app.db.dir.path().join("master.key")).unwrap();
    let out = run_cli(&app.db, &["keys", "list"], None, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("the database holds keys, but there is no root key"),
        "{}",
        stderr(&out)
    );
    assert!(!app.db.dir.path().join("master.key").exists());
}
both!(a_wrong_root_key_stops_start_up);

#[tokio::test]
async fn the_root_key_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::on(Backend::Sqlite).await.spawn().await;
    let mode = std::fs::metadata(app.db.dir.path().join("master.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

async fn irm_config_shows_and_sets_transport_decryption(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let out = run_cli(&db, &["irm-config", "show"], None, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "TransportDecryption : optional\nForeignProtected    : pass\n"
    );
    let out = run_cli(
        &db,
        &["irm-config", "set", "--transport-decryption", "Mandatory"],
        None,
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run_cli(&db, &["irm-config", "show"], None, &[]);
    assert!(
        stdout(&out).starts_with("TransportDecryption : mandatory\n"),
        "{}",
        stdout(&out)
    );

    let out = run_cli(
        &db,
        &["irm-config", "set", "--transport-decryption", "sometimes"],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "--transport-decryption: 'sometimes' is not one of: disabled, optional, mandatory"
        ),
        "{}",
        stderr(&out)
    );
    let out = run_cli(&db, &["irm-config", "set"], None, &[]);
    assert_eq!(out.status.code(), Some(2));
    // Nothing changed by the refused commands.
    let out = run_cli(&db, &["irm-config", "show"], None, &[]);
    assert!(stdout(&out).starts_with("TransportDecryption : mandatory\n"));
}
both!(irm_config_shows_and_sets_transport_decryption);

async fn agent_list_shows_the_stages_in_order(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let out = run_cli(&db, &["agent", "list"], None, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    let names: Vec<&str> = shown
        .lines()
        .filter_map(|l| l.strip_prefix("Name  : "))
        .collect();
    assert_eq!(
        names,
        ["transport decryption", "transport rules", "protection"],
        "{shown}"
    );
    assert!(
        shown.contains("(optional)"),
        "the setting is shown: {shown}"
    );
}
both!(agent_list_shows_the_stages_in_order);

/// `deploy/sealpost.toml` as `sealpost serve --help` makes it: every setting,
/// what it does, its variable and flag, and its default, commented out.
fn example_configuration(help: &str) -> String {
    let mut out = [
        "# sealpost's settings, every one at its default and commented out: uncomment",
        "# and change what you need, then start with",
        "#   sealpost serve --config /etc/sealpost/sealpost.toml",
        "# A flag wins over its environment variable, which wins over this file.",
        "# `[[custom_agents]]` tables live only in this file (README: Transport rules",
        "# and agents). Made from `sealpost serve --help`; tests/it/cli.rs keeps the",
        "# two equal.",
        "",
    ]
    .map(|l| format!("{l}\n"))
    .concat();
    let lines: Vec<&str> = help.lines().collect();
    for pair in lines.windows(2) {
        let Some(flag) = pair[0]
            .trim()
            .strip_prefix("--")
            .and_then(|f| f.split_once(" <"))
            .map(|(flag, _)| flag)
            .filter(|flag| *flag != "config")
        else {
            continue;
        };
        let help = pair[1].trim();
        let (text, rest) = help
            .split_once(" [env: ")
            .expect("each setting names its variable");
        let (env, default) = rest
            .strip_suffix(']')
            .and_then(|r| r.split_once("] [default: "))
            .expect("each setting shows its default");
        let key = flag.replace('-', "_");
        // "unset = ...", "empty", "none", "sqlite://<data dir>/...": no value to copy.
        let value = if default.starts_with("unset")
            || ["empty", "none"].contains(&default)
            || default.contains('<')
        {
            ""
        } else {
            default
        };
        out.push_str(&format!(
            "# {text}\n# {env}, --{flag}; default: {default}\n# {key} = \"{value}\"\n\n"
        ));
    }
    format!("{}\n", out.trim_end())
}

#[tokio::test]
async fn the_example_configuration_lists_every_setting_at_its_default() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let out = run_cli(&db, &["serve", "--help"], None, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = example_configuration(&stdout(&out));
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/sealpost.toml");
    let file = std::fs::read_to_string(&path).unwrap_or_default();
    if std::env::var_os("SEALPOST_WRITE_EXAMPLE").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    assert!(
        file == expected,
        "deploy/sealpost.toml differs from `sealpost serve --help`; \
         SEALPOST_WRITE_EXAMPLE=1 cargo test -p server --test it example_configuration rewrites it"
    );
    // With every value uncommented, it is a configuration sealpost takes.
    let uncommented: String = file
        .lines()
        .filter_map(|l| {
            l.strip_prefix("# ")
                .filter(|l| !l.ends_with("= \"\"") && l.contains(" = \""))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let copy = db.dir.path().join("all.toml");
    std::fs::write(&copy, &uncommented).unwrap();
    let settings = settings_with_file(&db, &[], Some(&copy));
    assert_eq!(settings.smtp_max_sessions, 500);
    assert_eq!(settings.pipeline_in_flight, 16);
}

/// `sealpost check`, the first thing an administrator runs after editing
/// the configuration: one line per thing sealpost needs, and exit 1 when
/// one does not answer. It sends no mail.
async fn check_tells_line_by_line_what_answers(backend: Backend) {
    let catcher = crate::common::catcher::Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    let relay = catcher.url();
    let line = |text: &str, start: &str| {
        text.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line starting {start:?} in:\n{text}"))
            .to_string()
    };

    let out = run_cli(&app.db, &["check"], None, &[("SEALPOST_RELAY_URL", &relay)]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        line(&text, "ok    database").contains(": schema up to date"),
        "{text}"
    );
    assert_eq!(
        line(&text, "ok    root key"),
        format!(
            "ok    root key        {} opens the organization's 1 key-encryption key(s)",
            app.db.dir.path().join("master.key").display()
        )
    );
    assert!(
        line(&text, "ok    relay").contains("EHLO answered, without TLS"),
        "{text}"
    );
    line(&text, "skip  clamd");
    line(&text, "skip  https");
    assert!(catcher.caught().is_empty(), "check sends no mail");

    // Nothing listens on a port just freed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let out = run_cli(
        &app.db,
        &["check"],
        None,
        &[
            ("SEALPOST_RELAY_URL", &format!("smtp://{closed}")),
            ("SEALPOST_CLAMD_ADDR", &closed.to_string()),
            (
                "SEALPOST_MASTER_KEY",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            ),
        ],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(line(&text, "FAIL  relay").contains(&closed.to_string()));
    assert!(line(&text, "FAIL  clamd").contains(&closed.to_string()));
    assert!(line(&text, "FAIL  root key").contains("does not open"));
    line(&text, "ok    database");
    assert!(stderr(&out).contains("see the FAIL lines"));

    // A root key file named in the settings is never made up.
    let missing = app.db.dir.path().join("credentials/master.key");
    let out = run_cli(
        &app.db,
        &["check"],
        None,
        &[("SEALPOST_MASTER_KEY_FILE", missing.to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        line(&stdout(&out), "FAIL  root key").contains("does not exist"),
        "{}",
        stdout(&out)
    );
    assert!(!missing.exists());
}
both!(check_tells_line_by_line_what_answers);

/// A root key handed over as a file (systemd's LoadCredential) opens the
/// keys; a missing one stops start-up instead of making a new key.
#[tokio::test]
async fn a_root_key_file_from_the_settings_is_used_and_never_created() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let missing = db.dir.path().join("credentials/master.key");
    let out = run_cli(
        &db,
        &["serve"],
        None,
        &[("SEALPOST_MASTER_KEY_FILE", missing.to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("SEALPOST_MASTER_KEY_FILE"),
        "{}",
        stderr(&out)
    );
    assert!(!missing.exists());

    std::fs::create_dir_all(missing.parent().unwrap()).unwrap();
    std::fs::write(&missing, "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=\n").unwrap();
    let out = run_cli(
        &db,
        &["keys", "list"],
        None,
        &[("SEALPOST_MASTER_KEY_FILE", missing.to_str().unwrap())],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !db.dir.path().join("master.key").exists(),
        "no key file of its own"
    );
}

/// A database on another machine: the URL's `sslmode` decides how the
/// connection travels, the nodes' connections are encrypted when it asks,
/// and `sealpost check` says what the connection got. The machine's
/// PostgreSQL has TLS on with a self-signed certificate (Debian's package
/// sets it up so), which `verify-full` must refuse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_connection_is_encrypted_when_the_url_asks() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let with = |mode: &str| {
        let mut url = url::Url::parse(&db.url).unwrap();
        url.query_pairs_mut().append_pair("sslmode", mode);
        url.to_string()
    };
    let check = |mode: &str| {
        let out = run_cli(
            &db,
            &["check"],
            None,
            &[("SEALPOST_DATABASE_URL", &with(mode))],
        );
        let text = stdout(&out);
        let line = text
            .lines()
            .find(|l| l[6..].starts_with("database"))
            .unwrap_or_else(|| panic!("no database line in:\n{text}{}", stderr(&out)))
            .to_string();
        (out.status.code(), line)
    };

    let (_, plain) = check("disable");
    assert!(plain.starts_with("ok "), "{plain}");
    assert!(plain.ends_with(", without TLS"), "{plain}");

    let (_, encrypted) = check("require");
    assert!(
        encrypted.ends_with(
            ", over TLS, the server's certificate not verified (sslmode=verify-full checks it)"
        ),
        "{encrypted} (this test needs the machine's PostgreSQL with ssl = on)"
    );

    let (code, refused) = check("verify-full");
    assert_eq!(code, Some(1), "{refused}");
    assert!(refused.starts_with("FAIL  database"), "{refused}");
    assert!(refused.contains("certificate"), "{refused}");

    // The node's own connections, as `serve` opens them.
    let store = server::store::Store::connect(&with("require"))
        .await
        .unwrap();
    let server::store::Db::Postgres(pool) = store.db() else {
        unreachable!("a PostgreSQL URL")
    };
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(ssl, "the pool's connection is not encrypted");
    store.close().await;
}
