//! `sealpost check`: the first thing to run after editing the
//! configuration. Each line says whether one thing sealpost depends on
//! answers, without sending mail or changing anything: the database, the
//! root key, the TLS certificates, the relay, clamd and the sign-in
//! providers. Exit 0 when everything answers, 1 when something does not
//! (2, as for every command, when the configuration itself is wrong).

use super::CliError;
use crate::config::Settings;
use std::path::PathBuf;
use std::time::Duration;

/// Every probe gets this long: a firewall that drops packets must not make
/// the check hang.
const PROBE: Duration = Duration::from_secs(10);

enum Outcome {
    Ok(String),
    Skip(String),
    Fail(String),
}

struct Report {
    failed: bool,
}

impl Report {
    fn line(&mut self, what: &str, outcome: Outcome) {
        let (word, text) = match outcome {
            Outcome::Ok(t) => ("ok", t),
            Outcome::Skip(t) => ("skip", t),
            Outcome::Fail(t) => {
                self.failed = true;
                ("FAIL", t)
            }
        };
        println!("{word:<5} {what:<15} {text}");
    }
}

async fn within<T>(work: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout(PROBE, work).await.ok()
}

pub async fn run(settings: Settings, config: Option<PathBuf>) -> Result<(), CliError> {
    let mut report = Report { failed: false };
    // Loading the settings already passed, or this command would have
    // stopped with exit 2 and the setting's name.
    report.line(
        "configuration",
        Outcome::Ok(match &config {
            Some(path) => format!("{} and the environment", path.display()),
            None => "the environment and the defaults (no --config file)".into(),
        }),
    );

    let url = crate::config::redact_url(&settings.database_url);
    let mut store = None;
    match within(crate::store::Store::probe(&settings.database_url)).await {
        None => report.line(
            "database",
            Outcome::Fail(format!("{url}: no answer in 10 s")),
        ),
        Some(Err(e)) => report.line("database", Outcome::Fail(e.to_string())),
        Some(Ok(probe)) => {
            // ", over TLS ..." for PostgreSQL: how the connection travels.
            let link = probe.link.map(|l| format!(", {l}")).unwrap_or_default();
            match probe.pending {
                None => report.line(
                    "database",
                    Outcome::Ok(format!(
                        "{url}: not created yet; the first start creates it"
                    )),
                ),
                Some(0) => {
                    // Up to date: its keys can be read with this version's queries.
                    match within(crate::store::Store::connect_as_is(&settings.database_url)).await {
                        Some(Ok(opened)) => {
                            store = Some(opened);
                            report.line(
                                "database",
                                Outcome::Ok(format!("{url}: schema up to date{link}")),
                            );
                        }
                        Some(Err(e)) => report.line("database", Outcome::Fail(e.to_string())),
                        None => report.line(
                            "database",
                            Outcome::Fail(format!("{url}: no answer in 10 s")),
                        ),
                    }
                }
                Some(n) => report.line(
                    "database",
                    Outcome::Ok(format!(
                        "{url}: answers; the next start applies {n} migration(s){link}"
                    )),
                ),
            }
        }
    }

    match within(crate::keys::check(store.as_ref(), &settings)).await {
        Some(Ok(text)) => report.line("root key", Outcome::Ok(text)),
        Some(Err(e)) => report.line("root key", Outcome::Fail(e.to_string())),
        None => report.line(
            "root key",
            Outcome::Fail("the database did not answer in 10 s".into()),
        ),
    }
    if let Some(store) = &store {
        store.close().await;
    }

    for (surface, cert, key) in [
        ("smtp tls", &settings.smtp_tls_cert, &settings.smtp_tls_key),
        ("https", &settings.http_tls_cert, &settings.http_tls_key),
    ] {
        let prefix = if surface == "https" { "HTTP" } else { "SMTP" };
        match crate::tls::Certificate::from_settings(prefix, cert.as_deref(), key.as_deref()) {
            Ok(None) => report.line(
                surface,
                Outcome::Skip(format!("not configured (SEALPOST_{prefix}_TLS_CERT)")),
            ),
            Ok(Some(certificate)) => {
                // The portal's name is known (public_url); the intake's is
                // whatever name its MX record gives.
                let host = (surface == "https")
                    .then(|| settings.public_url.host_str())
                    .flatten();
                match certificate.describe(host, std::time::SystemTime::now()) {
                    Ok(text) => report.line(surface, Outcome::Ok(text)),
                    Err(e) => report.line(surface, Outcome::Fail(e)),
                }
            }
            Err(e) => report.line(surface, Outcome::Fail(e)),
        }
    }

    match &settings.relay_url {
        None => report.line(
            "relay",
            Outcome::Skip(
                "not configured: mail stays in the local outbox (SEALPOST_RELAY_URL)".into(),
            ),
        ),
        Some(relay) => {
            let shown = relay.display_safe();
            let outcome = match crate::outbound::Transport::from_settings(Some(relay), 1) {
                Err(e) => Outcome::Fail(format!("{shown}: {e}")),
                Ok(crate::outbound::Transport::Outbox) => Outcome::Skip("no relay".into()),
                Ok(crate::outbound::Transport::Relay(relay)) => match within(relay.check()).await {
                    None => Outcome::Fail(format!("{shown}: no answer in 10 s")),
                    Some(Ok(how)) => Outcome::Ok(format!("{shown}: {how}")),
                    Some(Err(e)) => Outcome::Fail(format!("{shown}: {e}")),
                },
            };
            report.line("relay", outcome);
        }
    }

    match &settings.clamd_addr {
        None => report.line(
            "clamd",
            Outcome::Skip("not configured: no antivirus (SEALPOST_CLAMD_ADDR)".into()),
        ),
        Some(addr) => {
            let outcome =
                match crate::agents::clamd::scan(addr, b"sealpost check: a clean text\r\n", PROBE)
                    .await
                {
                    Ok(crate::agents::clamd::Verdict::Clean) => {
                        Outcome::Ok(format!("{addr}: scanned a short clean text"))
                    }
                    Ok(crate::agents::clamd::Verdict::Infected(name)) => {
                        Outcome::Fail(format!("{addr}: a clean text was reported as {name}"))
                    }
                    Err(e) => Outcome::Fail(e.to_string()),
                };
            report.line("clamd", outcome);
        }
    }

    if settings.oauth.is_empty() {
        report.line(
            "sign-in",
            Outcome::Skip(
                "no Google or Yahoo sign-in configured (SEALPOST_OAUTH_*_CLIENT_ID)".into(),
            ),
        );
    }
    let client = reqwest::Client::builder()
        .timeout(PROBE)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| CliError::Usage(format!("cannot make an HTTP client: {e}")))?;
    for provider in &settings.oauth {
        let what = format!("{} sign-in", provider.id);
        let mut problems = Vec::new();
        for (name, url) in [
            ("auth", &provider.auth_url),
            ("token", &provider.token_url),
            ("userinfo", &provider.userinfo_url),
        ] {
            // Any HTTP answer will do (a token endpoint refuses a GET):
            // what is checked is that the name resolves and the server talks.
            if let Err(e) = client.get(url.clone()).send().await {
                problems.push(format!("{name} URL {url}: {}", cause(&e)));
            }
        }
        report.line(
            &what,
            if problems.is_empty() {
                Outcome::Ok(format!(
                    "{}, {} and {} answer",
                    provider.auth_url, provider.token_url, provider.userinfo_url
                ))
            } else {
                Outcome::Fail(problems.join("; "))
            },
        );
    }

    if report.failed {
        Err(CliError::Refused(
            "something sealpost needs does not answer: see the FAIL lines above".into(),
        ))
    } else {
        Ok(())
    }
}

/// reqwest's own text is "error sending request"; the cause says why.
fn cause(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = s.to_string();
        source = s.source();
    }
    text
}
