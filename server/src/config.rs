//! Settings: command-line flag, then `SEALPOST_*` environment variable, then
//! the TOML file, then the default. Each setting is defined once (the
//! `settings!` list below: flag, variable, file key, default, help); the
//! layers are merged with figment and then checked here. Every bad value
//! stops start-up with one line naming the setting's variable (exit 2).

use crate::domain::{EmailAddress, InternalDomains};
use figment::Figment;
use figment::providers::Serialized;
use ipnet::IpNet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use url::Url;

/// One setting: its key (the TOML key; `SEALPOST_<KEY>` in the
/// environment; `--<key>` as a flag) and its default as `--help` shows it.
pub struct SettingInfo {
    pub key: &'static str,
    pub default: &'static str,
}

/// Defines every setting once: key, the flag's value name, the default
/// value (`None`: unset, with its meaning in the text `--help` shows) and
/// what it does. It makes [`SettingValues`] (the flags, the file, the
/// environment and the defaults, as text) and [`SETTINGS`].
macro_rules! settings {
    ($($key:ident, $value_name:literal, $default:expr, $shown:literal, $help:literal;)*) => {
        /// The settings as given, as text: one struct for the command
        /// line's flags (clap), the TOML file, the `SEALPOST_*` environment
        /// and the defaults, merged by figment in that order of strength
        /// (a flag wins). [`Settings::load`] checks and types them.
        #[derive(Clone, Debug, Default, PartialEq, Eq, clap::Args, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct SettingValues {
            $(
                #[arg(long, value_name = $value_name, help = help_text(stringify!($key), $shown, $help))]
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $key: Option<String>,
            )*
        }

        /// Every setting this version implements, in `serve --help` order.
        pub const SETTINGS: &[SettingInfo] = &[$(SettingInfo {
            key: stringify!($key),
            default: $shown,
        }),*];

        impl SettingValues {
            /// The built-in defaults.
            pub fn defaults() -> SettingValues {
                SettingValues {
                    $($key: Option::<&str>::map($default, String::from),)*
                }
            }

            /// Sets the setting named `key`; false when there is none.
            pub fn set(&mut self, key: &str, value: String) -> bool {
                match key {
                    $(stringify!($key) => self.$key = Some(value),)*
                    _ => return false,
                }
                true
            }

            /// Only the values given and not blank: a blank value means
            /// "the default", so it must not hide a weaker layer's.
            fn given(mut self) -> SettingValues {
                $(self.$key = self.$key.filter(|v| !v.trim().is_empty());)*
                self
            }
        }
    };
}

