use super::AppState;
use crate::auth::{SESSION_USER_ID, csrf};
use crate::portal::{self, Lookup, SESSION_RECIPIENT};
use crate::store::{EventLine, StoreError, UserRow};
use app::dto::{
    CodeSent, ComposeDraft, ComposeOptions, InboxDetail, InboxItem, InboxList, Notice, PageContext,
    Paging, PortalView, SentDetail, SentItem, SentList, Viewer,
};
use app::service::{AccountService, ServiceError};
use tower_sessions::Session;

/// The server's implementation of the UI's service trait.
pub struct PageService {
    state: AppState,
}

impl PageService {
    pub fn new(state: AppState) -> Self {
        PageService { state }
    }
}

/// The signed-in organization user of this session, if any.
pub async fn signed_in_user(
    state: &AppState,
    session: &Session,
) -> Result<Option<UserRow>, StoreError> {
    let Ok(Some(user_id)) = session.get::<String>(SESSION_USER_ID).await else {
        return Ok(None);
    };
    crate::auth::keep_alive(session).await;
    Ok(state
        .store
        .user_by_id(&user_id)
        .await?
        .filter(|u| !u.disabled))
}

/// The signed-in user, unless they still hold a temporary password: until
/// they choose their own, it opens only the password change.
pub async fn active_user(
    state: &AppState,
    session: &Session,
) -> Result<Option<UserRow>, StoreError> {
    Ok(signed_in_user(state, session)
        .await?
        .filter(|u| !u.must_change_password))
}

/// The CSRF token for the page's forms: bound to the session, or for a
/// visitor who has not signed in (and has no stored session) to the
/// visitor cookie.
fn csrf_token(state: &AppState, session: &Session, request: &http::request::Parts) -> String {
    let session_id = session.id().map(|id| id.to_string());
    csrf::token_for(
        &state.csrf_key,
        session_id.as_deref(),
        request.extensions.get::<csrf::Visitor>(),
    )
}

/// The rows a page needs: its own, and one more to tell whether another
/// page follows.
fn page_window(page: u32) -> (i64, i64) {
    let page = i64::from(page.max(1));
    let size = app::dto::PAGE_SIZE as i64;
    ((page - 1) * size, size + 1)
}

fn unavailable(e: impl std::fmt::Display) -> ServiceError {
    tracing::error!(error = %e, "page context failed");
    ServiceError::Unavailable
}

#[async_trait::async_trait]
impl AccountService for PageService {
    async fn page_context(
        &self,
        request: &http::request::Parts,
    ) -> Result<PageContext, ServiceError> {
        let session = request
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| unavailable("no session layer on this route"))?;
        let viewer = signed_in_user(&self.state, &session)
            .await
            .map_err(unavailable)?;
        Ok(PageContext {
            viewer: viewer.map(|u| Viewer {
                role: u.role.into(),
                email: u.email,
                must_change_password: u.must_change_password,
            }),
            csrf_token: csrf_token(&self.state, &session, request),
            notice: match request.extensions.get::<Notice>() {
                Some(notice) => Some(notice.clone()),
                // A notice left by the previous POST (e.g. "sent"), shown once.
                None => super::take::<Notice>(&session, super::FLASH).await,
            },
            draft: request.extensions.get::<ComposeDraft>().cloned(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        })
    }

    async fn compose_options(
        &self,
        request: &http::request::Parts,
        reply: &str,
    ) -> Result<ComposeOptions, ServiceError> {
        let Some(user) = self.viewer_of(request).await? else {
            return Err(ServiceError::NotSignedIn);
        };
        // Only a message in this user's own Inbox.
        let reply = match reply {
            "" => None,
            id => self
                .state
                .store
                .inbox(&user.email, Some(id))
                .await
                .map_err(unavailable)?
                .pop()
                .map(|row| ComposeDraft {
                    to: row.sender,
                    subject: portal::reply::reply_subject(&row.subject),
                    rights: row.rights.map(|r| r.to_string()).unwrap_or_default(),
                    in_reply_to: row.id,
                    ..ComposeDraft::default()
                }),
        };
        let templates = self
            .state
            .store
            .template_names()
            .await
            .map_err(unavailable)?;
        Ok(ComposeOptions {
            default_template: templates
                .iter()
                .find(|(_, is_default)| *is_default)
                .map(|(name, _)| name.clone())
                .unwrap_or_default(),
            templates: templates.into_iter().map(|(name, _)| name).collect(),
            max_message_bytes: self.state.settings.max_message_bytes as u64,
            reply,
        })
    }

