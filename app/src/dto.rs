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
    /// The form prefilled as a reply to an Inbox message.
    pub reply: Option<ComposeDraft>,
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
    /// Days until external recipients can no longer open it; empty: the
    /// template's expiry.
    pub expiry_days: String,
    /// The Inbox message this answers (its id), threaded under it.
    pub in_reply_to: String,
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
    /// The template's privacy statement, linked in the page's footer.
    pub privacy_url: Option<String>,
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
    /// Sanitised on the server (ammonia): safe to insert as HTML. Shared,
    /// not copied: the portal keeps decrypted views in a cache and renders
    /// the same body on every request.
    pub body_html: Option<std::sync::Arc<str>>,
    pub body_text: std::sync::Arc<str>,
    pub attachments: Vec<AttachmentInfo>,
    pub do_not_forward: bool,
    /// The other recipients the message names (To, Cc), for Reply all:
    /// not the reader, not the sender.
    pub others: Vec<String>,
}

/// A reply the recipient sent from the portal, shown under the message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarlierReply {
    pub at: String,
    pub to: String,
    pub body_text: String,
    pub attachments: Vec<String>,
}

/// What `/r/{token}` shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PortalView {
    Invalid,
    Revoked {
        branding: Branding,
    },
    /// The sender removed this recipient's access (the others may read).
    Removed {
        branding: Branding,
    },
    Expired {
        branding: Branding,
    },
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
        notice: Option<Notice>,
        /// What this recipient answered so far, oldest first.
        replies: Vec<EarlierReply>,
        max_message_bytes: u64,
    },
}

/// One message in the sender's Sent folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentItem {
    pub id: String,
    pub subject: String,
    pub sent_at: String,
    pub rights: String,
    pub recipients: Vec<SentRecipient>,
    pub revoked: bool,
    /// When the message stops opening for external recipients, if ever.
    pub expires: Option<String>,
}

/// One recipient of a sent message, as the Sent folder lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentRecipient {
    pub address: String,
    /// `link, opened`, `inline, delivered`, `link, removed`, ...
    pub state: String,
    /// "Remove access" applies: a link-based copy still readable.
    pub can_remove: bool,
}

/// A page of the Sent folder.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentList {
    pub items: Vec<SentItem>,
    pub paging: Paging,
}

/// A page of the Inbox.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxList {
    pub items: Vec<InboxItem>,
    pub paging: Paging,
}

/// One sent message with what its sender may do about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentDetail {
    pub item: SentItem,
    /// "Remove external access" applies: revocable, one link-based recipient.
    pub can_remove: bool,
    /// The message, decrypted for its sender; HTML sanitised on the server.
    pub body_html: Option<String>,
    pub body_text: String,
    /// What happened to it, oldest first (notified, code sent, opened, ...).
    pub timeline: Vec<TimelineEntry>,
}

impl Notice {
    pub fn success(text: impl Into<String>) -> Self {
        Notice {
            kind: NoticeKind::Success,
            text: text.into(),
            email: None,
        }
    }
}

/// The encryption report's and the message trace's filters, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MessageFilter {
    /// `2026-11-23` or `2026-11-23T09:15:02Z`; empty: two days before `until`.
    pub since: String,
    /// Empty: now.
    pub until: String,
    pub sender: String,
    pub recipient: String,
    /// Report only: `protected`, `revoked`, `expired`, ...; empty: any.
    pub state: String,
    /// Which page of 50 lines, from 1; empty: the first.
    pub page: String,
}

/// One message in the report or the trace; also the trace's JSON (the
/// command line's and the API's field names).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessageLine {
    pub message_id: String,
    pub received_at: String,
    pub sender: String,
    pub recipients: String,
    pub subject: String,
    pub protected: bool,
    pub state: String,
}

/// The messages matching a filter, or why the filter was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageList {
    /// This page's lines (at most `PAGE_SIZE`).
    pub lines: Vec<MessageLine>,
    pub error: Option<String>,
    pub paging: Paging,
    /// The report's chart: protected messages per day by state.
    pub chart: Option<ReportChart>,
}

/// Lists page at this many lines.
pub const PAGE_SIZE: usize = 50;

/// Where a paged list is: its page (from 1) and whether more follow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paging {
    pub page: u32,
    pub has_next: bool,
}

impl Paging {
    /// The page a `page` query value asks for (1 when absent or not a number).
    pub fn requested(text: &str) -> u32 {
        text.trim()
            .parse::<u32>()
            .ok()
            .filter(|p| *p >= 1)
            .unwrap_or(1)
    }

    /// A page read from the store already (at most one line past it, which
    /// says another page follows).
    pub fn slice_from<T>(mut items: Vec<T>, page: u32) -> (Vec<T>, Paging) {
        let has_next = items.len() > PAGE_SIZE;
        items.truncate(PAGE_SIZE);
        (
            items,
            Paging {
                page: page.max(1),
                has_next,
            },
        )
    }

    /// This page's share of `items`, and where it is.
    pub fn slice<T>(items: Vec<T>, page: u32) -> (Vec<T>, Paging) {
        let start = (page as usize - 1).saturating_mul(PAGE_SIZE);
        let has_next = items.len() > start.saturating_add(PAGE_SIZE);
        let lines = items.into_iter().skip(start).take(PAGE_SIZE).collect();
        (lines, Paging { page, has_next })
    }
}

