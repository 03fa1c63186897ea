//! API tokens: made and revoked by name; the token itself is shown once.

use crate::auth::api_token;
use crate::domain::Actor;
use crate::store::{AuditEntry, Store, StoreError, UserRow};

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The name given is not one a token can have.
    #[error("1 to 64 characters, no control characters")]
    BadName,
    #[error("{email} has no live API token named '{name}'.")]
    NotFound { email: String, name: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A token's name as it is stored (trimmed), or why it cannot be one.
pub fn check_name(name: &str) -> Result<String, TokenError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(TokenError::BadName);
    }
    Ok(name.to_string())
}

/// A new token acting as `user`: the token (to show once) and its name as
/// stored.
pub async fn create(
    store: &Store,
    actor: &Actor,
    user: &UserRow,
    name: &str,
) -> Result<(String, String), TokenError> {
    let name = check_name(name)?;
    let (token, hash) = api_token::generate();
    let mut tx = store.begin().await?;
    tx.create_api_token(&crate::store::new_id(), &user.id, &name, &hash)
        .await?;
    let target = format!("{name} of {}", user.email);
    tx.audit(AuditEntry {
        actor,
        action: "API token created",
        target: Some(&target),
        detail: Some(user.role.as_str()),
    })
    .await?;
    tx.commit().await?;
    Ok((token, name))
}

pub async fn revoke(
    store: &Store,
    actor: &Actor,
    user: &UserRow,
    name: &str,
) -> Result<(), TokenError> {
    let mut tx = store.begin().await?;
    if tx.revoke_api_token(&user.id, name).await? == 0 {
        return Err(TokenError::NotFound {
            email: user.email.clone(),
            name: name.to_string(),
        });
    }
    let target = format!("{name} of {}", user.email);
    tx.audit(AuditEntry {
        actor,
        action: "API token revoked",
        target: Some(&target),
        detail: None,
    })
    .await?;
    tx.commit().await?;
    Ok(())
}
