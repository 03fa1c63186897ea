//! `sealpost agent`: the pipeline's stages, and trying a custom agent on a
//! message before production.

use super::{CliError, checked_message, format_list, read_stdin};
use crate::agents::custom::{self, Verdict};
use crate::config::Settings;
use crate::startup;
use clap::Subcommand;
use std::sync::Arc;

#[derive(Subcommand, Debug)]
pub enum AgentCommand {
    /// List the stages in order, with what each does
    List,
    /// Run one custom agent on a message from standard input: its verdict and a diff of what it changed; nothing is delivered
    Test {
        /// The agent's name in [[custom_agents]]
        name: String,
    },
}

pub async fn run(settings: Settings, cmd: AgentCommand) -> Result<(), CliError> {
    match cmd {
        AgentCommand::List => {
            let (store, keys) = startup::open(&settings).await?;
            // The stages as a node builds them (release delays, no faults).
            let tries = crate::pipeline::faults::Tries {
                delays: Default::default(),
                faults: Arc::new(crate::pipeline::faults::Faults::default()),
            };
            let stages = startup::stages(&store, &Arc::new(keys), &Arc::new(settings), &[], tries);
            let mut blocks = Vec::new();
            for (i, stage) in stages.iter().enumerate() {
                blocks.push(format_list(&[
                    ("Order", (i + 1).to_string()),
                    ("Name", stage.name().to_string()),
                    ("Does", stage.describe().await),
                ]));
            }
            println!("{}", blocks.join("\n\n"));
        }
        AgentCommand::Test { name } => {
            let agent = settings
                .custom_agents
                .iter()
                .find(|a| a.name == name)
                .ok_or_else(|| {
                    let known: Vec<&str> = settings
                        .custom_agents
                        .iter()
                        .map(|a| a.name.as_str())
                        .collect();
                    CliError::Refused(if known.is_empty() {
                        format!("No custom agent named '{name}': the configuration file sets none.")
                    } else {
                        format!(
                            "No custom agent named '{name}'; the configured ones: {}.",
                            known.join(", ")
                        )
                    })
                })?;
            let input = checked_message(read_stdin()?)?;
            let started = std::time::Instant::now();
            let verdict = custom::run(agent, &input, settings.max_message_bytes).await;
            let elapsed = started.elapsed();
            println!(
                "{}",
                format_list(&[
                    ("Agent", agent.name.clone()),
                    ("Verdict", verdict.describe(agent)),
                    ("Seconds", format!("{:.2}", elapsed.as_secs_f64())),
                ])
            );
            if let Verdict::Message(out) = &verdict {
                println!();
                if *out == input {
                    println!("No change.");
                } else {
                    print!("{}", diff(&input, out));
                }
            }
        }
    }
    Ok(())
}

/// A unified-style diff of two messages by lines: the common start and end
/// are skipped, the lines in between shown removed (-) and added (+).
fn diff(before: &[u8], after: &[u8]) -> String {
    let a: Vec<String> = String::from_utf8_lossy(before)
        .lines()
        .map(str::to_string)
        .collect();
    let b: Vec<String> = String::from_utf8_lossy(after)
        .lines()
        .map(str::to_string)
        .collect();
    let head = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let removed = &a[head..a.len() - tail];
    let added = &b[head..b.len() - tail];
    let mut out = format!(
        "--- before\n+++ after\n@@ -{},{} +{},{} @@\n",
        head + 1,
        removed.len(),
        head + 1,
        added.len()
    );
    if let Some(line) = head.checked_sub(1).map(|i| &a[i]) {
        out.push_str(&format!(" {line}\n"));
    }
    for line in removed {
        out.push_str(&format!("-{line}\n"));
    }
    for line in added {
        out.push_str(&format!("+{line}\n"));
    }
    if let Some(line) = a.get(a.len() - tail) {
        out.push_str(&format!(" {line}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn diff_shows_the_changed_lines() {
        let d = super::diff(
            b"A: 1\r\nB: 2\r\n\r\nbody\r\n",
            b"A: 1\r\nX-Checked: yes\r\nB: 2\r\n\r\nbody\r\n",
        );
        assert_eq!(
            d,
            "--- before\n+++ after\n@@ -2,0 +2,1 @@\n A: 1\n+X-Checked: yes\n B: 2\n"
        );
    }
}
