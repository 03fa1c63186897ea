//! The mail pipeline: every accepted message is admitted (loops, nesting,
//! how it arrived, whom protected mail may reach) and then passes an
//! ordered list of stages: transport decryption, the transport rules, the
//! custom agents, the antivirus, and protection, which re-encrypts what
//! was inspected, decides each recipient's copy and queues the outgoing
//! mail. A job that runs again starts from the stored original, and its
//! outcome is written in one transaction with the job's completion, so
//! nothing is applied twice.

mod decryption;
pub mod faults;
mod note;
mod protection;

pub use decryption::TransportDecryptionStage;
pub use note::Note;
pub use protection::ProtectionStage;

use crate::config::Settings;
use crate::crypto::CryptoError;
use crate::domain::{Envelope, Rights};
use crate::irm_config::IrmConfig;
use crate::keys::KeyMaterial;
use crate::store::{
    JobOutcome, JobRow, MessageRow, Outcome, OutcomeEvent, Outcomes, PipelineOutcome, Store,
    StoreError, now_ms,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How a message arrived, as far as the protected format goes.
pub enum Arrival {
    /// Ordinary mail.
    Plain,
    /// Protected by this organization and opened: `InFlight::raw` is the
    /// message inside.
    Ours(ArrivedProtected),
    /// Protected by another organization: not ours to open, change or
    /// protect; it passes as it came.
    Foreign,
    /// This organization's, but not opened here (it cannot be decrypted,
    /// or decryption failed: why): `InFlight::raw` is the protected
    /// message, delivered as it arrived.
    Undecryptable(String),
}

impl Arrival {
    /// The opened protected message, if this is one.
    pub fn ours(&self) -> Option<&ArrivedProtected> {
        match self {
            Arrival::Ours(arrived) => Some(arrived),
            _ => None,
        }
    }

    /// Whether it arrived in the protected format at all.
    pub fn is_protected(&self) -> bool {
        !matches!(self, Arrival::Plain)
    }
}

/// A message on its way through the stages.
pub struct InFlight {
    pub raw: Vec<u8>,
    pub envelope: Envelope,
    /// The stored message's row and Message-ID.
    pub row_id: String,
    pub message_id: String,
    pub arrival: Arrival,
    /// The organization's protection settings, read once per message (only
    /// for mail in the protected format; the defaults otherwise).
    pub config: IrmConfig,
    /// Set by the sender's request (subject tag, compose) or by a rule.
    pub protection: Option<Rights>,
    /// The branding template asked for, by name (the default when none).
    pub template: Option<String>,
    /// Whether the agents see it (transport decryption may decide not).
    pub inspect: bool,
    /// What happened before protection, for the message trace.
    pub notes: Vec<Note>,
    /// Envelope recipients a do-not-forward message may not reach.
    pub refused_forwards: Vec<String>,
    /// What protection decided: the copies, jobs and events to store.
    pub outcome: Option<PipelineOutcome>,
}

impl InFlight {
    /// Protected mail that is not opened here (another organization's, or
    /// ours that cannot be decrypted): why. Stages then only read what is
    /// readable and change nothing.
    pub fn read_only(&self) -> Option<&'static str> {
        match self.arrival {
            Arrival::Foreign => Some("the message is protected by another organization"),
            Arrival::Undecryptable(_) => Some("the message cannot be decrypted"),
            _ => None,
        }
    }

    /// What a report may show of a refused message: protected mail as it
    /// arrived (its clear headers), never what decryption revealed.
    fn for_report(self) -> InFlight {
        match self.arrival {
            Arrival::Ours(arrived) => InFlight {
                raw: arrived.wrapped,
                arrival: Arrival::Plain,
                ..self
            },
            arrival => InFlight { arrival, ..self },
        }
    }
}

