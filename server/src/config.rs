//! Settings: command-line flag, then `SEALPOST_*` environment variable, then
//! the TOML file, then the default. Every bad value stops start-up with one
//! line naming the setting (exit 2).

use crate::domain::{EmailAddress, InternalDomains};
use ipnet::IpNet;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use url::Url;

/// One setting: its TOML key (the environment name is derived from it).
pub struct SettingInfo {
    pub key: &'static str,
    pub default: &'static str,
}

/// Every setting this version implements, in `serve --help` order.
pub const SETTINGS: &[SettingInfo] = &[
    SettingInfo {
        key: "data_dir",
        default: "./data",
    },
    SettingInfo {
        key: "database_url",
        default: "sqlite://<data dir>/sealpost.db",
    },
    SettingInfo {
        key: "http_addr",
        default: "127.0.0.1:3000",
    },
    SettingInfo {
        key: "smtp_addr",
        default: "127.0.0.1:2525",
    },
    SettingInfo {
        key: "metrics_addr",
        default: "unset = no metrics",
    },
    SettingInfo {
        key: "public_url",
        default: "http://127.0.0.1:3000",
    },
    SettingInfo {
        key: "relay_url",
        default: "unset = local outbox",
    },
    SettingInfo {
        key: "internal_domains",
        default: "empty",
    },
    SettingInfo {
        key: "smtp_relay_networks",
        default: "127.0.0.0/8,::1/128",
    },
    SettingInfo {
        key: "smtp_max_sessions",
        default: "500",
    },
    SettingInfo {
        key: "smtp_max_sessions_per_client",
        default: "20",
    },
    SettingInfo {
        key: "trusted_proxies",
        default: "none",
    },
    SettingInfo {
        key: "smtp_tls_cert",
        default: "unset = no STARTTLS",
    },
    SettingInfo {
        key: "smtp_tls_key",
        default: "unset = no STARTTLS",
    },
    SettingInfo {
        key: "max_message_bytes",
        default: "26214400",
    },
    SettingInfo {
        key: "subject_tag",
        default: "[secure]",
    },
    SettingInfo {
        key: "queue_lifetime",
        default: "2d",
    },
    SettingInfo {
        key: "master_key",
        default: "unset = <data dir>/master.key",
    },
    SettingInfo {
        key: "language",
        default: "en",
    },
    SettingInfo {
        key: "clamd_addr",
        default: "unset = no antivirus",
    },
    SettingInfo {
        key: "clamd_unavailable",
        default: "defer",
    },
    SettingInfo {
        key: "admin_email",
        default: "admin@localhost",
    },
    SettingInfo {
        key: "dev_mode",
        default: "false",
    },
    SettingInfo {
        key: "site_dir",
        default: "./target/site",
    },
    SettingInfo {
        key: "oauth_google_client_id",
        default: "unset = Google sign-in off",
    },
    SettingInfo {
        key: "oauth_google_client_secret",
        default: "unset",
    },
    SettingInfo {
        key: "oauth_google_auth_url",
        default: "https://accounts.google.com/o/oauth2/v2/auth",
    },
    SettingInfo {
        key: "oauth_google_token_url",
        default: "https://oauth2.googleapis.com/token",
    },
    SettingInfo {
        key: "oauth_google_userinfo_url",
        default: "https://openidconnect.googleapis.com/v1/userinfo",
    },
    SettingInfo {
        key: "oauth_yahoo_client_id",
        default: "unset = Yahoo sign-in off",
    },
    SettingInfo {
        key: "oauth_yahoo_client_secret",
        default: "unset",
    },
    SettingInfo {
        key: "oauth_yahoo_auth_url",
        default: "https://api.login.yahoo.com/oauth2/request_auth",
    },
    SettingInfo {
        key: "oauth_yahoo_token_url",
        default: "https://api.login.yahoo.com/oauth2/get_token",
    },
    SettingInfo {
        key: "oauth_yahoo_userinfo_url",
        default: "https://api.login.yahoo.com/openid/v1/userinfo",
    },
];

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
    pub max_message_bytes: usize,
    /// Asks for protection when found in a subject (case-insensitive); removed.
    pub subject_tag: String,
    /// How long outgoing mail is retried before a non-delivery report.
    pub queue_lifetime_ms: i64,
    /// Base64 of the 32-byte root key, when given instead of the key file.
    pub master_key: Option<String>,
    pub language: Language,
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

    pub fn master_key_file(&self) -> PathBuf {
        self.data_dir.join("master.key")
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

    /// Resolve from flags (already parsed by clap), the environment and the
    /// optional TOML file.
    pub fn load(
        flags: &BTreeMap<&'static str, String>,
        config_file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
        env_names: &[String],
    ) -> Result<Settings, ConfigError> {
        check_unknown_env(env_names)?;
        let (file, custom_agents) = match config_file {
            Some(path) => read_file(path)?,
            None => (BTreeMap::new(), Vec::new()),
        };
        let raw = |key: &str| -> Option<String> {
            flags
                .get(key)
                .cloned()
                .or_else(|| env(&env_name(key)))
                .or_else(|| file.get(key).cloned())
                .filter(|v| !v.trim().is_empty())
        };

        let data_dir = PathBuf::from(raw("data_dir").unwrap_or_else(|| "./data".into()));
        let database_url = match raw("database_url") {
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
        let addr = |key: &str, default: &str| -> Result<SocketAddr, ConfigError> {
            let value = raw(key).unwrap_or_else(|| default.into());
            value.parse().map_err(|_| {
                invalid(
                    key,
                    format!(
                        "'{value}' is not an address of the form host:port, e.g. 127.0.0.1:3000"
                    ),
                )
            })
        };
        let http_addr = addr("http_addr", "127.0.0.1:3000")?;
        let smtp_addr = addr("smtp_addr", "127.0.0.1:2525")?;
        let metrics_addr = match raw("metrics_addr") {
            Some(_) => Some(addr("metrics_addr", "")?),
            None => None,
        };

        let public_url_raw = raw("public_url").unwrap_or_else(|| "http://127.0.0.1:3000".into());
        let public_url = Url::parse(public_url_raw.trim_end_matches('/'))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                invalid(
                    "public_url",
                    format!("'{public_url_raw}' is not an http:// or https:// URL"),
                )
            })?;

        let relay_url = raw("relay_url")
            .map(|v| RelayUrl::parse(&v).map_err(|m| invalid("relay_url", m)))
            .transpose()?;

        let internal_domains = InternalDomains::parse(split_list(raw("internal_domains")))
            .map_err(|m| invalid("internal_domains", m))?;

        let networks = raw("smtp_relay_networks").unwrap_or_else(|| "127.0.0.0/8,::1/128".into());
        let smtp_relay_networks = parse_networks("smtp_relay_networks", networks)?;

        let trusted_proxies = parse_networks(
            "trusted_proxies",
            raw("trusted_proxies").unwrap_or_default(),
        )?;
        let count = |key: &str, default: usize| -> Result<usize, ConfigError> {
            match raw(key) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=100_000).contains(n))
                    .ok_or_else(|| invalid(key, format!("'{v}' is not a number from 1 to 100000"))),
            }
        };
        let smtp_max_sessions = count("smtp_max_sessions", 500)?;
        let smtp_max_sessions_per_client = count("smtp_max_sessions_per_client", 20)?;

        let smtp_tls_cert = raw("smtp_tls_cert").map(PathBuf::from);
        let smtp_tls_key = raw("smtp_tls_key").map(PathBuf::from);
        let max_message_bytes = match raw("max_message_bytes") {
            None => 26_214_400,
            Some(v) => crate::domain::parse_size(&v)
                .ok()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| (1024..=1 << 30).contains(n))
                .ok_or_else(|| {
                    invalid(
                        "max_message_bytes",
                        format!("'{v}' is not a size between 1KB and 1GB (e.g. 26214400 or 25MB)"),
                    )
                })?,
        };
        let subject_tag = raw("subject_tag")
            .unwrap_or_else(|| "[secure]".into())
            .trim()
            .to_string();
        let queue_lifetime_ms = match raw("queue_lifetime") {
            None => 2 * 86_400_000,
            Some(v) => parse_duration_ms(&v).filter(|ms| *ms > 0).ok_or_else(|| {
                invalid(
                    "queue_lifetime",
                    format!("'{v}' is not a duration such as 2d, 12h, 30m or 90s"),
                )
            })?,
        };

        let master_key = raw("master_key");
        if let Some(key) = &master_key {
            crate::crypto::RootKey::from_base64(key)
                .map_err(|_| invalid("master_key", "must be the base64 of exactly 32 bytes"))?;
        }

        let language = match raw("language")
            .unwrap_or_else(|| "en".into())
            .to_lowercase()
            .as_str()
        {
            "en" => Language::En,
            "ja" => Language::Ja,
            other => {
                return Err(invalid(
                    "language",
                    format!("'{other}' is not one of: en, ja"),
                ));
            }
        };

        let admin_email_raw = raw("admin_email").unwrap_or_else(|| "admin@localhost".into());
        let admin_email = EmailAddress::parse(&admin_email_raw)
            .map_err(|e| invalid("admin_email", e.to_string()))?;

        let dev_mode = parse_bool("dev_mode", raw("dev_mode"))?;
        if dev_mode && !http_addr.ip().is_loopback() {
            return Err(invalid(
                "dev_mode",
                format!(
                    "true is only allowed when SEALPOST_HTTP_ADDR is a loopback address, not {http_addr}"
                ),
            ));
        }

        let site_dir = PathBuf::from(raw("site_dir").unwrap_or_else(|| "./target/site".into()));

        let clamd_addr = raw("clamd_addr")
            .map(|v| ClamdAddr::parse(v.trim()).map_err(|m| invalid("clamd_addr", m)))
            .transpose()?;
        let clamd_unavailable = match raw("clamd_unavailable")
            .map(|v| v.trim().to_lowercase())
            .as_deref()
        {
            None | Some("defer") => ClamdUnavailable::Defer,
            Some("deliver") => ClamdUnavailable::Deliver,
            Some(other) => {
                return Err(invalid(
                    "clamd_unavailable",
                    format!("'{other}' is not one of: defer, deliver"),
                ));
            }
        };

        let mut oauth = Vec::new();
        for (id, label) in [("google", "Google"), ("yahoo", "Yahoo")] {
            let Some(client_id) = raw(&format!("oauth_{id}_client_id")) else {
                continue;
            };
            let url = |what: &str| -> Result<Url, ConfigError> {
                let key = format!("oauth_{id}_{what}");
                let default = SETTINGS
                    .iter()
                    .find(|s| s.key == key)
                    .map(|s| s.default)
                    .unwrap_or_default();
                let value = raw(&key).unwrap_or_else(|| default.to_string());
                Url::parse(&value)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                    .ok_or_else(|| {
                        invalid(&key, format!("'{value}' is not an http:// or https:// URL"))
                    })
            };
            oauth.push(OAuthProvider {
                id,
                label,
                client_id,
                client_secret: raw(&format!("oauth_{id}_client_secret")),
                auth_url: url("auth_url")?,
                token_url: url("token_url")?,
                userinfo_url: url("userinfo_url")?,
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
            max_message_bytes,
            subject_tag,
            queue_lifetime_ms,
            master_key,
            language,
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
fn env_is_known(name: &str) -> bool {
    name == "SEALPOST_CONFIG"
        || name.starts_with("SEALPOST_TEST_")
        || SETTINGS.iter().any(|s| env_name(s.key) == name)
}

fn check_unknown_env(names: &[String]) -> Result<(), ConfigError> {
    match names
        .iter()
        .find(|n| n.starts_with("SEALPOST_") && !env_is_known(n))
    {
        Some(name) => Err(ConfigError::Invalid {
            setting: name.clone(),
            message: "is not a setting of this version (see `sealpost serve --help`)".into(),
        }),
        None => Ok(()),
    }
}

/// The file's settings, and its `[[custom_agents]]` (set there only, never
/// through the environment or the web).
fn read_file(path: &Path) -> Result<(BTreeMap<String, String>, Vec<CustomAgent>), ConfigError> {
    let file_err = |message: String| ConfigError::File {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| file_err(e.message().to_string()))?;
    let mut out = BTreeMap::new();
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
        out.insert(key, text);
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
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(flags: &[(&'static str, &str)], env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let flags = flags.iter().map(|(k, v)| (*k, v.to_string())).collect();
        let env_map: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let names: Vec<String> = env_map.keys().cloned().collect();
        Settings::load(&flags, None, &|k| env_map.get(k).cloned(), &names)
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
