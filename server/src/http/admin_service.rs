//! The server's implementation of the admin pages' service.

use super::AppState;
use super::page_service::{signed_in_user, timeline};
use crate::services::trace::{self as msg_trace, TraceQuery};
use crate::store::{TemplateFull, UserRow};
use app::dto::{
    AuditLine, AuditList, AuditQuery, MessageDetail, MessageFilter, MessageLine, MessageList,
    ProtectionSettings, QueueLine, RecipientLine, RuleEdit, RuleForm, RuleLine, RuleList,
    TemplateFields, UserLine,
};
use app::service::{AdminService, ServiceError};
use tower_sessions::Session;

pub struct AdminPages {
    state: AppState,
}

impl AdminPages {
    pub fn new(state: AppState) -> Self {
        AdminPages { state }
    }
}

fn unavailable(e: impl std::fmt::Display) -> ServiceError {
    tracing::error!(error = %e, "admin page failed");
    ServiceError::Unavailable
}

/// The signed-in administrator, or `Forbidden`.
pub async fn require_admin(
    state: &AppState,
    session: Option<&Session>,
) -> Result<UserRow, ServiceError> {
    let session = session.ok_or(ServiceError::Forbidden)?;
    match signed_in_user(state, session).await.map_err(unavailable)? {
        Some(user) if user.role == crate::domain::Role::Admin && !user.must_change_password => {
            Ok(user)
        }
        _ => Err(ServiceError::Forbidden),
    }
}

/// A filter as typed into the page; the error names the field.
pub fn parse_filter(f: &MessageFilter) -> Result<TraceQuery, String> {
    let time = |field: &str, t: &str| {
        (!t.trim().is_empty())
            .then(|| msg_trace::parse_time(field, t))
            .transpose()
    };
    Ok(TraceQuery {
        sender: msg_trace::parse_address("Sender", Some(&f.sender))?,
        recipient: msg_trace::parse_address("Recipient", Some(&f.recipient))?,
        since: time("From", &f.since)?,
        until: time("Until", &f.until)?,
    })
}

/// The report's or the trace's lines.
pub async fn message_lines(
    state: &AppState,
    filter: &MessageFilter,
    protected_only: bool,
) -> Result<Result<Vec<MessageLine>, String>, crate::store::StoreError> {
    let query = match parse_filter(filter) {
        Ok(q) => q,
        Err(e) => return Ok(Err(e)),
    };
    let state_wanted = filter.state.trim().to_lowercase();
    Ok(Ok(msg_trace::trace(&state.store, &query)
        .await?
        .into_iter()
        .filter(|e| !protected_only || e.protected)
        .filter(|e| state_wanted.is_empty() || e.state == state_wanted)
        .collect()))
}

pub fn template_fields(t: &TemplateFull) -> TemplateFields {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    TemplateFields {
        name: t.name.clone(),
        is_default: t.is_default,
        // The version keeps a changed logo from being served from a cache.
        logo_url: t.logo.as_ref().map(|bytes| {
            let version = crate::crypto::sha256(bytes);
            format!(
                "/branding/{}/logo?v={:02x}{:02x}{:02x}{:02x}",
                t.id, version[0], version[1], version[2], version[3]
            )
        }),
        background_color: text(&t.background_color),
        introduction_text: text(&t.introduction_text),
        read_button_text: text(&t.read_button_text),
        email_text: text(&t.email_text),
        disclaimer_text: text(&t.disclaimer_text),
        portal_text: text(&t.portal_text),
        privacy_statement_url: text(&t.privacy_statement_url),
        otp_enabled: t.otp_enabled,
        social_enabled: t.social_enabled,
        expiry_days: t.expiry_days,
    }
}

#[async_trait::async_trait]
impl AdminService for AdminPages {
    async fn messages(
        &self,
        request: &http::request::Parts,
        filter: MessageFilter,
        protected_only: bool,
    ) -> Result<MessageList, ServiceError> {
        require_admin(&self.state, request.extensions.get::<Session>()).await?;
        Ok(
            match message_lines(&self.state, &filter, protected_only)
                .await
                .map_err(unavailable)?
            {
                Ok(lines) => MessageList { lines, error: None },
                Err(e) => MessageList {
                    lines: Vec::new(),
                    error: Some(e),
                },
            },
        )
    }

