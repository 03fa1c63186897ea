//! The queue as administrators handle it: jobs whose workers keep dying are
//! quarantined (so one message cannot stop every node that shares the
//! queue, over and over); administrators retry, release and delete jobs
//! through `services::queue`.

use crate::config::Settings;
use crate::domain::JobKind;
use crate::keys::KeyMaterial;
use crate::store::{Event, JobRow, NewJob, QueuedJob, Store, StoreError};
use std::sync::Arc;

/// Why a quarantined job's sender gets a report (a fixed text).
pub const QUARANTINE_REASON: &str = "processing the message stopped 5 times without finishing, \
     so it was set aside for an administrator";
pub const DELETED_REASON: &str = "an administrator removed the message from the queue";

/// What the command line and the admin page may be refused.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("No job with id {0} is in the queue.")]
    NotFound(String),
    #[error("Job {0} is not quarantined; only a quarantined job can be released.")]
    NotQuarantined(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `ready` (due now), `waiting` (a later try) or `quarantined`.
pub fn state_name(job: &QueuedJob, now: i64) -> &'static str {
    match job.state.as_str() {
        "quarantined" => "quarantined",
        _ if job.run_at > now => "waiting",
        _ => "ready",
    }
}

/// Sets aside every job of `kind` whose worker died `MAX_OPEN_CLAIMS`
/// times: an event "quarantined" and a report to an internal sender each.
/// Workers call it when idle and now and then when busy.
pub async fn quarantine_sweep(
    store: &Store,
    keys: &KeyMaterial,
    settings: &Settings,
    kind: JobKind,
) -> Result<usize, StoreError> {
    let jobs = store.quarantine_abandoned(kind).await?;
    for job in &jobs {
        tracing::error!(
            job = %job.id,
            message = job.message_id.as_deref().unwrap_or_default(),
            "job quarantined: its worker stopped {} times without finishing",
            crate::store::MAX_OPEN_CLAIMS
        );
        store
            .record_event(Event {
                kind: "quarantined",
                message_id: job.message_id.as_deref(),
                detail: Some(QUARANTINE_REASON),
                ..Default::default()
            })
            .await?;
        if let Some(report) =
            report_for(store, keys, settings, job, "quarantined", QUARANTINE_REASON).await?
        {
            store.queue_job(&report).await?;
        }
    }
    Ok(jobs.len())
}

/// A non-delivery report about the message of `job`, for an internal
/// sender only. It is built from what the database says about the message
/// (Message-ID, subject, recipients), never from the stored content: the
/// content is what kept killing workers.
pub(crate) async fn report_for(
    store: &Store,
    keys: &KeyMaterial,
    settings: &Settings,
    job: &JobRow,
    what: &str,
    reason: &str,
) -> Result<Option<NewJob>, StoreError> {
    // Reports about reports, passcodes and notifications go to nobody.
    if job.kind == JobKind::Outbound && !matches!(job.purpose.as_deref(), Some("relay" | "inline"))
    {
        return Ok(None);
    }
    let message = match job.message_id.as_deref() {
        Some(row) => store.message(row).await?,
        None => None,
    };
    let sender = match &message {
        Some(m) => m.sender.clone(),
        None => job.envelope_from.clone().unwrap_or_default(),
    };
    if sender.is_empty() || !settings.is_internal(&sender) {
        return Ok(None);
    }
    let recipients: Vec<String> = match (&job.envelope_to, &message) {
        (Some(to), _) if job.kind == JobKind::Outbound => {
            serde_json::from_str(to).unwrap_or_default()
        }
        (_, Some(m)) => serde_json::from_str::<crate::domain::Envelope>(&m.envelope)
            .map(|e| e.to)
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let mut headers = String::new();
    if let Some(m) = &message {
        headers.push_str(&format!("Message-ID: {}\r\n", m.message_id));
        headers.push_str(&format!(
            "Subject: {}\r\n",
            crate::mime::encode_header_value(&m.subject)
        ));
    }
    headers.push_str("\r\n");
    let hostname = settings.hostname();
    let report = crate::ndr::build(&hostname, &sender, &recipients, headers.as_bytes(), reason);
    Ok(Some(crate::ndr::job(
        keys,
        settings,
        job.message_id.clone(),
        format!("{}:ndr:{what}", job.id),
        &sender,
        &report,
    )))
}

/// A queue a node drains: the pipeline's jobs, the outgoing mail.
pub trait JobRunner: Send + Sync + 'static {
    const KIND: JobKind;
    fn store(&self) -> &Store;
    /// Notified when new jobs of this kind are ready.
    fn wake(&self) -> &tokio::sync::Notify;
    /// How long a claim holds its jobs (shorter in fault tests).
    fn lease_ms(&self) -> i64;
    /// Sets aside the jobs whose workers kept dying ([`quarantine_sweep`]).
    fn sweep(&self) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// Runs one claimed job to its outcome, written under the job's
    /// `leased_by` (the claim).
    fn run(self: Arc<Self>, job: JobRow) -> impl Future<Output = ()> + Send + 'static;
}