settings! {
    data_dir, "DIR", Some("./data"), "./data",
        "Directory for the SQLite database and the root key file";
    database_url, "URL", None, "sqlite://<data dir>/sealpost.db",
        "sqlite://FILE or postgres://USER:PASSWORD@HOST/DB?sslmode=verify-full";
    http_addr, "ADDR", Some("127.0.0.1:3000"), "127.0.0.1:3000",
        "Web portal listen address";
    smtp_addr, "ADDR", Some("127.0.0.1:2525"), "127.0.0.1:2525",
        "SMTP intake listen address";
    metrics_addr, "ADDR", None, "unset = no metrics",
        "Listen address of /metrics (Prometheus text format)";
    public_url, "URL", Some("http://127.0.0.1:3000"), "http://127.0.0.1:3000",
        "Base of the links in emails";
    relay_url, "URL", None, "unset = local outbox",
        "Onward SMTP relay: smtp://host:port or smtps://host:port";
    internal_domains, "DOMAINS", None, "empty",
        "The organization's own mail domains, comma-separated";
    smtp_relay_networks, "NETS", Some("127.0.0.0/8,::1/128"), "127.0.0.0/8,::1/128",
        "Networks allowed to relay through the intake, comma-separated";
    smtp_max_sessions, "N", Some("500"), "500",
        "SMTP sessions at once; beyond it the greeting is 421 4.7.0";
    smtp_max_sessions_per_client, "N", Some("20"), "20",
        "SMTP sessions at once from one client address (IPv6: one /64)";
    trusted_proxies, "NETS", None, "none",
        "Reverse proxies whose X-Forwarded-For names the client, comma-separated";
    smtp_tls_cert, "FILE", None, "unset = no STARTTLS",
        "PEM certificate chain for STARTTLS on the intake";
    smtp_tls_key, "FILE", None, "unset = no STARTTLS",
        "PEM private key for STARTTLS on the intake";
    http_tls_cert, "FILE", None, "unset = plain HTTP",
        "PEM certificate chain: the portal is served over HTTPS (HTTP/2 and HTTP/1.1); reloaded on SIGHUP";
    http_tls_key, "FILE", None, "unset = plain HTTP",
        "PEM private key for the portal's HTTPS; reloaded on SIGHUP";
    http_max_connections_per_client, "N", Some("256"), "256",
        "HTTPS connections at once from one client address (IPv6: one /64); more are closed";
    max_message_bytes, "BYTES", Some("26214400"), "26214400",
        "Largest message the intake accepts (25MB accepted)";
    subject_tag, "TEXT", Some("[secure]"), "[secure]",
        "Subject tag that asks for protection (removed from the subject)";
    queue_lifetime, "DURATION", Some("2d"), "2d",
        "How long outgoing mail is retried (2d, 12h, 30m)";
    pipeline_in_flight, "N", Some("16"), "16",
        "Messages the pipeline works on at once on this node";
    outbound_in_flight, "N", Some("32"), "32",
        "Mails handed to the relay at once on this node (its pooled connections)";
    master_key, "BASE64", None, "unset = <data dir>/master.key",
        "Root key (base64 of 32 bytes) instead of the key file";
    master_key_file, "FILE", None, "unset = <data dir>/master.key",
        "File holding the root key (base64), never created by sealpost: with systemd, %d/master.key from LoadCredential";
    log_level, "FILTER", Some("info"), "info",
        "What the logs show: error, warn, info, debug, or a RUST_LOG filter (RUST_LOG wins); re-read on SIGHUP";
    language, "LANG", Some("en"), "en",
        "Language of emails: en or ja";
    organization_name, "TEXT", None, "unset = sealpost",
        "The organization's name, shown in notifications and page titles";
    retention, "DURATION", None, "unset = keep content",
        "Delete the content of messages revoked, expired or older than this (365d)";
    clamd_addr, "ADDR", None, "unset = no antivirus",
        "The ClamAV daemon that scans every message: unix:/path or a loopback host:port";
    clamd_unavailable, "WHAT", Some("defer"), "defer",
        "When clamd cannot scan: defer (the queue's backoff, a report at the queue lifetime) or deliver (at once, recorded \"not scanned\")";
    admin_email, "EMAIL", Some("admin@localhost"), "admin@localhost",
        "The administrator the first start creates";
    dev_mode, "BOOL", Some("false"), "false",
        "Development mode (loopback HTTP address only)";
    site_dir, "DIR", Some("./target/site"), "./target/site",
        "The client bundle built by Trunk";
    oauth_google_client_id, "VALUE", None, "unset = Google sign-in off",
        "Google sign-in for recipients: client id";
    oauth_google_client_secret, "VALUE", None, "unset",
        "Google sign-in for recipients: client secret";
    oauth_google_auth_url, "VALUE", Some("https://accounts.google.com/o/oauth2/v2/auth"), "https://accounts.google.com/o/oauth2/v2/auth",
        "Google sign-in for recipients: auth url";
    oauth_google_token_url, "VALUE", Some("https://oauth2.googleapis.com/token"), "https://oauth2.googleapis.com/token",
        "Google sign-in for recipients: token url";
    oauth_google_userinfo_url, "VALUE", Some("https://openidconnect.googleapis.com/v1/userinfo"), "https://openidconnect.googleapis.com/v1/userinfo",
        "Google sign-in for recipients: userinfo url";
    oauth_yahoo_client_id, "VALUE", None, "unset = Yahoo sign-in off",
        "Yahoo sign-in for recipients: client id";
    oauth_yahoo_client_secret, "VALUE", None, "unset",
        "Yahoo sign-in for recipients: client secret";
    oauth_yahoo_auth_url, "VALUE", Some("https://api.login.yahoo.com/oauth2/request_auth"), "https://api.login.yahoo.com/oauth2/request_auth",
        "Yahoo sign-in for recipients: auth url";
    oauth_yahoo_token_url, "VALUE", Some("https://api.login.yahoo.com/oauth2/get_token"), "https://api.login.yahoo.com/oauth2/get_token",
        "Yahoo sign-in for recipients: token url";
    oauth_yahoo_userinfo_url, "VALUE", Some("https://api.login.yahoo.com/openid/v1/userinfo"), "https://api.login.yahoo.com/openid/v1/userinfo",
        "Yahoo sign-in for recipients: userinfo url";
}

/// A flag's help: what it does, its variable and its default.
fn help_text(key: &str, shown: &str, text: &str) -> String {
    format!("{text} [env: {}] [default: {shown}]", env_name(key))
}

