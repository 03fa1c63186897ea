//! The durable outbound queue: every outgoing mail is a job in the
//! database, sent by workers to the relay (or kept in the local outbox),
//! retried with backoff on temporary failures until the queue lifetime,
//! and answered with a non-delivery report when it cannot be delivered.

pub mod notification;
mod relay;

use crate::config::{RelayUrl, Settings};
use crate::keys::KeyMaterial;
use crate::store::{JobOutcome, JobRow, Outcome, OutcomeEvent, Outcomes, Store, new_id, now_ms};
use lettre::transport::smtp::client::TlsParameters;
use relay::{Relay, RelayTls};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

pub const LEASE_MS: i64 = 120_000;

/// Where mail goes.
pub enum Transport {
    /// No relay configured: mail is kept, sealed, for `/dev/outbox`.
    Outbox,
    Relay(Relay),
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("{0}")]
    Temporary(String),
    #[error("{0}")]
    Permanent(String),
}

impl Transport {
    /// `connections`: how many stay open to the relay between mails (one
    /// per mail in flight), so that each carries many.
    pub fn from_settings(
        relay: Option<&RelayUrl>,
        connections: usize,
    ) -> Result<Transport, String> {
        let Some(relay) = relay else {
            return Ok(Transport::Outbox);
        };
        let url = relay.url();
        let host = url.host_str().unwrap_or_default().to_string();
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        let plain = url.query_pairs().any(|(k, v)| k == "tls" && v == "none");
        let tls = || TlsParameters::new(host.clone()).map_err(|e| format!("TLS for {host}: {e}"));
        let (tls, port) = match (url.scheme(), plain || loopback) {
            ("smtps", _) => (RelayTls::Wrapper(tls()?), url.port().unwrap_or(465)),
            (_, true) => (RelayTls::None, url.port().unwrap_or(25)),
            (_, false) => (RelayTls::Required(tls()?), url.port().unwrap_or(25)),
        };
        let credentials = (!url.username().is_empty()).then(|| {
            lettre::transport::smtp::authentication::Credentials::new(
                url.username().to_string(),
                url.password().unwrap_or_default().to_string(),
            )
        });
        Ok(Transport::Relay(Relay::new(
            host,
            port,
            tls,
            credentials,
            connections.clamp(1, 1000),
        )))
    }
}

pub struct Outbound {
    pub store: Store,
    pub keys: Arc<KeyMaterial>,
    pub settings: Arc<Settings>,
    pub transport: Transport,
    pub hostname: String,
    pub wake: Arc<Notify>,
    /// First retry delay; doubled per try up to an hour.
    pub backoff: Duration,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// How long a claimed job is this worker's (shorter in fault tests).
    pub lease_ms: i64,
    /// The group commit every job's outcome goes through.
    pub outcomes: Outcomes,
}

impl crate::queue::JobRunner for Outbound {
    const KIND: crate::domain::JobKind = crate::domain::JobKind::Outbound;

    fn store(&self) -> &Store {
        &self.store
    }

    fn wake(&self) -> &Notify {
        &self.wake
    }

    fn lease_ms(&self) -> i64 {
        self.lease_ms
    }

    async fn sweep(&self) -> Result<usize, crate::store::StoreError> {
        crate::queue::quarantine_sweep(&self.store, &self.keys, &self.settings, Self::KIND).await
    }

    fn run(self: Arc<Self>, job: JobRow) -> impl Future<Output = ()> + Send + 'static {
        let span = tracing::info_span!(
            "deliver",
            job = %job.id,
            message = job.message_id.as_deref().unwrap_or_default()
        );
        tracing::Instrument::instrument(async move { self.deliver(job).await }, span)
    }
}

impl Outbound {
    /// A line of the job's message's timeline, naming its recipients.
    fn event(job: &JobRow, kind: &str, detail: Option<String>) -> OutcomeEvent {
        let to = job.envelope_to.as_deref().unwrap_or("[]");
        let recipients: Vec<String> = serde_json::from_str(to).unwrap_or_default();
        OutcomeEvent {
            kind: kind.to_string(),
            message_id: job.message_id.clone(),
            recipient: Some(recipients.join(", ")),
            detail,
        }
    }

    /// The job's outcome under its claim.
    fn outcome(job: &JobRow, outcome: Outcome, event: OutcomeEvent) -> JobOutcome {
        JobOutcome {
            job: job.id.clone(),
            lease: job.leased_by.clone().unwrap_or_default(),
            outcome,
            events: vec![event],
        }
    }

