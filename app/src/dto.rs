//! Data exchanged between the server and the pages.

use serde::{Deserialize, Serialize};

/// The role of an organization user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Sender,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Sender => "sender",
            Role::Admin => "admin",
        }
    }
}

/// The signed-in organization user, as the pages may show them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub email: String,
    pub role: Role,
    pub must_change_password: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoticeKind {
    Error,
    Success,
}

/// A message for the person in front of the page, e.g. why a form was refused.
/// The server attaches it to the request that re-renders a page after a POST.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub kind: NoticeKind,
    pub text: String,
    /// What the person typed into the email field, so they need not type it again.
    pub email: Option<String>,
}

impl Notice {
    pub fn error(text: impl Into<String>) -> Self {
        Notice {
            kind: NoticeKind::Error,
            text: text.into(),
            email: None,
        }
    }
}

/// What the compose form needs: the templates to choose from and the size limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComposeOptions {
    pub templates: Vec<String>,
    pub default_template: String,
    pub max_message_bytes: u64,
}

/// What the person typed into the compose form, kept when it is refused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComposeDraft {
    pub to: String,
    pub cc: String,
    pub subject: String,
    pub body: String,
    pub rights: String,
    pub template: String,
}

/// Everything a page needs to know about the request it renders for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageContext {
    pub viewer: Option<Viewer>,
    /// The CSRF token every POST form carries in its hidden `csrf` field.
    pub csrf_token: String,
    pub notice: Option<Notice>,
    pub draft: Option<ComposeDraft>,
    pub version: String,
}

/// A template's look, for the portal pages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branding {
    pub background_color: String,
    /// Black or white, whichever reads on the background.
    pub text_color: String,
    pub portal_text: Option<String>,
    pub disclaimer_text: Option<String>,
    /// Where the template's logo is served, when it has one.
    pub logo_url: Option<String>,
}

/// Told after a passcode was sent: where to, and the reference to match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeSent {
    pub address: String,
    pub reference: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentInfo {
    pub index: usize,
    pub name: String,
    pub size: u64,
}

/// The decrypted message, as the portal shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    pub subject: String,
    pub sender: String,
    pub to: String,
    pub date: String,
    pub expires: Option<String>,
    /// Sanitised on the server (ammonia): safe to insert as HTML.
    pub body_html: Option<String>,
    pub body_text: String,
    pub attachments: Vec<AttachmentInfo>,
    pub do_not_forward: bool,
}

/// What `/r/{token}` shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PortalView {
    Invalid,
    Revoked,
    Expired,
    Landing {
        branding: Branding,
        sender: String,
        otp_enabled: bool,
        /// Social sign-in offered: (`google`, `Google`), ...
        providers: Vec<(String, String)>,
        csrf_token: String,
        notice: Option<Notice>,
        code_sent: Option<CodeSent>,
    },
    WrongPerson {
        signed_in_as: String,
        sent_to: String,
        csrf_token: String,
    },
    Message {
        branding: Branding,
        message: MessageView,
        csrf_token: String,
    },
}

/// One message in the sender's Sent folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentItem {
    pub id: String,
    pub subject: String,
    pub sent_at: String,
    pub rights: String,
    /// `bob@gmail.example (notified)`, ...
    pub recipients: Vec<String>,
    pub revoked: bool,
}

/// One sent message with what its sender may do about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentDetail {
    pub item: SentItem,
    /// "Remove external access" applies: revocable, one link-based recipient.
    pub can_remove: bool,
}