    async fn portal(
        &self,
        token: &str,
        request: &http::request::Parts,
    ) -> Result<PortalView, ServiceError> {
        // Made by the page's handler for this request already.
        if let Some(view) = request
            .extensions
            .get::<super::portal_page::Precomputed>()
            .and_then(|made| made.take(token))
        {
            return view;
        }
        let state = &self.state;
        let session = request
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| unavailable("no session layer on this route"))?;
        // A visitor with a session cookie: the link and the session record
        // in one query, and the session's first read below costs nothing.
        let (lookup, preloaded) = match session.id() {
            Some(id) => {
                let (lookup, data) =
                    portal::lookup_with_session(&state.store, token, &id.to_string())
                        .await
                        .map_err(unavailable)?;
                (lookup, Some((id, data)))
            }
            None => (
                portal::lookup(&state.store, token)
                    .await
                    .map_err(unavailable)?,
                None,
            ),
        };
        let row = match lookup {
            Lookup::Invalid => return Ok(PortalView::Invalid),
            Lookup::Revoked(row) => {
                let branding = portal::branding(&row);
                return Ok(PortalView::Revoked { branding });
            }
            Lookup::Removed(row) => {
                let branding = portal::branding(&row);
                return Ok(PortalView::Removed { branding });
            }
            Lookup::Expired(row) => {
                let branding = portal::branding(&row);
                return Ok(PortalView::Expired { branding });
            }
            Lookup::Open(row) => row,
        };
        match preloaded {
            Some((id, data)) => {
                crate::auth::session_store::with_preloaded(
                    id,
                    data,
                    self.open_link(*row, session, request),
                )
                .await
            }
            None => self.open_link(*row, session, request).await,
        }
    }

    async fn inbox(
        &self,
        request: &http::request::Parts,
        page: u32,
    ) -> Result<InboxList, ServiceError> {
        let Some(user) = self.viewer_of(request).await? else {
            return Ok(InboxList::default());
        };
        let (offset, limit) = page_window(page);
        let rows = self
            .state
            .store
            .inbox_page(&user.email, None, offset, limit)
            .await
            .map_err(unavailable)?;
        let (items, paging) = Paging::slice_from(rows.iter().map(Self::inbox_item).collect(), page);
        Ok(InboxList { items, paging })
    }

    async fn inbox_message(
        &self,
        request: &http::request::Parts,
        id: &str,
    ) -> Result<Option<InboxDetail>, ServiceError> {
        let Some(user) = self.viewer_of(request).await? else {
            return Ok(None);
        };
        let store = &self.state.store;
        let Some(row) = store
            .inbox(&user.email, Some(id))
            .await
            .map_err(unavailable)?
            .pop()
        else {
            return Ok(None);
        };
        let (raw, purged) =
            match portal::open_message(store, &self.state.keys.keyring, &row.id).await {
                Ok(raw) => (raw, false),
                // Retention deleted it: the page says so.
                Err(portal::OpenError::NoContent) => (Vec::new(), true),
                Err(e) => return Err(unavailable(e)),
            };
        let message = portal::message_view(
            &raw,
            portal::ViewOf {
                subject: &row.subject,
                sender: &row.sender,
                address: &user.email,
                received_at: row.received_at,
                // External mail expiry does not apply to inline copies.
                expires_at: None,
                rights: row.rights,
            },
        );
        let opened = EventLine {
            kind: "opened in Inbox".into(),
            message_id: Some(row.id.clone()),
            recipient: Some(user.email.clone()),
        };
        if let Err(e) = self.state.event_log.record(opened).await {
            tracing::warn!(error = %e, "an Inbox open was not recorded");
        }
        Ok(Some(InboxDetail {
            item: Self::inbox_item(&row),
            message,
            purged,
        }))
    }

    async fn sent(
        &self,
        request: &http::request::Parts,
        page: u32,
    ) -> Result<SentList, ServiceError> {
        let Some(user) = self.viewer_of(request).await? else {
            return Ok(SentList::default());
        };
        let (offset, limit) = page_window(page);
        let rows = self
            .state
            .store
            .sent_page(&user.email, None, offset, limit)
            .await
            .map_err(unavailable)?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            items.push(self.sent_item(&user.email, row).await?.0);
        }
        let (items, paging) = Paging::slice_from(items, page);
        Ok(SentList { items, paging })
    }

    async fn sent_message(
        &self,
        request: &http::request::Parts,
        id: &str,
    ) -> Result<Option<SentDetail>, ServiceError> {
        let Some(user) = self.viewer_of(request).await? else {
            return Ok(None);
        };
        let Some(row) = self
            .state
            .store
            .sent_messages(&user.email, Some(id))
            .await
            .map_err(unavailable)?
            .pop()
        else {
            return Ok(None);
        };
        let row_id = row.id.clone();
        let (item, can_remove) = self.sent_item(&user.email, row).await?;
        let store = &self.state.store;
        let (body_html, body_text) =
            match portal::open_message(store, &self.state.keys.keyring, &row_id).await {
                Ok(raw) => portal::body(&raw),
                Err(portal::OpenError::NoContent) => (None, String::new()),
                Err(e) => return Err(unavailable(e)),
            };
        let events = store
            .message_events(std::slice::from_ref(&row_id))
            .await
            .map_err(unavailable)?;
        Ok(Some(SentDetail {
            item,
            can_remove,
            body_html,
            body_text,
            timeline: timeline(events),
        }))
    }
}