pub struct ArrivedProtected {
    /// The protected message as it arrived.
    pub wrapped: Vec<u8>,
    /// Its envelope (the `message.sealpost` part).
    pub envelope: Vec<u8>,
    /// From its authenticated envelope.
    pub expires_at: Option<i64>,
    /// Its authenticated header (who may read it, in v2), and the version.
    pub header: crate::protected::Header,
    pub version: u8,
    /// Decrypted here for the agents (transport decryption): internal
    /// recipients then get it re-encrypted under a new data key, marked.
    pub inspected: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// Try the message again later (the queue's backoff, up to its lifetime).
    #[error("transient: {0}")]
    Transient(String),
    #[error("{0}")]
    Permanent(String),
    /// Policy refuses the message: nobody gets it, an internal sender gets
    /// a report with `reason` (a fixed text, never message content).
    #[error("{event}: {reason}")]
    Reject { event: String, reason: String },
    /// As `Reject`, and the report carries the message as it arrived
    /// (still encrypted).
    #[error("{event}: {reason}")]
    RejectWithOriginal { event: String, reason: String },
    /// As `Reject` after the message was opened here: nothing learnt from
    /// the plaintext is kept, not even the notes of the stages.
    #[error("{event}: {reason}")]
    RejectUnread { event: String, reason: String },
    /// The database failed under the stage (the job is retried as for any
    /// store error, never failed for it).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One stage of the pipeline. Stages plug in here without touching intake
/// or outbound.
#[async_trait::async_trait]
pub trait Stage: Send + Sync {
    fn name(&self) -> &str;
    /// What the stage does, for `sealpost agent list`.
    async fn describe(&self) -> String {
        String::new()
    }
    /// An agent inspects the message: it is skipped when transport
    /// decryption keeps the message from the agents. Transport decryption
    /// and protection are not agents: every message passes them.
    fn is_agent(&self) -> bool {
        true
    }
    /// Whether the stage runs on protected mail that is not opened here
    /// ([`InFlight::read_only`]), reading it as it arrived and changing
    /// nothing. Stages that may rewrite the message (custom agents) do not.
    fn reads_unopened(&self) -> bool {
        false
    }
    async fn process(&self, message: &mut InFlight) -> Result<(), StageError>;
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the stored message cannot be opened: {0}")]
    Crypto(#[from] CryptoError),
    #[error("the job names no message")]
    NoMessage,
    #[error("the stored envelope is unreadable: {0}")]
    Envelope(#[from] serde_json::Error),
    #[error("stage {stage}: {error}")]
    Stage { stage: String, error: StageError },
    /// Test-only: the worker dies here, holding the job's lease.
    #[error("the worker stopped")]
    Abandoned,
}

/// A message refused before any stage: what the report shows, and why.
struct Refusal {
    flight: InFlight,
    event: String,
    reason: String,
}

pub struct Pipeline {
    /// Test-only fault injection (nothing in release builds): workers that
    /// die, short leases. The transport stages take theirs from `stages`.
    pub faults: faults::Faults,
    pub store: Store,
    pub keys: Arc<KeyMaterial>,
    pub settings: Arc<Settings>,
    pub hostname: String,
    /// From `startup::stages`.
    pub stages: Vec<Arc<dyn Stage>>,
    /// First delay before a message whose stage failed transiently is
    /// tried again; doubles per try, up to the queue lifetime.
    pub retry_backoff: Duration,
    pub wake: Arc<Notify>,
    pub wake_outbound: Arc<Notify>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The group commit every job's outcome goes through.
    pub outcomes: Outcomes,
}

const LEASE_MS: i64 = 60_000;

impl crate::queue::JobRunner for Pipeline {
    const KIND: crate::domain::JobKind = crate::domain::JobKind::Pipeline;

    fn store(&self) -> &Store {
        &self.store
    }

    fn wake(&self) -> &Notify {
        &self.wake
    }

    fn lease_ms(&self) -> i64 {
        self.faults.lease_ms().unwrap_or(LEASE_MS)
    }

    async fn sweep(&self) -> Result<usize, StoreError> {
        crate::queue::quarantine_sweep(&self.store, &self.keys, &self.settings, Self::KIND).await
    }

    fn run(self: Arc<Self>, job: JobRow) -> impl Future<Output = ()> + Send + 'static {
        let span = tracing::info_span!(
            "pipeline",
            job = %job.id,
            message = job.message_id.as_deref().unwrap_or_default()
        );
        let run = async move {
            let started = std::time::Instant::now();
            match self.process(&job).await {
                Ok(()) => self.metrics.pipeline_job(started.elapsed()),
                // The worker "died" holding the lease (tests): as after a
                // restart, the job is taken again once the lease runs out.
                Err(PipelineError::Abandoned) => {}
                Err(e) => {
                    self.failed(&job, &e, started.elapsed()).await;
                    tracing::warn!(job = %job.id, error = %e, "pipeline job failed");
                }
            }
        };
        tracing::Instrument::instrument(run, span)
    }
}

impl Pipeline {
    async fn process(&self, job: &JobRow) -> Result<(), PipelineError> {
        let row_id = job.message_id.as_deref().ok_or(PipelineError::NoMessage)?;
        let message = self
            .store
            .message(row_id)
            .await?
            .ok_or(PipelineError::NoMessage)?;
        if self.faults.dies_on(&message.subject) {
            return Err(PipelineError::Abandoned);
        }
        let mut flight = match self.admit(&message).await? {
            Ok(flight) => flight,
            Err(refused) => {
                return self
                    .reject(
                        job,
                        &message,
                        &refused.flight,
                        &refused.event,
                        refused.reason,
                    )
                    .await;
            }
        };
        // The agents that saw it are noted once they have all run.
        let mut inspected_by = Vec::new();
        for stage in &self.stages {
            if stage.is_agent() {
                if !flight.inspect || (flight.read_only().is_some() && !stage.reads_unopened()) {
                    continue;
                }
                inspected_by.push(stage.name().to_string());
            } else if !inspected_by.is_empty() {
                flight.notes.push(Note::Inspected {
                    by: std::mem::take(&mut inspected_by),
                    read_only: flight.read_only().is_some(),
                });
            }
            if let Err(error) = stage.process(&mut flight).await {
                return self
                    .stage_refused(job, &message, flight, stage.name(), error)
                    .await;
            }
            if self.faults.dies_after(stage.name()) {
                return Err(PipelineError::Abandoned);
            }
        }
        let Some(outcome) = flight.outcome.take() else {
            return Err(PipelineError::Stage {
                stage: "protection".into(),
                error: StageError::Permanent("no stage decided the message's outcome".into()),
            });
        };
        self.finish(job, outcome).await
    }

