//! Server functions: thin adapters over the service the server provides.

use crate::dto::{ComposeOptions, PageContext, PortalView, SentDetail, SentItem};
use leptos::prelude::*;

#[server(endpoint = "page_context")]
pub async fn load_page_context() -> Result<PageContext, ServerFnError> {
    use crate::service::AccountService;
    use std::sync::Arc;

    let service = expect_context::<Arc<dyn AccountService>>();
    let parts = use_context::<http::request::Parts>()
        .ok_or_else(|| ServerFnError::new("no request in context"))?;
    service
        .page_context(&parts)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}

#[server(endpoint = "compose_options")]
pub async fn load_compose_options() -> Result<ComposeOptions, ServerFnError> {
    use crate::service::AccountService;
    use std::sync::Arc;

    let service = expect_context::<Arc<dyn AccountService>>();
    service
        .compose_options()
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}

#[server(endpoint = "portal")]
pub async fn load_portal(token: String) -> Result<PortalView, ServerFnError> {
    use crate::service::AccountService;
    use std::sync::Arc;

    let service = expect_context::<Arc<dyn AccountService>>();
    let parts = use_context::<http::request::Parts>()
        .ok_or_else(|| ServerFnError::new("no request in context"))?;
    service
        .portal(&token, &parts)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}

#[server(endpoint = "sent")]
pub async fn load_sent() -> Result<Vec<SentItem>, ServerFnError> {
    use crate::service::AccountService;
    use std::sync::Arc;

    let service = expect_context::<Arc<dyn AccountService>>();
    let parts = use_context::<http::request::Parts>()
        .ok_or_else(|| ServerFnError::new("no request in context"))?;
    service
        .sent(&parts)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}

#[server(endpoint = "sent_message")]
pub async fn load_sent_message(id: String) -> Result<Option<SentDetail>, ServerFnError> {
    use crate::service::AccountService;
    use std::sync::Arc;

    let service = expect_context::<Arc<dyn AccountService>>();
    let parts = use_context::<http::request::Parts>()
        .ok_or_else(|| ServerFnError::new("no request in context"))?;
    service
        .sent_message(&parts, &id)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}
