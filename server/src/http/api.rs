//! The JSON API under `/api/v1`: message status and revocation, trace and
//! templates, for scripts. A bearer token acts as its user, with that
//! user's role: senders reach only their own messages; trace and templates
//! are the administrator's.

use super::AppState;
use crate::auth::api_token;
use crate::domain::Actor;
use crate::domain::Change;
use crate::services::revocation::{self, MessageStatus, RevokeError};
use crate::services::templates::{self, LogoImage, TemplateChanges, TemplateError};
use crate::services::trace::{self as msg_trace, TraceQuery};
use crate::store::{StoreError, TemplateFull, UserRow};
use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

/// An API error: `{"error": "<sentence>", "code": "..."}`.
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        // Field names as the command line spells them, without its dashes.
        let message: String = message.into();
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            message.trim_start_matches("--"),
        )
    }

    fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    fn unavailable(e: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %e, "API request failed");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "sealpost cannot answer right now. Please try again in a moment.",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::unavailable(&e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({ "error": self.message, "code": self.code })),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"sealpost\""),
            );
        }
        response
    }
}

/// The user a valid bearer token acts as.
pub struct ApiUser {
    user: UserRow,
    token_name: String,
}

impl ApiUser {
    fn is_admin(&self) -> bool {
        self.user.role == crate::domain::Role::Admin
    }

    fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "This operation is for administrators; the token acts as a sender.",
            ))
        }
    }

    fn actor(&self) -> Actor {
        Actor::Token {
            name: self.token_name.clone(),
            user: self.user.email.clone(),
        }
    }
}

/// A query string, refused the API's way (JSON, `invalid`) when it does not
/// read: a repeated or malformed parameter.
struct Query<T>(T);

impl<T: serde::de::DeserializeOwned + Send> FromRequestParts<AppState> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| ApiError::invalid(format!("the query string: {}", e.body_text())))
    }
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthorized = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "A valid API token is required: Authorization: Bearer <token>.",
            )
        };
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(unauthorized)?;
        let hash = api_token::hash(presented).ok_or_else(unauthorized)?;
        let (user, token_name) = state
            .store
            .api_token_user(&hash)
            .await?
            .ok_or_else(unauthorized)?;
        if user.must_change_password {
            return Err(ApiError::forbidden(
                "The token's user holds a temporary password: they must choose their own first.",
            ));
        }
        Ok(ApiUser { user, token_name })
    }
}

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/messages/{message_id}", get(message_status))
        .route("/api/v1/messages/{message_id}/revoke", post(revoke))
        .route("/api/v1/trace", get(trace))
        .route(
            "/api/v1/templates",
            get(list_templates).post(create_template),
        )
        .route(
            "/api/v1/templates/{name}",
            get(show_template)
                .put(update_template)
                .delete(remove_template),
        )
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "There is no such API path.",
            )
        })
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
        .into_response()
}

#[derive(Deserialize, Default)]
pub struct SenderQuery {
    sender: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct RevokeQuery {
    sender: Option<String>,
    /// Remove only this link-based recipient's access.
    recipient: Option<String>,
}

/// The messages under a Message-ID that this token may see: all of them for
/// an administrator, the user's own for a sender (403 when the Message-ID
/// is only another sender's).
async fn visible_status(
    state: &AppState,
    who: &ApiUser,
    message_id: &str,
    sender: Option<&str>,
) -> Result<Vec<MessageStatus>, ApiError> {
    let sender = msg_trace::parse_address("sender", sender).map_err(ApiError::invalid)?;
    if !who.is_admin() && sender.as_deref().is_some_and(|s| s != who.user.email) {
        return Err(ApiError::forbidden(
            "A sender's token sees only that sender's messages.",
        ));
    }
    let found = revocation::status(&state.store, message_id, sender.as_deref()).await?;
    if found.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "No message with Message-ID {}.",
                crate::domain::normalise_message_id(message_id)
            ),
        ));
    }
    if who.is_admin() {
        return Ok(found);
    }
    let own: Vec<_> = found
        .into_iter()
        .filter(|s| s.sender == who.user.email)
        .collect();
    if own.is_empty() {
        return Err(ApiError::forbidden(
            "A sender's token sees only that sender's messages.",
        ));
    }
    Ok(own)
}

