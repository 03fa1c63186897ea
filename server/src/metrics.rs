//! What an operator graphs: counters and histograms kept by this node, and
//! the queue's depth read from the database at each scrape, served in the
//! Prometheus text format on `SEALPOST_METRICS_ADDR` (unset: not served).
//!
//! Each node (and each test application) has its own registry, passed to
//! the parts that count; nothing is global.

use crate::domain::JobKind;
use crate::store::Store;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Code {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SurfaceLabel {
    surface: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Queue {
    kind: &'static str,
    state: &'static str,
}

pub struct Metrics {
    registry: Registry,
    smtp_messages: Family<Code, Counter>,
    pipeline_outcomes: Family<Outcome, Counter>,
    deliveries: Family<ResultLabel, Counter>,
    queue_jobs: Family<Queue, Gauge>,
    portal_opens: Counter,
    passcodes: Family<ResultLabel, Counter>,
    sign_in_failures: Family<SurfaceLabel, Counter>,
    intake_commit: Histogram,
    pipeline_job: Histogram,
    delivery: Histogram,
}

/// 1 ms to about 65 s, doubling.
fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut m = Metrics {
            registry: Registry::with_prefix("sealpost"),
            smtp_messages: Family::default(),
            pipeline_outcomes: Family::default(),
            deliveries: Family::default(),
            queue_jobs: Family::default(),
            portal_opens: Counter::default(),
            passcodes: Family::default(),
            sign_in_failures: Family::default(),
            intake_commit: seconds(),
            pipeline_job: seconds(),
            delivery: seconds(),
        };
        let r = &mut m.registry;
        r.register(
            "smtp_messages",
            "Messages the SMTP intake answered at the end of their data, by reply code (250 accepted)",
            m.smtp_messages.clone(),
        );
        r.register(
            "pipeline_outcomes",
            "Pipeline jobs finished, by outcome (protected, passed, rejected, ..., retried, failed)",
            m.pipeline_outcomes.clone(),
        );
        r.register(
            "deliveries",
            "Mail handed to the relay or the outbox, by result (sent, deferred, failed)",
            m.deliveries.clone(),
        );
        r.register(
            "queue_jobs",
            "Jobs in the queue now, by kind and state (ready, waiting, quarantined)",
            m.queue_jobs.clone(),
        );
        r.register(
            "portal_opens",
            "Protected messages opened in the portal",
            m.portal_opens.clone(),
        );
        r.register(
            "passcodes",
            "One-time passcodes, by result (sent, failed: a wrong code entered)",
            m.passcodes.clone(),
        );
        r.register(
            "sign_in_failures",
            "Refused sign-ins, by surface (web, smtp, portal)",
            m.sign_in_failures.clone(),
        );
        r.register(
            "intake_commit_seconds",
            "Time of one group commit of incoming messages",
            m.intake_commit.clone(),
        );
        r.register(
            "pipeline_job_seconds",
            "Time of one pipeline job, claim to outcome",
            m.pipeline_job.clone(),
        );
        r.register(
            "delivery_seconds",
            "Time of one delivery attempt to the relay",
            m.delivery.clone(),
        );
        m
    }
}

impl Metrics {
    /// The reply an SMTP client heard at the end of a message's data.
    pub fn smtp_reply(&self, reply: &str) {
        let code = reply.get(..3).unwrap_or("???").to_string();
        self.smtp_messages.get_or_create(&Code { code }).inc();
    }

    /// The state a pipeline job left its message in (`protected`,
    /// `passed`, `rejected`, ...), or `retried` / `failed`.
    pub fn pipeline_outcome(&self, outcome: &str) {
        self.pipeline_outcomes
            .get_or_create(&Outcome {
                outcome: outcome.to_string(),
            })
            .inc();
    }

    pub fn pipeline_job(&self, took: Duration) {
        self.pipeline_job.observe(took.as_secs_f64());
    }

    /// `sent`, `deferred` or `failed`.
    pub fn delivery(&self, result: &'static str, took: Duration) {
        self.deliveries.get_or_create(&ResultLabel { result }).inc();
        self.delivery.observe(took.as_secs_f64());
    }

    pub fn intake_commit(&self, took: Duration) {
        self.intake_commit.observe(took.as_secs_f64());
    }

    pub fn portal_open(&self) {
        self.portal_opens.inc();
    }

    /// `sent` or `failed`.
    pub fn passcode(&self, result: &'static str) {
        self.passcodes.get_or_create(&ResultLabel { result }).inc();
    }

    pub fn sign_in_failure(&self, surface: &'static str) {
        self.sign_in_failures
            .get_or_create(&SurfaceLabel { surface })
            .inc();
    }

    /// The text a scrape gets; the queue's depth is read now. With the
    /// database away the counters are still served (they matter most then)
    /// and the depth is left out rather than shown stale.
    pub async fn render(&self, store: &Store) -> String {
        // Within a scrape's timeout: a database that does not answer
        // leaves the depth out rather than the whole scrape.
        let depth = tokio::time::timeout(Duration::from_secs(2), store.queue_depth()).await;
        match depth.unwrap_or(Err(crate::store::StoreError::Batch(
            "no answer within 2 s".into(),
        ))) {
            Ok(depth) => {
                for kind in [JobKind::Pipeline, JobKind::Outbound] {
                    for state in ["ready", "waiting", "quarantined"] {
                        let n = depth
                            .iter()
                            .find(|(k, s, _)| *k == kind && s == state)
                            .map_or(0, |(_, _, n)| *n);
                        self.queue_jobs
                            .get_or_create(&Queue {
                                kind: kind.name(),
                                state,
                            })
                            .set(n);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics: the queue's depth cannot be read");
                self.queue_jobs.clear();
            }
        }
        self.encode()
    }

    fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode_registry(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        prometheus_text(&out)
    }
}

/// The crate writes OpenMetrics, where a counter's family is named without
/// its `_total` suffix; Prometheus's own text format (version 0.0.4) names
/// the family as its samples are named. Everything else reads the same.
fn prometheus_text(open_metrics: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in open_metrics.lines() {
        if let Some(name) = line
            .strip_prefix("# TYPE ")
            .and_then(|rest| rest.strip_suffix(" counter"))
        {
            let help = format!("# HELP {name} ");
            if let Some(last) = lines.last_mut().filter(|l| l.starts_with(&help)) {
                *last = format!("# HELP {name}_total {}", &last[help.len()..]);
            }
            lines.push(format!("# TYPE {name}_total counter"));
        } else {
            lines.push(line.to_string());
        }
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// Serves `GET /metrics` on its own listener until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, metrics: Arc<Metrics>, store: Store) {
    use axum::http::header;
    let router = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || async move {
            (
                [(
                    header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                metrics.render(&store).await,
            )
        }),
    );
    if let Err(e) = axum::serve(listener, router).await {
        tracing::error!(error = %e, "the metrics listener stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_named_as_prometheus_text_names_them() {
        let m = Metrics::default();
        m.delivery("sent", Duration::from_millis(3));
        m.portal_open();
        let mut out = String::new();
        prometheus_client::encoding::text::encode_registry(&mut out, &m.registry).unwrap();
        let text = prometheus_text(&out);
        assert!(
            text.contains("# TYPE sealpost_deliveries_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("# HELP sealpost_deliveries_total Mail handed"),
            "{text}"
        );
        assert!(
            text.contains("sealpost_deliveries_total{result=\"sent\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("sealpost_portal_opens_total 1\n"), "{text}");
        assert!(
            text.contains("# TYPE sealpost_delivery_seconds histogram\n"),
            "{text}"
        );
        assert!(!text.contains("# EOF"));
    }
}