    async fn deliver(&self, job: JobRow) {
        let purpose = job.purpose.clone().unwrap_or_default();
        // Revocation and expiry cancel what has not gone out yet.
        if let Some(message) = job
            .message_id
            .as_deref()
            .filter(|_| purpose == "notification" || purpose == "passcode")
        {
            match self.store.message_readable(message).await {
                Ok(true) => {}
                Ok(false) => {
                    let cancelled = Outcome::Finish {
                        state: "cancelled",
                        error: Some("message revoked or expired".into()),
                        report: None,
                        recipient: None,
                    };
                    let event = Self::event(
                        &job,
                        "notification cancelled",
                        Some("the message was revoked or expired".into()),
                    );
                    let _ = self
                        .outcomes
                        .write(Arc::new(Self::outcome(&job, cancelled, event)))
                        .await;
                    return;
                }
                Err(_) => return, // the lease runs out; tried again later
            }
        }
        let raw = match job
            .payload
            .as_deref()
            .map(|p| self.keys.keyring.open(job.id.as_bytes(), p))
        {
            Some(Ok(raw)) => raw,
            _ => {
                let why = "the queued mail cannot be opened";
                let failed = Outcome::Finish {
                    state: "failed",
                    error: Some(why.into()),
                    report: None,
                    recipient: None,
                };
                let event = Self::event(&job, "failed", Some(why.into()));
                let _ = self
                    .outcomes
                    .write(Arc::new(Self::outcome(&job, failed, event)))
                    .await;
                return;
            }
        };
        let from = job.envelope_from.clone().unwrap_or_default();
        let to: Vec<String> =
            serde_json::from_str(job.envelope_to.as_deref().unwrap_or("[]")).unwrap_or_default();
        let started = std::time::Instant::now();
        let result = match &self.transport {
            Transport::Outbox => {
                let subject = mail_parser::MessageParser::default()
                    .parse_headers(&raw)
                    .and_then(|m| m.subject().map(str::to_string))
                    .unwrap_or_default();
                let payload = job.payload.clone().unwrap_or_default();
                self.store
                    .keep_in_outbox(&job, &subject, &payload, &new_id())
                    .await
                    .map_err(|e| TransportError::Temporary(e.to_string()))
            }
            Transport::Relay(relay) => send(relay, &from, &to, &raw).await,
        };
        let took = started.elapsed();
        match result {
            Ok(()) => {
                self.metrics.delivery("sent", took);
                let state = if purpose == "notification" {
                    crate::domain::RecipientState::Notified
                } else {
                    crate::domain::RecipientState::Delivered
                };
                let kind = match purpose.as_str() {
                    "notification" => "notification sent",
                    "inline" => "inline copy sent",
                    "ndr" => "non-delivery report sent",
                    "passcode" => "passcode delivered",
                    _ => "sent",
                };
                let done = Outcome::Finish {
                    state: "done",
                    error: None,
                    report: None,
                    recipient: job.recipient_id.clone().map(|r| (r, state)),
                };
                self.settle(Self::outcome(&job, done, Self::event(&job, kind, None)))
                    .await;
            }
            Err(TransportError::Temporary(reason)) if now_ms() < job.give_up_at => {
                self.metrics.delivery("deferred", took);
                let delay = crate::store::retry_delay(self.backoff, job.attempts);
                let detail = format!("{reason}; next try in {} s", delay.as_secs().max(1));
                let retry = Outcome::Retry {
                    run_at: now_ms() + delay.as_millis() as i64,
                    error: reason,
                };
                self.settle(Self::outcome(
                    &job,
                    retry,
                    Self::event(&job, "deferred", Some(detail)),
                ))
                .await;
            }
            Err(error) => {
                self.metrics.delivery("failed", took);
                let reason = error.to_string();
                let report = (purpose != "ndr")
                    .then(|| self.bounce(&job, &from, &to, &raw, &reason))
                    .flatten();
                let reported = report.is_some();
                let failed = Outcome::Finish {
                    state: "failed",
                    error: Some(reason.clone()),
                    report,
                    recipient: None,
                };
                let event = Self::event(&job, "failed", Some(reason));
                if self.settle(Self::outcome(&job, failed, event)).await && reported {
                    self.wake.notify_one();
                }
            }
        }
    }

    /// Writes what became of a delivery attempt (true when it was this
    /// claim's to write). The relay has answered, so the write is asked
    /// again for most of the lease rather than the mail sent again (or a
    /// report lost); a job another claim took meanwhile is left to it.
    async fn settle(&self, outcome: JobOutcome) -> bool {
        let within = Duration::from_millis(self.lease_ms as u64 * 3 / 4);
        let outcome = Arc::new(outcome);
        let held = std::sync::atomic::AtomicBool::new(false);
        crate::queue::persist(&outcome.job, within, || async {
            if self.outcomes.write(outcome.clone()).await? {
                held.store(true, std::sync::atomic::Ordering::Relaxed);
            } else {
                tracing::warn!(job = %outcome.job, "the job's lease ran out and another worker took it");
            }
            Ok(())
        })
        .await;
        held.into_inner()
    }

    /// The non-delivery report to the sender, from `<>`, only for senders
    /// of the organization; never to the null sender.
    fn bounce(
        &self,
        job: &JobRow,
        from: &str,
        to: &[String],
        raw: &[u8],
        reason: &str,
    ) -> Option<crate::store::NewJob> {
        if from.is_empty() || !self.settings.is_internal(from) {
            return None;
        }
        let report = crate::ndr::build(&self.hostname, from, to, raw, reason);
        let ndr_job = crate::ndr::job(
            &self.keys,
            &self.settings,
            job.message_id.clone(),
            format!("ndr:{}", job.id),
            from,
            &report,
        );
        Some(ndr_job)
    }
}

async fn send(relay: &Relay, from: &str, to: &[String], raw: &[u8]) -> Result<(), TransportError> {
    let parse = |a: &str| {
        a.parse::<lettre::Address>()
            .map_err(|e| TransportError::Permanent(format!("address {a}: {e}")))
    };
    let from = if from.is_empty() {
        None
    } else {
        Some(parse(from)?)
    };
    let to = to.iter().map(|a| parse(a)).collect::<Result<Vec<_>, _>>()?;
    let envelope = lettre::address::Envelope::new(from, to)
        .map_err(|e| TransportError::Permanent(e.to_string()))?;
    // lettre ends the data with CRLF . CRLF itself: hand it the message
    // without its final line break so the relay receives the exact bytes.
    let raw = raw.strip_suffix(b"\r\n").unwrap_or(raw);
    relay.send(&envelope, raw).await
}
