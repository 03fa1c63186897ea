//! The durable outbound queue: every outgoing mail is a job in the
//! database, sent by workers to the relay (or kept in the local outbox),
//! retried with backoff on temporary failures until the queue lifetime,
//! and answered with a non-delivery report when it cannot be delivered.

pub mod notification;

use crate::config::{RelayUrl, Settings};
use crate::keys::KeyMaterial;
use crate::store::{Event, JobRow, Store, new_id, now_ms};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

pub const LEASE_MS: i64 = 120_000;

/// Where mail goes.
pub enum Transport {
    /// No relay configured: mail is kept, sealed, for `/dev/outbox`.
    Outbox,
    Relay(AsyncSmtpTransport<Tokio1Executor>),
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("{0}")]
    Temporary(String),
    #[error("{0}")]
    Permanent(String),
}

impl Transport {
    pub fn from_settings(relay: Option<&RelayUrl>) -> Result<Transport, String> {
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
        let builder = match (url.scheme(), plain || loopback) {
            ("smtps", _) => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
                .port(url.port().unwrap_or(465))
                .tls(Tls::Wrapper(tls()?)),
            (_, true) => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
                .port(url.port().unwrap_or(25)),
            (_, false) => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
                .port(url.port().unwrap_or(25))
                .tls(Tls::Required(tls()?)),
        };
        let builder = if url.username().is_empty() {
            builder
        } else {
            builder.credentials(lettre::transport::smtp::authentication::Credentials::new(
                url.username().to_string(),
                url.password().unwrap_or_default().to_string(),
            ))
        };
        Ok(Transport::Relay(
            builder.timeout(Some(Duration::from_secs(60))).build(),
        ))
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
}

impl Outbound {
    pub async fn run_worker(self: Arc<Self>, worker: String) {
        let mut sweep = crate::queue::SweepClock::default();
        let mut idle = true;
        loop {
            if sweep.due(idle)
                && let Err(e) = crate::queue::quarantine_sweep(
                    &self.store,
                    &self.keys,
                    &self.settings,
                    crate::domain::JobKind::Outbound,
                )
                .await
            {
                tracing::warn!(error = %e, "outbound queue cannot quarantine abandoned jobs");
            }
            let claimed = self
                .store
                .claim_job(crate::domain::JobKind::Outbound, &worker, self.lease_ms)
                .await;
            idle = !matches!(claimed, Ok(Some(_)));
            match claimed {
                Ok(Some(job)) => {
                    let id = job.id.clone();
                    let this = self.clone();
                    let holder = worker.clone();
                    let span = tracing::info_span!(
                        "deliver",
                        job = %id,
                        message = job.message_id.as_deref().unwrap_or_default()
                    );
                    let run = tracing::Instrument::instrument(
                        async move { this.deliver(job, &holder).await },
                        span,
                    );
                    crate::queue::run_leased(&self.store, &id, &worker, self.lease_ms, run).await;
                }
                Ok(None) => {
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "outbound queue cannot reach the database");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    async fn event(&self, job: &JobRow, kind: &str, detail: Option<&str>) {
        let to = job.envelope_to.as_deref().unwrap_or("[]");
        let recipients: Vec<String> = serde_json::from_str(to).unwrap_or_default();
        let recipient = recipients.join(", ");
        let _ = self
            .store
            .record_event(Event {
                kind,
                message_id: job.message_id.as_deref(),
                recipient: Some(&recipient),
                detail,
                ..Default::default()
            })
            .await;
    }

    async fn deliver(&self, job: JobRow, worker: &str) {
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
                    let _ = self
                        .store
                        .finish_held(
                            &job.id,
                            worker,
                            "cancelled",
                            Some("message revoked or expired"),
                        )
                        .await;
                    self.event(
                        &job,
                        "notification cancelled",
                        Some("the message was revoked or expired"),
                    )
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
                let _ = self
                    .store
                    .finish_held(
                        &job.id,
                        worker,
                        "failed",
                        Some("the queued mail cannot be opened"),
                    )
                    .await;
                self.event(&job, "failed", Some("the queued mail cannot be opened"))
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
                    .deliver_to_outbox(&job, &subject, &payload, &new_id())
                    .await
                    .map_err(|e| TransportError::Temporary(e.to_string()))
            }
            Transport::Relay(relay) => send(relay, &from, &to, &raw).await,
        };
        let took = started.elapsed();
        match result {
            Ok(()) => {
                self.metrics.delivery("sent", took);
                if !matches!(self.transport, Transport::Outbox) {
                    self.settle(&job.id, || {
                        self.store.finish_held(&job.id, worker, "done", None)
                    })
                    .await;
                }
                if let Some(recipient) = &job.recipient_id {
                    let state = if purpose == "notification" {
                        crate::domain::RecipientState::Notified
                    } else {
                        crate::domain::RecipientState::Delivered
                    };
                    let _ = self.store.advance_recipient_state(recipient, state).await;
                }
                let kind = match purpose.as_str() {
                    "notification" => "notification sent",
                    "inline" => "inline copy sent",
                    "ndr" => "non-delivery report sent",
                    "passcode" => "passcode delivered",
                    _ => "sent",
                };
                self.event(&job, kind, None).await;
            }
            Err(TransportError::Temporary(reason)) if now_ms() < job.give_up_at => {
                self.metrics.delivery("deferred", took);
                let delay = crate::store::retry_delay(self.backoff, job.attempts);
                let run_at = now_ms() + delay.as_millis() as i64;
                self.settle(&job.id, || {
                    self.store.retry_held(&job.id, worker, run_at, &reason)
                })
                .await;
                self.event(
                    &job,
                    "deferred",
                    Some(&format!(
                        "{reason}; next try in {} s",
                        delay.as_secs().max(1)
                    )),
                )
                .await;
            }
            Err(error) => {
                self.metrics.delivery("failed", took);
                let reason = error.to_string();
                let report = (purpose != "ndr")
                    .then(|| self.bounce(&job, &from, &to, &raw, &reason))
                    .flatten();
                self.settle(&job.id, || {
                    self.store
                        .fail_held(&job.id, worker, &reason, report.as_ref())
                })
                .await;
                self.event(&job, "failed", Some(&reason)).await;
                if report.is_some() {
                    self.wake.notify_one();
                }
            }
        }
    }

    /// Writes what became of a delivery attempt. The relay has answered, so
    /// the write is asked again for most of the lease rather than the mail
    /// sent again (or a report lost); a job another worker took meanwhile
    /// is left to that worker.
    async fn settle<F, Fut>(&self, job: &str, write: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<bool, crate::store::StoreError>>,
    {
        let within = Duration::from_millis(self.lease_ms as u64 * 3 / 4);
        let mut write = write;
        crate::queue::persist(job, within, || {
            let attempt = write();
            async move {
                if !attempt.await? {
                    tracing::warn!(job, "the job's lease ran out and another worker took it");
                }
                Ok(())
            }
        })
        .await;
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

async fn send(
    relay: &AsyncSmtpTransport<Tokio1Executor>,
    from: &str,
    to: &[String],
    raw: &[u8],
) -> Result<(), TransportError> {
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
    match relay.send_raw(&envelope, raw).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_permanent() => Err(TransportError::Permanent(format!(
            "the relay refused the mail: {e}"
        ))),
        Err(e) => Err(TransportError::Temporary(format!(
            "the relay is unavailable: {e}"
        ))),
    }
}