    async fn message(
        &self,
        request: &http::request::Parts,
        message_id: String,
        sender: String,
    ) -> Result<Option<MessageDetail>, ServiceError> {
        require_admin(&self.state, request.extensions.get::<Session>()).await?;
        let store = &self.state.store;
        let Some(status) = crate::services::revocation::status(store, &message_id, Some(&sender))
            .await
            .map_err(unavailable)?
            .pop()
        else {
            return Ok(None);
        };
        let events = store
            .message_events(status.rows())
            .await
            .map_err(unavailable)?;
        let timeline = timeline(events);
        Ok(Some(MessageDetail {
            message_id: status.message_id,
            subject: status.subject,
            sender: status.sender,
            sent_at: status.sent_at,
            is_revocable: status.is_revocable,
            revoked: status.revoked,
            revoked_at: status.revoked_at,
            expires_at: status.expires_at,
            recipients: status
                .recipients
                .into_iter()
                .map(|r| RecipientLine {
                    address: r.address,
                    experience: r.experience.to_string(),
                    state: r.state,
                })
                .collect(),
            timeline,
        }))
    }

    async fn templates(
        &self,
        request: &http::request::Parts,
    ) -> Result<Vec<TemplateFields>, ServiceError> {
        require_admin(&self.state, request.extensions.get::<Session>()).await?;
        Ok(self
            .state
            .store
            .templates_full()
            .await
            .map_err(unavailable)?
            .iter()
            .map(template_fields)
            .collect())
    }

    async fn protection_settings(
        &self,
        request: &http::request::Parts,
    ) -> Result<ProtectionSettings, ServiceError> {
        require_admin(&self.state, request.extensions.get::<Session>()).await?;
        let config = crate::irm_config::IrmConfig::load(&self.state.store)
            .await
            .map_err(unavailable)?;
        Ok(ProtectionSettings {
            transport_decryption: config.transport_decryption.as_str().to_string(),
            foreign_protected: config.foreign_protected.as_str().to_string(),
        })
    }

    async fn audit(
        &self,
        request: &http::request::Parts,
        query: AuditQuery,
    ) -> Result<AuditList, ServiceError> {
        const SHOWN: i64 = 500;
        require_admin(&self.state, request.extensions.get::<Session>()).await?;
        let filter = match crate::services::audit::filter(
            "From",
            Some(&query.since),
            Some(&query.actor),
            Some(SHOWN + 1),
        ) {
            Ok(filter) => filter,
            Err(error) => {
                return Ok(AuditList {
                    error: Some(format!("{error}.")),
                    ..AuditList::default()
                });
            }
        };
        let mut rows = crate::services::audit::list(&self.state.store, &filter)
            .await
            .map_err(unavailable)?;
        let more = rows.len() as i64 > SHOWN;
        rows.reverse();
        rows.truncate(SHOWN as usize);
        Ok(AuditList {
            lines: rows
                .into_iter()
                .map(|r| AuditLine {
                    at: crate::domain::rfc3339(r.at),
                    actor: r.actor,
                    surface: r.surface.to_string(),
                    action: r.action,
                    target: r.target.unwrap_or_default(),
                    detail: r.detail.unwrap_or_default(),
                })
                .collect(),
            more,
            error: None,
        })
    }

    async fn queue(&self, request: &http::request::Parts) -> Result<Vec<QueueLine>, ServiceError> {
        require_admin(&self.state, request.extensions.get::<Session>()).await?;
        let jobs = self
            .state
            .store
            .queued_jobs(crate::store::QueueFilter::default(), 500)
            .await
            .map_err(unavailable)?;
        let now = crate::store::now_ms();
        Ok(jobs
            .iter()
            .map(|j| QueueLine {
                id: j.id.clone(),
                kind: crate::domain::JobKind::name_of(&j.kind).to_string(),
                state: crate::queue::state_name(j, now).to_string(),
                purpose: j.purpose.clone().unwrap_or_default(),
                message_id: j.message_id.clone().unwrap_or_default(),
                sender: j.sender.clone().unwrap_or_default(),
                recipients: j
                    .envelope_to
                    .as_deref()
                    .and_then(|t| serde_json::from_str::<Vec<String>>(t).ok())
                    .unwrap_or_default()
                    .join(", "),
                attempts: j.attempts,
                next_try: crate::domain::rfc3339(j.run_at),
                last_error: j.last_error.clone().unwrap_or_default(),
            })
            .collect())
    }

