//! `sealpost trace`: messages by sender, recipient and time.

use super::*;

pub async fn run(
    settings: Settings,
    sender: Option<String>,
    recipient: Option<String>,
    since: Option<String>,
    until: Option<String>,
    json: bool,
) -> Result<(), CliError> {
    use crate::services::trace::{self as msg_trace, TraceQuery};
    let time = |flag: &str, t: Option<String>| {
        t.map(|t| msg_trace::parse_time(flag, &t))
            .transpose()
            .map_err(CliError::Usage)
    };
    let query = TraceQuery {
        sender: msg_trace::parse_address("--sender", sender.as_deref()).map_err(CliError::Usage)?,
        recipient: msg_trace::parse_address("--recipient", recipient.as_deref())
            .map_err(CliError::Usage)?,
        since: time("--since", since)?,
        until: time("--until", until)?,
    };
    let (store, _) = startup::open(&settings).await?;
    let entries = msg_trace::trace(&store, &query).await?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&entries).expect("JSON serialises")
        );
        return Ok(());
    }
    if entries.is_empty() {
        println!("No messages match.");
        return Ok(());
    }
    let blocks: Vec<String> = entries
        .iter()
        .map(|e| {
            format_list(&[
                ("MessageId", e.message_id.clone()),
                ("ReceivedAt", e.received_at.clone()),
                ("Sender", e.sender.clone()),
                ("Recipients", e.recipients.clone()),
                ("Subject", e.subject.clone()),
                ("Protected", title_bool(e.protected)),
                ("State", e.state.clone()),
            ])
        })
        .collect();
    println!("{}", blocks.join("\n\n"));
    Ok(())
}
