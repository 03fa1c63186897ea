//! API tokens: only their SHA-256 is stored; the token itself is shown once.

use super::{Result, Store, Tx, UserRow, now_ms, on_pool, on_tx};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TokenRow {
    pub name: String,
    pub email: String,
    pub role: crate::domain::Role,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl Store {
    /// The user a live token acts as (not revoked, user not disabled), and
    /// the token's name.
    pub async fn api_token_user(&self, token_hash: &[u8]) -> Result<Option<(UserRow, String)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            token_name: String,
        }
        let sql = "SELECT u.id, u.email, u.role, u.password_hash, u.must_change_password, u.disabled, u.created_at, \
                   t.name AS token_name FROM api_tokens t JOIN users u ON u.id = t.user_id \
                   WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND NOT u.disabled";
        let row: Option<Row> = on_pool!(self.db(), |pool| sqlx::query_as(sql)
            .bind(token_hash)
            .fetch_optional(pool)
            .await)?;
        Ok(row.map(|r| (r.user, r.token_name)))
    }

    pub async fn api_tokens(&self) -> Result<Vec<TokenRow>> {
        let sql = "SELECT t.name, u.email, u.role, t.created_at, t.revoked_at FROM api_tokens t \
                   JOIN users u ON u.id = t.user_id ORDER BY t.created_at";
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<_, TokenRow>(
            sql
        )
        .fetch_all(pool)
        .await)?)
    }
}

impl Tx {
    pub async fn create_api_token(
        &mut self,
        id: &str,
        user_id: &str,
        name: &str,
        token_hash: &[u8],
    ) -> Result<()> {
        let sql = "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)";
        on_tx!(self, |conn| sqlx::query(sql)
            .bind(id)
            .bind(user_id)
            .bind(name)
            .bind(token_hash)
            .bind(now_ms())
            .execute(&mut *conn)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Revokes the user's live tokens of that name; how many.
    pub async fn revoke_api_token(&mut self, user_id: &str, name: &str) -> Result<u64> {
        let sql = "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND name = $3 AND revoked_at IS NULL";
        Ok(on_tx!(self, |conn| sqlx::query(sql)
            .bind(now_ms())
            .bind(user_id)
            .bind(name)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?)
    }
}
