use super::{Result, Store, Tx, conflict_or, new_id, now_ms, on_pool, on_tx};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RuleRow {
    pub id: String,
    pub name: String,
    pub priority: i64,
    pub enabled: bool,
    /// The conditions and actions (JSON), validated before they were stored.
    pub definition: String,
}

/// A rule to write: a new one, or the new state of an existing one.
pub struct RuleWrite<'a> {
    pub name: &'a str,
    pub enabled: bool,
    pub definition: &'a str,
    /// Where it goes in the order (0 first); None keeps its place, or puts
    /// a new rule last.
    pub position: Option<usize>,
}

const RULE_COLUMNS: &str = "id, name, priority, enabled, definition";

impl Store {
    /// Every rule, in the order they run.
    pub async fn rules(&self) -> Result<Vec<RuleRow>> {
        let sql = format!("SELECT {RULE_COLUMNS} FROM rules ORDER BY priority, created_at");
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<_, RuleRow>(
            &sql
        )
        .fetch_all(pool)
        .await)?)
    }
}

/// Rule changes, in the transaction that records them.
impl Tx {
    /// Creates a rule (`existing` None) or replaces the one named
    /// `existing`, and renumbers the priorities 0, 1, 2, ... in the
    /// caller's transaction. Returns false when there is no rule named `existing`.
    pub async fn write_rule(
        &mut self,
        existing: Option<&str>,
        rule: RuleWrite<'_>,
    ) -> Result<bool> {
        let list = "SELECT id, name FROM rules ORDER BY priority, created_at";
        let insert = "INSERT INTO rules (id, name, priority, enabled, definition, created_at, updated_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $6)";
        let update = "UPDATE rules SET name = $1, enabled = $2, definition = $3, updated_at = $4 WHERE id = $5";
        let renumber = "UPDATE rules SET priority = $1 WHERE id = $2 AND priority <> $1";
        let name = rule.name.to_string();
        let found = on_tx!(self, |conn| async {
            let mut order: Vec<(String, String)> =
                sqlx::query_as(list).fetch_all(&mut *conn).await?;
            let now = now_ms();
            match existing {
                Some(existing) => {
                    let Some(at) = order.iter().position(|(_, n)| n == existing) else {
                        return Ok(false);
                    };
                    let (id, _) = order.remove(at);
                    sqlx::query(update)
                        .bind(rule.name)
                        .bind(rule.enabled)
                        .bind(rule.definition)
                        .bind(now)
                        .bind(&id)
                        .execute(&mut *conn)
                        .await?;
                    let to = rule.position.unwrap_or(at).min(order.len());
                    order.insert(to, (id, name.clone()));
                }
                None => {
                    let id = new_id();
                    let at = rule.position.unwrap_or(order.len()).min(order.len());
                    sqlx::query(insert)
                        .bind(&id)
                        .bind(rule.name)
                        .bind(at as i64)
                        .bind(rule.enabled)
                        .bind(rule.definition)
                        .bind(now)
                        .execute(&mut *conn)
                        .await?;
                    order.insert(at, (id, name.clone()));
                }
            }
            for (priority, (id, _)) in order.iter().enumerate() {
                sqlx::query(renumber)
                    .bind(priority as i64)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok::<_, sqlx::Error>(true)
        }
        .await)
        .map_err(|e| conflict_or(e, format!("A rule named '{name}'")))?;
        Ok(found)
    }

    /// Removes a rule and closes the gap in the order; false when there is
    /// none of that name.
    pub async fn remove_rule(&mut self, name: &str) -> Result<bool> {
        let delete = "DELETE FROM rules WHERE name = $1";
        let list = "SELECT id FROM rules ORDER BY priority, created_at";
        let renumber = "UPDATE rules SET priority = $1 WHERE id = $2 AND priority <> $1";
        Ok(on_tx!(self, |conn| async {
            let gone = sqlx::query(delete)
                .bind(name)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            let order: Vec<String> = sqlx::query_scalar(list).fetch_all(&mut *conn).await?;
            for (priority, id) in order.iter().enumerate() {
                sqlx::query(renumber)
                    .bind(priority as i64)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok::<_, sqlx::Error>(gone > 0)
        }
        .await)?)
    }
}
