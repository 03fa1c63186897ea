//! An organization's own agents (SPEC "Transport decryption contracts"): a
//! command from the configuration file reads the message on stdin and
//! writes it, maybe changed, on stdout. It runs with an empty environment
//! in a temporary directory that is always removed; its process group is
//! killed at the timeout; its stderr is never read, so never logged.
//! Exit 0: stdout is the message; 75 or the timeout: try again later; any
//! other: the message is refused by policy. Agents are trusted code that
//! sees plaintext.

use crate::config::CustomAgent;
use crate::mime;
use crate::pipeline::{InFlight, Note, Stage, StageError};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What one run of an agent came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Exit 0 with a message on stdout.
    Message(Vec<u8>),
    /// Exit 75 (EX_TEMPFAIL).
    TryLater,
    TimedOut,
    /// Any other exit status (None: killed by a signal).
    Refused(Option<i32>),
    /// Exit 0, but stdout is not a message this gateway can send on.
    Unusable(&'static str),
    CannotStart(String),
}

impl Verdict {
    /// For `agent test` and the trace: what happened, never the output.
    pub fn describe(&self, agent: &CustomAgent) -> String {
        match self {
            Verdict::Message(_) => "accepted (exit 0)".into(),
            Verdict::TryLater => {
                "try again later (exit 75): the message would wait for the queue's backoff".into()
            }
            Verdict::TimedOut => format!(
                "timed out after {} s (killed with its child processes): the message would wait for the queue's backoff",
                agent.timeout_secs
            ),
            Verdict::Refused(Some(code)) => {
                format!("refused (exit {code}): the message would be rejected")
            }
            Verdict::Refused(None) => {
                "refused (killed by a signal): the message would be rejected".into()
            }
            Verdict::Unusable(why) => {
                format!("unusable output ({why}): the message would be rejected")
            }
            Verdict::CannotStart(e) => {
                format!("cannot be started ({e}): the message would wait for the queue's backoff")
            }
        }
    }
}

/// A directory of the agent's own, removed whatever happens.
struct WorkDir(PathBuf);

impl WorkDir {
    fn create() -> std::io::Result<WorkDir> {
        use std::os::unix::fs::DirBuilderExt;
        let name: String = crate::crypto::random_bytes::<8>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let path = std::env::temp_dir().join(format!("sealpost-agent-{name}"));
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        Ok(WorkDir(path))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: killpg has no memory effects; the group is the agent's
        // own (process_group(0) made it its leader).
        unsafe {
            libc::killpg(pid, libc::SIGKILL);
        }
    }
}

/// Runs `agent` on `input`; its output may be at most `max_bytes`.
pub async fn run(agent: &CustomAgent, input: &[u8], max_bytes: usize) -> Verdict {
    let dir = match WorkDir::create() {
        Ok(dir) => dir,
        Err(e) => return Verdict::CannotStart(format!("no temporary directory: {e}")),
    };
    let mut command = tokio::process::Command::new(&agent.command[0]);
    command
        .args(&agent.command[1..])
        .env_clear()
        .current_dir(&dir.0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return Verdict::CannotStart(e.to_string()),
    };
    let pid = child.id();
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let input = input.to_vec();
    // Written beside the reading, so a large message cannot block both
    // sides; an agent that stops reading early is its own business.
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(&input).await;
    });
    let work = async {
        let mut out = Vec::new();
        let read = (&mut stdout)
            .take(max_bytes as u64 + 1)
            .read_to_end(&mut out)
            .await;
        if read.is_err() || out.len() > max_bytes {
            return (out, None);
        }
        (out, child.wait().await.ok())
    };
    let result = tokio::time::timeout(Duration::from_secs(agent.timeout_secs), work).await;
    writer.abort();
    let verdict = match result {
        Err(_) => {
            kill_group(pid);
            Verdict::TimedOut
        }
        Ok((out, None)) => {
            kill_group(pid);
            if out.len() > max_bytes {
                Verdict::Unusable("larger than the size limit")
            } else {
                Verdict::Unusable("its output could not be read")
            }
        }
        Ok((out, Some(status))) => match status.code() {
            Some(0) if out.is_empty() => Verdict::Unusable("empty"),
            // Before anything parses it the ordinary way (see check_nesting).
            Some(0) if crate::mime::check_nesting(&out).is_err() => {
                Verdict::Unusable("MIME nesting exceeds 100 levels")
            }
            Some(0) if !looks_like_a_message(&out) => Verdict::Unusable("not a MIME message"),
            Some(0) => Verdict::Message(out),
            Some(75) => Verdict::TryLater,
            code => Verdict::Refused(code),
        },
    };
    drop(dir);
    verdict
}

