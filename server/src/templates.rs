//! Branding templates: the fields of SPEC.md, validated in one place for
//! the command line, the admin pages and the API.

use crate::store::{Store, StoreError, TemplateFull};

/// Changes to a template as given (`None`: leave; `"null"`: reset).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct TemplateChanges {
    /// Logo image file (PNG or JPEG, at most 256 KB)
    #[arg(long, value_name = "FILE")]
    pub logo: Option<String>,
    /// Background color of the branded header and button, #rrggbb
    #[arg(long, value_name = "COLOR")]
    pub background_color: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub introduction_text: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub read_button_text: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub email_text: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub disclaimer_text: Option<String>,
    /// Text on the portal pages (at most 128 characters)
    #[arg(long, value_name = "TEXT")]
    pub portal_text: Option<String>,
    #[arg(long, value_name = "URL")]
    pub privacy_statement_url: Option<String>,
    /// Allow one-time passcodes: true or false
    #[arg(long, value_name = "BOOL")]
    pub otp_enabled: Option<String>,
    /// Allow Google / Yahoo sign-in: true or false
    #[arg(long, value_name = "BOOL")]
    pub social_enabled: Option<String>,
    /// External mail expires after this many days (0 = never, up to 730)
    #[arg(long, value_name = "DAYS")]
    pub expiry_days: Option<String>,
}

const MAX_TEXT: usize = 2000;

fn text(
    field: &str,
    value: &Option<String>,
    current: &mut Option<String>,
    max: usize,
) -> Result<(), String> {
    match value.as_deref() {
        None => Ok(()),
        Some("null") => {
            *current = None;
            Ok(())
        }
        Some(v) if v.chars().count() > max => Err(format!("--{field}: at most {max} characters")),
        // PostgreSQL stores no NUL in text; SQLite would: the same everywhere.
        Some(v) if v.contains('\0') => Err(format!("--{field}: a NUL character is not allowed")),
        Some(v) => {
            *current = Some(v.to_string());
            Ok(())
        }
    }
}

fn boolean(field: &str, value: &Option<String>, current: &mut bool) -> Result<(), String> {
    match value.as_deref().map(str::to_lowercase).as_deref() {
        None => Ok(()),
        Some("null") | Some("true") => {
            *current = true;
            Ok(())
        }
        Some("false") => {
            *current = false;
            Ok(())
        }
        Some(other) => Err(format!("--{field}: '{other}' is not one of: true, false")),
    }
}

/// What to do with a template's logo.
pub enum Logo {
    Keep,
    Reset,
    /// The image and how to name it in an error (a file name).
    Image(Vec<u8>, String),
}

/// A change that would leave recipients no way to sign in: it conflicts with
/// what the template allows now (the API answers 409).
pub const NO_SIGN_IN: &str = "a template must allow one-time passcodes or social sign-in, or recipients cannot open messages";

