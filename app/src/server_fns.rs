//! Server functions: thin adapters over the service the server provides.

use crate::dto::{
    AuditList, AuditQuery, ComposeOptions, InboxDetail, InboxList, MessageDetail, MessageFilter,
    MessageList, PageContext, PortalView, ProtectionSettings, QueueLine, RuleEdit, RuleList,
    SentDetail, SentList, TemplateFields, UserLine,
};
use leptos::prelude::*;

#[server(endpoint = "page_context")]
pub async fn load_page_context() -> Result<PageContext, ServerFnError> {
    with_account(|s, parts| async move { s.page_context(&parts).await }).await
}

#[server(endpoint = "compose_options")]
pub async fn load_compose_options(reply: String) -> Result<ComposeOptions, ServerFnError> {
    with_account(|s, parts| async move { s.compose_options(&parts, &reply).await }).await
}

#[server(endpoint = "portal")]
pub async fn load_portal(token: String) -> Result<PortalView, ServerFnError> {
    with_account(|s, parts| async move { s.portal(&token, &parts).await }).await
}

#[server(endpoint = "sent")]
pub async fn load_sent(page: u32) -> Result<SentList, ServerFnError> {
    with_account(|s, parts| async move { s.sent(&parts, page).await }).await
}

#[server(endpoint = "sent_message")]
pub async fn load_sent_message(id: String) -> Result<Option<SentDetail>, ServerFnError> {
    with_account(|s, parts| async move { s.sent_message(&parts, &id).await }).await
}

/// Runs one method of the account service with the request it serves.
#[cfg(feature = "ssr")]
async fn with_account<T, F, Fut>(call: F) -> Result<T, ServerFnError>
where
    F: FnOnce(std::sync::Arc<dyn crate::service::AccountService>, http::request::Parts) -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::service::ServiceError>>,
{
    let service = expect_context::<std::sync::Arc<dyn crate::service::AccountService>>();
    let parts = use_context::<http::request::Parts>()
        .ok_or_else(|| ServerFnError::new("no request in context"))?;
    call(service, parts)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}

/// Runs one method of the admin service with the request it serves.
#[cfg(feature = "ssr")]
async fn with_admin<T, F, Fut>(call: F) -> Result<T, ServerFnError>
where
    F: FnOnce(std::sync::Arc<dyn crate::service::AdminService>, http::request::Parts) -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::service::ServiceError>>,
{
    let service = expect_context::<std::sync::Arc<dyn crate::service::AdminService>>();
    let parts = use_context::<http::request::Parts>()
        .ok_or_else(|| ServerFnError::new("no request in context"))?;
    call(service, parts)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}

#[server(endpoint = "admin_messages")]
pub async fn load_admin_messages(
    filter: MessageFilter,
    protected_only: bool,
) -> Result<MessageList, ServerFnError> {
    with_admin(|s, parts| async move { s.messages(&parts, filter, protected_only).await }).await
}

#[server(endpoint = "admin_message")]
pub async fn load_admin_message(
    message_id: String,
    sender: String,
) -> Result<Option<MessageDetail>, ServerFnError> {
    with_admin(|s, parts| async move { s.message(&parts, message_id, sender).await }).await
}

#[server(endpoint = "admin_templates")]
pub async fn load_admin_templates() -> Result<Vec<TemplateFields>, ServerFnError> {
    with_admin(|s, parts| async move { s.templates(&parts).await }).await
}

#[server(endpoint = "admin_users")]
pub async fn load_admin_users() -> Result<Vec<UserLine>, ServerFnError> {
    with_admin(|s, parts| async move { s.users(&parts).await }).await
}

#[server(endpoint = "inbox")]
pub async fn load_inbox(page: u32) -> Result<InboxList, ServerFnError> {
    with_account(|s, parts| async move { s.inbox(&parts, page).await }).await
}

#[server(endpoint = "inbox_message")]
pub async fn load_inbox_message(id: String) -> Result<Option<InboxDetail>, ServerFnError> {
    with_account(|s, parts| async move { s.inbox_message(&parts, &id).await }).await
}

#[server(endpoint = "admin_settings")]
pub async fn load_admin_settings() -> Result<ProtectionSettings, ServerFnError> {
    with_admin(|s, parts| async move { s.protection_settings(&parts).await }).await
}

#[server(endpoint = "admin_audit")]
pub async fn load_admin_audit(query: AuditQuery) -> Result<AuditList, ServerFnError> {
    with_admin(|s, parts| async move { s.audit(&parts, query).await }).await
}

#[server(endpoint = "admin_queue")]
pub async fn load_admin_queue() -> Result<Vec<QueueLine>, ServerFnError> {
    with_admin(|s, parts| async move { s.queue(&parts).await }).await
}

#[server(endpoint = "admin_rules")]
pub async fn load_admin_rules() -> Result<RuleList, ServerFnError> {
    with_admin(|s, parts| async move { s.rules(&parts).await }).await
}

#[server(endpoint = "admin_rule")]
pub async fn load_admin_rule(name: String) -> Result<Option<RuleEdit>, ServerFnError> {
    with_admin(|s, parts| async move { s.rule_form(&parts, name).await }).await
}