/// How long an idle queue waits before it looks again without being woken
/// (a retry that came due, another node's work).
const IDLE_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// Drains one queue on this node: a single statement claims as many ready
/// jobs as there are free places (at most `in_flight` run at once), each
/// runs in a task of its own, and the next claim follows as soon as places
/// are free. While the queue is backed up a claim waits a moment for a
/// quarter of the places, so that it takes several jobs in its one write
/// rather than one each time a job ends. A job whose earlier run never
/// finished (its node died during it) is claimed alone and run alone, when
/// nothing else runs: if it is what kills the node, no other job is in
/// flight to be counted towards quarantine with it. `name` names this
/// node's claims: each claim is `name.N`.
pub async fn serve<R: JobRunner>(runner: Arc<R>, name: String, in_flight: usize) {
    let in_flight = in_flight.max(1);
    let places = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let mut sweep = SweepClock::default();
    let mut idle = true;
    let mut backed_up = false;
    for claim_no in 1u64.. {
        if sweep.due(idle)
            && let Err(e) = runner.sweep().await
        {
            tracing::warn!(kind = R::KIND.as_str(), error = %e, "cannot quarantine abandoned jobs");
        }
        let Ok(first) = places.acquire().await else {
            return;
        };
        first.forget();
        let mut free = 1;
        if backed_up {
            // A moment only: places held by slow jobs must not stop the
            // claims of the others.
            let more = (in_flight / 4).saturating_sub(1) as u32;
            if more > 0
                && let Ok(Ok(taken)) = tokio::time::timeout(
                    std::time::Duration::from_millis(20),
                    places.acquire_many(more),
                )
                .await
            {
                taken.forget();
                free += more as usize;
            }
        }
        while let Ok(place) = places.try_acquire() {
            place.forget();
            free += 1;
        }
        // Armed before the claim, so a wake-up that comes while it runs
        // is not lost.
        let woken = runner.wake().notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let claim = format!("{name}.{claim_no}");
        let lease = runner.lease_ms();
        let store = runner.store().clone();
        let alone = free == in_flight;
        let claimed = match alone {
            true => store.claim_jobs(R::KIND, &claim, lease, 1, true).await,
            false => Ok(Vec::new()),
        };
        if let Ok([suspect]) = <[JobRow; 1]>::try_from(claimed.unwrap_or_default()) {
            let id = suspect.id.clone();
            run_leased(&store, &id, &claim, lease, runner.clone().run(suspect)).await;
            places.add_permits(free);
            idle = false;
            continue;
        }
        let jobs = match store.claim_jobs(R::KIND, &claim, lease, free, false).await {
            Ok(jobs) => jobs,
            Err(e) => {
                // The database is away: nothing was claimed, nothing is
                // counted as a try.
                tracing::warn!(kind = R::KIND.as_str(), error = %e, "the queue cannot reach the database");
                places.add_permits(free);
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        idle = jobs.is_empty();
        backed_up = jobs.len() >= free;
        places.add_permits(free.saturating_sub(jobs.len()));
        for (n, job) in jobs.into_iter().enumerate() {
            // More than asked for would be the database's mistake: those
            // run too, without a place to give back.
            let place = (n < free).then(|| Place(places.clone()));
            let runner = runner.clone();
            let claim = claim.clone();
            tokio::spawn(async move {
                let store = runner.store().clone();
                let id = job.id.clone();
                run_leased(&store, &id, &claim, lease, runner.run(job)).await;
                drop(place);
            });
        }
        if idle {
            tokio::select! {
                _ = woken => {}
                _ = tokio::time::sleep(IDLE_POLL) => {}
            }
        }
    }
}

/// A running job's place in [`serve`], given back when the job ends.
struct Place(Arc<tokio::sync::Semaphore>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.add_permits(1);
    }
}

/// When a worker looks for abandoned jobs: about once a second while the
/// queue is idle, every ten seconds while it is busy (an abandoned job is
/// never claimed again meanwhile, so only its report waits).
#[derive(Default)]
pub struct SweepClock(Option<std::time::Instant>);

impl SweepClock {
    pub fn due(&mut self, idle: bool) -> bool {
        let wait = std::time::Duration::from_secs(if idle { 1 } else { 10 });
        if self.0.is_some_and(|last| last.elapsed() < wait) {
            return false;
        }
        self.0 = Some(std::time::Instant::now());
        true
    }
}

/// Writes a job's outcome, asking again while the database refuses the write
/// (a full disk, a restart) for up to `within`; false when it never took
/// it. An outcome not written means the job runs again once its lease runs
/// out: a delivered mail would go a second time, a deferred job would wait
/// the whole lease.
pub async fn persist<F, Fut>(job: &str, within: std::time::Duration, mut write: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), StoreError>>,
{
    let deadline = tokio::time::Instant::now() + within;
    let mut wait = std::time::Duration::from_millis(100);
    loop {
        match write().await {
            Ok(()) => return true,
            Err(e) if tokio::time::Instant::now() + wait < deadline => {
                tracing::warn!(job, error = %e, "a job's outcome cannot be written yet");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(5));
            }
            Err(e) => {
                tracing::error!(job, error = %e, "a job's outcome could not be written: it runs again after its lease");
                return false;
            }
        }
    }
}

/// Runs one claimed job in a task of its own, renewing its lease while it
/// runs. A job that panics is like a worker that died: its claim stays
/// counted (and after `MAX_OPEN_CLAIMS` it is quarantined), and the worker
/// goes on with the next job instead of ending.
pub async fn run_leased<T: Send + 'static>(
    store: &Store,
    job: &str,
    worker: &str,
    lease_ms: i64,
    run: impl std::future::Future<Output = T> + Send + 'static,
) -> Option<T> {
    let mut task = tokio::spawn(run);
    let every = std::time::Duration::from_millis((lease_ms / 3).max(50) as u64);
    loop {
        tokio::select! {
            done = &mut task => {
                return match done {
                    Ok(value) => Some(value),
                    Err(e) => {
                        tracing::error!(job, error = %e, "a job stopped its worker; it will be tried again");
                        None
                    }
                };
            }
            _ = tokio::time::sleep(every) => {
                let until = crate::store::now_ms() + lease_ms;
                if let Err(e) = store.extend_lease(job, worker, until).await {
                    tracing::warn!(job, error = %e, "a job's lease could not be renewed");
                }
            }
        }
    }
}
