//! Reading the audit trail (`sealpost audit`, `/admin/audit`); writing it
//! is every other service's job, in the transaction of its change.

use crate::services::trace::parse_time;
use crate::store::{AuditFilter, AuditRow, Store, StoreError};

/// The filter from what a person typed: `since` as a date or time (the
/// error names `since_field`), `actor` as an email or an actor's text.
pub fn filter(
    since_field: &str,
    since: Option<&str>,
    actor: Option<&str>,
    limit: Option<i64>,
) -> Result<AuditFilter, String> {
    let since = since
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse_time(since_field, s))
        .transpose()?;
    let actor = actor
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string);
    Ok(AuditFilter {
        since,
        actor,
        limit,
    })
}

/// The matching lines, oldest first.
pub async fn list(store: &Store, filter: &AuditFilter) -> Result<Vec<AuditRow>, StoreError> {
    store.audit_trail(filter).await
}
