//! Protection, the last stage: what the agents inspected is re-encrypted,
//! and each recipient gets a copy: inline for the organization's own
//! domains, link-based for everyone else; an internal sender hears of
//! whom a do-not-forward message may not reach.

use super::faults::{Step, Tries};
use super::{Arrival, InFlight, Note, Stage, StageError};
use crate::config::Settings;
use crate::crypto::{random_bytes, sha256};
use crate::domain::Rights;
use crate::keys::KeyMaterial;
use crate::mime;
use crate::outbound::notification;
use crate::protected;
use crate::store::{NewJob, NewRecipient, PipelineOutcome, Store, StoreError, new_id, now_ms};
use std::sync::Arc;

pub struct ProtectionStage {
    pub store: Store,
    pub keys: Arc<KeyMaterial>,
    pub settings: Arc<Settings>,
    pub hostname: String,
    pub tries: Tries,
}

#[async_trait::async_trait]
impl Stage for ProtectionStage {
    fn name(&self) -> &str {
        "protection"
    }

    async fn describe(&self) -> String {
        "protects what was asked for (subject tag, compose, rules): inline copies inside, links outside".into()
    }

    fn is_agent(&self) -> bool {
        false
    }

    async fn process(&self, flight: &mut InFlight) -> Result<(), StageError> {
        if flight.arrival.ours().is_some_and(|a| a.inspected) {
            if let Err(reason) = self.tries.run(Step::ReEncryption, &mut flight.notes).await {
                return Err(StageError::RejectUnread {
                    event: "re-encryption failed".into(),
                    reason,
                });
            }
            flight.notes.push(Note::ReEncrypted);
        }
        let refused = std::mem::take(&mut flight.refused_forwards);
        let mut outcome = outcome(self, flight).await?;
        // The others got it; whom the do-not-forward message may not reach,
        // an internal sender hears of.
        let reporting_to = &flight.envelope.from;
        if !refused.is_empty() && self.settings.is_internal(reporting_to) {
            let report_headers = flight
                .arrival
                .ours()
                .map(|a| a.wrapped.clone())
                .unwrap_or_default();
            let report = crate::ndr::build(
                &self.hostname,
                reporting_to,
                &refused,
                &report_headers,
                &super::do_not_forward_reason(&refused),
            );
            outcome.jobs.push(crate::ndr::job(
                &self.keys,
                &self.settings,
                Some(flight.row_id.clone()),
                format!("{}:ndr:do-not-forward", flight.row_id),
                reporting_to,
                &report,
            ));
        }
        flight.outcome = Some(outcome);
        Ok(())
    }
}
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;

/// The sender asks for protection with the subject tag, which is removed.
pub fn apply_sender_request(flight: &mut InFlight, tag: &str) {
    if let Some(requested) = flight.envelope.requested.clone() {
        flight.protection = Some(
            flight
                .protection
                .map_or(requested.rights, |r| r.max(requested.rights)),
        );
        flight.template = flight.template.take().or(requested.template);
    }
    let Some(subject) = mail_parser::MessageParser::default()
        .parse_headers(&flight.raw)
        .and_then(|m| m.subject().map(str::to_string))
    else {
        return;
    };
    if let Some(stripped) = mime::strip_tag(&subject, tag) {
        flight.raw = mime::set_header(
            &flight.raw,
            "Subject",
            &mime::encode_header_value(&stripped),
        );
        flight.protection = Some(
            flight
                .protection
                .map_or(Rights::EncryptOnly, |r| r.max(Rights::EncryptOnly)),
        );
    }
}