/// Protected messages per day of the selected period, by what became of
/// them (each message counted once: revoked, else expired, else opened by
/// a recipient, else sent).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportChart {
    pub days: Vec<DayCount>,
    /// The period was longer than the chart shows: only its last days.
    pub truncated: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCount {
    /// `2026-12-03` (UTC).
    pub day: String,
    pub sent: u32,
    pub opened: u32,
    pub revoked: u32,
    pub expired: u32,
}

impl DayCount {
    pub fn total(&self) -> u32 {
        self.sent + self.opened + self.revoked + self.expired
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientLine {
    pub address: String,
    pub experience: String,
    pub state: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: String,
    pub what: String,
    pub who: String,
}

/// A message as the administrator inspects it: its revocation status and
/// what happened to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageDetail {
    pub message_id: String,
    pub subject: String,
    pub sender: String,
    pub sent_at: String,
    pub is_revocable: bool,
    pub revoked: bool,
    pub revoked_at: Option<String>,
    pub expires_at: Option<String>,
    pub recipients: Vec<RecipientLine>,
    pub timeline: Vec<TimelineEntry>,
}

/// A branding template's fields, as the admin pages edit them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateFields {
    pub name: String,
    pub is_default: bool,
    pub logo_url: Option<String>,
    pub background_color: String,
    pub introduction_text: String,
    pub read_button_text: String,
    pub email_text: String,
    pub disclaimer_text: String,
    pub portal_text: String,
    pub privacy_statement_url: String,
    pub otp_enabled: bool,
    pub social_enabled: bool,
    pub expiry_days: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserLine {
    pub email: String,
    pub role: String,
    pub disabled: bool,
    pub must_change_password: bool,
    pub created_at: String,
}

/// Black or white, whichever reads better on a `#rrggbb` background
/// (WCAG relative luminance).
pub fn readable_text_on(background: &str) -> &'static str {
    let hex = background.trim_start_matches('#');
    let channel = |i: usize| {
        u8::from_str_radix(hex.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0) as f64 / 255.0
    };
    let linear = |c: f64| {
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance =
        0.2126 * linear(channel(0)) + 0.7152 * linear(channel(2)) + 0.0722 * linear(channel(4));
    if luminance > 0.179 {
        "#000000"
    } else {
        "#ffffff"
    }
}

/// A protected message in an organization user's Inbox (an inline copy).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxItem {
    pub id: String,
    pub subject: String,
    pub sender: String,
    pub received_at: String,
    pub rights: String,
}

/// One Inbox message, decrypted for its recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxDetail {
    pub item: InboxItem,
    pub message: MessageView,
    /// Retention deleted its content: only its headers remain.
    pub purged: bool,
}

/// One job of the pipeline or outbound queue, as `/admin/queue` shows it
/// (the fields of `sealpost queue list`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueLine {
    pub id: String,
    /// `pipeline` or `outbound`.
    pub kind: String,
    /// `ready`, `waiting` or `quarantined`.
    pub state: String,
    pub purpose: String,
    pub message_id: String,
    pub sender: String,
    pub recipients: String,
    pub attempts: i64,
    pub next_try: String,
    pub last_error: String,
}

/// The organization's protection settings, as the admin settings page shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectionSettings {
    /// `disabled`, `optional` or `mandatory`.
    pub transport_decryption: String,
    /// `pass` or `reject`.
    pub foreign_protected: String,
}

/// A transport rule in the admin list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleLine {
    pub name: String,
    pub priority: i64,
    pub enabled: bool,
    /// "If ...: ..." in one sentence.
    pub description: String,
}

/// The rule form's fields as text, as typed (a refused form comes back
/// with what was typed). Lists hold one entry per line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleForm {
    /// The rule being edited; empty for a new one.
    pub original_name: String,
    pub name: String,
    pub priority: String,
    pub from: String,
    pub sent_to: String,
    pub sent_to_scope: String,
    pub subject_or_body_contains: String,
    pub subject_or_body_matches: String,
    pub attachment_name_matches: String,
    pub attachment_type: String,
    pub size_over: String,
    /// `us-ssn:2`, one kind per line.
    pub contains_sensitive: String,
    pub prepend_subject: String,
    pub apply_protection: String,
    pub template: String,
    pub disclaimer_text: String,
    pub disclaimer_html: String,
    /// `wrap`, `skip` or `reject`.
    pub signed: String,
    pub reject: String,
    pub stop: bool,
    pub enabled: bool,
}

/// The rules page: the rules in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleList {
    pub rules: Vec<RuleLine>,
}

/// The rule form page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleEdit {
    pub form: RuleForm,
    /// The branding templates a protection action can use.
    pub templates: Vec<String>,
}

/// What `/admin/audit` asks for (the options of `sealpost audit`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// `2026-11-23` or `2026-11-23T09:15:02Z`; empty: from the start.
    pub since: String,
    /// An organization user's email, or an actor as the trail spells it;
    /// empty: everyone.
    pub actor: String,
}

/// One change in the audit trail, as `/admin/audit` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLine {
    pub at: String,
    pub actor: String,
    /// `web`, `api` or `cli`.
    pub surface: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// The newest changes that match, newest first, or why the query was refused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditList {
    pub lines: Vec<AuditLine>,
    /// More matched than the page shows (`sealpost audit` lists them all).
    pub more: bool,
    pub error: Option<String>,
}