pub fn env_name(key: &str) -> String {
    format!("SEALPOST_{}", key.to_uppercase())
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{setting}: {message}")]
    Invalid { setting: String, message: String },
    #[error("configuration file {path}: {message}")]
    File { path: String, message: String },
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: env_name(key),
        message: message.into(),
    }
}

/// The language of emails; the pages share its words.
pub use app::i18n::Lang as Language;

/// Where mail goes onward. Parsed now so a typo stops start-up; the outbound
/// queue uses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayUrl(Url);

impl RelayUrl {
    fn parse(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw).map_err(|e| format!("'{raw}' is not a URL ({e})"))?;
        if !matches!(url.scheme(), "smtp" | "smtps") {
            return Err(format!("'{raw}' must start with smtp:// or smtps://"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("'{raw}' names no host"));
        }
        Ok(RelayUrl(url))
    }

    pub fn url(&self) -> &Url {
        &self.0
    }

    /// The relay without credentials, for `/healthz` and logs.
    pub fn display_safe(&self) -> String {
        let port = self.0.port().map(|p| format!(":{p}")).unwrap_or_default();
        format!(
            "{}://{}{}",
            self.0.scheme(),
            self.0.host_str().unwrap_or_default(),
            port
        )
    }
}

/// The resolved settings of one sealpost process.
#[derive(Clone, Debug)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub http_addr: SocketAddr,
    pub smtp_addr: SocketAddr,
    /// Where `/metrics` is served (unset: nowhere).
    pub metrics_addr: Option<SocketAddr>,
    pub public_url: Url,
    pub relay_url: Option<RelayUrl>,
    pub internal_domains: InternalDomains,
    pub smtp_relay_networks: Vec<IpNet>,
    /// SMTP sessions at once, in all and per client address (IPv6: per /64).
    pub smtp_max_sessions: usize,
    pub smtp_max_sessions_per_client: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpNet>,
    /// PEM files for STARTTLS on the intake (both or neither).
    pub smtp_tls_cert: Option<PathBuf>,
    pub smtp_tls_key: Option<PathBuf>,
    /// PEM files for the portal's HTTPS (both or neither).
    pub http_tls_cert: Option<PathBuf>,
    pub http_tls_key: Option<PathBuf>,
    /// HTTPS connections at once from one client address (IPv6: per /64).
    pub http_max_connections_per_client: usize,
    pub max_message_bytes: usize,
    /// Asks for protection when found in a subject (case-insensitive); removed.
    pub subject_tag: String,
    /// How long outgoing mail is retried before a non-delivery report.
    pub queue_lifetime_ms: i64,
    /// Jobs each queue runs at once on this node (the pipeline's messages,
    /// the mails handed to the relay).
    pub pipeline_in_flight: usize,
    pub outbound_in_flight: usize,
    /// Base64 of the 32-byte root key, when given instead of the key file.
    pub master_key: Option<String>,
    /// The root key's file when given: read, never created.
    pub master_key_file: Option<PathBuf>,
    /// The logs' filter (`RUST_LOG` syntax).
    pub log_level: String,
    pub language: Language,
    /// Shown in notifications and page titles (unset: "sealpost").
    pub organization_name: Option<String>,
    /// Content of messages revoked, expired or older than this is deleted
    /// (unset: kept).
    pub retention_ms: Option<i64>,
    pub admin_email: EmailAddress,
    pub dev_mode: bool,
    pub site_dir: PathBuf,
    /// Social sign-in providers that have a client id configured.
    pub oauth: Vec<OAuthProvider>,
    /// The ClamAV daemon that scans every message (none: no antivirus).
    pub clamd_addr: Option<ClamdAddr>,
    pub clamd_unavailable: ClamdUnavailable,
    /// `[[custom_agents]]` of the configuration file, in order.
    pub custom_agents: Vec<CustomAgent>,
}

/// Where clamd listens: a Unix socket or a loopback TCP port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClamdAddr {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

impl ClamdAddr {
    fn parse(raw: &str) -> Result<ClamdAddr, String> {
        if let Some(path) = raw.strip_prefix("unix:") {
            if !path.starts_with('/') {
                return Err(format!(
                    "'{raw}' must name an absolute path: unix:/run/clamav/clamd.ctl"
                ));
            }
            return Ok(ClamdAddr::Unix(PathBuf::from(path)));
        }
        let addr: SocketAddr = raw.parse().map_err(|_| {
            format!("'{raw}' is not unix:/path nor a loopback host:port such as 127.0.0.1:3310")
        })?;
        // Message plaintext goes to clamd unencrypted: only over loopback.
        if !addr.ip().is_loopback() {
            return Err(format!(
                "'{raw}' is not a loopback address: plaintext must not cross the network"
            ));
        }
        Ok(ClamdAddr::Tcp(addr))
    }
}

