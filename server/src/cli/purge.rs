//! `sealpost purge [--dry-run]`: deletes now the content that retention
//! (`SEALPOST_RETENTION`) no longer keeps, and prints each message.

use super::{Actor, CliError, rfc3339};
use crate::config::Settings;
use crate::services::retention;
use crate::startup;

pub async fn run(settings: Settings, dry_run: bool) -> Result<(), CliError> {
    let Some(period) = settings.retention_ms else {
        println!("SEALPOST_RETENTION is not set: message content is kept, nothing is deleted.");
        return Ok(());
    };
    let (store, _) = startup::open(&settings).await?;
    let actor = Actor::command_line();
    let mut total = 0u64;
    let mut offset = 0;
    loop {
        // A dry run deletes nothing, so it pages on; a real run takes the
        // oldest again each time.
        let rows = retention::due(&store, Some(period), offset, retention::BATCH).await?;
        for row in &rows {
            println!(
                "{}  {}  {}  '{}' from {}",
                row.message_id,
                rfc3339(row.received_at),
                row.reason,
                row.subject,
                if row.sender.is_empty() {
                    "<>"
                } else {
                    &row.sender
                }
            );
        }
        if dry_run {
            total += rows.len() as u64;
            offset += rows.len() as i64;
            if (rows.len() as i64) < retention::BATCH {
                break;
            }
            continue;
        }
        let purged = retention::purge(&store, Some(&actor), &rows).await?;
        total += purged;
        if (rows.len() as i64) < retention::BATCH || purged == 0 {
            break;
        }
    }
    match (dry_run, total) {
        (_, 0) => println!("No message content is due for deletion."),
        (true, n) => println!("Would delete the content of {n} message(s)."),
        (false, n) => println!("Deleted the content of {n} message(s)."),
    }
    Ok(())
}