async fn message_status(
    State(state): State<AppState>,
    who: ApiUser,
    Path(message_id): Path<String>,
    Query(q): Query<SenderQuery>,
) -> Result<Json<Vec<MessageStatus>>, ApiError> {
    Ok(Json(
        visible_status(&state, &who, &message_id, q.sender.as_deref()).await?,
    ))
}

async fn revoke(
    State(state): State<AppState>,
    who: ApiUser,
    Path(message_id): Path<String>,
    Query(q): Query<RevokeQuery>,
) -> Result<Json<MessageStatus>, ApiError> {
    let recipient = match q.recipient.as_deref() {
        Some(text) => Some(
            crate::domain::EmailAddress::parse(text)
                .map_err(|e| ApiError::invalid(format!("recipient: {e}.")))?,
        ),
        None => None,
    };
    let visible = visible_status(&state, &who, &message_id, q.sender.as_deref()).await?;
    // A sender revokes their own message even when others share the id.
    let sender = match (who.is_admin(), q.sender) {
        (false, _) => Some(who.user.email.clone()),
        (true, Some(s)) => Some(s),
        (true, None) if visible.len() == 1 => Some(visible[0].sender.clone()),
        (true, None) => None,
    };
    let by = if who.is_admin() {
        revocation::Revoker::Administrator
    } else {
        revocation::Revoker::Sender
    };
    let done = match &recipient {
        Some(recipient) => {
            revocation::remove_access(
                &state.store,
                &who.actor(),
                &message_id,
                sender.as_deref(),
                recipient,
            )
            .await
        }
        None => {
            revocation::revoke(
                &state.store,
                &who.actor(),
                &message_id,
                sender.as_deref(),
                by,
            )
            .await
        }
    };
    match done {
        Ok(status) => Ok(Json(status)),
        Err(e) => {
            let code = match &e {
                RevokeError::NotFound(_) => "not_found",
                RevokeError::Ambiguous { .. } => "ambiguous",
                RevokeError::NotRevocable { .. } => "not_revocable",
                RevokeError::AlreadyRevoked(_) => "already_revoked",
                RevokeError::Expired(_) => "expired",
                RevokeError::NotARecipient { .. } => "not_a_recipient",
                RevokeError::AlreadyRemoved { .. } => "already_removed",
                RevokeError::Store(e) => return Err(ApiError::unavailable(e)),
            };
            let status = if code == "not_found" {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::CONFLICT
            };
            let mut text = e.to_string();
            if let RevokeError::Ambiguous { .. } = e {
                text.push_str(" Name one with ?sender=.");
            }
            Err(ApiError::new(status, code, text))
        }
    }
}