/// The copies, jobs and events of the message: the timeline's notes so far
/// are taken into its events.
async fn outcome(
    pipeline: &ProtectionStage,
    flight: &mut InFlight,
) -> Result<PipelineOutcome, StoreError> {
    if !mime::has_header(&flight.raw, "Message-ID") {
        flight.raw = mime::prepend_header(&flight.raw, "Message-ID", &flight.message_id);
    }
    let message = Stored {
        id: flight.row_id.clone(),
        message_id: flight.message_id.clone(),
    };
    let parsed = mail_parser::MessageParser::default().parse_headers(&flight.raw);
    let subject = parsed
        .as_ref()
        .and_then(|m| m.subject())
        .map(crate::mime::printable)
        .unwrap_or_default();
    let settings = &pipeline.settings;
    let keyring = &pipeline.keys.keyring;
    let lifetime = now_ms() + settings.queue_lifetime_ms;
    let sender = flight.envelope.from.clone();
    let mut recipients = Vec::new();
    let mut jobs = Vec::new();
    let mut events: Vec<(String, Option<String>, String)> = flight
        .notes
        .drain(..)
        .map(|note| (note.event(), None, note.detail()))
        .collect();
    let job = |purpose: &'static str,
               recipient: Option<(&str, &str)>,
               to: Vec<String>,
               from: &str,
               content: &[u8]| {
        let id = new_id();
        let key = match recipient {
            Some((rid, _)) => format!("{}:{purpose}:{rid}:0", message.id),
            None => format!("{}:{purpose}:0", message.id),
        };
        NewJob {
            payload: keyring.seal(id.as_bytes(), content),
            id,
            kind: crate::domain::JobKind::Outbound,
            dedupe_key: key,
            message_id: Some(message.id.clone()),
            purpose,
            recipient_id: recipient.map(|(rid, _)| rid.to_string()),
            envelope_from: from.to_string(),
            envelope_to: to,
            give_up_at: lifetime,
        }
    };

    // Delivered as it arrived (protected mail that could not be inspected).
    let protection = match flight.arrival {
        Arrival::Undecryptable(_) => None,
        _ => flight.protection,
    };
    let (protected, rights, template_id, expires_at, state) = match protection {
        None => {
            jobs.push(job(
                "relay",
                None,
                flight.envelope.to.clone(),
                &sender,
                &flight.raw,
            ));
            events.push((
                "relayed unprotected".to_string(),
                None,
                format!("{} recipient(s)", flight.envelope.to.len()),
            ));
            (false, None, None, None, "relayed")
        }
        Some(rights) => {
            let chosen = match &flight.template {
                Some(name) => pipeline.store.template_by_name(name).await?,
                None => None,
            };
            let template = match chosen {
                Some(template) => template,
                None => pipeline.store.default_template().await?,
            };
            // Mail that arrived protected keeps its envelope's expiry.
            let expires_at = match flight.arrival.ours() {
                Some(arrived) => arrived.expires_at,
                None => {
                    // The sender's choice (compose) never outlasts the
                    // template's, whichever template a rule settled on.
                    let asked = flight
                        .envelope
                        .requested
                        .as_ref()
                        .and_then(|r| r.expiry_days);
                    let days = match (asked, template.expiry_days) {
                        (Some(asked), limit) if limit > 0 => asked.min(limit),
                        (Some(asked), _) => asked,
                        (None, limit) => limit,
                    };
                    (days > 0).then(|| now_ms() + days * 86_400_000)
                }
            };
            // Internal recipients get the message itself in the protected
            // format (one copy for all of them), read in their Inbox.
            let internal = |address: &str| settings.is_internal(address);
            let any_internal = flight.envelope.to.iter().any(|a| internal(a));
            // Arrived protected and not decrypted here: as it came.
            let arrived = flight
                .arrival
                .ours()
                .filter(|a| !a.inspected)
                .map(|a| a.wrapped.clone());
            let inline_copy = arrived.or_else(|| {
                any_internal.then(|| {
                    // Who may read it: those it was protected for. Mail that
                    // arrived protected keeps the list its envelope had.
                    let (digests, from, version) = match flight.arrival.ours() {
                        Some(arrived) => (
                            arrived.header.recipients.clone(),
                            arrived.header.sender.clone(),
                            arrived.version,
                        ),
                        None => {
                            // This transaction's recipients and those the
                            // message names (a mail server may split one
                            // message over several transactions).
                            let mut named = flight.envelope.to.clone();
                            if let Some(headers) = parsed.as_ref() {
                                named.extend(mime::header_envelope(headers).1);
                            }
                            (
                                protected::recipient_digests(
                                    &pipeline.keys.derived(crate::keys::labels::RECIPIENT_DIGEST),
                                    &named,
                                ),
                                sender.to_lowercase(),
                                protected::VERSION,
                            )
                        }
                    };
                    let header = protected::Header {
                        org: pipeline.keys.org_id.clone(),
                        message_id: message.message_id.clone(),
                        rights,
                        template: template.name.clone(),
                        expires_at,
                        created_at: now_ms(),
                        recipients: digests,
                        sender: from,
                    };
                    // A v1 envelope stays v1: it names nobody, and its
                    // readers are the ones recorded for it.
                    let envelope = protected::seal_version(keyring, &header, &flight.raw, version);
                    let inbox_url = format!(
                        "{}/inbox/{}",
                        settings.public_url.as_str().trim_end_matches('/'),
                        message.id
                    );
                    // The agents ran on this plaintext: it carries the marker,
                    // so a later hop of the organization need not decrypt it.
                    let marker = protected::marker(
                        &pipeline
                            .keys
                            .derived(crate::keys::labels::INSPECTION_MARKER),
                        &header.message_id,
                        &envelope,
                    )
                    .ok();
                    protected::wrap(
                        &flight.raw,
                        &envelope,
                        keyring.current(),
                        &header,
                        &protected::Notice {
                            sender: &sender,
                            inbox_url: &inbox_url,
                        },
                        marker.as_deref(),
                    )
                })
            });
            events.push((
                "protected".to_string(),
                None,
                format!("{} with template {}", rights.as_str(), template.name),
            ));
            for address in &flight.envelope.to {
                let rid = new_id();
                if let Some(inline_copy) = inline_copy.as_deref().filter(|_| internal(address)) {
                    recipients.push(NewRecipient {
                        id: rid.clone(),
                        address: address.clone(),
                        experience: crate::domain::Experience::Inline,
                        state: crate::domain::RecipientState::Pending,
                        token_hash: None,
                    });
                    jobs.push(job(
                        "inline",
                        Some((&rid, address)),
                        vec![address.clone()],
                        &sender,
                        inline_copy,
                    ));
                    events.push((
                        "inline copy queued".to_string(),
                        Some(address.clone()),
                        String::new(),
                    ));
                } else {
                    let token = B64URL.encode(random_bytes::<32>());
                    let link = format!(
                        "{}/r/{token}",
                        settings.public_url.as_str().trim_end_matches('/')
                    );
                    let email = notification::build(&notification::Notice {
                        sender: &sender,
                        recipient: address,
                        subject: &subject,
                        link: &link,
                        template: &template,
                        message_id: &format!("<{}.{rid}@{}>", message.id, pipeline.hostname),
                        language: settings.language,
                        organization: settings.organization_name.as_deref(),
                    });
                    recipients.push(NewRecipient {
                        id: rid.clone(),
                        address: address.clone(),
                        experience: crate::domain::Experience::Link,
                        state: crate::domain::RecipientState::Pending,
                        token_hash: Some(sha256(token.as_bytes()).to_vec()),
                    });
                    jobs.push(job(
                        "notification",
                        Some((&rid, address)),
                        vec![address.clone()],
                        &sender,
                        &email,
                    ));
                    events.push((
                        "notification queued".to_string(),
                        Some(address.clone()),
                        String::new(),
                    ));
                }
            }
            (
                true,
                Some(rights),
                Some(template.id),
                expires_at,
                "protected",
            )
        }
    };
    Ok(PipelineOutcome {
        message_row: message.id.clone(),
        subject,
        message_id: message.message_id.clone(),
        size: flight.raw.len() as i64,
        content: keyring.seal(message.id.as_bytes(), &flight.raw),
        protected,
        rights,
        template_id,
        expires_at,
        state: state.to_string(),
        recipients,
        jobs,
        events,
    })
}

/// The stored message's names, as the outcome uses them.
struct Stored {
    id: String,
    message_id: String,
}
