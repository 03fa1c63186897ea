use super::{Result, Store, Tx, new_id, now_ms, on_pool, on_tx};

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
     disclaimer_text, portal_text, privacy_statement_url, otp_enabled, social_enabled, expiry_days, logo, logo_content_type";

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
    pub privacy_statement_url: Option<String>,
    pub otp_enabled: bool,
    pub social_enabled: bool,
    pub expiry_days: i64,
    pub logo: Option<Vec<u8>>,
    pub logo_content_type: Option<String>,
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

/// Binds a template's fields, then `now`, in the order both the INSERT and
/// the UPDATE of `save_template` name them.
macro_rules! bind_template {
    ($query:expr, $t:expr, $now:expr) => {
        $query
            .bind(&$t.name)
            .bind(&$t.logo)
            .bind(&$t.logo_content_type)
            .bind(&$t.background_color)
            .bind(&$t.introduction_text)
            .bind(&$t.read_button_text)
            .bind(&$t.email_text)
            .bind(&$t.disclaimer_text)
            .bind(&$t.portal_text)
            .bind(&$t.privacy_statement_url)
            .bind($t.otp_enabled)
            .bind($t.social_enabled)
            .bind($t.expiry_days)
            .bind($now)
    };
}

/// Every field of a branding template, for the commands and admin pages.
#[derive(Clone, Debug, Default, sqlx::FromRow)]
pub struct TemplateFull {
    /// Empty for a template not yet stored.
    pub id: String,
    pub name: String,
    pub is_default: bool,
    pub logo: Option<Vec<u8>>,
    pub logo_content_type: Option<String>,
    pub background_color: Option<String>,
    pub introduction_text: Option<String>,
    pub read_button_text: Option<String>,
    pub email_text: Option<String>,
    pub disclaimer_text: Option<String>,
    pub portal_text: Option<String>,
    pub privacy_statement_url: Option<String>,
    pub otp_enabled: bool,
    pub social_enabled: bool,
    pub expiry_days: i64,
}

const FULL_COLUMNS: &str = "id, name, is_default, logo, logo_content_type, background_color, introduction_text, \
     read_button_text, email_text, disclaimer_text, portal_text, privacy_statement_url, otp_enabled, social_enabled, expiry_days";

impl Store {
    pub async fn templates_full(&self) -> Result<Vec<TemplateFull>> {
        let sql = format!("SELECT {FULL_COLUMNS} FROM templates ORDER BY is_default DESC, name");
        Ok(on_pool!(self.db(), |pool| {
            sqlx::query_as::<_, TemplateFull>(&sql)
                .fetch_all(pool)
                .await
        })?)
    }

    pub async fn template_full(&self, name: &str) -> Result<Option<TemplateFull>> {
        let sql = format!("SELECT {FULL_COLUMNS} FROM templates WHERE name = $1");
        Ok(on_pool!(self.db(), |pool| {
            sqlx::query_as::<_, TemplateFull>(&sql)
                .bind(name)
                .fetch_optional(pool)
                .await
        })?)
    }
}

/// Template changes, in the transaction that records them.
impl Tx {
    /// Inserts a new template, or replaces the fields of an existing one
    /// (`existing` names which). A name taken by another template conflicts.
    pub async fn save_template(&mut self, t: &TemplateFull, existing: Option<&str>) -> Result<()> {
        let now = now_ms();
        let result = match existing {
            None => {
                let sql = "INSERT INTO templates (id, name, is_default, logo, logo_content_type, background_color, introduction_text, \
                           read_button_text, email_text, disclaimer_text, portal_text, privacy_statement_url, otp_enabled, \
                           social_enabled, expiry_days, created_at, updated_at) \
                           VALUES ($1, $2, FALSE, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)";
                on_tx!(self, |conn| bind_template!(
                    sqlx::query(sql).bind(new_id()),
                    t,
                    now
                )
                .execute(&mut *conn)
                .await
                .map(|r| r.rows_affected()))
            }
            Some(old) => {
                let sql = "UPDATE templates SET name = $1, logo = $2, logo_content_type = $3, background_color = $4, \
                           introduction_text = $5, read_button_text = $6, email_text = $7, disclaimer_text = $8, portal_text = $9, \
                           privacy_statement_url = $10, otp_enabled = $11, social_enabled = $12, expiry_days = $13, updated_at = $14 \
                           WHERE name = $15";
                on_tx!(self, |conn| bind_template!(sqlx::query(sql), t, now)
                    .bind(old)
                    .execute(&mut *conn)
                    .await
                    .map(|r| r.rows_affected()))
            }
        };
        result.map_err(|e| super::conflict_or(e, format!("A template named '{}'", t.name)))?;
        Ok(())
    }

    /// Removes a template that no message uses; the default never.
    pub async fn remove_template(&mut self, name: &str) -> Result<u64> {
        let sql = "DELETE FROM templates WHERE name = $1 AND NOT is_default \
                   AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.template_id = templates.id)";
        Ok(on_tx!(self, |conn| sqlx::query(sql)
            .bind(name)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?)
    }
}

impl Store {
    /// A template's logo for the portal pages: bytes and content type.
    pub async fn template_logo(&self, template_id: &str) -> Result<Option<(Vec<u8>, String)>> {
        let sql =
            "SELECT logo, logo_content_type FROM templates WHERE id = $1 AND logo IS NOT NULL";
        let row: Option<(Vec<u8>, Option<String>)> =
            on_pool!(self.db(), |pool| sqlx::query_as(sql)
                .bind(template_id)
                .fetch_optional(pool)
                .await)?;
        Ok(row.map(|(bytes, kind)| (bytes, kind.unwrap_or_else(|| "image/png".into()))))
    }
}