#[derive(Deserialize, Default)]
pub struct TraceParams {
    sender: Option<String>,
    recipient: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

async fn trace(
    State(state): State<AppState>,
    who: ApiUser,
    Query(p): Query<TraceParams>,
) -> Result<Json<Vec<msg_trace::TraceEntry>>, ApiError> {
    who.require_admin()?;
    let time = |field: &str, t: Option<String>| {
        t.filter(|t| !t.trim().is_empty())
            .map(|t| msg_trace::parse_time(field, &t))
            .transpose()
            .map_err(ApiError::invalid)
    };
    let query = TraceQuery {
        sender: msg_trace::parse_address("sender", p.sender.as_deref())
            .map_err(ApiError::invalid)?,
        recipient: msg_trace::parse_address("recipient", p.recipient.as_deref())
            .map_err(ApiError::invalid)?,
        since: time("since", p.since)?,
        until: time("until", p.until)?,
    };
    Ok(Json(msg_trace::trace(&state.store, &query).await?))
}

/// A template as the API shows it (the command line's field names).
pub fn template_json(t: &TemplateFull) -> Value {
    json!({
        "Name": t.name,
        "IsDefault": t.is_default,
        "Logo": t.logo.as_ref().map(|l| json!({
            "ContentType": t.logo_content_type,
            "Bytes": l.len(),
        })),
        "BackgroundColor": t.background_color,
        "IntroductionText": t.introduction_text,
        "ReadButtonText": t.read_button_text,
        "EmailText": t.email_text,
        "DisclaimerText": t.disclaimer_text,
        "PortalText": t.portal_text,
        "PrivacyStatementUrl": t.privacy_statement_url,
        "OTPEnabled": t.otp_enabled,
        "SocialIDSignIn": t.social_enabled,
        "ExternalMailExpiryInDays": t.expiry_days,
    })
}

/// A request body's fields as template changes: a key left out keeps the
/// field, `null` resets it; `Logo` is a base64 PNG or JPEG. `IsDefault` and a
/// `Logo` object (as GET shows them) are read-only and kept, so what GET
/// returns can be sent back.
fn changes_of(body: &Value) -> Result<TemplateChanges, ApiError> {
    let Some(fields) = body.as_object() else {
        return Err(ApiError::invalid(
            "The body must be a JSON object of template fields.",
        ));
    };
    const KNOWN: [&str; 13] = [
        "Name",
        "Logo",
        "BackgroundColor",
        "IntroductionText",
        "ReadButtonText",
        "EmailText",
        "DisclaimerText",
        "PortalText",
        "PrivacyStatementUrl",
        "OTPEnabled",
        "SocialIDSignIn",
        "ExternalMailExpiryInDays",
        "IsDefault",
    ];
    if let Some(unknown) = fields.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(ApiError::invalid(format!(
            "'{unknown}' is not a template field; the fields are: {}.",
            KNOWN.join(", ")
        )));
    }
    // Each field in the JSON type the OpenAPI document gives it, or null
    // (reset); what the command line would parse from text is not guessed.
    fn typed<T>(
        fields: &serde_json::Map<String, Value>,
        key: &str,
        kind: &str,
        read: impl Fn(&Value) -> Option<T>,
    ) -> Result<Change<T>, ApiError> {
        match fields.get(key) {
            None => Ok(Change::Keep),
            Some(Value::Null) => Ok(Change::Reset),
            Some(v) => read(v)
                .map(Change::Set)
                .ok_or_else(|| ApiError::invalid(format!("{key}: expected {kind}, or null"))),
        }
    }
    let text = |key: &str| typed(fields, key, "a string", |v| v.as_str().map(str::to_string));
    let boolean = |key: &str| typed(fields, key, "true or false", Value::as_bool);
    let logo = match fields.get("Logo") {
        None => Change::Keep,
        Some(Value::Null) => Change::Reset,
        Some(Value::String(b64)) => Change::Set(LogoImage {
            bytes: base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| ApiError::invalid("Logo: expected the image in base64"))?,
            name: "the uploaded logo".into(),
        }),
        // As GET shows it: unchanged.
        Some(Value::Object(shown))
            if shown.iter().all(|(k, v)| {
                (k == "ContentType" && v.is_string()) || (k == "Bytes" && v.is_u64())
            }) =>
        {
            Change::Keep
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "Logo: expected the image in base64, or null",
            ));
        }
    };
    let name = match fields.get("Name") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ApiError::invalid("Name: expected a string")),
    };
    Ok(TemplateChanges {
        name,
        logo,
        background_color: text("BackgroundColor")?,
        introduction_text: text("IntroductionText")?,
        read_button_text: text("ReadButtonText")?,
        email_text: text("EmailText")?,
        disclaimer_text: text("DisclaimerText")?,
        portal_text: text("PortalText")?,
        privacy_statement_url: text("PrivacyStatementUrl")?,
        otp_enabled: boolean("OTPEnabled")?,
        social_enabled: boolean("SocialIDSignIn")?,
        expiry_days: typed(fields, "ExternalMailExpiryInDays", "a whole number", |v| {
            v.as_i64()
                .or_else(|| v.as_u64().map(|n| i64::try_from(n).unwrap_or(i64::MAX)))
        })?,
    })
}

fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("The body is not JSON: {e}")))
}

fn template_error(e: TemplateError) -> ApiError {
    match e {
        TemplateError::NotFound(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
        }
        TemplateError::NoSignIn => ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            TemplateError::NoSignIn.to_string(),
        ),
        // The field by its neutral name (`background-color`).
        TemplateError::Invalid(field) => ApiError::invalid(field.to_string()),
        TemplateError::Store(e) => ApiError::unavailable(&e),
        refused => ApiError::new(StatusCode::CONFLICT, "conflict", refused.to_string()),
    }
}

