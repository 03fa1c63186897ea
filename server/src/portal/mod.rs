//! The recipient portal's rules: which link opens what, one-time
//! passcodes, and the message as a recipient sees it. Every check reads
//! the database, so a revocation on any node takes effect at once.

mod cache;
pub mod oauth;
pub(crate) mod render;
pub mod reply;

pub use cache::{Opened, TimedCache, ViewCache, Weighed};
pub use render::{ViewOf, attachment, body, message_view};

use crate::crypto::{SecretKey, hmac_sha256, random_bytes, sha256};
use crate::store::{NewJob, NewPasscode, PortalRow, Store, StoreError, new_id, now_ms};
use app::dto::Branding;
use subtle::ConstantTimeEq;

pub const CODE_TTL_MS: i64 = 10 * 60 * 1000;
pub const MAX_TRIES: i64 = 5;
pub const MAX_CODES: i64 = 3;
pub const CODE_WINDOW_MS: i64 = 15 * 60 * 1000;

/// The session key holding the recipient address a session is bound to.
pub const SESSION_RECIPIENT: &str = "recipient";

/// What a link opens. The closed outcomes keep the row: their pages
/// carry the message's branding.
pub enum Lookup {
    Invalid,
    Revoked(Box<PortalRow>),
    /// This recipient's access was removed; the others may still read.
    Removed(Box<PortalRow>),
    Expired(Box<PortalRow>),
    Open(Box<PortalRow>),
}