impl std::fmt::Display for ClamdAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClamdAddr::Unix(path) => write!(f, "unix:{}", path.display()),
            ClamdAddr::Tcp(addr) => write!(f, "{addr}"),
        }
    }
}

/// What happens to a message when clamd cannot scan it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClamdUnavailable {
    /// Wait with the queue's backoff; a report at the queue lifetime.
    #[default]
    Defer,
    /// Deliver at once, recorded "not scanned".
    Deliver,
}

/// An organization's own agent: a command that reads the message on stdin
/// and writes it, maybe changed, on stdout.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomAgent {
    pub name: String,
    /// argv: an absolute path and its arguments; no shell.
    pub command: Vec<String>,
    #[serde(default = "default_agent_timeout")]
    pub timeout_secs: u64,
}

fn default_agent_timeout() -> u64 {
    30
}

impl CustomAgent {
    fn check(&self) -> Result<(), String> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err("an agent's name must be 1 to 64 characters".into());
        }
        match self.command.first() {
            None => return Err(format!("agent '{name}': command is empty")),
            Some(program) if !program.starts_with('/') => {
                return Err(format!(
                    "agent '{name}': the command must start with an absolute path, not '{program}'"
                ));
            }
            Some(_) => {}
        }
        if !(1..=3600).contains(&self.timeout_secs) {
            return Err(format!(
                "agent '{name}': timeout_secs must be 1 to 3600, not {}",
                self.timeout_secs
            ));
        }
        Ok(())
    }
}

/// A social sign-in provider (Google or Yahoo) for recipients.
#[derive(Clone, Debug)]
pub struct OAuthProvider {
    /// `google` or `yahoo`.
    pub id: &'static str,
    pub label: &'static str,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub auth_url: Url,
    pub token_url: Url,
    pub userinfo_url: Url,
}

impl Settings {
    /// An address in one of the organization's own domains.
    pub fn is_internal(&self, address: &str) -> bool {
        self.internal_domains.contains(address)
    }

    /// Where the root key is read from (and, when not given, created).
    pub fn master_key_file(&self) -> PathBuf {
        self.master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }

    /// The name sealpost gives itself in SMTP and Message-IDs: the public URL's host.
    pub fn hostname(&self) -> String {
        self.public_url
            .host_str()
            .unwrap_or("localhost")
            .to_string()
    }

    pub fn cookies_secure(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// The settings from the flags (parsed by clap), the environment (every
    /// variable of the process: an unknown `SEALPOST_*` one is refused) and
    /// the optional TOML file, over the defaults; checked and typed.
    pub fn load(
        flags: &SettingValues,
        config_file: Option<&Path>,
        env: &[(String, String)],
    ) -> Result<Settings, ConfigError> {
        let from_env = env_values(env)?;
        let (file, custom_agents) = match config_file {
            Some(path) => read_file(path)?,
            None => (SettingValues::default(), Vec::new()),
        };
        let values: SettingValues = Figment::new()
            .merge(Serialized::defaults(SettingValues::defaults()))
            .merge(Serialized::defaults(file.given()))
            .merge(Serialized::defaults(from_env.given()))
            .merge(Serialized::defaults(flags.clone().given()))
            .extract()
            .map_err(|e| ConfigError::Invalid {
                setting: "settings".into(),
                message: e.to_string(),
            })?;
        Settings::resolve(values, custom_agents)
    }

    /// Checks and types the merged values; each error names the setting's
    /// variable.
    fn resolve(v: SettingValues, custom_agents: Vec<CustomAgent>) -> Result<Settings, ConfigError> {
        // Blank values were dropped and the defaults filled in: what is
        // unset here is a setting without a default. A setting with one
        // reads as the empty text only if the defaults lost it.
        let value = |v: &Option<String>| v.clone().unwrap_or_default();
        let data_dir = PathBuf::from(value(&v.data_dir));
        let database_url = match v.database_url.clone() {
            Some(url) => {
                if !(url.starts_with("sqlite:")
                    || url.starts_with("postgres://")
                    || url.starts_with("postgresql://"))
                {
                    return Err(invalid(
                        "database_url",
                        format!(
                            "'{}' must start with sqlite:// or postgres://",
                            redact_url(&url)
                        ),
                    ));
                }
                url
            }
            None => format!("sqlite://{}", data_dir.join("sealpost.db").display()),
        };
        let addr = |key: &str, value: String| -> Result<SocketAddr, ConfigError> {
            value.parse().map_err(|_| {
                invalid(
                    key,
                    format!(
                        "'{value}' is not an address of the form host:port, e.g. 127.0.0.1:3000"
                    ),
                )
            })
        };
        let http_addr = addr("http_addr", value(&v.http_addr))?;
        let smtp_addr = addr("smtp_addr", value(&v.smtp_addr))?;
        let metrics_addr = v
            .metrics_addr
            .clone()
            .map(|a| addr("metrics_addr", a))
            .transpose()?;

        let public_url_raw = value(&v.public_url);
        let public_url = Url::parse(public_url_raw.trim_end_matches('/'))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                invalid(
                    "public_url",
                    format!("'{public_url_raw}' is not an http:// or https:// URL"),
                )
            })?;

