//! The `sealpost` command line. Exit status: 0 done; 1 refused (not found,
//! already exists); 2 usage or configuration error. Errors are one line on
//! stderr.
//!
//! One file per command group; the settings are loaded once, here, and
//! handed to the group. The commands share this module's helpers and
//! imports (`use super::*`): what changes anything goes through
//! `crate::services`.

mod agent;
mod audit;
mod check;
mod irm_config;
mod keys;
mod message;
mod protect;
mod purge;
mod queue;
mod rule;
mod serve;
mod template;
mod token;
mod trace;
mod user;

use crate::auth::password;
use crate::config::{ConfigError, SettingValues, Settings};
use crate::domain::EmailAddress;
pub(crate) use crate::domain::rfc3339;
use crate::services::{self, Actor};
use crate::startup::{self, Application, StartupError};
use crate::store::{Event, StoreError};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "sealpost",
    version,
    about = "The organization's encrypted-mail gateway and recipient portal"
)]
struct Cli {
    /// TOML file with settings (same names as the SEALPOST_* variables, in lower case, without the prefix)
    #[arg(long, global = true, env = "SEALPOST_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the web portal and the SMTP intake
    Serve(Box<SettingValues>),
    /// Tell whether the database, the root key, the relay, clamd and the sign-in providers
    /// answer, line by line, without sending mail (exit 0: all answer; 1: one does not;
    /// 2: the configuration is wrong)
    Check,
    /// Manage organization users
    #[command(subcommand)]
    User(user::UserCommand),
    /// Manage the key-encryption keys
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Status and revocation of protected messages
    #[command(subcommand)]
    Message(message::MessageCommand),
    /// Manage branding templates
    #[command(subcommand)]
    Template(Box<template::TemplateCommand>),
    /// Protect a message read from standard input; the protected message goes to standard output
    Protect {
        /// encrypt-only or do-not-forward
        #[arg(long, value_enum)]
        rights: protect::RightsArg,
        /// The branding template (default: the default template)
        #[arg(long)]
        template: Option<String>,
    },
    /// Restore the original of a protected message read from standard input
    Unprotect {
        /// Print what the authenticated envelope says instead of the original
        #[arg(long)]
        info: bool,
    },
    /// The mail pipeline's stages, in the order they run
    #[command(subcommand)]
    Agent(agent::AgentCommand),
    /// Transport rules: conditions on every message, and what to do when they match
    #[command(subcommand)]
    Rule(Box<rule::RuleCommand>),
    /// The organization's protection settings (transport decryption, ...)
    #[command(subcommand)]
    IrmConfig(irm_config::IrmConfigCommand),
    /// Manage API tokens for the JSON API (/api/v1)
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// The pipeline and outbound queues: list, retry, release and delete jobs
    #[command(subcommand)]
    Queue(queue::QueueCommand),
    /// Who changed what, when, and from which surface (the audit trail, oldest first)
    Audit {
        /// From this time on: 2026-11-23, 2026-11-23T09:00:00Z (default: from the start)
        #[arg(long)]
        since: Option<String>,
        /// Only the changes of this organization user and their API tokens, or of an actor
        /// as listed ("command line as root")
        #[arg(long, value_name = "ADDR")]
        actor: Option<String>,
        /// A JSON array for scripts
        #[arg(long)]
        json: bool,
    },
    /// Delete now the message content that SEALPOST_RETENTION no longer keeps (revoked, expired or older messages); each is printed
    Purge {
        /// Only print what would be deleted
        #[arg(long)]
        dry_run: bool,
    },
    /// Find messages by sender or recipient and time (message trace)
    Trace {
        #[arg(long)]
        sender: Option<String>,
        #[arg(long)]
        recipient: Option<String>,
        /// From this time on: 2026-11-23, 2026-11-23T09:00:00Z (default: 2 days ago)
        #[arg(long)]
        since: Option<String>,
        /// Up to this time (default: now)
        #[arg(long)]
        until: Option<String>,
        /// A JSON array for scripts
        #[arg(long)]
        json: bool,
    },
}

/// A command's failure, with the exit status it means.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Usage(String),
    #[error("configuration error: {0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Startup(#[from] StartupError),
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl From<services::users::UserError> for CliError {
    fn from(e: services::users::UserError) -> CliError {
        match e {
            services::users::UserError::Store(e) => CliError::Store(e),
            refused => CliError::Refused(refused.to_string()),
        }
    }
}

