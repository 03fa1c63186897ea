//! The interface the server implements for the pages (server side only).

use crate::dto::{
    AuditList, AuditQuery, ComposeOptions, InboxDetail, InboxList, MessageDetail, MessageFilter,
    MessageList, PageContext, PortalView, ProtectionSettings, QueueLine, RuleEdit, RuleList,
    SentDetail, SentList, TemplateFields, UserLine,
};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Shown to the user as is; the cause went to the server log.
    #[error("sealpost cannot answer right now. Please try again in a moment.")]
    Unavailable,
    #[error("This page is for administrators.")]
    Forbidden,
    #[error("Please sign in first.")]
    NotSignedIn,
}

#[async_trait::async_trait]
pub trait AccountService: Send + Sync + 'static {
    /// Who is asking, their CSRF token and any notice for the page.
    async fn page_context(
        &self,
        request: &http::request::Parts,
    ) -> Result<PageContext, ServiceError>;

    /// The compose form's choices, for a signed-in user (`NotSignedIn`
    /// for anyone else); prefilled as a reply to one of the user's Inbox
    /// messages when `reply` names one.
    async fn compose_options(
        &self,
        request: &http::request::Parts,
        reply: &str,
    ) -> Result<ComposeOptions, ServiceError>;

    /// A page (from 1) of the signed-in user's protected messages, newest first.
    async fn sent(
        &self,
        request: &http::request::Parts,
        page: u32,
    ) -> Result<SentList, ServiceError>;

    /// One of them; None when it is not the user's (or does not exist).
    async fn sent_message(
        &self,
        request: &http::request::Parts,
        id: &str,
    ) -> Result<Option<SentDetail>, ServiceError>;

    /// A page (from 1) of the signed-in user's inline copies, newest first.
    async fn inbox(
        &self,
        request: &http::request::Parts,
        page: u32,
    ) -> Result<InboxList, ServiceError>;

    /// One of them, decrypted (an event); None when it is not the user's.
    async fn inbox_message(
        &self,
        request: &http::request::Parts,
        id: &str,
    ) -> Result<Option<InboxDetail>, ServiceError>;

    /// What the recipient's link shows now: checked on every request.
    async fn portal(
        &self,
        token: &str,
        request: &http::request::Parts,
    ) -> Result<PortalView, ServiceError>;
}

/// The administrator's pages. Every method checks that the request comes
/// from a signed-in administrator (`Forbidden` otherwise).
#[async_trait::async_trait]
pub trait AdminService: Send + Sync + 'static {
    /// The encryption report (`protected_only`) or the message trace.
    async fn messages(
        &self,
        request: &http::request::Parts,
        filter: MessageFilter,
        protected_only: bool,
    ) -> Result<MessageList, ServiceError>;

    /// One message by (Message-ID, sender); None when there is none.
    async fn message(
        &self,
        request: &http::request::Parts,
        message_id: String,
        sender: String,
    ) -> Result<Option<MessageDetail>, ServiceError>;

    async fn templates(
        &self,
        request: &http::request::Parts,
    ) -> Result<Vec<TemplateFields>, ServiceError>;

    async fn users(&self, request: &http::request::Parts) -> Result<Vec<UserLine>, ServiceError>;

    async fn protection_settings(
        &self,
        request: &http::request::Parts,
    ) -> Result<ProtectionSettings, ServiceError>;

    /// The newest changes of the audit trail that match, newest first.
    async fn audit(
        &self,
        request: &http::request::Parts,
        query: AuditQuery,
    ) -> Result<AuditList, ServiceError>;

    /// The jobs still to run or set aside (quarantined first), oldest first.
    async fn queue(&self, request: &http::request::Parts) -> Result<Vec<QueueLine>, ServiceError>;

    /// The transport rules in the order they run.
    async fn rules(&self, request: &http::request::Parts) -> Result<RuleList, ServiceError>;

    /// The form for the rule named `name` (a new rule when empty), or what
    /// a refused form held; None when there is no such rule.
    async fn rule_form(
        &self,
        request: &http::request::Parts,
        name: String,
    ) -> Result<Option<RuleEdit>, ServiceError>;
}