/// Header fields first (`Name: value`), then a blank line, then the body.
fn looks_like_a_message(raw: &[u8]) -> bool {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n"));
    let Some(end) = head_end else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.lines();
    let field = |line: &str| {
        line.split_once(':').is_some_and(|(name, _)| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':')
        })
    };
    lines.next().is_some_and(field)
        && lines.all(|l| l.starts_with([' ', '\t']) || field(l))
        && mail_parser::MessageParser::default().parse(raw).is_some()
}

pub struct CustomAgentStage {
    agent: CustomAgent,
    name: String,
    max_bytes: usize,
}

impl CustomAgentStage {
    pub fn new(agent: CustomAgent, max_bytes: usize) -> CustomAgentStage {
        CustomAgentStage {
            name: format!("custom agent {}", agent.name),
            agent,
            max_bytes,
        }
    }
}

#[async_trait::async_trait]
impl Stage for CustomAgentStage {
    fn name(&self) -> &str {
        &self.name
    }

    async fn describe(&self) -> String {
        format!(
            "runs {} (timeout {} s): exit 0 passes its output on, 75 tries again later, anything else rejects",
            self.agent.command.join(" "),
            self.agent.timeout_secs
        )
    }

    /// It sees protected mail not opened here as it arrived: its reject and
    /// try-later verdicts apply; its output is set aside.
    fn reads_unopened(&self) -> bool {
        true
    }

    async fn process(&self, message: &mut InFlight) -> Result<(), StageError> {
        let name = &self.agent.name;
        match run(&self.agent, &message.raw, self.max_bytes).await {
            // Protected mail not opened here: the agent's verdict counts,
            // its output does not (nothing changes such mail).
            Verdict::Message(out) if message.read_only().is_some() => {
                if out != message.raw {
                    message.notes.push(Note::AgentWouldChange(name.clone()));
                }
                Ok(())
            }
            Verdict::Message(out) => {
                let out = keep_message_id(&message.raw, out);
                if out != message.raw {
                    message.notes.push(Note::AgentChanged(name.clone()));
                    message.raw = out;
                }
                Ok(())
            }
            Verdict::TryLater => Err(StageError::Transient(format!(
                "custom agent {name} asked to try again later (exit 75)"
            ))),
            Verdict::TimedOut => Err(StageError::Transient(format!(
                "custom agent {name} timed out after {} s",
                self.agent.timeout_secs
            ))),
            Verdict::CannotStart(e) => Err(StageError::Transient(format!(
                "custom agent {name} cannot be started: {e}"
            ))),
            Verdict::Refused(_) => Err(StageError::Reject {
                event: format!("rejected by custom agent {name}"),
                reason: format!("the custom agent {name} refused the message"),
            }),
            Verdict::Unusable(why) => Err(StageError::Reject {
                event: format!("rejected by custom agent {name}"),
                reason: format!("the custom agent {name} returned an unusable message ({why})"),
            }),
        }
    }
}

/// The Message-ID is the message's identity for status and revocation: an
/// agent cannot change it.
fn keep_message_id(before: &[u8], after: Vec<u8>) -> Vec<u8> {
    let value = |raw: &[u8]| {
        mime::raw_headers(raw, "Message-ID").first().map(|h| {
            let text = String::from_utf8_lossy(h);
            text.split_once(':')
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default()
        })
    };
    match value(before) {
        Some(original) if value(&after).as_deref() != Some(original.as_str()) => {
            mime::set_header(&after, "Message-ID", &original)
        }
        _ => after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_garbage() {
        assert!(looks_like_a_message(
            b"From: a@b.example\r\nSubject: x\r\n\r\nbody"
        ));
        assert!(looks_like_a_message(
            b"X-A: 1\r\n folded\r\nSubject: x\r\n\r\n"
        ));
        assert!(!looks_like_a_message(b"\x00\x01garbage without headers"));
        assert!(!looks_like_a_message(b"Hello world\r\n\r\nbody"));
        assert!(!looks_like_a_message(b"no blank line: here"));
    }

    #[test]
    fn the_message_id_stays() {
        let before = b"Message-ID: <a@corp.example>\r\nSubject: x\r\n\r\nbody";
        let after = keep_message_id(
            before,
            b"Message-ID: <b@evil.example>\r\nSubject: x\r\n\r\nbody".to_vec(),
        );
        assert_eq!(after, before.to_vec());
        let removed = keep_message_id(before, b"Subject: x\r\n\r\nbody".to_vec());
        assert!(String::from_utf8_lossy(&removed).contains("Message-ID: <a@corp.example>"));
    }
}
