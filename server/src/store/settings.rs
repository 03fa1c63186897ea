use super::{Result, Store, Tx, now_ms, on_pool, on_tx};

impl Store {
    /// An organization setting kept in the database, so every node follows a
    /// change at once.
    pub async fn setting(&self, name: &str) -> Result<Option<String>> {
        let sql = "SELECT value FROM settings WHERE name = $1";
        Ok(on_pool!(self.db(), |pool| {
            sqlx::query_scalar::<_, String>(sql)
                .bind(name)
                .fetch_optional(pool)
                .await
        })?)
    }
}

impl Tx {
    pub async fn set_setting(&mut self, name: &str, value: &str) -> Result<()> {
        let sql = "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3) \
                   ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
        on_tx!(self, |conn| sqlx::query(sql)
            .bind(name)
            .bind(value)
            .bind(now_ms())
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }
}
