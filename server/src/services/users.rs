//! Organization users: added and given passwords, from any surface.

use crate::auth::password;
use crate::domain::{Actor, EmailAddress, Role};
use crate::store::{AuditEntry, NewUser, Store, StoreError, UserRow};

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// "A user with the email … already exists."
    #[error("{0} already exists.")]
    Exists(String),
    #[error("No user with the email {0}.")]
    NotFound(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for UserError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => UserError::Exists(what),
            other => UserError::Store(other),
        }
    }
}

/// A new user. `must_change`: the password is temporary (the admin page,
/// the first start), replaced at the first sign-in.
pub async fn add(
    store: &Store,
    actor: &Actor,
    email: &EmailAddress,
    role: Role,
    password: String,
    must_change: bool,
) -> Result<UserRow, UserError> {
    let hash = password::hash(password).await;
    let mut tx = store.begin().await?;
    let user = tx
        .insert_user(NewUser {
            email,
            role,
            password_hash: &hash,
            must_change_password: must_change,
        })
        .await?;
    let detail = if must_change {
        format!("{role}, temporary password")
    } else {
        role.to_string()
    };
    tx.audit(AuditEntry {
        actor,
        action: "user added",
        target: Some(email.as_str()),
        detail: Some(&detail),
    })
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// A new password for `user` (the user's own, or an administrator's at the
/// command line); `must_change` keeps it temporary.
pub async fn set_password(
    store: &Store,
    actor: &Actor,
    user: &UserRow,
    password: String,
    must_change: bool,
) -> Result<(), UserError> {
    let hash = password::hash(password).await;
    let mut tx = store.begin().await?;
    if !tx.set_password(&user.id, &hash, must_change).await? {
        return Err(UserError::NotFound(user.email.clone()));
    }
    tx.audit(AuditEntry {
        actor,
        action: "password changed",
        target: Some(&user.email),
        detail: must_change.then_some("temporary password"),
    })
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The user named by `email`, for the command line and the API.
pub async fn find(store: &Store, email: &EmailAddress) -> Result<UserRow, UserError> {
    store
        .user_by_email(email)
        .await?
        .ok_or_else(|| UserError::NotFound(email.to_string()))
}