    /// What a stage's refusal means for the job.
    async fn stage_refused(
        &self,
        job: &JobRow,
        message: &MessageRow,
        flight: InFlight,
        stage: &str,
        error: StageError,
    ) -> Result<(), PipelineError> {
        match error {
            StageError::Reject { event, reason } => {
                self.reject(job, message, &flight.for_report(), &event, reason)
                    .await
            }
            StageError::RejectWithOriginal { event, reason } => {
                self.reject_with_original(job, message, &flight, &event, reason)
                    .await
            }
            StageError::RejectUnread { event, reason } => {
                // The report carries the protected message's headers only,
                // never anything that was decrypted.
                let unread = InFlight {
                    notes: Vec::new(),
                    ..flight.for_report()
                };
                self.reject(job, message, &unread, &event, reason).await
            }
            StageError::Transient(why) => self.defer(job, message, flight, stage, why).await,
            StageError::Store(e) => Err(PipelineError::Store(e)),
            error @ StageError::Permanent(_) => Err(PipelineError::Stage {
                stage: stage.to_string(),
                error,
            }),
        }
    }

    /// The stored message as the stages start from it: refused when it
    /// nests too deep or loops, opened when it is this organization's
    /// protected mail, kept from whom a do-not-forward message may not
    /// reach, and with the sender's request for protection read.
    async fn admit(
        &self,
        message: &MessageRow,
    ) -> Result<Result<InFlight, Refusal>, PipelineError> {
        let sealed = message.content.as_deref().ok_or(PipelineError::NoMessage)?;
        let raw = self.keys.keyring.open(message.id.as_bytes(), sealed)?;
        let envelope: Envelope = serde_json::from_str(&message.envelope)?;
        let mut flight = InFlight {
            raw,
            envelope,
            row_id: message.id.clone(),
            message_id: message.message_id.clone(),
            arrival: Arrival::Plain,
            config: IrmConfig::default(),
            protection: None,
            template: None,
            inspect: true,
            notes: Vec::new(),
            refused_forwards: Vec::new(),
            outcome: None,
        };
        let refuse = |flight: InFlight, event: &str, reason: String| {
            Ok(Err(Refusal {
                flight,
                event: event.to_string(),
                reason,
            }))
        };
        // The intake refuses such mail; this keeps any stored before that
        // (or protected elsewhere in the organization) from every stage.
        if let Err(e) = crate::mime::check_nesting(&flight.raw) {
            return refuse(flight, "rejected", e.to_string());
        }
        // Our own line from the intake is one; three before it is a loop.
        let hops = our_hops(&flight.raw, &self.keys);
        if hops > MAX_HOPS {
            let reason = format!(
                "mail loop: the message has passed through this organization's sealpost {MAX_HOPS} times already"
            );
            return refuse(flight, "mail loop", reason);
        }
        self.unwrap_arrived_protected(&mut flight);
        if flight.arrival.ours().is_some()
            && let Err(e) = crate::mime::check_nesting(&flight.raw)
        {
            return refuse(flight.for_report(), "rejected", e.to_string());
        }
        self.apply_envelope_rights(&mut flight, message).await?;
        if flight.envelope.to.is_empty() && !flight.refused_forwards.is_empty() {
            let reason = do_not_forward_reason(&flight.refused_forwards);
            flight.envelope.to = std::mem::take(&mut flight.refused_forwards);
            return refuse(flight.for_report(), "rejected: do not forward", reason);
        }
        // Only mail in the protected format depends on the settings: other
        // mail does not read them.
        if flight.arrival.is_protected() {
            flight.config = IrmConfig::load(&self.store).await?;
        }
        if matches!(flight.arrival, Arrival::Foreign) {
            if flight.config.foreign_protected == crate::irm_config::ForeignProtected::Reject {
                let reason = "the message is protected by another organization, which this organization does not accept".to_string();
                return refuse(
                    flight,
                    "rejected: protected by another organization",
                    reason,
                );
            }
        } else {
            protection::apply_sender_request(&mut flight, &self.settings.subject_tag);
        }
        Ok(Ok(flight))
    }

