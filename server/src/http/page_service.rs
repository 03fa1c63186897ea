use super::AppState;
use crate::auth::{SESSION_USER_ID, csrf};
use crate::store::{StoreError, UserRow};
use app::dto::{ComposeDraft, ComposeOptions, Notice, PageContext, Role, Viewer};
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
    Ok(state
        .store
        .user_by_id(&user_id)
        .await?
        .filter(|u| !u.disabled))
}

/// Makes sure the session has an id, so a CSRF token can be bound to it.
pub async fn ensure_session_id(
    session: &Session,
) -> Result<String, tower_sessions::session::Error> {
    if session.id().is_none() {
        session.insert("started", crate::store::now_ms()).await?;
        session.save().await?;
    }
    Ok(session.id().map(|id| id.to_string()).unwrap_or_default())
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
        let session_id = ensure_session_id(&session).await.map_err(unavailable)?;
        Ok(PageContext {
            viewer: viewer.map(|u| Viewer {
                role: if u.role == "admin" {
                    Role::Admin
                } else {
                    Role::Sender
                },
                email: u.email,
                must_change_password: u.must_change_password,
            }),
            csrf_token: csrf::token(&self.state.csrf_key, &session_id),
            notice: match request.extensions.get::<Notice>() {
                Some(notice) => Some(notice.clone()),
                // A notice left by the previous POST (e.g. "sent"), shown once.
                None => session.remove::<Notice>(super::FLASH).await.ok().flatten(),
            },
            draft: request.extensions.get::<ComposeDraft>().cloned(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        })
    }

    async fn compose_options(&self) -> Result<ComposeOptions, ServiceError> {
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
        })
    }
}
