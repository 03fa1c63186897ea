//! `sealpost audit`: the audit trail, oldest first.

use super::{CliError, format_list, rfc3339};
use crate::config::Settings;
use crate::services::audit;
use crate::startup;

pub async fn run(
    settings: Settings,
    since: Option<String>,
    actor: Option<String>,
    json: bool,
) -> Result<(), CliError> {
    let filter = audit::filter("--since", since.as_deref(), actor.as_deref(), None)
        .map_err(CliError::Usage)?;
    let (store, _) = startup::open(&settings).await?;
    let rows = audit::list(&store, &filter).await?;
    if json {
        let lines: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "At": rfc3339(r.at),
                    "Actor": r.actor,
                    "Surface": r.surface,
                    "Action": r.action,
                    "Target": r.target,
                    "Detail": r.detail,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&lines).expect("JSON serialises")
        );
        return Ok(());
    }
    if rows.is_empty() {
        println!("No changes match.");
        return Ok(());
    }
    let blocks: Vec<String> = rows
        .iter()
        .map(|r| {
            format_list(&[
                ("At", rfc3339(r.at)),
                ("Actor", r.actor.clone()),
                ("Surface", r.surface.to_string()),
                ("Action", r.action.clone()),
                ("Target", r.target.clone().unwrap_or_default()),
                ("Detail", r.detail.clone().unwrap_or_default()),
            ])
        })
        .collect();
    println!("{}", blocks.join("\n\n"));
    Ok(())
}