/// Applies the changes with a logo given as bytes (the web form, the API).
pub fn apply_with(
    mut t: TemplateFull,
    c: &TemplateChanges,
    logo: Logo,
) -> Result<TemplateFull, String> {
    if t.name.is_empty() || t.name.chars().count() > 64 || t.name.chars().any(char::is_control) {
        return Err("--name: 1 to 64 characters, no control characters".into());
    }
    match logo {
        Logo::Keep => {}
        Logo::Reset => {
            t.logo = None;
            t.logo_content_type = None;
        }
        Logo::Image(bytes, path) => {
            let kind = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
                "image/png"
            } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
                "image/jpeg"
            } else {
                return Err(format!("--logo: {path} is not a PNG or JPEG image"));
            };
            if bytes.len() > 256 * 1024 {
                return Err(format!("--logo: {path} is larger than 256 KB"));
            }
            t.logo = Some(bytes);
            t.logo_content_type = Some(kind.into());
        }
    }
    match c.background_color.as_deref() {
        None => {}
        Some("null") => t.background_color = None,
        Some(color) => {
            let hex = color.strip_prefix('#').unwrap_or_default();
            if !(hex.len() == 6 && hex.chars().all(|ch| ch.is_ascii_hexdigit())) {
                return Err(format!(
                    "--background-color: '{color}' is not a color such as #1f4e79"
                ));
            }
            t.background_color = Some(color.to_lowercase());
        }
    }
    text(
        "introduction-text",
        &c.introduction_text,
        &mut t.introduction_text,
        MAX_TEXT,
    )?;
    text(
        "read-button-text",
        &c.read_button_text,
        &mut t.read_button_text,
        64,
    )?;
    text("email-text", &c.email_text, &mut t.email_text, MAX_TEXT)?;
    text(
        "disclaimer-text",
        &c.disclaimer_text,
        &mut t.disclaimer_text,
        MAX_TEXT,
    )?;
    text("portal-text", &c.portal_text, &mut t.portal_text, 128)?;
    match c.privacy_statement_url.as_deref() {
        None => {}
        Some("null") => t.privacy_statement_url = None,
        Some(url) => {
            let ok = url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
            if !ok {
                return Err(format!(
                    "--privacy-statement-url: '{url}' is not an http:// or https:// URL"
                ));
            }
            t.privacy_statement_url = Some(url.to_string());
        }
    }
    boolean("otp-enabled", &c.otp_enabled, &mut t.otp_enabled)?;
    boolean("social-enabled", &c.social_enabled, &mut t.social_enabled)?;
    match c.expiry_days.as_deref() {
        None => {}
        Some("null") => t.expiry_days = 0,
        Some(days) => {
            t.expiry_days = days
                .parse::<i64>()
                .ok()
                .filter(|d| (0..=730).contains(d))
                .ok_or_else(|| {
                    format!("--expiry-days: '{days}' is not a number of days from 0 (never) to 730")
                })?;
        }
    }
    if !t.otp_enabled && !t.social_enabled {
        return Err(NO_SIGN_IN.into());
    }
    Ok(t)
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("No branding template named '{0}'.")]
    NotFound(String),
    /// A field's value; the text names the field.
    #[error("{0}")]
    Invalid(String),
    /// The change would leave recipients no way to sign in.
    #[error("{NO_SIGN_IN}")]
    NoSignIn,
    #[error("{0} already exists.")]
    Exists(String),
    #[error("'{0}' is the default template and cannot be removed.")]
    Default(String),
    #[error("'{0}' is used by messages and cannot be removed; change its fields instead.")]
    InUse(String),
    #[error(transparent)]
    Store(StoreError),
}

fn invalid(text: String) -> TemplateError {
    if text == NO_SIGN_IN {
        TemplateError::NoSignIn
    } else {
        TemplateError::Invalid(text)
    }
}

impl From<StoreError> for TemplateError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => TemplateError::Exists(what),
            other => TemplateError::Store(other),
        }
    }
}

/// A new template: fields not given are empty; passcodes and social sign-in
/// allowed.
pub async fn create(
    store: &Store,
    name: &str,
    changes: &TemplateChanges,
    logo: Logo,
) -> Result<TemplateFull, TemplateError> {
    let blank = TemplateFull {
        name: name.trim().to_string(),
        otp_enabled: true,
        social_enabled: true,
        ..Default::default()
    };
    let t = apply_with(blank, changes, logo).map_err(invalid)?;
    store.save_template(&t, None).await?;
    Ok(t)
}

pub async fn update(
    store: &Store,
    name: &str,
    new_name: Option<&str>,
    changes: &TemplateChanges,
    logo: Logo,
) -> Result<TemplateFull, TemplateError> {
    let mut t = store
        .template_full(name)
        .await?
        .ok_or_else(|| TemplateError::NotFound(name.to_string()))?;
    if let Some(new_name) = new_name {
        t.name = new_name.trim().to_string();
    }
    let t = apply_with(t, changes, logo).map_err(invalid)?;
    store.save_template(&t, Some(name)).await?;
    Ok(t)
}

pub async fn remove(store: &Store, name: &str) -> Result<(), TemplateError> {
    let t = store
        .template_full(name)
        .await?
        .ok_or_else(|| TemplateError::NotFound(name.to_string()))?;
    if t.is_default {
        return Err(TemplateError::Default(name.to_string()));
    }
    if store.remove_template(name).await? == 0 {
        return Err(TemplateError::InUse(name.to_string()));
    }
    Ok(())
}