impl CliError {
    fn exit_code(&self) -> u8 {
        match self {
            CliError::Refused(_) => 1,
            CliError::Store(e) if !e.is_unreachable() => 1,
            _ => 2,
        }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sealpost: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sealpost: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// The settings from `flags`, the process's environment and the file.
fn load_settings(config: Option<&PathBuf>, flags: &SettingValues) -> Result<Settings, CliError> {
    // A variable that is not UTF-8 cannot be a setting's value; its name
    // is still checked when it reads as text.
    let env: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().unwrap_or_default())))
        .collect();
    Ok(Settings::load(flags, config.map(PathBuf::as_path), &env)?)
}

/// Loads the settings once (`serve` adds its flags), then runs the command.
async fn run(cli: Cli) -> Result<(), CliError> {
    let flags = match &cli.command {
        Command::Serve(flags) => (**flags).clone(),
        _ => SettingValues::default(),
    };
    let settings = load_settings(cli.config.as_ref(), &flags)?;
    crate::telemetry::set_level(&settings.log_level).map_err(|e| {
        CliError::Config(ConfigError::Invalid {
            setting: "SEALPOST_LOG_LEVEL".into(),
            message: e,
        })
    })?;
    match cli.command {
        Command::Serve(_) => serve::run(settings, cli.config, flags).await,
        Command::Check => check::run(settings, cli.config).await,
        Command::User(cmd) => user::run(settings, cmd).await,
        Command::Keys(cmd) => keys::run(settings, cmd).await,
        Command::Message(cmd) => message::run(settings, cmd).await,
        Command::Template(cmd) => template::run(settings, *cmd).await,
        Command::Protect { rights, template } => protect::protect(settings, rights, template).await,
        Command::Unprotect { info } => protect::unprotect(settings, info).await,
        Command::Agent(cmd) => agent::run(settings, cmd).await,
        Command::Rule(cmd) => rule::run(settings, *cmd).await,
        Command::IrmConfig(cmd) => irm_config::run(settings, cmd).await,
        Command::Token(cmd) => token::run(settings, cmd).await,
        Command::Queue(cmd) => queue::run(settings, cmd).await,
        Command::Audit { since, actor, json } => audit::run(settings, since, actor, json).await,
        Command::Purge { dry_run } => purge::run(settings, dry_run).await,
        Command::Trace {
            sender,
            recipient,
            since,
            until,
            json,
        } => trace::run(settings, sender, recipient, since, until, json).await,
    }
}

fn read_password(from_stdin: bool) -> Result<String, CliError> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| {
            CliError::Usage(format!("cannot read the password from standard input: {e}"))
        })?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        if !std::io::stdin().is_terminal() {
            return Err(CliError::Usage(
                "no terminal to ask for the password on: use --password-stdin".into(),
            ));
        }
        let first = rpassword::prompt_password("Password: ")
            .map_err(|e| CliError::Usage(format!("cannot read the password: {e}")))?;
        let second = rpassword::prompt_password("Password again: ")
            .map_err(|e| CliError::Usage(format!("cannot read the password: {e}")))?;
        if first != second {
            return Err(CliError::Usage("the two passwords differ".into()));
        }
        first
    };
    password::check_policy(&password).map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(password)
}

fn parse_email(text: &str) -> Result<EmailAddress, CliError> {
    EmailAddress::parse(text).map_err(|e| CliError::Usage(format!("--email: {e}")))
}

fn read_stdin() -> Result<Vec<u8>, CliError> {
    use std::io::Read;
    let mut raw = Vec::new();
    std::io::stdin()
        .read_to_end(&mut raw)
        .map_err(|e| CliError::Usage(format!("cannot read standard input: {e}")))?;
    Ok(raw)
}

fn read_file(path: &std::path::Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path)
        .map_err(|e| CliError::Usage(format!("--file: cannot read {}: {e}", path.display())))
}

/// A message given to a command: refused (exit 1) when it nests deeper
/// than the intake would take.
fn checked_message(raw: Vec<u8>) -> Result<Vec<u8>, CliError> {
    crate::mime::check_nesting(&raw)
        .map_err(|e| CliError::Refused(format!("The message is refused: {e}.")))?;
    Ok(raw)
}

fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|_| out.flush())
        .map_err(|e| CliError::Usage(format!("cannot write standard output: {e}")))
}

/// PowerShell's Format-List layout: one field per line, names aligned.
pub fn format_list(fields: &[(&str, String)]) -> String {
    let width = fields.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    fields
        .iter()
        .map(|(name, value)| format!("{name:<width$} : {value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn title_bool(value: bool) -> String {
    if value { "True" } else { "False" }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_list_aligns_names() {
        let text = format_list(&[("Subject", "Hi".into()), ("IsRevocable", "True".into())]);
        assert_eq!(text, "Subject     : Hi\nIsRevocable : True");
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