    /// Mail already in the protected format is never protected twice: ours
    /// keeps its envelope's rights, template and expiry, and the message
    /// inside is what link-based recipients read; another organization's is
    /// passed on untouched.
    fn unwrap_arrived_protected(&self, flight: &mut InFlight) {
        let Ok(envelope) = crate::protected::envelope_of(&flight.raw) else {
            return;
        };
        flight.arrival = match crate::protected::open(
            |org| self.keys.is_ours(org),
            &self.keys.keyring,
            &envelope,
        ) {
            Ok(opened) => {
                flight.protection = Some(opened.header.rights);
                flight.template = Some(opened.header.template.clone());
                let wrapped = std::mem::replace(&mut flight.raw, opened.original);
                Arrival::Ours(ArrivedProtected {
                    wrapped,
                    envelope,
                    expires_at: opened.header.expires_at,
                    header: opened.header,
                    version: opened.version,
                    inspected: false,
                })
            }
            Err(crate::protected::FormatError::ForeignOrganization) => Arrival::Foreign,
            // Only a structurally valid envelope (magic, version, a header
            // that parses) makes a message protected: this is ordinary mail.
            Err(crate::protected::FormatError::Malformed(_)) => Arrival::Plain,
            // A changed envelope of ours, or an unknown key: permanent at
            // once (SPEC).
            Err(e) => Arrival::Undecryptable(e.to_string()),
        };
    }

