//! Server functions: thin adapters over the service the server provides.

use crate::dto::{ComposeOptions, PageContext, PortalView};
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
