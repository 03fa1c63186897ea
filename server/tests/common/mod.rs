//! Spawns the real sealpost on a free port against a fresh database: a SQLite
//! file in a temporary directory, or a new PostgreSQL database that is
//! dropped afterwards (`SEALPOST_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`).
#![allow(dead_code)]

use server::config::{SettingValues, Settings};
pub mod catcher;
pub mod clamd;
pub mod mail;
pub mod smtp;

use server::pipeline::faults::Faults;
use server::startup::{Agents, Application, Tuning};
use server::store::Store;
use sqlx::{Connection, Executor, PgConnection};
use std::process::{Command, Output, Stdio};
use tempfile::TempDir;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs one async test body on both databases: `both!(name, body_fn)`.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::Backend::Postgres).await
            }
        }
    };
}

pub fn postgres_admin_url() -> String {
    std::env::var("SEALPOST_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// A database of the test's own; PostgreSQL ones are dropped on drop.
pub struct TestDatabase {
    pub url: String,
    postgres_name: Option<String>,
    pub dir: TempDir,
}

impl TestDatabase {
    pub async fn new(backend: Backend) -> TestDatabase {
        let dir = tempfile::tempdir().expect("a temporary directory");
        match backend {
            Backend::Sqlite => TestDatabase {
                url: format!("sqlite://{}", dir.path().join("sealpost.db").display()),
                postgres_name: None,
                dir,
            },
            Backend::Postgres => {
                let name = format!("sealpost_test_{}", uuid::Uuid::new_v4().simple());
                let admin = postgres_admin_url();
                let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL at {admin} is needed for the tests: {e}")
                });
                conn.execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
                    .await
                    .expect("create the test database");
                let mut url = url::Url::parse(&admin).expect("SEALPOST_TEST_POSTGRES_URL is a URL");
                url.set_path(&name);
                TestDatabase {
                    url: url.to_string(),
                    postgres_name: Some(name),
                    dir,
                }
            }
        }
    }

    /// Drops a PostgreSQL test database now (its connections too).
    pub async fn drop_postgres(&self) {
        if let Some(name) = &self.postgres_name {
            drop_database(name).await;
        }
    }
}

async fn drop_database(name: &str) {
    if let Ok(mut conn) = PgConnection::connect(&postgres_admin_url()).await {
        let _ = conn
            .execute(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str())
            .await;
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = self.postgres_name.take() {
            // Drop cannot await: a short-lived runtime on its own thread does it.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(drop_database(&name));
            })
            .join();
        }
    }
}