    /// Mail protected by this organization reaches only whom its envelope
    /// allows: the recipients it was protected for (v2: the header's
    /// digests; v1: the recipients recorded for its Message-ID) and its
    /// sender. Do-not-forward mail does not reach anyone else; encrypt-only
    /// mail may be forwarded, and the forward is recorded (the new address
    /// then has a copy of its own).
    async fn apply_envelope_rights(
        &self,
        flight: &mut InFlight,
        message: &MessageRow,
    ) -> Result<(), PipelineError> {
        let Some(arrived) = flight.arrival.ours() else {
            return Ok(());
        };
        let header = &arrived.header;
        let key = self.keys.derived(crate::keys::labels::RECIPIENT_DIGEST);
        let recorded: Vec<String> = if arrived.version >= 2 {
            Vec::new()
        } else {
            self.store
                .status_rows(&header.message_id, None)
                .await?
                .into_iter()
                // Only what was recorded when it was protected: anyone can
                // send new mail under the same Message-ID later, and plant
                // recipients that way. (The envelope's time is authenticated;
                // the gateway records a message just before protecting it,
                // `protect` just after.)
                .filter(|r| r.id != message.id && r.received_at <= header.created_at + 60_000)
                .filter_map(|r| r.address)
                .collect()
        };
        let allowed = |address: &str| {
            if arrived.version >= 2 {
                header.names(&key, address) || header.sender.eq_ignore_ascii_case(address)
            } else {
                recorded.iter().any(|r| r.eq_ignore_ascii_case(address))
            }
        };
        let (keep, others): (Vec<String>, Vec<String>) = flight
            .envelope
            .to
            .iter()
            .cloned()
            .partition(|address| allowed(address));
        // A v1 envelope names nobody: whoever it was not recorded for is
        // refused as if it were do-not-forward.
        let forwardable = arrived.version >= 2 && header.rights == Rights::EncryptOnly;
        match forwardable {
            false => {
                for address in &others {
                    flight.notes.push(Note::DoNotForward(address.clone()));
                }
                flight.envelope.to = keep;
                flight.refused_forwards = others;
            }
            true => {
                let by = if flight.envelope.from.is_empty() {
                    "<>"
                } else {
                    &flight.envelope.from
                };
                for address in &others {
                    flight.notes.push(Note::Forwarded {
                        to: address.clone(),
                        by: by.to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    /// A stage cannot decide now: the message waits for the queue's
    /// backoff, and is refused with a report once the queue lifetime is over.
    async fn defer(
        &self,
        job: &JobRow,
        message: &MessageRow,
        flight: InFlight,
        stage: &str,
        why: String,
    ) -> Result<(), PipelineError> {
        if now_ms() >= job.give_up_at {
            let reason = format!(
                "the message could not be inspected ({stage}) before the queue lifetime ran out"
            );
            return self
                .reject(
                    job,
                    message,
                    &flight.for_report(),
                    "expired in the queue",
                    reason,
                )
                .await;
        }
        let delay = crate::store::retry_delay(self.retry_backoff, job.attempts);
        let run_at = (now_ms() + delay.as_millis() as i64).min(job.give_up_at);
        let error = format!("{stage}: {why}");
        let deferred = JobOutcome {
            job: job.id.clone(),
            lease: job.leased_by.clone().unwrap_or_default(),
            events: vec![OutcomeEvent {
                kind: "deferred".into(),
                message_id: Some(message.id.clone()),
                detail: Some(error.clone()),
                ..Default::default()
            }],
            outcome: Outcome::Retry { run_at, error },
        };
        if !self.outcomes.write(Arc::new(deferred)).await? {
            // Its lease ran out meanwhile: the worker that took it decides.
            tracing::info!(job = %job.id, "the job was taken by another worker: this run's deferral is dropped");
        }
        Ok(())
    }

    /// As `reject`, with the message (still encrypted) in the report.
    async fn reject_with_original(
        &self,
        job: &JobRow,
        message: &MessageRow,
        flight: &InFlight,
        event: &str,
        reason: String,
    ) -> Result<(), PipelineError> {
        let raw = flight
            .arrival
            .ours()
            .map(|a| a.wrapped.as_slice())
            .unwrap_or(&flight.raw);
        let mut outcome = self.rejection(message, flight, event, reason.clone());
        for j in &mut outcome.jobs {
            let report = crate::ndr::build_with_message(
                &self.hostname,
                &flight.envelope.from,
                &flight.envelope.to,
                raw,
                &reason,
            );
            j.payload = self.keys.keyring.seal(j.id.as_bytes(), &report);
        }
        self.finish(job, outcome).await
    }

    /// Stores the outcome (copies, jobs, events) with the other outcomes
    /// that finish meanwhile, and wakes the senders.
    async fn finish(&self, job: &JobRow, outcome: PipelineOutcome) -> Result<(), PipelineError> {
        let state = outcome.state.clone();
        let done = JobOutcome {
            job: job.id.clone(),
            lease: job.leased_by.clone().unwrap_or_default(),
            outcome: Outcome::Pipeline(outcome),
            events: Vec::new(),
        };
        if self.outcomes.write(Arc::new(done)).await? {
            self.metrics.pipeline_outcome(&state);
            self.wake_outbound.notify_waiters();
        } else {
            tracing::info!(job = %job.id, "the job was finished, quarantined or deleted meanwhile: this run's outcome is dropped");
        }
        Ok(())
    }

    /// Not delivered to anyone: a non-delivery report to an internal sender.
    async fn reject(
        &self,
        job: &JobRow,
        message: &MessageRow,
        flight: &InFlight,
        event: &str,
        reason: String,
    ) -> Result<(), PipelineError> {
        let outcome = self.rejection(message, flight, event, reason);
        self.finish(job, outcome).await
    }

    fn rejection(
        &self,
        message: &MessageRow,
        flight: &InFlight,
        event: &str,
        reason: String,
    ) -> PipelineOutcome {
        let sender = flight.envelope.from.clone();
        let mut jobs = Vec::new();
        if !sender.is_empty() && self.settings.is_internal(&sender) {
            let report = crate::ndr::build(
                &self.hostname,
                &sender,
                &flight.envelope.to,
                &flight.raw,
                &reason,
            );
            jobs.push(crate::ndr::job(
                &self.keys,
                &self.settings,
                Some(message.id.clone()),
                format!("{}:ndr:rejected", message.id),
                &sender,
                &report,
            ));
        }
        PipelineOutcome {
            message_row: message.id.clone(),
            subject: message.subject.clone(),
            message_id: message.message_id.clone(),
            content: message.content.clone().unwrap_or_default(),
            size: flight.raw.len() as i64,
            protected: false,
            rights: None,
            template_id: None,
            expires_at: None,
            state: "rejected".into(),
            recipients: Vec::new(),
            jobs,
            // What happened first (decryption tries, ...), then why.
            events: flight
                .notes
                .iter()
                .map(|n| (n.event(), None, n.detail()))
                .chain([(event.to_string(), None, reason)])
                .collect(),
        }
    }

    async fn failed(&self, job: &JobRow, error: &PipelineError, took: Duration) {
        let lease = job.leased_by.clone().unwrap_or_default();
        // A database that is away, full or busy says nothing about the
        // message: the job waits and is tried again, never failed for it
        // (the mail was acknowledged). When even that write is refused for
        // half the lease, the lease runs out and the job is taken again.
        if let PipelineError::Store(e) = error
            && e.is_transient()
        {
            let delay = crate::store::retry_delay(self.retry_backoff, job.attempts);
            let retry = Arc::new(JobOutcome {
                job: job.id.clone(),
                lease,
                outcome: Outcome::Retry {
                    run_at: now_ms() + delay.as_millis() as i64,
                    error: e.to_string(),
                },
                events: Vec::new(),
            });
            self.metrics.pipeline_outcome("retried");
            self.metrics.pipeline_job(took);
            let within = Duration::from_millis(crate::queue::JobRunner::lease_ms(self) as u64 / 2);
            crate::queue::persist(&job.id, within, || async {
                self.outcomes.write(retry.clone()).await.map(|_| ())
            })
            .await;
            return;
        }
        self.metrics.pipeline_outcome("failed");
        self.metrics.pipeline_job(took);
        let failed = JobOutcome {
            job: job.id.clone(),
            lease,
            outcome: Outcome::Finish {
                state: "failed",
                error: Some(error.to_string()),
                report: None,
                recipient: None,
            },
            events: vec![OutcomeEvent {
                kind: "failed".into(),
                message_id: job.message_id.clone(),
                detail: Some(error.to_string()),
                ..Default::default()
            }],
        };
        let _ = self.outcomes.write(Arc::new(failed)).await;
    }
}

/// What a report says of do-not-forward mail sent on to new addresses.
pub(crate) fn do_not_forward_reason(refused: &[String]) -> String {
    refused
        .iter()
        .map(|a| format!("do not forward: {a} was not a recipient of the original message"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Passes through this organization before the current one (SPEC: three
/// of them make a loop).
pub const MAX_HOPS: usize = 3;

/// How many of this organization's `Received:` lines a message carries
/// (this node's own included).
pub fn our_hops(raw: &[u8], keys: &KeyMaterial) -> usize {
    crate::mime::raw_headers(raw, "Received")
        .iter()
        .filter(|line| {
            let text = String::from_utf8_lossy(line);
            text.split("(sealpost ")
                .skip(1)
                .filter_map(|rest| rest.split(')').next())
                .any(|org| keys.is_ours(org.trim()))
        })
        .count()
}