async fn list_templates(
    State(state): State<AppState>,
    who: ApiUser,
) -> Result<Json<Vec<Value>>, ApiError> {
    who.require_admin()?;
    Ok(Json(
        state
            .store
            .templates_full()
            .await?
            .iter()
            .map(template_json)
            .collect(),
    ))
}

async fn show_template(
    State(state): State<AppState>,
    who: ApiUser,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    who.require_admin()?;
    let t = state
        .store
        .template_full(&name)
        .await?
        .ok_or_else(|| template_error(TemplateError::NotFound(name)))?;
    Ok(Json(template_json(&t)))
}

async fn create_template(
    State(state): State<AppState>,
    who: ApiUser,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    who.require_admin()?;
    let mut changes = changes_of(&json_body(&body)?)?;
    let name = changes
        .name
        .take()
        .ok_or_else(|| ApiError::invalid("Name: a new template needs a name"))?;
    let t = templates::create(&state.store, &who.actor(), &name, &changes)
        .await
        .map_err(template_error)?;
    Ok((StatusCode::CREATED, Json(template_json(&t))))
}

async fn update_template(
    State(state): State<AppState>,
    who: ApiUser,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    who.require_admin()?;
    let changes = changes_of(&json_body(&body)?)?;
    let t = templates::update(&state.store, &who.actor(), &name, &changes)
        .await
        .map_err(template_error)?;
    Ok(Json(template_json(&t)))
}

async fn remove_template(
    State(state): State<AppState>,
    who: ApiUser,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    who.require_admin()?;
    templates::remove(&state.store, &who.actor(), &name)
        .await
        .map_err(template_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A recipient's address as the API takes it: the document's
/// `MailAddress`, a part of what the command line and compose accept.
static MAIL_ADDRESS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"^[A-Za-z0-9_%+-]{1,32}(\.[A-Za-z0-9_%+-]{1,9}){0,3}@([A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?\.){1,5}[A-Za-z]{2,24}$",
    )
    .expect("a valid pattern")
});

/// A list of at most `N` items, refused while it is read: a long list of
/// empty strings must not become millions of values before it is counted.
fn at_most<'de, D, T, const N: usize>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Bounded<T, const N: usize>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>, const N: usize> serde::de::Visitor<'de> for Bounded<T, N> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "a list of at most {N} items")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element()? {
                if out.len() == N {
                    return Err(serde::de::Error::custom(format!("at most {N} items")));
                }
                out.push(item);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(Bounded::<T, N>(std::marker::PhantomData))
}

/// An optional field that, when given, holds a value: `null` is refused
/// as the document gives no field that may be null.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// The largest `POST /api/v1/messages` body the document allows, with
/// room for JSON's escapes.
pub const SEND_BODY_LIMIT: usize = 5 * 1_000_000 + 12 * 100_000 + 1024 * 1024;

/// `POST /api/v1/messages`: the compose form's fields, as JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendRequest {
    #[serde(deserialize_with = "at_most::<_, _, 50>")]
    to: Vec<String>,
    #[serde(default, deserialize_with = "at_most::<_, _, 50>")]
    cc: Vec<String>,
    subject: String,
    #[serde(default)]
    body: String,
    #[serde(default, deserialize_with = "present")]
    rights: Option<String>,
    #[serde(default, deserialize_with = "present")]
    template: Option<String>,
    #[serde(default, deserialize_with = "present")]
    expiry_days: Option<i64>,
    #[serde(default, deserialize_with = "at_most::<_, _, 5>")]
    attachments: Vec<SendAttachment>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendAttachment {
    name: String,
    #[serde(default, deserialize_with = "present")]
    content_type: Option<String>,
    /// Base64.
    content: String,
}

