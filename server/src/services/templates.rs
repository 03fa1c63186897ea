//! Branding templates: the fields of SPEC.md, validated in one place for
//! the command line, the admin pages and the API, and every change
//! recorded in the audit trail.

use crate::domain::{Actor, Change, FieldError};
use crate::store::{AuditEntry, Store, StoreError, TemplateFull};

/// A logo as given: the image and how to name it in an error (its file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoImage {
    pub bytes: Vec<u8>,
    pub name: String,
}

/// Changes to a template, typed: each surface reads its own input (flags,
/// JSON, the form) into this, and the checks below hold for all of them.
#[derive(Clone, Debug, Default)]
pub struct TemplateChanges {
    /// A new name (`update` only).
    pub name: Option<String>,
    pub logo: Change<LogoImage>,
    pub background_color: Change<String>,
    pub introduction_text: Change<String>,
    pub read_button_text: Change<String>,
    pub email_text: Change<String>,
    pub disclaimer_text: Change<String>,
    pub portal_text: Change<String>,
    pub privacy_statement_url: Change<String>,
    /// Reset: allowed.
    pub otp_enabled: Change<bool>,
    /// Reset: allowed.
    pub social_enabled: Change<bool>,
    /// Reset: 0 (never).
    pub expiry_days: Change<i64>,
}

const MAX_TEXT: usize = 2000;

fn text(
    field: &'static str,
    value: &Change<String>,
    current: &mut Option<String>,
    max: usize,
) -> Result<(), FieldError> {
    match value {
        Change::Keep => {}
        Change::Reset => *current = None,
        Change::Set(v) if v.chars().count() > max => {
            return Err(FieldError::new(field, format!("at most {max} characters")));
        }
        // PostgreSQL stores no NUL in text; SQLite would: the same everywhere.
        Change::Set(v) if v.contains('\0') => {
            return Err(FieldError::new(field, "a NUL character is not allowed"));
        }
        Change::Set(v) => *current = Some(v.clone()),
    }
    Ok(())
}

fn boolean(value: &Change<bool>, current: &mut bool) {
    match value {
        Change::Keep => {}
        Change::Reset => *current = true,
        Change::Set(v) => *current = *v,
    }
}

/// A change that would leave recipients no way to sign in: it conflicts with
/// what the template allows now (the API answers 409).
pub const NO_SIGN_IN: &str = "a template must allow one-time passcodes or social sign-in, or recipients cannot open messages";

/// The template with the changes, checked; the first field that cannot be
/// used is named.
pub fn apply_with(mut t: TemplateFull, c: &TemplateChanges) -> Result<TemplateFull, TemplateError> {
    if let Some(name) = &c.name {
        t.name = name.trim().to_string();
    }
    if t.name.is_empty() || t.name.chars().count() > 64 || t.name.chars().any(char::is_control) {
        return Err(FieldError::new("name", "1 to 64 characters, no control characters").into());
    }
    match &c.logo {
        Change::Keep => {}
        Change::Reset => {
            t.logo = None;
            t.logo_content_type = None;
        }
        Change::Set(LogoImage { bytes, name }) => {
            let kind = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
                "image/png"
            } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
                "image/jpeg"
            } else {
                return Err(
                    FieldError::new("logo", format!("{name} is not a PNG or JPEG image")).into(),
                );
            };
            if bytes.len() > 256 * 1024 {
                return Err(
                    FieldError::new("logo", format!("{name} is larger than 256 KB")).into(),
                );
            }
            t.logo = Some(bytes.clone());
            t.logo_content_type = Some(kind.into());
        }
    }
    match &c.background_color {
        Change::Keep => {}
        Change::Reset => t.background_color = None,
        Change::Set(color) => {
            let hex = color.strip_prefix('#').unwrap_or_default();
            if !(hex.len() == 6 && hex.chars().all(|ch| ch.is_ascii_hexdigit())) {
                return Err(FieldError::new(
                    "background-color",
                    format!("'{color}' is not a color such as #1f4e79"),
                )
                .into());
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
    match &c.privacy_statement_url {
        Change::Keep => {}
        Change::Reset => t.privacy_statement_url = None,
        Change::Set(url) => {
            let ok = url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
            if !ok {
                return Err(FieldError::new(
                    "privacy-statement-url",
                    format!("'{url}' is not an http:// or https:// URL"),
                )
                .into());
            }
            t.privacy_statement_url = Some(url.clone());
        }
    }
    boolean(&c.otp_enabled, &mut t.otp_enabled);
    boolean(&c.social_enabled, &mut t.social_enabled);
    match &c.expiry_days {
        Change::Keep => {}
        Change::Reset => t.expiry_days = 0,
        Change::Set(days) if (0..=730).contains(days) => t.expiry_days = *days,
        Change::Set(days) => return Err(expiry_refused(&days.to_string()).into()),
    }
    if !t.otp_enabled && !t.social_enabled {
        return Err(TemplateError::NoSignIn);
    }
    Ok(t)
}

/// Why a number of days cannot be a template's expiry (also for text that
/// is no number at all).
pub fn expiry_refused(days: &str) -> FieldError {
    FieldError::new(
        "expiry-days",
        format!("'{days}' is not a number of days from 0 (never) to 730"),
    )
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("No branding template named '{0}'.")]
    NotFound(String),
    /// A field's value.
    #[error(transparent)]
    Invalid(#[from] FieldError),
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

impl From<StoreError> for TemplateError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => TemplateError::Exists(what),
            other => TemplateError::Store(other),
        }
    }
}

