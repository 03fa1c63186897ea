use super::{Result, Store, StoreError, Tx, now_ms, on_pool, on_tx};

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
}

impl Store {
    /// Organization ids this deployment had before adopting another's.
    pub async fn former_org_ids(&self) -> Result<Vec<String>> {
        Ok(self
            .setting("former_org_ids")
            .await?
            .map(|v| {
                v.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// Key changes, in the transaction that records them.
impl Tx {
    /// Adds a key and makes it the current one.
    pub async fn add_current_key(&mut self, key_id: &str, wrapped_key: &[u8]) -> Result<()> {
        let demote = "UPDATE keys SET is_current = FALSE WHERE is_current";
        let insert = "INSERT INTO keys (key_id, wrapped_key, is_current, origin, created_at) VALUES ($1, $2, TRUE, 'local', $3)";
        on_tx!(self, |conn| async {
            sqlx::query(demote).execute(&mut *conn).await?;
            sqlx::query(insert)
                .bind(key_id)
                .bind(wrapped_key)
                .bind(now_ms())
                .execute(&mut *conn)
                .await
                .map(|_| ())
        }
        .await)?;
        Ok(())
    }

    /// Adopts another deployment's organization identity (`keys import`);
    /// the id given up is kept so messages protected under it still open.
    pub async fn replace_organization(
        &mut self,
        org: &OrganizationRow,
        former: &str,
    ) -> Result<()> {
        let sql = "UPDATE organization SET org_id = $1, wrapped_secret = $2 WHERE singleton = 1";
        let formers_sql = "SELECT value FROM settings WHERE name = 'former_org_ids'";
        let formers: Option<String> = on_tx!(self, |conn| async {
            sqlx::query(sql)
                .bind(&org.org_id)
                .bind(&org.wrapped_secret)
                .execute(&mut *conn)
                .await?;
            sqlx::query_scalar(formers_sql)
                .fetch_optional(&mut *conn)
                .await
        }
        .await)?;
        let mut formers: Vec<String> = formers
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if !formers.iter().any(|f| f == former) {
            formers.push(former.to_string());
        }
        self.set_setting("former_org_ids", &formers.join(",")).await
    }

    /// Adds an imported key-encryption key (never the current one); false
    /// when it is already known.
    pub async fn import_key(
        &mut self,
        key_id: &str,
        wrapped_key: &[u8],
        created_at: i64,
    ) -> Result<bool> {
        let sql = "INSERT INTO keys (key_id, wrapped_key, is_current, origin, created_at) \
                   VALUES ($1, $2, FALSE, 'imported', $3) ON CONFLICT (key_id) DO NOTHING";
        Ok(on_tx!(self, |conn| sqlx::query(sql)
            .bind(key_id)
            .bind(wrapped_key)
            .bind(created_at)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected() == 1))?)
    }
}
