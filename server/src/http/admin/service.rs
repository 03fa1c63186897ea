//! The server's implementation of the admin pages' service (what the
//! pages load); the forms they post are in the resource modules.

use super::super::AppState;
use super::super::page_service::timeline;
use super::gate::{require_admin, unavailable};
use super::report::{message_lines, parse_filter};
use super::rules::form_of;
use super::templates::template_fields;
use crate::services::trace as msg_trace;
use app::dto::{
    AuditLine, AuditList, AuditQuery, MessageDetail, MessageFilter, MessageList, Paging,
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

#[async_trait::async_trait]
impl AdminService for AdminPages {
    async fn messages(
        &self,
        request: &http::request::Parts,
        filter: MessageFilter,
        protected_only: bool,
    ) -> Result<MessageList, ServiceError> {
        require_admin(&self.state, request.extensions.get::<Session>()).await?;
        let lines = match message_lines(&self.state, &filter, protected_only)
            .await
            .map_err(unavailable)?
        {
            Ok(lines) => lines,
            Err(e) => {
                return Ok(MessageList {
                    lines: Vec::new(),
                    error: Some(e),
                    paging: Paging::default(),
                    chart: None,
                });
            }
        };
        let chart = match protected_only {
            // The filter parsed above: it parses again the same way.
            true => match parse_filter(&filter) {
                Ok(query) => Some(
                    msg_trace::chart(&self.state.store, &query)
                        .await
                        .map_err(unavailable)?,
                ),
                Err(_) => None,
            },
            false => None,
        };
        let (lines, paging) = Paging::slice(lines, Paging::requested(&filter.page));
        Ok(MessageList {
            lines,
            error: None,
            paging,
            chart,
        })
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
