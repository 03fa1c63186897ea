//! `sealpost protect` and `unprotect`: the protected format from the command line.

use super::*;

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum RightsArg {
    EncryptOnly,
    DoNotForward,
}

/// `sealpost protect`: records the message as if sent through the gateway
/// and writes it in the protected format.
pub async fn protect(
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
pub async fn unprotect(settings: Settings, info: bool) -> Result<(), CliError> {
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
