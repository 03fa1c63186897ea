//! Structured logs to stderr. `RUST_LOG` picks what they show when it is
//! set; otherwise `SEALPOST_LOG_LEVEL`, which `serve` re-reads on SIGHUP.
//! Nothing secret is ever a field: no passwords, tokens, keys or content.

use std::sync::OnceLock;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Registry, reload};

static FILTER: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// The filter a setting names. A bare level keeps the libraries' chatter
/// at warn; a directive list (`warn,sealpost=debug`) is taken as written.
/// A word that is neither a level nor `target=level` is refused: EnvFilter
/// would read a typo such as `inof` as a target and show nothing.
pub fn filter(setting: &str) -> Result<EnvFilter, String> {
    let setting = setting.trim();
    for directive in setting.split(',').map(str::trim) {
        if !(directive.contains('=') || LEVELS.contains(&directive.to_ascii_lowercase().as_str())) {
            return Err(format!("'{directive}' is neither a level nor target=level"));
        }
    }
    let text = if LEVELS.contains(&setting.to_ascii_lowercase().as_str()) {
        format!("{setting},sqlx=warn,tower_sessions=warn,tower_sessions_core=warn")
    } else {
        setting.to_string()
    };
    EnvFilter::try_new(text).map_err(|e| e.to_string())
}

fn from_env() -> Option<EnvFilter> {
    std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .and_then(|_| EnvFilter::try_from_default_env().ok())
}

pub fn init() {
    let filter = from_env().unwrap_or_else(|| filter("info").expect("info is a level"));
    let (layer, handle) = reload::Layer::new(filter);
    let installed = tracing_subscriber::registry()
        .with(layer)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                // Colours for a terminal only: not in the journal or a file.
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_target(false),
        )
        .try_init();
    if installed.is_ok() {
        let _ = FILTER.set(handle);
    }
}

/// Applies the setting's filter, unless `RUST_LOG` chose one. Returns what
/// now applies, for the log line that says so.
pub fn set_level(setting: &str) -> Result<String, String> {
    if from_env().is_some() {
        return Ok("RUST_LOG (it wins over SEALPOST_LOG_LEVEL)".into());
    }
    let filter = filter(setting)?;
    if let Some(handle) = FILTER.get() {
        handle.reload(filter).map_err(|e| e.to_string())?;
    }
    Ok(setting.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_directives_are_filters_and_typos_are_not() {
        assert!(filter("info").is_ok());
        assert!(filter("WARN").is_ok());
        assert!(filter("warn,sealpost=debug").is_ok());
        assert!(filter("inof").is_err());
        assert!(filter("warn,debgu").is_err());
    }
}
