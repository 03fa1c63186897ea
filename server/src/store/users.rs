use super::{Result, Store, Tx, conflict_or, new_id, now_ms, on_pool, on_tx};
use crate::domain::{EmailAddress, Role};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub password_hash: String,
    pub must_change_password: bool,
    pub disabled: bool,
    pub created_at: i64,
}

pub struct NewUser<'a> {
    pub email: &'a EmailAddress,
    pub role: Role,
    pub password_hash: &'a str,
    pub must_change_password: bool,
}

const COLUMNS: &str = "id, email, role, password_hash, must_change_password, disabled, created_at";

impl Store {
    pub async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<UserRow>> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE email = $1");
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<_, UserRow>(
            &sql
        )
        .bind(email.as_str())
        .fetch_optional(pool)
        .await)?)
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<UserRow>> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<_, UserRow>(
            &sql
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?)
    }

    pub async fn list_users(&self) -> Result<Vec<UserRow>> {
        let sql = format!("SELECT {COLUMNS} FROM users ORDER BY email");
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<_, UserRow>(
            &sql
        )
        .fetch_all(pool)
        .await)?)
    }

    pub async fn count_users(&self) -> Result<i64> {
        let sql = "SELECT COUNT(*) FROM users";
        Ok(on_pool!(self.db(), |pool| sqlx::query_scalar::<_, i64>(
            sql
        )
        .fetch_one(pool)
        .await)?)
    }
}

/// Changes to users go through a transaction, so the audit line of the
/// change commits with it.
impl Tx {
    pub async fn insert_user(&mut self, user: NewUser<'_>) -> Result<UserRow> {
        let id = new_id();
        let now = now_ms();
        let sql = "INSERT INTO users (id, email, role, password_hash, must_change_password, created_at, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $6)";
        on_tx!(self, |conn| sqlx::query(sql)
            .bind(&id)
            .bind(user.email.as_str())
            .bind(user.role)
            .bind(user.password_hash)
            .bind(user.must_change_password)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| conflict_or(e, format!("A user with the email {}", user.email)))?;
        Ok(UserRow {
            id,
            email: user.email.to_string(),
            role: user.role,
            password_hash: user.password_hash.to_string(),
            must_change_password: user.must_change_password,
            disabled: false,
            created_at: now,
        })
    }

    /// Returns false when no such user exists.
    pub async fn set_password(
        &mut self,
        user_id: &str,
        password_hash: &str,
        must_change: bool,
    ) -> Result<bool> {
        let sql = "UPDATE users SET password_hash = $1, must_change_password = $2, updated_at = $3 WHERE id = $4";
        let done = on_tx!(self, |conn| sqlx::query(sql)
            .bind(password_hash)
            .bind(must_change)
            .bind(now_ms())
            .bind(user_id)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }
}