/// What a change did, for the audit trail: short values as they are now,
/// longer texts and the logo only by name (they can be large).
fn changes_between(before: &TemplateFull, after: &TemplateFull) -> String {
    let mut said = Vec::new();
    let mut value = |name: &str, old: String, new: String| {
        if old != new {
            said.push(format!(
                "{name} {}",
                if new.is_empty() { "reset".into() } else { new }
            ));
        }
    };
    value("Name", before.name.clone(), after.name.clone());
    let or_empty = |v: &Option<String>| v.clone().unwrap_or_default();
    value(
        "BackgroundColor",
        or_empty(&before.background_color),
        or_empty(&after.background_color),
    );
    value(
        "PrivacyStatementUrl",
        or_empty(&before.privacy_statement_url),
        or_empty(&after.privacy_statement_url),
    );
    value(
        "OTPEnabled",
        before.otp_enabled.to_string(),
        after.otp_enabled.to_string(),
    );
    value(
        "SocialIDSignIn",
        before.social_enabled.to_string(),
        after.social_enabled.to_string(),
    );
    value(
        "ExternalMailExpiryInDays",
        before.expiry_days.to_string(),
        after.expiry_days.to_string(),
    );
    let texts = [
        ("Logo", before.logo != after.logo, after.logo.is_none()),
        (
            "IntroductionText",
            before.introduction_text != after.introduction_text,
            after.introduction_text.is_none(),
        ),
        (
            "ReadButtonText",
            before.read_button_text != after.read_button_text,
            after.read_button_text.is_none(),
        ),
        (
            "EmailText",
            before.email_text != after.email_text,
            after.email_text.is_none(),
        ),
        (
            "DisclaimerText",
            before.disclaimer_text != after.disclaimer_text,
            after.disclaimer_text.is_none(),
        ),
        (
            "PortalText",
            before.portal_text != after.portal_text,
            after.portal_text.is_none(),
        ),
    ];
    for (name, changed, reset) in texts {
        if changed {
            said.push(format!(
                "{name} {}",
                if reset { "reset" } else { "changed" }
            ));
        }
    }
    if said.is_empty() {
        "nothing changed".into()
    } else {
        said.join("; ")
    }
}

/// A new template: fields not given are empty; passcodes and social sign-in
/// allowed.
pub async fn create(
    store: &Store,
    actor: &Actor,
    name: &str,
    changes: &TemplateChanges,
) -> Result<TemplateFull, TemplateError> {
    let blank = TemplateFull {
        name: name.trim().to_string(),
        otp_enabled: true,
        social_enabled: true,
        ..Default::default()
    };
    let t = apply_with(blank.clone(), changes)?;
    let detail = changes_between(&blank, &t);
    let mut tx = store.begin().await?;
    tx.save_template(&t, None).await?;
    tx.audit(AuditEntry {
        actor,
        action: "template created",
        target: Some(&t.name),
        detail: Some(&detail),
    })
    .await?;
    tx.commit().await?;
    Ok(t)
}

pub async fn update(
    store: &Store,
    actor: &Actor,
    name: &str,
    changes: &TemplateChanges,
) -> Result<TemplateFull, TemplateError> {
    let before = store
        .template_full(name)
        .await?
        .ok_or_else(|| TemplateError::NotFound(name.to_string()))?;
    let t = apply_with(before.clone(), changes)?;
    let detail = changes_between(&before, &t);
    let mut tx = store.begin().await?;
    tx.save_template(&t, Some(name)).await?;
    tx.audit(AuditEntry {
        actor,
        action: "template changed",
        target: Some(name),
        detail: Some(&detail),
    })
    .await?;
    tx.commit().await?;
    Ok(t)
}

pub async fn remove(store: &Store, actor: &Actor, name: &str) -> Result<(), TemplateError> {
    let t = store
        .template_full(name)
        .await?
        .ok_or_else(|| TemplateError::NotFound(name.to_string()))?;
    if t.is_default {
        return Err(TemplateError::Default(name.to_string()));
    }
    let mut tx = store.begin().await?;
    if tx.remove_template(name).await? == 0 {
        return Err(TemplateError::InUse(name.to_string()));
    }
    tx.audit(AuditEntry {
        actor,
        action: "template removed",
        target: Some(name),
        detail: None,
    })
    .await?;
    tx.commit().await?;
    Ok(())
}