impl PageService {
    fn inbox_item(row: &crate::store::InboxRow) -> InboxItem {
        InboxItem {
            id: row.id.clone(),
            subject: row.subject.clone(),
            sender: row.sender.clone(),
            received_at: crate::domain::rfc3339(row.received_at),
            rights: row.rights.map(|r| r.to_string()).unwrap_or_default(),
        }
    }

    async fn viewer_of(
        &self,
        request: &http::request::Parts,
    ) -> Result<Option<UserRow>, ServiceError> {
        let Some(session) = request.extensions.get::<Session>() else {
            return Ok(None);
        };
        active_user(&self.state, session).await.map_err(unavailable)
    }

    /// The Sent folder's view of a message, and whether "Remove external
    /// access" applies (revocable, exactly one link-based recipient).
    async fn sent_item(
        &self,
        sender: &str,
        row: crate::store::SentRow,
    ) -> Result<(SentItem, bool), ServiceError> {
        let status =
            crate::services::revocation::status(&self.state.store, &row.message_id, Some(sender))
                .await
                .map_err(unavailable)?
                .pop();
        let recipients = status
            .as_ref()
            .map(|s| {
                s.recipients
                    .iter()
                    .map(|r| app::dto::SentRecipient {
                        address: r.address.clone(),
                        state: format!("{}, {}", r.experience, r.state),
                        can_remove: r.experience == crate::domain::Experience::Link
                            && !matches!(r.state.as_str(), "revoked" | "expired" | "removed"),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let can_remove = status.as_ref().is_some_and(|s| {
            s.is_revocable
                && s.recipients
                    .iter()
                    .filter(|r| r.experience == crate::domain::Experience::Link)
                    .count()
                    == 1
        });
        let item = SentItem {
            id: row.id,
            subject: row.subject,
            sent_at: crate::domain::rfc3339(row.received_at),
            rights: row.rights.map(|r| r.to_string()).unwrap_or_default(),
            recipients,
            revoked: row.revoked_at.is_some(),
            expires: row.expires_at.map(crate::domain::display_time),
        };
        Ok((item, can_remove))
    }
}

/// Events as a timeline: when, what, and who (the recipient or the actor).
pub fn timeline(events: Vec<crate::store::MessageEventRow>) -> Vec<app::dto::TimelineEntry> {
    events
        .into_iter()
        .map(|e| app::dto::TimelineEntry {
            at: crate::domain::rfc3339(e.at),
            what: match e.detail {
                Some(detail) if !detail.is_empty() => format!("{}: {detail}", e.kind),
                _ => e.kind,
            },
            who: e.recipient.or(e.actor).unwrap_or_default(),
        })
        .collect()
}

impl PageService {
    /// An open link's page: the landing page, the message for its
    /// recipient's session, or "signed in as someone else".
    async fn open_link(
        &self,
        row: crate::store::PortalRow,
        session: Session,
        request: &http::request::Parts,
    ) -> Result<PortalView, ServiceError> {
        let state = &self.state;
        let csrf_token = csrf_token(state, &session, request);
        let signed_in = session
            .get::<String>(SESSION_RECIPIENT)
            .await
            .ok()
            .flatten();
        match signed_in {
            Some(address) if address == row.address => {
                crate::auth::keep_alive(&session).await;
                let message = portal::view(&state.store, &state.keys.keyring, &state.views, &row)
                    .await
                    .map_err(unavailable)?;
                state.metrics.portal_open();
                // "opened" once per recipient session and copy: a reload is
                // not another event, nor another durable write.
                let session_id = session.id().map(|id| id.to_string()).unwrap_or_default();
                if state.opened.first(&session_id, &row.recipient_id) {
                    let opened = EventLine {
                        kind: "opened".into(),
                        message_id: Some(row.message_row.clone()),
                        recipient: Some(row.address.clone()),
                    };
                    if let Err(e) = state.event_log.record(opened).await {
                        tracing::warn!(error = %e, "an open was not recorded");
                    }
                }
                // The page's one query said whether there is more to read.
                let replies = if row.replies > 0 {
                    portal::reply::earlier(&state.store, &state.keys.keyring, &row.recipient_id)
                        .await
                        .map_err(unavailable)?
                } else {
                    Vec::new()
                };
                let mut message = (*message).clone();
                // Reply all offers no one whose access the sender removed.
                if !message.others.is_empty() {
                    let removed = state
                        .store
                        .removed_recipients(&row.message_row)
                        .await
                        .map_err(unavailable)?;
                    message.others.retain(|a| !removed.contains(a));
                }
                Ok(PortalView::Message {
                    branding: portal::branding(&row),
                    message,
                    csrf_token,
                    notice: match request.extensions.get::<Notice>() {
                        Some(notice) => Some(notice.clone()),
                        None => super::take::<Notice>(&session, super::FLASH).await,
                    },
                    replies,
                    max_message_bytes: state.settings.max_message_bytes as u64,
                })
            }
            Some(other) => Ok(PortalView::WrongPerson {
                signed_in_as: other,
                sent_to: row.address.clone(),
                csrf_token,
            }),
            None => {
                // A social sign-in that came back with another address.
                if let Some(other) =
                    super::take::<String>(&session, portal::oauth::SESSION_MISMATCH).await
                {
                    return Ok(PortalView::WrongPerson {
                        signed_in_as: other,
                        sent_to: row.address.clone(),
                        csrf_token,
                    });
                }
                Ok(PortalView::Landing {
                    branding: portal::branding(&row),
                    sender: row.sender.clone(),
                    otp_enabled: row.otp_enabled,
                    providers: if row.social_enabled {
                        state
                            .settings
                            .oauth
                            .iter()
                            .map(|p| (p.id.to_string(), p.label.to_string()))
                            .collect()
                    } else {
                        Vec::new()
                    },
                    csrf_token,
                    notice: match request.extensions.get::<Notice>() {
                        Some(notice) => Some(notice.clone()),
                        None => super::take::<Notice>(&session, super::FLASH).await,
                    },
                    code_sent: request.extensions.get::<CodeSent>().cloned(),
                })
            }
        }
    }
}