/// Settings for a test node: loopback, port 0 (a free port), its own data dir.
pub fn test_settings(db: &TestDatabase, extra: &[(&'static str, &str)]) -> Settings {
    settings_with_file(db, extra, None)
}

/// As `test_settings`, with a TOML configuration file too.
pub fn settings_with_file(
    db: &TestDatabase,
    extra: &[(&'static str, &str)],
    file: Option<&std::path::Path>,
) -> Settings {
    let data_dir = db.dir.path().display().to_string();
    let mut flags = SettingValues::default();
    let site_dir = format!("{data_dir}/site");
    let node = [
        ("data_dir", data_dir.as_str()),
        ("database_url", db.url.as_str()),
        ("http_addr", "127.0.0.1:0"),
        ("smtp_addr", "127.0.0.1:0"),
        ("site_dir", site_dir.as_str()),
    ];
    for (k, v) in node.iter().chain(extra) {
        assert!(flags.set(k, v.to_string()), "{k} is no setting");
    }
    Settings::load(&flags, file, &[]).expect("valid test settings")
}

pub struct TestApp {
    pub address: String,
    pub smtp_addr: std::net::SocketAddr,
    /// Where `/metrics` answers, when the test asked for it (`metrics_addr`).
    pub metrics_addr: Option<std::net::SocketAddr>,
    pub store: Store,
    pub db: TestDatabase,
    pub first_admin: Option<(String, String)>,
    pub settings: Vec<(&'static str, String)>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// How a test node is made: `TestApp::builder(db).relay(&catcher)
/// .internal("corp.example").setting("k", "v").spawn().await`.
pub struct TestAppBuilder {
    db: TestDatabase,
    settings: Vec<(&'static str, String)>,
    config: Option<String>,
    agents: Agents,
    faults: Faults,
}

impl TestAppBuilder {
    /// Mail leaves through this catcher.
    /// A gateway for corp.example whose onward relay is `catcher`.
    pub fn gateway(self, catcher: &catcher::Catcher) -> Self {
        self.relay(catcher).internal("corp.example")
    }

    pub fn relay(self, catcher: &catcher::Catcher) -> Self {
        self.setting("relay_url", catcher.url())
    }

    /// The organization's own domains.
    pub fn internal(self, domains: &str) -> Self {
        self.setting("internal_domains", domains)
    }

    /// Any setting, by its TOML key.
    pub fn setting(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.settings.push((key, value.into()));
        self
    }

    pub fn settings(mut self, extra: &[(&'static str, &str)]) -> Self {
        self.settings
            .extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        self
    }

    /// A configuration file (`[[custom_agents]]` live only there), written
    /// to `config.toml` in the node's data directory.
    pub fn config(mut self, toml: &str) -> Self {
        self.config = Some(toml.to_string());
        self
    }

    /// Agent stages the pipeline runs after the rules.
    pub fn agents(mut self, agents: Agents) -> Self {
        self.agents = agents;
        self
    }

    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    pub async fn spawn(self) -> TestApp {
        let file = self.config.map(|toml| {
            let file = self.db.dir.path().join("config.toml");
            std::fs::write(&file, toml).unwrap();
            file
        });
        let extra: Vec<(&'static str, &str)> = self
            .settings
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        TestApp::spawn_full(self.db, &extra, file.as_deref(), self.agents, self.faults).await
    }
}

impl TestApp {
    pub fn builder(db: TestDatabase) -> TestAppBuilder {
        TestAppBuilder {
            db,
            settings: Vec::new(),
            config: None,
            agents: Agents::default(),
            faults: Faults::default(),
        }
    }

    /// The builder on a fresh database of `backend`.
    pub async fn on(backend: Backend) -> TestAppBuilder {
        Self::builder(TestDatabase::new(backend).await)
    }

    async fn spawn_full(
        db: TestDatabase,
        extra: &[(&'static str, &str)],
        file: Option<&std::path::Path>,
        agents: Agents,
        faults: Faults,
    ) -> TestApp {
        let Node {
            address,
            smtp_addr,
            metrics_addr,
            first_admin,
            shutdown,
        } = start_node(settings_with_file(&db, extra, file), agents, faults).await;
        let store = Store::connect(&db.url)
            .await
            .expect("the test can open the database");
        TestApp {
            address,
            smtp_addr,
            metrics_addr,
            store,
            db,
            first_admin,
            settings: extra.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            shutdown: Some(shutdown),
        }
    }

    /// Another node on the same database, root key and settings (scale-out).
    pub async fn second_node(&self) -> (String, tokio::sync::oneshot::Sender<()>) {
        let node = start_node(
            node_settings(&self.db, &self.settings),
            Agents::default(),
            Faults::default(),
        )
        .await;
        (node.address, node.shutdown)
    }

    /// The value of one sample on `/metrics` (`name{labels}` as written
    /// there); 0 when the sample is not there yet.
    pub async fn metric(&self, sample: &str) -> f64 {
        let addr = self.metrics_addr.expect("a node started with metrics_addr");
        let text = reqwest::get(format!("http://{addr}/metrics"))
            .await
            .expect("/metrics answers")
            .page()
            .await;
        text.lines()
            .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' '))
            .map_or(0.0, |v| v.trim().parse().expect("a number"))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A browser-like client: keeps cookies, does not follow redirects, asks for HTML.
    pub fn client(&self) -> reqwest::Client {
        browser()
    }

    pub async fn add_user(&self, email: &str, role: &str, password: &str) {
        self.add_user_as(email, role, password, false).await
    }

    /// As an administrator at the command line would (`sealpost user add`).
    async fn add_user_as(&self, email: &str, role: &str, password: &str, temporary: bool) {
        let email = server::domain::EmailAddress::parse(email).unwrap();
        let actor = server::domain::Actor::CommandLine {
            os_user: "test setup".into(),
        };
        server::services::users::add(
            &self.store,
            &actor,
            &email,
            server::domain::Role::parse(role).expect("sender or admin"),
            password.to_string(),
            temporary,
        )
        .await
        .expect("add a test user");
    }

    /// How many times this was recorded: events of this kind in messages'
    /// timelines, and changes of this action in the audit trail.
    pub async fn count_events(&self, kind: &str) -> usize {
        let audited = self
            .store
            .audit_trail(&Default::default())
            .await
            .unwrap()
            .iter()
            .filter(|a| a.action == kind)
            .count();
        self.store.events_of_kind(kind).await.unwrap().len() + audited
    }

    /// `sealpost rule ARGS` on this node's database; it must succeed.
    pub fn rule(&self, args: &[&str]) -> String {
        let mut all = vec!["rule"];
        all.extend_from_slice(args);
        let out = self.cli(&all, None);
        assert!(out.status.success(), "rule {args:?}: {}", stderr(&out));
        stdout(&out)
    }

    /// The `sealpost` binary with this node's database and data directory.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> Output {
        run_cli(&self.db, args, stdin, &[])
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn node_settings(db: &TestDatabase, extra: &[(&'static str, String)]) -> Settings {
    let extra: Vec<(&'static str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    test_settings(db, &extra)
}

pub fn browser() -> reqwest::Client {
    browser_in("en-US,en;q=0.9")
}

/// A browser whose preferred languages are `accept_language`.
pub fn browser_in(accept_language: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::ACCEPT, "text/html".parse().unwrap());
    headers.insert(
        reqwest::header::ACCEPT_LANGUAGE,
        accept_language.parse().unwrap(),
    );
    reqwest::Client::builder()
        // A request that hangs fails the test with its URL instead of
        // holding CI until its time runs out.
        .timeout(std::time::Duration::from_secs(60))
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

struct Node {
    address: String,
    smtp_addr: std::net::SocketAddr,
    metrics_addr: Option<std::net::SocketAddr>,
    first_admin: Option<(String, String)>,
    shutdown: tokio::sync::oneshot::Sender<()>,
}

async fn start_node(settings: Settings, agents: Agents, faults: Faults) -> Node {
    let https = settings.http_tls_cert.is_some();
    let tuning = Tuning {
        retry_backoff: std::time::Duration::from_millis(200),
        expiry_interval: std::time::Duration::from_millis(200),
        agents,
        faults,
        // The SPEC's 0 s, 5 s, 30 s are 0 in tests.
        transport_retry_delays: [std::time::Duration::ZERO; 3],
    };
    let app = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        Application::build_tuned(settings, tuning),
    )
    .await
    .expect("sealpost starts within a minute")
    .expect("sealpost starts");
    // The test certificates name localhost.
    let address = if https {
        format!("https://localhost:{}", app.http_addr().port())
    } else {
        format!("http://{}", app.http_addr())
    };
    let smtp_addr = app.smtp_addr();
    let metrics_addr = app.metrics_addr();
    let first_admin = app
        .first_admin
        .as_ref()
        .map(|a| (a.email.to_string(), a.password.clone()));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    Node {
        address,
        smtp_addr,
        metrics_addr,
        first_admin,
        shutdown: tx,
    }
}

pub fn run_cli(
    db: &TestDatabase,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Output {
    run_cli_bytes(db, args, stdin.map(str::as_bytes), env)
}

/// As `run_cli`, with any bytes on standard input (written from another
/// thread, so large inputs and outputs cannot block each other).
pub fn run_cli_bytes(
    db: &TestDatabase,
    args: &[&str],
    stdin: Option<&[u8]>,
    env: &[(&str, &str)],
) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sealpost"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SEALPOST_DATA_DIR", db.dir.path())
        .env("SEALPOST_DATABASE_URL", &db.url)
        .env("RUST_LOG", "warn")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run the sealpost binary");
    let writer = stdin.map(|input| {
        let input = input.to_vec();
        let mut pipe = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            use std::io::Write;
            // The command may refuse before reading it all.
            let _ = pipe.write_all(&input);
        })
    });
    let output = child.wait_with_output().unwrap();
    if let Some(writer) = writer {
        writer.join().unwrap();
    }
    output
}

/// A self-signed certificate made with the openssl command, as an
/// administrator would.
pub fn certificate(dir: &std::path::Path) -> (String, String) {
    certificate_named(dir, "localhost")
}

/// As `certificate`, with its own common name (to tell two apart).
pub fn certificate_named(dir: &std::path::Path, name: &str) -> (String, String) {
    let subject = format!("/CN={name}");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            subject.as_str(),
            "-addext",
            "subjectAltName=DNS:localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl makes a test certificate");
    assert!(status.success());
    (cert.display().to_string(), key.display().to_string())
}

/// Sends a one-line message with the given Message-ID over SMTP.
pub async fn send_with_id(app: &TestApp, from: &str, to: &str, message_id: &str, subject: &str) {
    let raw = format!(
        "Message-ID: <{message_id}>\r\nFrom: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nbody"
    );
    smtp_send(app, from, &[to], raw.as_bytes()).await;
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The hidden CSRF field of the first form on a page.
pub fn csrf_of(html: &str) -> String {
    let start = html
        .find(r#"name="csrf" value=""#)
        .expect("the page has a CSRF field")
        + r#"name="csrf" value=""#.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// The text of the page's alert, if any.
pub fn alert_of(html: &str) -> Option<String> {
    let at = html.find(r#"role="alert""#)?;
    let rest = &html[at..];
    let open = rest.find('>')? + 1;
    let close = rest[open..].find('<')?;
    Some(rest[open..open + close].to_string())
}

/// Opens the sign-in page, then posts the form, as a browser does.
pub async fn sign_in(
    app_url: &str,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let page = client
        .get(format!("{app_url}/login"))
        .send()
        .await
        .unwrap()
        .page()
        .await;
    let csrf = csrf_of(&page);
    client
        .post(format!("{app_url}/login"))
        .form(&[("email", email), ("password", password), ("csrf", &csrf)])
        .send()
        .await
        .unwrap()
}

/// A response's body as a reader sees it. On HTML pages Leptos marks where
/// a view's parts begin and end with empty comments (`<!>`; more of them
/// with `erase_components`): they are no part of what the page says, so
/// they are taken out before a test looks for text. Other bodies (JSON,
/// CSV, metrics) are returned as they are.
#[allow(async_fn_in_trait)]
pub trait Page {
    async fn page(self) -> String;
}

impl Page for reqwest::Response {
    async fn page(self) -> String {
        let html = self
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
        let body = self.text().await.unwrap();
        if html { visible(&body) } else { body }
    }
}

/// HTML without Leptos' hydration markers.
pub fn visible(html: &str) -> String {
    html.replace("<!>", "")
}

/// The body of a GET, as a browser with this client's cookies sees it.
pub async fn page_text(client: &reqwest::Client, url: String) -> String {
    client.get(url).send().await.unwrap().page().await
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

pub fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("sealpost_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
}

/// Sends `raw` over real SMTP to the node's intake, as a mail server would.
pub async fn smtp_send(app: &TestApp, from: &str, to: &[&str], raw: &[u8]) {
    use lettre::AsyncTransport;
    let transport =
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(app.smtp_addr.port())
            .build();
    let envelope = lettre::address::Envelope::new(
        Some(from.parse().unwrap()),
        to.iter().map(|a| a.parse().unwrap()).collect(),
    )
    .unwrap();
    transport
        .send_raw(&envelope, raw)
        .await
        .expect("the intake accepts the message");
}

/// The decoded text part of a caught mail.
pub fn text_of(mail: &catcher::Caught) -> String {
    mail_parser::MessageParser::default()
        .parse(mail.data.as_bytes())
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .expect("a mail with a text part")
}

/// The portal link (`/r/<token>`) in a notification.
pub fn link_of(mail: &catcher::Caught) -> String {
    let text = text_of(mail);
    let at = text.find("/r/").expect("a notification with a portal link");
    text[at..at + 46].to_string()
}

/// Gives `to` the keys and organization of `from` (`keys export`, then
/// `keys import`), as a second site of the same organization.
pub fn share_keys(from: &TestDatabase, to: &TestDatabase) {
    let passphrase = "a long export passphrase\n";
    let out = run_cli(
        from,
        &["keys", "export", "--passphrase-stdin"],
        Some(passphrase),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let file = to.dir.path().join("keys.json");
    std::fs::write(&file, &out.stdout).unwrap();
    let out = run_cli(
        to,
        &[
            "keys",
            "import",
            "--file",
            file.to_str().unwrap(),
            "--passphrase-stdin",
        ],
        Some(passphrase),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Asks for a one-time passcode on the link's page, as the recipient's
/// browser does, and returns the code from the mail the catcher got.
pub async fn passcode_from_mail(
    app: &TestApp,
    catcher: &catcher::Catcher,
    client: &reqwest::Client,
    link: &str,
) -> String {
    let landing = page_text(client, app.url(link)).await;
    let before = catcher.caught().len();
    let r = client
        .post(app.url(link))
        .form(&[("csrf", csrf_of(&landing).as_str()), ("step", "passcode")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a code is sent");
    let mail = catcher.wait_for(before + 1).await.pop().unwrap();
    text_of(&mail)
        .split("Your one-time passcode is ")
        .nth(1)
        .expect("a passcode mail")[..8]
        .to_string()
}

/// Types `code` into the link's page.
pub async fn enter_passcode(
    app: &TestApp,
    client: &reqwest::Client,
    link: &str,
    code: &str,
) -> reqwest::Response {
    let page = page_text(client, app.url(link)).await;
    client
        .post(app.url(link))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("step", "verify"),
            ("code", code),
        ])
        .send()
        .await
        .unwrap()
}

impl TestApp {
    /// The data of every stored session (tower-sessions' table).
    pub async fn session_data(&self) -> Vec<Vec<u8>> {
        match self.store.db() {
            server::store::Db::Sqlite(p) => {
                sqlx::query_scalar("SELECT data FROM tower_sessions")
                    .fetch_all(p)
                    .await
            }
            server::store::Db::Postgres(p) => {
                sqlx::query_scalar("SELECT data FROM tower_sessions.session")
                    .fetch_all(p)
                    .await
            }
        }
        .expect("the sessions table")
    }

    /// A user who still holds a temporary password (as the first
    /// administrator, or one an administrator added).
    pub async fn add_temporary_user(&self, email: &str, role: &str, password: &str) {
        self.add_user_as(email, role, password, true).await
    }
}