        let relay_url = v
            .relay_url
            .as_deref()
            .map(|v| RelayUrl::parse(v).map_err(|m| invalid("relay_url", m)))
            .transpose()?;

        let internal_domains = InternalDomains::parse(split_list(v.internal_domains.clone()))
            .map_err(|m| invalid("internal_domains", m))?;

        let smtp_relay_networks =
            parse_networks("smtp_relay_networks", value(&v.smtp_relay_networks))?;
        let trusted_proxies = parse_networks("trusted_proxies", value(&v.trusted_proxies))?;
        let count = |key: &str, v: String| -> Result<usize, ConfigError> {
            v.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=100_000).contains(n))
                .ok_or_else(|| invalid(key, format!("'{v}' is not a number from 1 to 100000")))
        };
        let smtp_max_sessions = count("smtp_max_sessions", value(&v.smtp_max_sessions))?;
        let pipeline_in_flight = count("pipeline_in_flight", value(&v.pipeline_in_flight))?;
        let outbound_in_flight = count("outbound_in_flight", value(&v.outbound_in_flight))?;
        let smtp_max_sessions_per_client = count(
            "smtp_max_sessions_per_client",
            value(&v.smtp_max_sessions_per_client),
        )?;
        let http_max_connections_per_client = count(
            "http_max_connections_per_client",
            value(&v.http_max_connections_per_client),
        )?;

        let smtp_tls_cert = v.smtp_tls_cert.clone().map(PathBuf::from);
        let smtp_tls_key = v.smtp_tls_key.clone().map(PathBuf::from);
        let http_tls_cert = v.http_tls_cert.clone().map(PathBuf::from);
        let http_tls_key = v.http_tls_key.clone().map(PathBuf::from);
        if http_tls_cert.is_some() != http_tls_key.is_some() {
            let (missing, given) = if http_tls_cert.is_some() {
                ("http_tls_key", "http_tls_cert")
            } else {
                ("http_tls_cert", "http_tls_key")
            };
            return Err(invalid(
                missing,
                format!("must be set with {}", env_name(given)),
            ));
        }
        let master_key_file = v.master_key_file.clone().map(PathBuf::from);
        if master_key_file.is_some() && v.master_key.is_some() {
            return Err(invalid(
                "master_key_file",
                "give the root key once: SEALPOST_MASTER_KEY or SEALPOST_MASTER_KEY_FILE, not both",
            ));
        }
        let log_level = value(&v.log_level);
        crate::telemetry::filter(&log_level).map_err(|e| {
            invalid(
                "log_level",
                format!(
                    "'{log_level}' is not a log filter such as info or warn,sealpost=debug ({e})"
                ),
            )
        })?;
        let size = value(&v.max_message_bytes);
        let max_message_bytes = crate::domain::parse_size(&size)
            .ok()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| (1024..=1 << 30).contains(n))
            .ok_or_else(|| {
                invalid(
                    "max_message_bytes",
                    format!("'{size}' is not a size between 1KB and 1GB (e.g. 26214400 or 25MB)"),
                )
            })?;
        let subject_tag = value(&v.subject_tag).trim().to_string();
        let lifetime = value(&v.queue_lifetime);
        let queue_lifetime_ms = parse_duration_ms(&lifetime)
            .filter(|ms| *ms > 0)
            .ok_or_else(|| {
                invalid(
                    "queue_lifetime",
                    format!("'{lifetime}' is not a duration such as 2d, 12h, 30m or 90s"),
                )
            })?;

        let organization_name = match v.organization_name.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) if name.chars().count() > 100 || name.chars().any(char::is_control) => {
                return Err(invalid(
                    "organization_name",
                    "must be one line of at most 100 characters",
                ));
            }
            Some(name) => Some(name.to_string()),
        };
        let retention_ms = match v.retention.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(
                parse_duration_ms(text)
                    .filter(|ms| *ms >= 86_400_000)
                    .ok_or_else(|| {
                        invalid(
                            "retention",
                            format!("'{text}' is not a duration of a day or more, such as 365d"),
                        )
                    })?,
            ),
        };

        let master_key = v.master_key.clone();
        if let Some(key) = &master_key {
            crate::crypto::RootKey::from_base64(key)
                .map_err(|_| invalid("master_key", "must be the base64 of exactly 32 bytes"))?;
        }

        let language = match value(&v.language).to_lowercase().as_str() {
            "en" => Language::En,
            "ja" => Language::Ja,
            other => {
                return Err(invalid(
                    "language",
                    format!("'{other}' is not one of: en, ja"),
                ));
            }
        };

        let admin_email_raw = value(&v.admin_email);
        let admin_email = EmailAddress::parse(&admin_email_raw)
            .map_err(|e| invalid("admin_email", e.to_string()))?;

        let dev_mode = parse_bool("dev_mode", v.dev_mode.clone())?;
        if dev_mode && !http_addr.ip().is_loopback() {
            return Err(invalid(
                "dev_mode",
                format!(
                    "true is only allowed when SEALPOST_HTTP_ADDR is a loopback address, not {http_addr}"
                ),
            ));
        }

        let site_dir = PathBuf::from(value(&v.site_dir));

        let clamd_addr = v
            .clamd_addr
            .as_deref()
            .map(|a| ClamdAddr::parse(a.trim()).map_err(|m| invalid("clamd_addr", m)))
            .transpose()?;
        let clamd_unavailable = match value(&v.clamd_unavailable).trim().to_lowercase().as_str() {
            "defer" => ClamdUnavailable::Defer,
            "deliver" => ClamdUnavailable::Deliver,
            other => {
                return Err(invalid(
                    "clamd_unavailable",
                    format!("'{other}' is not one of: defer, deliver"),
                ));
            }
        };

        let mut oauth = Vec::new();
        let providers = [
            (
                "google",
                "Google",
                [
                    &v.oauth_google_client_id,
                    &v.oauth_google_client_secret,
                    &v.oauth_google_auth_url,
                    &v.oauth_google_token_url,
                    &v.oauth_google_userinfo_url,
                ],
            ),
            (
                "yahoo",
                "Yahoo",
                [
                    &v.oauth_yahoo_client_id,
                    &v.oauth_yahoo_client_secret,
                    &v.oauth_yahoo_auth_url,
                    &v.oauth_yahoo_token_url,
                    &v.oauth_yahoo_userinfo_url,
                ],
            ),
        ];
        for (id, label, [client_id, client_secret, auth, token, userinfo]) in providers {
            let Some(client_id) = client_id.clone() else {
                continue;
            };
            let url = |what: &str, given: &Option<String>| -> Result<Url, ConfigError> {
                let given = value(given);
                Url::parse(&given)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                    .ok_or_else(|| {
                        invalid(
                            &format!("oauth_{id}_{what}"),
                            format!("'{given}' is not an http:// or https:// URL"),
                        )
                    })
            };
            oauth.push(OAuthProvider {
                id,
                label,
                client_id,
                client_secret: client_secret.clone(),
                auth_url: url("auth_url", auth)?,
                token_url: url("token_url", token)?,
                userinfo_url: url("userinfo_url", userinfo)?,
            });
        }

        Ok(Settings {
            data_dir,
            database_url,
            http_addr,
            smtp_addr,
            metrics_addr,
            public_url,
            relay_url,
            internal_domains,
            smtp_relay_networks,
            smtp_max_sessions,
            smtp_max_sessions_per_client,
            trusted_proxies,
            smtp_tls_cert,
            smtp_tls_key,
            http_tls_cert,
            http_tls_key,
            http_max_connections_per_client,
            max_message_bytes,
            subject_tag,
            queue_lifetime_ms,
            pipeline_in_flight,
            outbound_in_flight,
            master_key,
            master_key_file,
            log_level,
            language,
            organization_name,
            retention_ms,
            admin_email,
            dev_mode,
            site_dir,
            oauth,
            clamd_addr,
            clamd_unavailable,
            custom_agents,
        })
    }
}