    async fn rules(&self, request: &http::request::Parts) -> Result<RuleList, ServiceError> {
        require_admin(&self.state, request.extensions.get::<Session>()).await?;
        let rules = crate::rules::list(&self.state.store)
            .await
            .map_err(unavailable)?;
        Ok(RuleList {
            rules: rules
                .iter()
                .map(|r| RuleLine {
                    name: r.name.clone(),
                    priority: r.priority,
                    enabled: r.enabled,
                    description: r.description(),
                })
                .collect(),
        })
    }

    async fn rule_form(
        &self,
        request: &http::request::Parts,
        name: String,
    ) -> Result<Option<RuleEdit>, ServiceError> {
        require_admin(&self.state, request.extensions.get::<Session>()).await?;
        let store = &self.state.store;
        let templates = store
            .template_names()
            .await
            .map_err(unavailable)?
            .into_iter()
            .filter(|(_, is_default)| !is_default)
            .map(|(name, _)| name)
            .collect();
        // A refused form comes back as it was typed.
        let form = match request.extensions.get::<RuleForm>() {
            Some(draft) => draft.clone(),
            None if name.is_empty() => RuleForm {
                enabled: true,
                ..RuleForm::default()
            },
            None => match crate::rules::get(store, &name).await {
                Ok(rule) => form_of(&rule),
                Err(crate::rules::RuleError::NotFound(_)) => return Ok(None),
                Err(e) => return Err(unavailable(e)),
            },
        };
        Ok(Some(RuleEdit { form, templates }))
    }

    async fn users(&self, request: &http::request::Parts) -> Result<Vec<UserLine>, ServiceError> {
        require_admin(&self.state, request.extensions.get::<Session>()).await?;
        Ok(self
            .state
            .store
            .list_users()
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(|u| UserLine {
                email: u.email,
                role: u.role.to_string(),
                disabled: u.disabled,
                must_change_password: u.must_change_password,
                created_at: crate::domain::rfc3339(u.created_at),
            })
            .collect())
    }
}

/// The form's fields for a stored rule.
pub fn form_of(rule: &crate::rules::Rule) -> RuleForm {
    let c = &rule.definition.conditions;
    let a = &rule.definition.actions;
    let lines = |items: Vec<&str>| items.join("\n");
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    RuleForm {
        original_name: rule.name.clone(),
        name: rule.name.clone(),
        priority: rule.priority.to_string(),
        from: lines(c.from.iter().map(|p| p.as_str()).collect()),
        sent_to: lines(c.sent_to.iter().map(|p| p.as_str()).collect()),
        sent_to_scope: c
            .sent_to_scope
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        subject_or_body_contains: lines(
            c.subject_or_body_contains
                .iter()
                .map(String::as_str)
                .collect(),
        ),
        subject_or_body_matches: text(&c.subject_or_body_matches),
        attachment_name_matches: text(&c.attachment_name_matches),
        attachment_type: text(&c.attachment_type),
        size_over: c
            .size_over
            .map(crate::domain::format_size)
            .unwrap_or_default(),
        contains_sensitive: c
            .contains_sensitive
            .iter()
            .map(|w| match w.min {
                1 => w.kind.as_str().to_string(),
                n => format!("{}:{n}", w.kind.as_str()),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        prepend_subject: text(&a.prepend_subject),
        apply_protection: a
            .apply_protection
            .map(|r| r.as_str().to_string())
            .unwrap_or_default(),
        template: text(&a.template),
        disclaimer_text: a
            .disclaimer
            .as_ref()
            .map(|d| d.text.clone())
            .unwrap_or_default(),
        disclaimer_html: a
            .disclaimer
            .as_ref()
            .and_then(|d| d.html.clone())
            .unwrap_or_default(),
        signed: a
            .disclaimer
            .as_ref()
            .map(|d| d.signed.as_str().to_string())
            .unwrap_or_default(),
        reject: text(&a.reject),
        stop: rule.definition.stop,
        enabled: rule.enabled,
    }
}
