//! The `sealpost` command line. Exit status: 0 done; 1 refused (not found,
//! already exists); 2 usage or configuration error. Errors are one line on
//! stderr.

mod agent;
mod audit;
mod queue;
mod rule;
mod template;

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
    /// Manage organization users
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the key-encryption keys
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Status and revocation of protected messages
    #[command(subcommand)]
    Message(MessageCommand),
    /// Manage branding templates
    #[command(subcommand)]
    Template(Box<template::TemplateCommand>),
    /// Protect a message read from standard input; the protected message goes to standard output
    Protect {
        /// encrypt-only or do-not-forward
        #[arg(long, value_enum)]
        rights: RightsArg,
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
    IrmConfig(IrmConfigCommand),
    /// Manage API tokens for the JSON API (/api/v1)
    #[command(subcommand)]
    Token(TokenCommand),
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

#[derive(Subcommand, Debug)]
enum MessageCommand {
    /// Show a message's status (IsRevocable, Revoked, ...)
    Status {
        /// The RFC 5322 Message-ID, with or without angle brackets
        #[arg(long)]
        message_id: String,
        /// Only the message of this sender
        #[arg(long)]
        sender: Option<String>,
        /// A JSON array for scripts
        #[arg(long)]
        json: bool,
    },
    /// Revoke external (link-based) access to a message
    Revoke {
        /// The RFC 5322 Message-ID, with or without angle brackets
        #[arg(long)]
        message_id: String,
        /// Pick the sender when messages of several senders carry the Message-ID
        #[arg(long)]
        sender: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Add an organization user (password from a prompt, or --password-stdin)
    Add {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Read the password from the first line of standard input
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password for a user (also lifts a required change)
    SetPassword {
        #[arg(long)]
        email: String,
        /// Read the password from the first line of standard input
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the organization users
    List,
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Create a token that acts as the user; it is printed once
    Create {
        /// The user the token acts as (with that user's role)
        #[arg(long)]
        user: String,
        /// A name to recognise the token by, e.g. the script that uses it
        #[arg(long)]
        name: String,
    },
    /// List the tokens (never their secret part)
    List,
    /// Revoke a user's token by name
    Revoke {
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand, Debug)]
enum IrmConfigCommand {
    /// Show the settings
    Show,
    /// Change settings; values in any case (Mandatory works)
    Set {
        /// disabled, optional (the default) or mandatory
        #[arg(long, value_name = "VALUE")]
        transport_decryption: Option<String>,
        /// Another organization's protected mail: pass (the default) or reject
        #[arg(long, value_name = "VALUE")]
        foreign_protected: Option<String>,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum RightsArg {
    EncryptOnly,
    DoNotForward,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum RoleArg {
    Sender,
    Admin,
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Add a new current key-encryption key; older keys keep opening what they sealed
    Rotate,
    /// List the key-encryption keys
    List,
    /// Write the organization id and secret and every key-encryption key,
    /// sealed with a passphrase, for another deployment of this organization
    Export {
        /// Read the passphrase (12 characters or more) from the first line of standard input
        #[arg(long)]
        passphrase_stdin: bool,
    },
    /// Adopt an exported organization and add its keys, so this deployment
    /// opens the other's protected mail; importing what is known changes nothing
    Import {
        /// The file `keys export` wrote
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// Read the passphrase from the first line of standard input
        #[arg(long)]
        passphrase_stdin: bool,
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

async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(args) => serve(load_settings(cli.config.as_ref(), &args)?).await,
        Command::User(cmd) => {
            user(
                load_settings(cli.config.as_ref(), &SettingValues::default())?,
                cmd,
            )
            .await
        }
        Command::Keys(cmd) => {
            keys(
                load_settings(cli.config.as_ref(), &SettingValues::default())?,
                cmd,
            )
            .await
        }
        Command::Message(cmd) => {
            message(
                load_settings(cli.config.as_ref(), &SettingValues::default())?,
                cmd,
            )
            .await
        }
        Command::Template(cmd) => {
            template::run(
                load_settings(cli.config.as_ref(), &SettingValues::default())?,
                *cmd,
            )
            .await
        }
        Command::Protect { rights, template } => {
            let settings = load_settings(cli.config.as_ref(), &SettingValues::default())?;
            protect(settings, rights, template).await
        }
        Command::Unprotect { info } => {
            unprotect(
                load_settings(cli.config.as_ref(), &SettingValues::default())?,
                info,
            )
            .await
        }
        Command::Agent(cmd) => {
            agent::run(
                load_settings(cli.config.as_ref(), &SettingValues::default())?,
                cmd,
            )
            .await
        }
        Command::Rule(cmd) => {
            rule::run(
                load_settings(cli.config.as_ref(), &SettingValues::default())?,
                *cmd,
            )
            .await
        }
        Command::IrmConfig(cmd) => {
            irm_config(
                load_settings(cli.config.as_ref(), &SettingValues::default())?,
                cmd,
            )
            .await
        }
        Command::Token(cmd) => {
            token(
                load_settings(cli.config.as_ref(), &SettingValues::default())?,
                cmd,
            )
            .await
        }
        Command::Queue(cmd) => {
            queue::run(
                load_settings(cli.config.as_ref(), &SettingValues::default())?,
                cmd,
            )
            .await
        }
        Command::Audit { since, actor, json } => {
            let settings = load_settings(cli.config.as_ref(), &SettingValues::default())?;
            audit::run(settings, since, actor, json).await
        }
        Command::Trace {
            sender,
            recipient,
            since,
            until,
            json,
        } => {
            let settings = load_settings(cli.config.as_ref(), &SettingValues::default())?;
            trace(settings, sender, recipient, since, until, json).await
        }
    }
}

async fn serve(settings: Settings) -> Result<(), CliError> {
    if settings.dev_mode {
        tracing::warn!("development mode is on: never use it in production");
    }
    let tuning = crate::startup::Tuning {
        faults: crate::pipeline::faults::Faults::from_env(),
        ..Default::default()
    };
    let app = Application::build_tuned(settings, tuning).await?;
    if let Some(admin) = &app.first_admin {
        // Standard output, never the logs: the password is shown this once.
        println!("sealpost: created the first administrator.");
        println!(
            "  Sign in at {}/login",
            app.settings.public_url.as_str().trim_end_matches('/')
        );
        println!("  Email:    {}", admin.email);
        println!("  Password: {}", admin.password);
        println!("  This password works once: you will choose your own at the first sign-in.");
    }
    tracing::info!(http = %app.http_addr(), smtp = %app.smtp_addr(), version = env!("CARGO_PKG_VERSION"), "sealpost is running");
    if let Some(addr) = app.metrics_addr() {
        tracing::info!(%addr, "metrics are served at /metrics");
    }
    app.run_until(startup::shutdown_signal())
        .await
        .map_err(|e| CliError::Usage(format!("the web server stopped: {e}")))
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

async fn user(settings: Settings, cmd: UserCommand) -> Result<(), CliError> {
    match cmd {
        UserCommand::Add {
            email,
            role,
            password_stdin,
        } => {
            let email = parse_email(&email)?;
            let password = read_password(password_stdin)?;
            let (store, _) = startup::open(&settings).await?;
            let role = match role {
                RoleArg::Sender => crate::domain::Role::Sender,
                RoleArg::Admin => crate::domain::Role::Admin,
            };
            services::users::add(
                &store,
                &Actor::command_line(),
                &email,
                role,
                password,
                false,
            )
            .await?;
            println!("Added {email} as {role}.");
            Ok(())
        }
        UserCommand::SetPassword {
            email,
            password_stdin,
        } => {
            let email = parse_email(&email)?;
            let password = read_password(password_stdin)?;
            let (store, _) = startup::open(&settings).await?;
            let user = services::users::find(&store, &email).await?;
            services::users::set_password(&store, &Actor::command_line(), &user, password, false)
                .await?;
            println!("The password of {email} was changed.");
            Ok(())
        }
        UserCommand::List => {
            let (store, _) = startup::open(&settings).await?;
            let users = store.list_users().await?;
            let blocks: Vec<String> = users
                .iter()
                .map(|u| {
                    format_list(&[
                        ("Email", u.email.clone()),
                        ("Role", u.role.as_str().to_string()),
                        ("MustChangePassword", title_bool(u.must_change_password)),
                        ("CreatedAt", rfc3339(u.created_at)),
                    ])
                })
                .collect();
            println!("{}", blocks.join("\n"));
            Ok(())
        }
    }
}

async fn keys(settings: Settings, cmd: KeysCommand) -> Result<(), CliError> {
    match cmd {
        KeysCommand::Rotate => {
            let store = crate::store::Store::connect(&settings.database_url).await?;
            let id = services::keys::rotate(&store, &settings, &Actor::command_line())
                .await
                .map_err(StartupError::from)?;
            println!(
                "{}",
                format_list(&[("KeyId", id.to_hex()), ("IsCurrent", "True".into())])
            );
            println!(
                "New messages are sealed with this key; older keys still open what they sealed."
            );
            Ok(())
        }
        KeysCommand::Export { passphrase_stdin } => {
            let passphrase = read_password(passphrase_stdin)?;
            let store = crate::store::Store::connect(&settings.database_url).await?;
            let sealed =
                services::keys::export(&store, &settings, &Actor::command_line(), &passphrase)
                    .await
                    .map_err(StartupError::from)?;
            println!("{sealed}");
            Ok(())
        }
        KeysCommand::Import {
            file,
            passphrase_stdin,
        } => {
            let text = std::fs::read_to_string(&file).map_err(|e| {
                CliError::Usage(format!("--file: cannot read {}: {e}", file.display()))
            })?;
            let passphrase = read_password(passphrase_stdin)?;
            let store = crate::store::Store::connect(&settings.database_url).await?;
            let actor = Actor::command_line();
            let report =
                match services::keys::import(&store, &settings, &actor, &text, &passphrase).await {
                    Ok(report) => report,
                    Err(crate::keys::KeyError::Bundle(why)) => return Err(CliError::Refused(why)),
                    Err(e) => return Err(StartupError::from(e).into()),
                };
            if let Some(former) = report.replaced_org {
                println!(
                    "This deployment now belongs to the exported organization; mail protected under its former id {former} still opens here."
                );
            }
            println!(
                "Imported {} new key-encryption key(s){}.",
                report.keys_added,
                if report.keys_added == 0 {
                    ": everything was already known"
                } else {
                    ""
                }
            );
            Ok(())
        }
        KeysCommand::List => {
            let (store, _) = startup::open(&settings).await?;
            let blocks: Vec<String> = store
                .keys()
                .await?
                .iter()
                .map(|k| {
                    format_list(&[
                        ("KeyId", k.key_id.clone()),
                        ("IsCurrent", title_bool(k.is_current)),
                        ("Origin", k.origin.clone()),
                        ("CreatedAt", rfc3339(k.created_at)),
                    ])
                })
                .collect();
            println!("{}", blocks.join("\n"));
            Ok(())
        }
    }
}

async fn message(settings: Settings, cmd: MessageCommand) -> Result<(), CliError> {
    use crate::services::revocation::{self, RevokeError};
    let (store, _) = startup::open(&settings).await?;
    match cmd {
        MessageCommand::Status {
            message_id,
            sender,
            json,
        } => {
            let found = revocation::status(&store, &message_id, sender.as_deref()).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&found).expect("statuses serialise")
                );
                return Ok(());
            }
            if found.is_empty() {
                let id = crate::domain::normalise_message_id(&message_id);
                return Err(CliError::Refused(format!(
                    "No message with Message-ID {id}."
                )));
            }
            let blocks: Vec<String> = found
                .iter()
                .map(|s| {
                    format_list(&[
                        ("MessageId", s.message_id.clone()),
                        ("Subject", s.subject.clone()),
                        ("Sender", s.sender.clone()),
                        ("SentAt", s.sent_at.clone()),
                        ("IsRevocable", title_bool(s.is_revocable)),
                        ("Revoked", title_bool(s.revoked)),
                    ])
                })
                .collect();
            println!("{}", blocks.join("\n\n"));
            Ok(())
        }
        MessageCommand::Revoke { message_id, sender } => {
            match revocation::revoke(
                &store,
                &Actor::command_line(),
                &message_id,
                sender.as_deref(),
                revocation::Revoker::Administrator,
            )
            .await
            {
                Ok(status) => {
                    println!(
                        "The encrypted email with the subject '{}' was successfully revoked.",
                        status.subject
                    );
                    Ok(())
                }
                Err(RevokeError::Store(e)) => Err(e.into()),
                Err(e @ RevokeError::Ambiguous { .. }) => {
                    Err(CliError::Refused(format!("{e} Name one with --sender.")))
                }
                Err(refused) => Err(CliError::Refused(refused.to_string())),
            }
        }
    }
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

/// `sealpost protect`: records the message as if sent through the gateway
/// and writes it in the protected format.
async fn protect(
    settings: Settings,
    rights: RightsArg,
    template: Option<String>,
) -> Result<(), CliError> {
    use crate::domain::Rights;
    use crate::protected;
    let raw = checked_message(read_stdin()?)?;
    let parsed = mail_parser::MessageParser::default()
        .parse_headers(&raw)
        .filter(|m| m.from().is_some())
        .ok_or_else(|| {
            CliError::Refused("The input is not a message with a From header.".into())
        })?;
    if protected::looks_protected(&raw) {
        return Err(CliError::Refused(
            "The message is already protected.".into(),
        ));
    }
    let (sender, recipients) = crate::mime::header_envelope(&parsed);
    let subject = parsed.subject().unwrap_or_default().to_string();
    let (store, keys) = startup::open(&settings).await?;
    let id = crate::store::new_id();
    let message_id = match parsed.message_id() {
        Some(mid) => format!("<{mid}>"),
        None => format!("<{id}@{}>", settings.hostname()),
    };
    let template = match &template {
        Some(name) => store
            .template_by_name(name)
            .await?
            .ok_or_else(|| CliError::Refused(format!("No branding template named '{name}'.")))?,
        None => store.default_template().await?,
    };
    let rights = match rights {
        RightsArg::EncryptOnly => Rights::EncryptOnly,
        RightsArg::DoNotForward => Rights::DoNotForward,
    };
    let now = crate::store::now_ms();
    let expires_at = (template.expiry_days > 0).then(|| now + template.expiry_days * 86_400_000);
    let header = protected::Header {
        org: keys.org_id.clone(),
        message_id: message_id.clone(),
        rights,
        template: template.name.clone(),
        expires_at,
        created_at: now,
        recipients: protected::recipient_digests(
            &keys.derived(crate::keys::labels::RECIPIENT_DIGEST),
            &recipients,
        ),
        sender: sender.clone(),
    };
    let envelope = protected::seal(&keys.keyring, &header, &raw);
    store
        .record_protected(&crate::store::ProtectedRecord {
            id: &id,
            message_id: &message_id,
            sender: &sender,
            subject: &subject,
            content: &keys.keyring.seal(id.as_bytes(), &raw),
            size: raw.len() as i64,
            rights,
            template_id: &template.id,
            expires_at,
            recipients: &recipients,
        })
        .await?;
    let inbox_url = format!(
        "{}/inbox/{id}",
        settings.public_url.as_str().trim_end_matches('/')
    );
    let notice = protected::Notice {
        sender: &sender,
        inbox_url: &inbox_url,
    };
    // No agent saw it here: no inspection marker.
    write_stdout(&protected::wrap(
        &raw,
        &envelope,
        keys.keyring.current(),
        &header,
        &notice,
        None,
    ))
}

/// `sealpost unprotect [--info]`.
async fn unprotect(settings: Settings, info: bool) -> Result<(), CliError> {
    use crate::protected::{self, FormatError};
    let raw = checked_message(read_stdin()?)?;
    let envelope = protected::envelope_of(&raw).map_err(|e| CliError::Refused(e.to_string()))?;
    let (store, keys) = startup::open(&settings).await?;
    let opened = match protected::open(|org| keys.is_ours(org), &keys.keyring, &envelope) {
        Ok(opened) => opened,
        Err(e @ (FormatError::ForeignOrganization | FormatError::Malformed(_))) => {
            return Err(CliError::Refused(e.to_string()));
        }
        Err(FormatError::Crypto(e)) => {
            return Err(CliError::Refused(format!(
                "This message cannot be opened: it was changed, or it names a key this deployment does not hold ({e})."
            )));
        }
    };
    let h = &opened.header;
    let actor = Actor::command_line().to_string();
    store
        .record_event(Event {
            kind: if info {
                "protected message inspected"
            } else {
                "unprotected"
            },
            actor: Some(&actor),
            detail: Some(&h.message_id),
            ..Event::default()
        })
        .await?;
    if info {
        println!(
            "{}",
            format_list(&[
                ("OrgId", h.org.clone()),
                ("MessageId", h.message_id.clone()),
                ("KeyId", opened.key_id.to_hex()),
                ("Rights", h.rights.as_str().to_string()),
                ("Template", h.template.clone()),
                ("Sender", h.sender.clone()),
                (
                    "RecipientCount",
                    if opened.version < 2 {
                        "unknown (format v1)".to_string()
                    } else {
                        h.recipients.len().to_string()
                    }
                ),
                (
                    "ExpiresAt",
                    h.expires_at.map(rfc3339).unwrap_or_else(|| "Never".into())
                ),
                (
                    "Inspected",
                    protected::verified_marker(
                        &keys.derived(crate::keys::labels::INSPECTION_MARKER),
                        &raw,
                        &envelope,
                        &h.message_id,
                    )
                    .map(|t| rfc3339(t * 1000))
                    .unwrap_or_else(|| title_bool(false)),
                ),
            ])
        );
        return Ok(());
    }
    write_stdout(&opened.original)
}

async fn irm_config(settings: Settings, cmd: IrmConfigCommand) -> Result<(), CliError> {
    use crate::irm_config::{ForeignProtected, IrmConfig, TransportDecryption};
    let show = |c: &IrmConfig| {
        format_list(&[
            (
                "TransportDecryption",
                c.transport_decryption.as_str().to_string(),
            ),
            ("ForeignProtected", c.foreign_protected.as_str().to_string()),
        ])
    };
    match cmd {
        IrmConfigCommand::Show => {
            let (store, _) = startup::open(&settings).await?;
            println!("{}", show(&IrmConfig::load(&store).await?));
        }
        IrmConfigCommand::Set {
            transport_decryption,
            foreign_protected,
        } => {
            if transport_decryption.is_none() && foreign_protected.is_none() {
                return Err(CliError::Usage(
                    "nothing to set: give --transport-decryption or --foreign-protected".into(),
                ));
            }
            let decryption = transport_decryption
                .map(|v| {
                    TransportDecryption::parse(&v).ok_or_else(|| {
                        CliError::Usage(format!(
                            "--transport-decryption: '{v}' is not one of: {}",
                            TransportDecryption::VALUES
                        ))
                    })
                })
                .transpose()?;
            let foreign = foreign_protected
                .map(|v| {
                    ForeignProtected::parse(&v).ok_or_else(|| {
                        CliError::Usage(format!(
                            "--foreign-protected: '{v}' is not one of: {}",
                            ForeignProtected::VALUES
                        ))
                    })
                })
                .transpose()?;
            let (store, _) = startup::open(&settings).await?;
            let config =
                services::protection::set(&store, &Actor::command_line(), decryption, foreign)
                    .await?;
            println!("{}", show(&config));
        }
    }
    Ok(())
}

async fn token(settings: Settings, cmd: TokenCommand) -> Result<(), CliError> {
    use services::tokens::{self, TokenError};
    let (store, _) = startup::open(&settings).await?;
    let user_of = |email: String| {
        let store = store.clone();
        async move {
            let email = parse_email(&email)?;
            store
                .user_by_email(&email)
                .await?
                .ok_or_else(|| CliError::Refused(format!("No user {email}.")))
        }
    };
    let refusal = |e: TokenError| match e {
        TokenError::BadName => CliError::Usage(format!("--name: {e}")),
        TokenError::Store(e) => e.into(),
        refused => CliError::Refused(refused.to_string()),
    };
    match cmd {
        TokenCommand::Create { user, name } => {
            tokens::check_name(&name).map_err(refusal)?;
            let user = user_of(user).await?;
            let (token, name) = tokens::create(&store, &Actor::command_line(), &user, &name)
                .await
                .map_err(refusal)?;
            // Standard output only, and only now: the database keeps its hash.
            println!("{token}");
            eprintln!(
                "Created the API token '{name}' acting as {} ({}). It is shown only this once.",
                user.email, user.role
            );
        }
        TokenCommand::List => {
            let rows = store.api_tokens().await?;
            if rows.is_empty() {
                println!("No API tokens.");
            }
            let blocks: Vec<String> = rows
                .iter()
                .map(|t| {
                    format_list(&[
                        ("Name", t.name.clone()),
                        ("User", t.email.clone()),
                        ("Role", t.role.as_str().to_string()),
                        ("CreatedAt", rfc3339(t.created_at)),
                        ("Revoked", title_bool(t.revoked_at.is_some())),
                    ])
                })
                .collect();
            if !blocks.is_empty() {
                println!("{}", blocks.join("\n\n"));
            }
        }
        TokenCommand::Revoke { user, name } => {
            let user = user_of(user).await?;
            tokens::revoke(&store, &Actor::command_line(), &user, &name)
                .await
                .map_err(refusal)?;
            println!("Revoked the API token '{name}' of {}.", user.email);
        }
    }
    Ok(())
}

async fn trace(
    settings: Settings,
    sender: Option<String>,
    recipient: Option<String>,
    since: Option<String>,
    until: Option<String>,
    json: bool,
) -> Result<(), CliError> {
    use crate::services::trace::{self as msg_trace, TraceQuery};
    let time = |flag: &str, t: Option<String>| {
        t.map(|t| msg_trace::parse_time(flag, &t))
            .transpose()
            .map_err(CliError::Usage)
    };
    let query = TraceQuery {
        sender: msg_trace::parse_address("--sender", sender.as_deref()).map_err(CliError::Usage)?,
        recipient: msg_trace::parse_address("--recipient", recipient.as_deref())
            .map_err(CliError::Usage)?,
        since: time("--since", since)?,
        until: time("--until", until)?,
    };
    let (store, _) = startup::open(&settings).await?;
    let entries = msg_trace::trace(&store, &query).await?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&entries).expect("JSON serialises")
        );
        return Ok(());
    }
    if entries.is_empty() {
        println!("No messages match.");
        return Ok(());
    }
    let blocks: Vec<String> = entries
        .iter()
        .map(|e| {
            format_list(&[
                ("MessageId", e.message_id.clone()),
                ("ReceivedAt", e.received_at.clone()),
                ("Sender", e.sender.clone()),
                ("Recipients", e.recipients.clone()),
                ("Subject", e.subject.clone()),
                ("Protected", title_bool(e.protected)),
                ("State", e.state.clone()),
            ])
        })
        .collect();
    println!("{}", blocks.join("\n\n"));
    Ok(())
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
