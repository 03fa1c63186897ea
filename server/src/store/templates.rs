use super::{Result, Store, new_id, now_ms, on_pool};

pub const DEFAULT_TEMPLATE_NAME: &str = "Default";

impl Store {
    /// The default branding template always exists: one-time passcodes and
    /// social sign-in allowed, messages never expire.
    pub async fn ensure_default_template(&self) -> Result<()> {
        let sql = "INSERT INTO templates (id, name, is_default, otp_enabled, social_enabled, expiry_days, created_at, updated_at) \
                   VALUES ($1, $2, TRUE, TRUE, TRUE, 0, $3, $3) ON CONFLICT DO NOTHING";
        on_pool!(self.db(), |pool| sqlx::query(sql)
            .bind(new_id())
            .bind(DEFAULT_TEMPLATE_NAME)
            .bind(now_ms())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn template_names(&self) -> Result<Vec<(String, bool)>> {
        let sql = "SELECT name, is_default FROM templates ORDER BY is_default DESC, name";
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<
            _,
            (String, bool),
        >(sql)
        .fetch_all(pool)
        .await)?)
    }
}

const TEMPLATE_COLUMNS: &str = "id, name, background_color, introduction_text, read_button_text, email_text, \
     disclaimer_text, portal_text, otp_enabled, social_enabled, expiry_days";

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TemplateRow {
    pub id: String,
    pub name: String,
    pub background_color: Option<String>,
    pub introduction_text: Option<String>,
    pub read_button_text: Option<String>,
    pub email_text: Option<String>,
    pub disclaimer_text: Option<String>,
    pub portal_text: Option<String>,
    pub otp_enabled: bool,
    pub social_enabled: bool,
    pub expiry_days: i64,
}

impl Store {
    pub async fn template_by_name(&self, name: &str) -> Result<Option<TemplateRow>> {
        let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM templates WHERE name = $1");
        Ok(on_pool!(self.db(), |pool| {
            sqlx::query_as::<_, TemplateRow>(&sql)
                .bind(name)
                .fetch_optional(pool)
                .await
        })?)
    }

    pub async fn default_template(&self) -> Result<TemplateRow> {
        let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM templates WHERE is_default");
        Ok(on_pool!(self.db(), |pool| {
            sqlx::query_as::<_, TemplateRow>(&sql).fetch_one(pool).await
        })?)
    }
}
