//! `sealpost template`: branding templates, as Exchange's *-OMEConfiguration.

use super::{CliError, format_list, title_bool};
use crate::config::Settings;
use crate::domain::{Actor, Change};
use crate::services::templates::{self, LogoImage, TemplateChanges, TemplateError};
use crate::startup;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum TemplateCommand {
    /// List the branding templates
    List,
    /// Show one template's fields
    Show {
        #[arg(long)]
        name: String,
    },
    /// Create a template (fields not given are empty; passcodes and social sign-in allowed)
    New {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        fields: TemplateFlags,
    },
    /// Change a template's fields; a field set to null is reset
    Set {
        #[arg(long)]
        name: String,
        /// A new name
        #[arg(long)]
        new_name: Option<String>,
        #[command(flatten)]
        fields: TemplateFlags,
    },
    /// Remove a template (not the default, nor one that messages use)
    Remove {
        #[arg(long)]
        name: String,
    },
}

/// The template fields as flags: a flag not given leaves its field, the
/// text `null` resets it.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct TemplateFlags {
    /// Logo image file (PNG or JPEG, at most 256 KB)
    #[arg(long, value_name = "FILE")]
    logo: Option<String>,
    /// Background color of the branded header and button, #rrggbb
    #[arg(long, value_name = "COLOR")]
    background_color: Option<String>,
    #[arg(long, value_name = "TEXT")]
    introduction_text: Option<String>,
    #[arg(long, value_name = "TEXT")]
    read_button_text: Option<String>,
    #[arg(long, value_name = "TEXT")]
    email_text: Option<String>,
    #[arg(long, value_name = "TEXT")]
    disclaimer_text: Option<String>,
    /// Text on the portal pages (at most 128 characters)
    #[arg(long, value_name = "TEXT")]
    portal_text: Option<String>,
    #[arg(long, value_name = "URL")]
    privacy_statement_url: Option<String>,
    /// Allow one-time passcodes: true or false
    #[arg(long, value_name = "BOOL")]
    otp_enabled: Option<String>,
    /// Allow Google / Yahoo sign-in: true or false
    #[arg(long, value_name = "BOOL")]
    social_enabled: Option<String>,
    /// External mail expires after this many days (0 = never, up to 730)
    #[arg(long, value_name = "DAYS")]
    expiry_days: Option<String>,
}

/// `null` is the command line's spelling of "reset".
fn change(flag: &Option<String>) -> Change<String> {
    match flag.as_deref() {
        None => Change::Keep,
        Some("null") => Change::Reset,
        Some(v) => Change::Set(v.to_string()),
    }
}

fn boolean(name: &str, flag: &Option<String>) -> Result<Change<bool>, CliError> {
    Ok(match change(flag) {
        Change::Keep => Change::Keep,
        Change::Reset => Change::Reset,
        Change::Set(v) => match v.to_lowercase().as_str() {
            "true" => Change::Set(true),
            "false" => Change::Set(false),
            _ => {
                return Err(CliError::Usage(format!(
                    "--{name}: '{v}' is not one of: true, false"
                )));
            }
        },
    })
}

impl TemplateFlags {
    /// The changes the flags ask for; the logo is read from its file.
    fn changes(&self, new_name: Option<String>) -> Result<TemplateChanges, CliError> {
        let logo = match change(&self.logo) {
            Change::Keep => Change::Keep,
            Change::Reset => Change::Reset,
            Change::Set(path) => Change::Set(LogoImage {
                bytes: std::fs::read(&path)
                    .map_err(|e| CliError::Usage(format!("--logo: cannot read {path}: {e}")))?,
                name: path,
            }),
        };
        let expiry_days = match change(&self.expiry_days) {
            Change::Keep => Change::Keep,
            Change::Reset => Change::Reset,
            Change::Set(days) => Change::Set(
                days.trim()
                    .parse::<i64>()
                    .map_err(|_| CliError::Usage(templates::expiry_refused(&days).as_flag()))?,
            ),
        };
        Ok(TemplateChanges {
            name: new_name,
            logo,
            background_color: change(&self.background_color),
            introduction_text: change(&self.introduction_text),
            read_button_text: change(&self.read_button_text),
            email_text: change(&self.email_text),
            disclaimer_text: change(&self.disclaimer_text),
            portal_text: change(&self.portal_text),
            privacy_statement_url: change(&self.privacy_statement_url),
            otp_enabled: boolean("otp-enabled", &self.otp_enabled)?,
            social_enabled: boolean("social-enabled", &self.social_enabled)?,
            expiry_days,
        })
    }
}

fn template_block(t: &crate::store::TemplateFull) -> String {
    let or_empty = |v: &Option<String>| v.clone().unwrap_or_default();
    format_list(&[
        ("Name", t.name.clone()),
        ("IsDefault", title_bool(t.is_default)),
        (
            "Logo",
            t.logo
                .as_ref()
                .map(|l| format!("{} ({} bytes)", or_empty(&t.logo_content_type), l.len()))
                .unwrap_or_default(),
        ),
        ("BackgroundColor", or_empty(&t.background_color)),
        ("IntroductionText", or_empty(&t.introduction_text)),
        ("ReadButtonText", or_empty(&t.read_button_text)),
        ("EmailText", or_empty(&t.email_text)),
        ("DisclaimerText", or_empty(&t.disclaimer_text)),
        ("PortalText", or_empty(&t.portal_text)),
        ("PrivacyStatementUrl", or_empty(&t.privacy_statement_url)),
        ("OTPEnabled", title_bool(t.otp_enabled)),
        ("SocialIDSignIn", title_bool(t.social_enabled)),
        ("ExternalMailExpiryInDays", t.expiry_days.to_string()),
    ])
}

fn refusal(e: TemplateError) -> CliError {
    match e {
        TemplateError::Invalid(field) => CliError::Usage(field.as_flag()),
        TemplateError::NoSignIn => CliError::Usage(TemplateError::NoSignIn.to_string()),
        TemplateError::Store(e) => e.into(),
        refused => CliError::Refused(refused.to_string()),
    }
}

pub async fn run(settings: Settings, cmd: TemplateCommand) -> Result<(), CliError> {
    let (store, _) = startup::open(&settings).await?;
    let not_found = |name: &str| CliError::Refused(format!("No branding template named '{name}'."));
    let actor = Actor::command_line();
    match cmd {
        TemplateCommand::List => {
            let blocks: Vec<String> = store
                .templates_full()
                .await?
                .iter()
                .map(template_block)
                .collect();
            println!("{}", blocks.join("\n\n"));
        }
        TemplateCommand::Show { name } => {
            let t = store
                .template_full(&name)
                .await?
                .ok_or_else(|| not_found(&name))?;
            println!("{}", template_block(&t));
        }
        TemplateCommand::New { name, fields } => {
            let changes = fields.changes(None)?;
            let t = templates::create(&store, &actor, &name, &changes)
                .await
                .map_err(refusal)?;
            println!("{}", template_block(&t));
        }
        TemplateCommand::Set {
            name,
            new_name,
            fields,
        } => {
            let changes = fields.changes(new_name)?;
            let t = templates::update(&store, &actor, &name, &changes)
                .await
                .map_err(refusal)?;
            println!("{}", template_block(&t));
        }
        TemplateCommand::Remove { name } => {
            templates::remove(&store, &actor, &name)
                .await
                .map_err(refusal)?;
            println!("Removed the branding template '{name}'.");
        }
    }
    Ok(())
}