/// A link token is 32 random bytes in base64url: 43 characters.
pub fn well_formed(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub async fn lookup(store: &Store, token: &str) -> Result<Lookup, StoreError> {
    if !well_formed(token) {
        return Ok(Lookup::Invalid);
    }
    let row = store
        .portal_by_token_hash(&sha256(token.as_bytes()))
        .await?;
    Ok(classify(row))
}

/// As [`lookup`], reading the visitor's session record (tower-sessions'
/// bytes) in the same query: the message page's one round trip.
pub async fn lookup_with_session(
    store: &Store,
    token: &str,
    session_id: &str,
) -> Result<(Lookup, Option<Vec<u8>>), StoreError> {
    if !well_formed(token) {
        return Ok((Lookup::Invalid, None));
    }
    Ok(
        match store
            .portal_with_session(&sha256(token.as_bytes()), session_id)
            .await?
        {
            Some((row, session)) => (classify(Some(row)), session),
            None => (Lookup::Invalid, None),
        },
    )
}

fn classify(row: Option<PortalRow>) -> Lookup {
    let Some(row) = row else {
        return Lookup::Invalid;
    };
    let row = Box::new(row);
    if row.revoked_at.is_some() {
        Lookup::Revoked(row)
    } else if row.removed {
        Lookup::Removed(row)
    } else if row.purged || row.expires_at.is_some_and(|at| at <= now_ms()) {
        // Content deleted by retention reads as expired: there is nothing
        // left to open.
        Lookup::Expired(row)
    } else {
        Lookup::Open(row)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the message cannot be decrypted: {0}")]
    Crypto(#[from] crate::crypto::CryptoError),
    #[error("the message has no stored content")]
    NoContent,
}

/// A stored message, decrypted (its row id is the associated data). Call
/// only after the request's checks of who may read it.
pub async fn open_message(
    store: &Store,
    keyring: &crate::crypto::Keyring,
    message_row: &str,
) -> Result<Vec<u8>, OpenError> {
    let sealed = store
        .message_content(message_row)
        .await?
        .ok_or(OpenError::NoContent)?;
    Ok(keyring.open(message_row.as_bytes(), &sealed)?)
}

/// The message a link opens, decrypted. Call only after the request's checks.
pub async fn content(
    store: &Store,
    keyring: &crate::crypto::Keyring,
    row: &PortalRow,
) -> Result<Vec<u8>, OpenError> {
    open_message(store, keyring, &row.message_row).await
}

/// The message page's view of a copy, from the cache when it was made
/// recently. Call only after the request's checks.
pub async fn view(
    store: &Store,
    keyring: &crate::crypto::Keyring,
    cache: &ViewCache,
    row: &PortalRow,
) -> Result<std::sync::Arc<app::dto::MessageView>, OpenError> {
    if let Some(view) = cache.get(&row.recipient_id) {
        return Ok(view);
    }
    let raw = content(store, keyring, row).await?;
    let view = std::sync::Arc::new(message_view(&raw, row.into()));
    cache.put(&row.recipient_id, view.clone());
    Ok(view)
}

pub fn branding(row: &PortalRow) -> Branding {
    let background = row
        .background_color
        .clone()
        .unwrap_or_else(|| "#1f4e79".into());
    Branding {
        text_color: crate::outbound::notification::text_color_on(&background).to_string(),
        background_color: background,
        portal_text: row.portal_text.clone(),
        disclaimer_text: row.disclaimer_text.clone(),
        logo_url: row
            .has_logo
            .then(|| format!("/branding/{}/logo", row.template_id)),
        privacy_url: row.privacy_statement_url.clone(),
    }
}

pub enum PasscodeRefused {
    /// Three codes within 15 minutes: the next one at this time.
    TooManyCodes {
        until_ms: i64,
    },
    /// 30 wrong codes on this copy: passcode sign-in locked until then.
    Locked {
        until_ms: i64,
    },
    NotAllowed,
    Store(StoreError),
}

impl From<StoreError> for PasscodeRefused {
    fn from(e: StoreError) -> Self {
        PasscodeRefused::Store(e)
    }
}

pub struct SentCode {
    pub reference: String,
}

fn locked_until(row: &PortalRow) -> Option<i64> {
    row.passcode_locked_until.filter(|until| *until > now_ms())
}

fn mac(key: &SecretKey, passcode_id: &str, code: &str) -> [u8; 32] {
    hmac_sha256(key, &[passcode_id.as_bytes(), b":", code.as_bytes()])
}

/// 8 digits, uniformly from a CSPRNG (rejection sampling, no modulo bias).
fn eight_digits() -> String {
    loop {
        let n = u32::from_le_bytes(random_bytes::<4>());
        if n < 4_200_000_000 {
            return format!("{:08}", n % 100_000_000);
        }
    }
}

fn reference_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    random_bytes::<4>()
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// The passcode email's subject and text, in the language of the page the
/// recipient asked from.
fn passcode_email(
    lang: app::i18n::Lang,
    code: &str,
    reference: &str,
    sender: &str,
) -> (String, String) {
    match lang {
        app::i18n::Lang::En => (
            format!("Your one-time passcode (reference {reference})"),
            format!(
                "Your one-time passcode is {code}\n\nReference code: {reference}\n\n\
                 It is valid for 10 minutes and works once. You asked for it to read a \
                 protected message from {sender}. If you did not, ignore this email.\n"
            ),
        ),
        app::i18n::Lang::Ja => (
            format!("ワンタイム パスコード (参照コード {reference})"),
            format!(
                "ワンタイム パスコードは {code} です。\n\n参照コード: {reference}\n\n\
                 有効期間は 10 分で、1 回だけ使えます。{sender} さんからの保護されたメッセージを\
                 読むために要求されたものです。心当たりがない場合は、このメールを無視してください。\n"
            ),
        ),
    }
}

/// A short mail's text in the template's banner (color, logo, portal
/// text), with the privacy statement linked below.
fn branded_html(b: &Branding, logo: bool, text: &str, lang: app::i18n::Lang) -> String {
    use crate::outbound::notification::escape;
    let paragraphs: String = text
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>", escape(p.trim())))
        .collect();
    format!(
        "<!DOCTYPE html><html><body style=\"font-family:sans-serif;margin:0\">\
         <div style=\"background:{bg};color:{fg};padding:16px\">{logo}{portal}</div>\
         <div style=\"padding:16px\">{paragraphs}{privacy}</div></body></html>",
        bg = escape(&b.background_color),
        fg = escape(&b.text_color),
        logo = if logo {
            "<img src=\"cid:logo\" alt=\"\" height=\"40\" style=\"display:block\">"
        } else {
            "<strong>sealpost</strong>"
        },
        portal = b
            .portal_text
            .as_deref()
            .map(|t| format!("<p style=\"margin:8px 0 0\">{}</p>", escape(t)))
            .unwrap_or_default(),
        privacy = b
            .privacy_url
            .as_deref()
            .map(|url| format!(
                "<p style=\"font-size:12px\"><a href=\"{}\">{}</a></p>",
                escape(url),
                lang.t().privacy
            ))
            .unwrap_or_default(),
    )
}

/// Makes a code and queues the mail that carries it.
pub async fn send_passcode(
    lang: app::i18n::Lang,
    store: &Store,
    keyring: &crate::crypto::Keyring,
    passcode_key: &SecretKey,
    row: &PortalRow,
    queue_lifetime_ms: i64,
) -> Result<SentCode, PasscodeRefused> {
    if !row.otp_enabled {
        return Err(PasscodeRefused::NotAllowed);
    }
    if let Some(until_ms) = locked_until(row) {
        return Err(PasscodeRefused::Locked { until_ms });
    }
    let id = new_id();
    let code = eight_digits();
    let reference = reference_code();
    let (subject, body) = passcode_email(lang, &code, &reference, &row.sender);
    // The message's look: its template's color, logo and portal text.
    let logo = if row.has_logo {
        store.template_logo(&row.template_id).await?
    } else {
        None
    };
    let html = branded_html(&branding(row), logo.is_some(), &body, lang);
    let mut builder = mail_builder::MessageBuilder::new();
    if let Some((bytes, kind)) = &logo {
        builder = builder.inline(kind.clone(), "logo", bytes.as_slice());
    }
    let email = builder
        .from(row.sender.as_str())
        .to(row.address.as_str())
        .subject(subject)
        .header(
            "Auto-Submitted",
            mail_builder::headers::raw::Raw::new("auto-generated"),
        )
        .header(
            "Content-Language",
            mail_builder::headers::raw::Raw::new(lang.code()),
        )
        .text_body(body)
        .html_body(html)
        .write_to_vec()
        .expect("writing to memory cannot fail");
    let job_id = new_id();
    let job = NewJob {
        payload: keyring.seal(job_id.as_bytes(), &email),
        dedupe_key: format!("{}:passcode:{}:{id}", row.message_row, row.recipient_id),
        id: job_id,
        kind: crate::domain::JobKind::Outbound,
        message_id: Some(row.message_row.clone()),
        purpose: "passcode",
        recipient_id: None,
        envelope_from: row.sender.clone(),
        envelope_to: vec![row.address.clone()],
        give_up_at: now_ms() + queue_lifetime_ms.min(CODE_TTL_MS),
    };
    let code_mac = mac(passcode_key, &id, &code);
    // Counted and created in one transaction: 50 parallel requests for
    // one copy still send 3 codes.
    store
        .create_passcode(
            NewPasscode {
                id: &id,
                recipient_id: &row.recipient_id,
                code_mac: &code_mac,
                reference: &reference,
                expires_at: now_ms() + CODE_TTL_MS,
            },
            &job,
            MAX_CODES,
            now_ms() - CODE_WINDOW_MS,
        )
        .await?
        .map_err(|oldest| PasscodeRefused::TooManyCodes {
            until_ms: oldest.unwrap_or_else(now_ms) + CODE_WINDOW_MS,
        })?;
    Ok(SentCode { reference })
}

pub enum VerifyRefused {
    NoCode,
    Wrong { tries_left: i64, reference: String },
    Expired,
    Used,
    TooManyTries,
    Locked { until_ms: i64 },
    Store(StoreError),
}

impl From<StoreError> for VerifyRefused {
    fn from(e: StoreError) -> Self {
        VerifyRefused::Store(e)
    }
}

/// Checks a typed code against the copy's latest one and spends it.
pub async fn verify(
    store: &Store,
    passcode_key: &SecretKey,
    row: &PortalRow,
    typed: &str,
) -> Result<(), VerifyRefused> {
    if let Some(until_ms) = locked_until(row) {
        return Err(VerifyRefused::Locked { until_ms });
    }
    let Some(code) = store.latest_passcode(&row.recipient_id).await? else {
        return Err(VerifyRefused::NoCode);
    };
    if code.used_at.is_some() {
        return Err(VerifyRefused::Used);
    }
    if code.invalidated && code.attempts >= MAX_TRIES {
        return Err(VerifyRefused::TooManyTries);
    }
    if code.invalidated {
        return Err(VerifyRefused::NoCode);
    }
    if code.expires_at <= now_ms() {
        return Err(VerifyRefused::Expired);
    }
    // The try is counted before the code is compared, so parallel guesses
    // cannot all be compared against a count read before any was recorded.
    let Some(this_try) = store.reserve_passcode_try(&code.id, MAX_TRIES).await? else {
        let now = store.latest_passcode(&row.recipient_id).await?;
        return Err(match now {
            Some(c) if c.used_at.is_some() => VerifyRefused::Used,
            Some(c) if c.attempts >= MAX_TRIES => VerifyRefused::TooManyTries,
            _ => VerifyRefused::NoCode,
        });
    };
    let typed: String = typed.chars().filter(|c| c.is_ascii_digit()).collect();
    let matches: bool = mac(passcode_key, &code.id, &typed)
        .ct_eq(&code.code_mac[..])
        .into();
    if !matches {
        store
            .passcode_failed(&code.id, &row.recipient_id, MAX_TRIES)
            .await?;
        // Which try this was is what the reservation said: parallel tries
        // each get their own number.
        if this_try >= MAX_TRIES {
            return Err(VerifyRefused::TooManyTries);
        }
        return Err(VerifyRefused::Wrong {
            tries_left: MAX_TRIES - this_try,
            reference: code.reference,
        });
    }
    // Two tabs racing with the same code: only one spends it.
    if store.use_passcode(&code.id).await? {
        Ok(())
    } else {
        Err(VerifyRefused::Used)
    }
}

/// `in 12 minutes (at 09:30 UTC)`.
pub fn when(until_ms: i64) -> (u64, u64, String) {
    let seconds = ((until_ms - now_ms()) / 1000).max(1) as u64;
    let at = time::OffsetDateTime::from_unix_timestamp(until_ms / 1000)
        .map(|t| format!("{:02}:{:02}", t.hour(), t.minute()))
        .unwrap_or_default();
    (seconds, seconds.div_ceil(60), at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_eight_digits_and_vary() {
        let a = eight_digits();
        assert_eq!(a.len(), 8);
        assert!(a.bytes().all(|b| b.is_ascii_digit()));
        assert!((0..20).any(|_| eight_digits() != a));
    }

    #[test]
    fn only_well_formed_tokens_are_looked_up() {
        assert!(well_formed(&"a".repeat(43)));
        assert!(!well_formed(&"a".repeat(42)));
        assert!(!well_formed(&format!("{}%", "a".repeat(42))));
    }
}