/// Sends a protected message as the token's user, through the same
/// pipeline as the compose page: 202 once it is stored.
pub async fn send_message(
    State(state): State<AppState>,
    who: ApiUser,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    use crate::services::compose::{self, ComposeError};
    let peer = crate::client_addr::client_socket(&state.settings.trusted_proxies, peer, &headers);
    let request: SendRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(format!("The body is not a message to send: {e}")))?;
    // The document's limits, each refused with the field's name.
    let chars = |s: &str| s.chars().count();
    let checks = [
        (request.to.len() > 50, "to: at most 50 addresses"),
        (request.cc.len() > 50, "cc: at most 50 addresses"),
        (
            chars(&request.subject) > 998,
            "subject: at most 998 characters",
        ),
        (
            request.subject.chars().any(|c| c.is_ascii_control()),
            "subject: one line without control characters",
        ),
        (
            request
                .template
                .as_deref()
                .is_some_and(|t| t.chars().any(|c| c.is_ascii_control())),
            "template: a name without control characters",
        ),
        (
            chars(&request.body) > 100_000,
            "body: at most 100000 characters",
        ),
        (
            request.template.as_deref().is_some_and(|t| chars(t) > 100),
            "template: at most 100 characters",
        ),
        (
            request.expiry_days.is_some_and(|d| !(1..=730).contains(&d)),
            "expiry_days: 1 to 730",
        ),
        (request.attachments.len() > 5, "attachments: at most 5"),
    ];
    if let Some((_, refused)) = checks.iter().find(|(bad, _)| *bad) {
        return Err(ApiError::invalid(*refused));
    }
    // One address per item, in the form the document gives (the compose
    // page's commas and blanks are not the API's).
    for (field, list) in [("to", &request.to), ("cc", &request.cc)] {
        if let Some(bad) = list.iter().find(|a| !MAIL_ADDRESS.is_match(a)) {
            return Err(ApiError::invalid(format!(
                "{field}: '{bad}' is not one address such as bob@gmail.example"
            )));
        }
    }
    // Padded base64 as the document gives it; bits past the last byte are
    // not held against the sender.
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    let mut attachments = Vec::with_capacity(request.attachments.len());
    for a in request.attachments {
        let name_ok =
            (1..=255).contains(&chars(&a.name)) && !a.name.chars().any(|c| c.is_ascii_control());
        let type_ok = a.content_type.as_deref().is_none_or(|t| chars(t) <= 129);
        if !name_ok || !type_ok || a.content.len() > 1_000_000 {
            return Err(ApiError::invalid(
                "attachments: a name of 1 to 255 characters, a content_type of at most 129 and content of at most 1000000",
            ));
        }
        let data = engine.decode(a.content.as_bytes()).map_err(|_| {
            ApiError::invalid(format!(
                "attachments: the content of '{}' is not base64",
                a.name
            ))
        })?;
        attachments.push(crate::mime::Attachment {
            name: a.name,
            content_type: crate::http::multipart::media_type(a.content_type.as_deref()),
            data,
        });
    }
    let draft = compose::Draft {
        to: request.to,
        cc: request.cc,
        subject: request.subject,
        body: request.body,
        rights: request.rights.unwrap_or_default(),
        template: request.template.unwrap_or_default(),
        expiry_days: request
            .expiry_days
            .map(|d| d.to_string())
            .unwrap_or_default(),
        in_reply_to: String::new(),
        attachments,
    };
    let outlet = compose::Outlet {
        store: &state.store,
        keyring: &state.keys.keyring,
        intake: &state.intake,
        settings: &state.settings,
    };
    match compose::send(&outlet, &who.user.email, draft, peer, "api").await {
        Ok(sent) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({
                "message_id": sent.message_id,
                "subject": sent.subject,
                "recipients": sent.recipients,
            })),
        )),
        Err(e @ ComposeError::Invalid(_)) => Err(ApiError::invalid(e.to_string())),
        Err(e @ ComposeError::NoTemplate(_)) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            e.to_string(),
        )),
        Err(e @ ComposeError::Expiry(_)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            e.to_string(),
        )),
        Err(e @ ComposeError::TooBig(_)) => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            e.to_string(),
        )),
        Err(e) => Err(ApiError::unavailable(&e)),
    }
}

#[cfg(test)]
mod send_tests {
    #[test]
    fn the_document_and_the_check_take_the_same_addresses() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("openapi.json")).expect("the document is JSON");
        assert_eq!(
            doc["components"]["schemas"]["MailAddress"]["pattern"],
            super::MAIL_ADDRESS.as_str()
        );
        for taken in ["bob@gmail.example", "first.m.last@mail.corp.example"] {
            assert!(super::MAIL_ADDRESS.is_match(taken), "{taken}");
        }
        for refused in ["", "bob@gmail.example, eve@x.example", "bob"] {
            assert!(!super::MAIL_ADDRESS.is_match(refused), "{refused}");
        }
    }
}
