//! `sealpost queue`: what waits in the pipeline and outbound queues, and
//! what an administrator does with a job that cannot finish.

use super::{CliError, format_list, rfc3339};
use crate::config::Settings;
use crate::domain::{Actor, JobKind};
use crate::queue::{self, QueueError};
use crate::services::queue as service;
use crate::startup;
use crate::store::{QueueFilter, QueuedJob, now_ms};
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum QueueCommand {
    /// List the jobs still to run or set aside, oldest first
    List {
        /// pipeline (messages being inspected and protected) or outbound (mail going out)
        #[arg(long, value_parser = ["pipeline", "outbound"])]
        kind: Option<String>,
        /// ready (due now), waiting (a later try) or quarantined (set aside after its worker stopped 5 times)
        #[arg(long, value_parser = ["ready", "waiting", "quarantined"])]
        state: Option<String>,
        /// A JSON array for scripts
        #[arg(long)]
        json: bool,
    },
    /// Try a waiting job now (or every waiting job with --all)
    Retry {
        /// The job's id, as `queue list` shows it
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        #[arg(long)]
        all: bool,
    },
    /// Put a quarantined job back in the queue, to be tried again
    Release {
        /// The job's id, as `queue list` shows it
        id: String,
    },
    /// Remove a job from the queue for good; an internal sender gets a report
    Delete {
        /// The job's id, as `queue list` shows it
        id: String,
    },
}

impl From<QueueError> for CliError {
    fn from(e: QueueError) -> CliError {
        match e {
            QueueError::Store(e) => CliError::Store(e),
            refused => CliError::Refused(refused.to_string()),
        }
    }
}

pub async fn run(settings: Settings, cmd: QueueCommand) -> Result<(), CliError> {
    let (store, keys) = startup::open(&settings).await?;
    match cmd {
        QueueCommand::List { kind, state, json } => {
            let filter = QueueFilter {
                kind: kind.as_deref().and_then(crate::domain::JobKind::from_name),
                state: state.as_deref(),
            };
            let jobs = store.queued_jobs(filter, 10_000).await?;
            let now = now_ms();
            if json {
                let list: Vec<serde_json::Value> = jobs.iter().map(|j| as_json(j, now)).collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&list).expect("JSON serialises")
                );
            } else if jobs.is_empty() {
                println!("The queue is empty.");
            } else {
                let blocks: Vec<String> = jobs.iter().map(|j| as_list(j, now)).collect();
                println!("{}", blocks.join("\n\n"));
            }
        }
        QueueCommand::Retry { id, all } => {
            let n = service::retry(
                &store,
                &Actor::command_line(),
                if all { None } else { id.as_deref() },
            )
            .await?;
            match (all, n) {
                (true, n) => println!("{n} waiting jobs will be tried now."),
                (false, 0) => println!("The job is not waiting; it is already due."),
                (false, _) => println!("The job will be tried now."),
            }
        }
        QueueCommand::Release { id } => {
            service::release(&store, &Actor::command_line(), &id).await?;
            println!("Job {id} was released from quarantine and will be tried again.");
        }
        QueueCommand::Delete { id } => {
            let job =
                service::delete(&store, &keys, &settings, &Actor::command_line(), &id).await?;
            println!(
                "Job {id} was removed from the {} queue.",
                JobKind::name_of(&job.kind)
            );
        }
    }
    Ok(())
}

fn recipients(job: &QueuedJob) -> String {
    job.envelope_to
        .as_deref()
        .and_then(|t| serde_json::from_str::<Vec<String>>(t).ok())
        .unwrap_or_default()
        .join(", ")
}

fn as_list(job: &QueuedJob, now: i64) -> String {
    format_list(&[
        ("Id", job.id.clone()),
        ("Kind", JobKind::name_of(&job.kind).to_string()),
        ("State", queue::state_name(job, now).to_string()),
        ("Purpose", job.purpose.clone().unwrap_or_default()),
        ("MessageId", job.message_id.clone().unwrap_or_default()),
        ("Sender", job.sender.clone().unwrap_or_default()),
        ("Recipients", recipients(job)),
        ("Attempts", job.attempts.to_string()),
        ("NextTry", rfc3339(job.run_at)),
        ("CreatedAt", rfc3339(job.created_at)),
        ("LastError", job.last_error.clone().unwrap_or_default()),
    ])
}

fn as_json(job: &QueuedJob, now: i64) -> serde_json::Value {
    serde_json::json!({
        "Id": job.id,
        "Kind": JobKind::name_of(&job.kind),
        "State": queue::state_name(job, now),
        "Purpose": job.purpose,
        "MessageId": job.message_id,
        "Sender": job.sender,
        "Recipients": job.envelope_to.as_deref()
            .and_then(|t| serde_json::from_str::<Vec<String>>(t).ok())
            .unwrap_or_default(),
        "Attempts": job.attempts,
        "NextTry": rfc3339(job.run_at),
        "CreatedAt": rfc3339(job.created_at),
        "LastError": job.last_error,
    })
}
