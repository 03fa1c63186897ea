//! Google and Yahoo sign-in for recipients: authorization code with PKCE
//! and state, then the provider's userinfo. Access is granted only when the
//! provider says the email is verified and it is the recipient address.

use crate::config::OAuthProvider;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

/// What the session keeps between the redirect to the provider and the
/// callback.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pending {
    pub provider: String,
    pub state: String,
    pub verifier: String,
    /// The recipient copy being signed in to. The link token itself stays
    /// out of the session (the database): the browser keeps it in the
    /// `LINK_COOKIE` cookie until the callback.
    pub recipient_id: String,
}

/// Holds the link token between the redirect and the callback, for the
/// callback's path only.
pub const LINK_COOKIE: &str = "sealpost_oauth_link";

pub const SESSION_PENDING: &str = "oauth_pending";
/// The address a provider confirmed when it was not the recipient's.
pub const SESSION_MISMATCH: &str = "oauth_mismatch";

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("the provider did not accept the sign-in: {0}")]
    Exchange(String),
    #[error("the provider's user information could not be read: {0}")]
    UserInfo(String),
}

#[derive(Deserialize)]
struct UserInfo {
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
}

/// The provider's verified email address (lower case), or None when it
/// gave none or did not confirm it.
pub struct Identity {
    pub email: Option<String>,
    pub verified: bool,
}

pub fn callback_url(public_url: &url::Url) -> String {
    format!(
        "{}/oauth/callback",
        public_url.as_str().trim_end_matches('/')
    )
}

/// The provider URL to send the browser to, and what to keep in the session.
pub fn start(provider: &OAuthProvider, callback: &str, recipient_id: &str) -> (String, Pending) {
    let mut client = BasicClient::new(ClientId::new(provider.client_id.clone()))
        .set_auth_uri(AuthUrl::from_url(provider.auth_url.clone()))
        .set_redirect_uri(RedirectUrl::new(callback.to_string()).expect("the public URL is a URL"));
    if let Some(secret) = &provider.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.clone()));
    }
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("openid".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let pending = Pending {
        provider: provider.id.to_string(),
        state: state.secret().clone(),
        verifier: verifier.secret().clone(),
        recipient_id: recipient_id.to_string(),
    };
    (url.to_string(), pending)
}

/// Trades the code for a token and asks the provider who signed in.
pub async fn finish(
    provider: &OAuthProvider,
    callback: &str,
    code: &str,
    verifier: &str,
) -> Result<Identity, OAuthError> {
    let mut client = BasicClient::new(ClientId::new(provider.client_id.clone()))
        .set_token_uri(TokenUrl::from_url(provider.token_url.clone()))
        .set_redirect_uri(RedirectUrl::new(callback.to_string()).expect("the public URL is a URL"));
    if let Some(secret) = &provider.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.clone()));
    }
    // No redirects: following them would let a provider response steer
    // requests elsewhere (SSRF).
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(|e| OAuthError::Exchange(e.to_string()))?;
    let token = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
        .request_async(&http)
        .await
        .map_err(|e| OAuthError::Exchange(e.to_string()))?;
    let info: UserInfo = http
        .get(provider.userinfo_url.clone())
        .bearer_auth(token.access_token().secret())
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| OAuthError::UserInfo(e.to_string()))?
        .json()
        .await
        .map_err(|e| OAuthError::UserInfo(e.to_string()))?;
    // Some providers send the flag as a string.
    let verified = matches!(info.email_verified, Some(serde_json::Value::Bool(true)))
        || matches!(&info.email_verified, Some(serde_json::Value::String(s)) if s == "true");
    Ok(Identity {
        email: info.email.map(|e| e.trim().to_lowercase()),
        verified,
    })
}