/// Names of `SEALPOST_*` variables that are not settings; tests and tools use them.
fn env_is_tooling(name: &str) -> bool {
    name == "SEALPOST_CONFIG" || name.starts_with("SEALPOST_TEST_")
}

/// The settings the `SEALPOST_*` variables give; any other `SEALPOST_*`
/// name is refused (a typo must not pass for a default).
fn env_values(env: &[(String, String)]) -> Result<SettingValues, ConfigError> {
    let mut values = SettingValues::default();
    for (name, value) in env {
        let Some(key) = name.strip_prefix("SEALPOST_") else {
            continue;
        };
        if env_is_tooling(name) {
            continue;
        }
        // Only the upper-case spelling is the variable's name.
        let known = key == key.to_uppercase() && values.set(&key.to_lowercase(), value.clone());
        if !known {
            return Err(ConfigError::Invalid {
                setting: name.clone(),
                message: "is not a setting of this version (see `sealpost serve --help`)".into(),
            });
        }
    }
    Ok(values)
}

/// The file's settings, and its `[[custom_agents]]` (set there only, never
/// through the environment or the web).
fn read_file(path: &Path) -> Result<(SettingValues, Vec<CustomAgent>), ConfigError> {
    let file_err = |message: String| ConfigError::File {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| file_err(e.message().to_string()))?;
    let mut out = SettingValues::default();
    let mut agents: Vec<CustomAgent> = Vec::new();
    for (key, value) in table {
        if key == "custom_agents" {
            agents = value.try_into().map_err(|e: toml::de::Error| {
                file_err(format!("[[custom_agents]]: {}", e.message()))
            })?;
            for agent in &agents {
                agent
                    .check()
                    .map_err(|m| file_err(format!("[[custom_agents]]: {m}")))?;
            }
            let mut names: Vec<&str> = agents.iter().map(|a| a.name.trim()).collect();
            names.sort();
            if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
                return Err(file_err(format!(
                    "[[custom_agents]]: two agents are named '{}'",
                    w[0]
                )));
            }
            continue;
        }
        if !SETTINGS.iter().any(|s| s.key == key) {
            return Err(file_err(format!("unknown setting '{key}'")));
        }
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    toml::Value::String(s) => Ok(s),
                    other => Err(file_err(format!(
                        "'{key}' must be a list of strings, found {other}"
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()?
                .join(","),
            other => {
                return Err(file_err(format!(
                    "'{key}' has an unsupported value {other}"
                )));
            }
        };
        out.set(&key, text);
    }
    Ok((out, agents))
}

/// `2d`, `12h`, `30m`, `90s` in milliseconds.
pub fn parse_duration_ms(text: &str) -> Option<i64> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: i64 = digits.parse().ok()?;
    let factor = match unit {
        "s" | "" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// A comma-separated list of networks (a bare address is a /32 or /128).
fn parse_networks(key: &str, value: String) -> Result<Vec<IpNet>, ConfigError> {
    split_list(Some(value))
        .into_iter()
        .map(|n| {
            n.parse::<IpNet>()
                .or_else(|_| n.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| invalid(key, format!("'{n}' is not a network such as 10.0.0.0/8")))
        })
        .collect()
}

fn split_list(value: Option<String>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn parse_bool(key: &str, value: Option<String>) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::to_lowercase).as_deref() {
        None | Some("false") | Some("0") | Some("no") => Ok(false),
        Some("true") | Some("1") | Some("yes") => Ok(true),
        Some(other) => Err(invalid(
            key,
            format!("'{other}' is not one of: true, false"),
        )),
    }
}

/// A database URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = Url::parse(url) else {
        // Unreadable, e.g. a password with an unescaped `/`: whatever
        // stands before the last `@` may be a secret.
        return match (url.find("://"), url.rfind('@')) {
            (Some(scheme), Some(at)) if scheme < at => {
                format!("{}://***{}", &url[..scheme], &url[at..])
            }
            _ => url.to_string(),
        };
    };
    let mut changed = false;
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
        changed = true;
    }
    // sqlx takes a PostgreSQL password as `?password=` too.
    let secret = |key: &str| {
        let key = key.to_ascii_lowercase();
        ["password", "secret", "token"]
            .iter()
            .any(|word| key.contains(word))
    };
    if parsed.query_pairs().any(|(key, _)| secret(&key)) {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(key, value)| {
                let value = if secret(&key) {
                    "***".to_string()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
        changed = true;
    }
    if changed {
        parsed.to_string()
    } else {
        url.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_their_passwords() {
        assert_eq!(
            redact_url("postgres://sealpost:hunter2@db.corp.example/sealpost?sslmode=verify-full"),
            "postgres://sealpost:***@db.corp.example/sealpost?sslmode=verify-full"
        );
        assert_eq!(
            redact_url(
                "postgres://sealpost@db.corp.example/sealpost?password=hunter2&sslmode=require"
            ),
            "postgres://sealpost@db.corp.example/sealpost?password=***&sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://sealpost:pa/ss@db.corp.example/sealpost"),
            "postgres://***@db.corp.example/sealpost"
        );
        assert_eq!(
            redact_url("smtp://127.0.0.1:10025?tls=none"),
            "smtp://127.0.0.1:10025?tls=none"
        );
    }

    fn load(flags: &[(&'static str, &str)], env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let mut given = SettingValues::default();
        for (k, v) in flags {
            assert!(given.set(k, v.to_string()), "{k} is a setting");
        }
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load(&given, None, &env)
    }

    #[test]
    fn defaults_are_the_embedded_deployment() {
        let s = load(&[], &[]).unwrap();
        assert_eq!(s.http_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(s.smtp_addr.to_string(), "127.0.0.1:2525");
        assert_eq!(s.database_url, "sqlite://./data/sealpost.db");
        assert!(s.relay_url.is_none());
        assert!(!s.dev_mode);
    }

    #[test]
    fn a_flag_wins_over_the_environment() {
        let s = load(
            &[("http_addr", "127.0.0.1:4000")],
            &[("SEALPOST_HTTP_ADDR", "127.0.0.1:5000")],
        )
        .unwrap();
        assert_eq!(s.http_addr.port(), 4000);
    }

    #[test]
    fn bad_values_name_the_setting() {
        let err = load(&[], &[("SEALPOST_HTTP_ADDR", "nonsense")])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("SEALPOST_HTTP_ADDR:"), "{err}");
        let err = load(&[], &[("SEALPOST_RELAY_URL", "http://x")])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("SEALPOST_RELAY_URL:"), "{err}");
        let err = load(&[], &[("SEALPOST_HTTP_ADRR", "x")])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("SEALPOST_HTTP_ADRR:"), "{err}");
    }

    #[test]
    fn dev_mode_is_refused_off_loopback() {
        let err = load(
            &[],
            &[
                ("SEALPOST_DEV_MODE", "true"),
                ("SEALPOST_HTTP_ADDR", "0.0.0.0:3000"),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("SEALPOST_DEV_MODE:"), "{err}");
        assert!(
            load(&[], &[("SEALPOST_DEV_MODE", "TRUE")])
                .unwrap()
                .dev_mode
        );
    }

    #[test]
    fn sizes_and_durations_take_units() {
        assert_eq!(parse_duration_ms("2d"), Some(172_800_000));
        assert_eq!(parse_duration_ms("90s"), Some(90_000));
        assert_eq!(parse_duration_ms("2w"), None);
        let err = load(&[], &[("SEALPOST_QUEUE_LIFETIME", "soon")])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("SEALPOST_QUEUE_LIFETIME:"), "{err}");
    }

    #[test]
    fn a_blank_value_means_the_default_and_the_file_is_weakest() {
        let s = load(&[], &[("SEALPOST_HTTP_ADDR", " ")]).unwrap();
        assert_eq!(s.http_addr.to_string(), "127.0.0.1:3000");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sealpost.toml");
        std::fs::write(
            &file,
            "smtp_addr = \"127.0.0.1:2626\"\nsubject_tag = \"[enc]\"\n",
        )
        .unwrap();
        let env = vec![(
            "SEALPOST_SMTP_ADDR".to_string(),
            "127.0.0.1:2727".to_string(),
        )];
        let s = Settings::load(&SettingValues::default(), Some(&file), &env).unwrap();
        assert_eq!(s.smtp_addr.port(), 2727, "the environment over the file");
        assert_eq!(s.subject_tag, "[enc]", "the file over the default");
    }

    #[test]
    fn every_setting_is_a_flag_a_variable_and_a_file_key() {
        let mut all = SettingValues::default();
        for setting in SETTINGS {
            assert!(all.set(setting.key, "x".into()), "{}", setting.key);
        }
        // The struct has exactly the settings the list names.
        let fields: Vec<String> = match serde_json::to_value(&all).unwrap() {
            serde_json::Value::Object(map) => map.keys().cloned().collect(),
            other => panic!("{other}"),
        };
        let mut keys: Vec<String> = SETTINGS.iter().map(|s| s.key.to_string()).collect();
        keys.sort();
        assert_eq!(fields, keys);
        assert!(!SettingValues::default().set("http_adr", "x".into()));
    }

    #[test]
    fn the_relay_is_shown_without_credentials() {
        let s = load(
            &[],
            &[(
                "SEALPOST_RELAY_URL",
                "smtp://user:pw@relay.corp.example:587",
            )],
        )
        .unwrap();
        assert_eq!(
            s.relay_url.unwrap().display_safe(),
            "smtp://relay.corp.example:587"
        );
    }
}
