use super::{Result, Store, StoreError, now_ms, on_pool};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OrganizationRow {
    pub org_id: String,
    pub wrapped_secret: Vec<u8>,
    pub created_at: i64,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct KeyRow {
    pub key_id: String,
    pub wrapped_key: Vec<u8>,
    pub is_current: bool,
    pub origin: String,
    pub created_at: i64,
}

impl Store {
    pub async fn organization(&self) -> Result<Option<OrganizationRow>> {
        let sql = "SELECT org_id, wrapped_secret, created_at FROM organization WHERE singleton = 1";
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<
            _,
            OrganizationRow,
        >(sql)
        .fetch_optional(pool)
        .await)?)
    }

    pub async fn keys(&self) -> Result<Vec<KeyRow>> {
        let sql = "SELECT key_id, wrapped_key, is_current, origin, created_at FROM keys ORDER BY created_at, key_id";
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<_, KeyRow>(
            sql
        )
        .fetch_all(pool)
        .await)?)
    }

    /// The first start: the organization and its first key-encryption key in
    /// one transaction. Returns false when another node got there first.
    pub async fn create_organization(
        &self,
        org: &OrganizationRow,
        first_key: &KeyRow,
    ) -> Result<bool> {
        let org_sql = "INSERT INTO organization (singleton, org_id, wrapped_secret, created_at) VALUES (1, $1, $2, $3)";
        let key_sql = "INSERT INTO keys (key_id, wrapped_key, is_current, origin, created_at) VALUES ($1, $2, TRUE, 'local', $3)";
        let outcome: std::result::Result<(), sqlx::Error> = on_pool!(self.db(), |pool| async {
            let mut tx = pool.begin().await?;
            sqlx::query(org_sql)
                .bind(&org.org_id)
                .bind(&org.wrapped_secret)
                .bind(org.created_at)
                .execute(&mut *tx)
                .await?;
            sqlx::query(key_sql)
                .bind(&first_key.key_id)
                .bind(&first_key.wrapped_key)
                .bind(first_key.created_at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        }
        .await);
        match outcome {
            Ok(()) => Ok(true),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(StoreError::Query(e)),
        }
    }

    /// Adds a key and makes it the current one, in one transaction.
    pub async fn add_current_key(&self, key_id: &str, wrapped_key: &[u8]) -> Result<()> {
        let demote = "UPDATE keys SET is_current = FALSE WHERE is_current";
        let insert = "INSERT INTO keys (key_id, wrapped_key, is_current, origin, created_at) VALUES ($1, $2, TRUE, 'local', $3)";
        on_pool!(self.db(), |pool| async {
            let mut tx = pool.begin().await?;
            sqlx::query(demote).execute(&mut *tx).await?;
            sqlx::query(insert)
                .bind(key_id)
                .bind(wrapped_key)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        }
        .await)?;
        Ok(())
    }
}
