//! The job queue in the database: leases, and a job whose node died.

use crate::common::*;
use server::store::{NewJob, Store, now_ms};

fn job(key: &str) -> NewJob {
    NewJob {
        id: server::store::new_id(),
        kind: server::domain::JobKind::Outbound,
        dedupe_key: key.to_string(),
        message_id: None,
        purpose: "relay",
        recipient_id: None,
        envelope_from: "alice@corp.example".into(),
        envelope_to: vec!["bob@gmail.example".into()],
        payload: b"sealed".to_vec(),
        give_up_at: now_ms() + 60_000,
    }
}

async fn a_leased_job_is_taken_again_when_its_node_dies(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let store = Store::connect(&db.url).await.unwrap();
    store.queue_job(&job("k1")).await.unwrap();
    // Queued twice under one key: one job.
    store.queue_job(&job("k1")).await.unwrap();

    let first = store
        .claim_job(server::domain::JobKind::Outbound, "node-a", 300)
        .await
        .unwrap()
        .expect("a ready job");
    assert_eq!(first.attempts, 1);
    assert!(
        store
            .claim_job(server::domain::JobKind::Outbound, "node-b", 300)
            .await
            .unwrap()
            .is_none(),
        "leased to node-a"
    );

    // node-a dies without finishing: once the lease runs out, node-b takes it.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let again = store
        .claim_job(server::domain::JobKind::Outbound, "node-b", 300)
        .await
        .unwrap()
        .expect("the job again");
    assert_eq!(again.id, first.id);
    assert_eq!(again.attempts, 2);
    assert!(
        store
            .finish_held(&again.id, "node-b", "done", None)
            .await
            .unwrap()
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(
        store
            .claim_job(server::domain::JobKind::Outbound, "node-c", 300)
            .await
            .unwrap()
            .is_none(),
        "a done job stays done"
    );
}
both!(a_leased_job_is_taken_again_when_its_node_dies);

async fn concurrent_claims_never_share_a_job(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let store = Store::connect(&db.url).await.unwrap();
    for i in 0..60 {
        store.queue_job(&job(&format!("k{i}"))).await.unwrap();
    }
    // Four nodes, each claiming up to seven jobs per statement.
    let mut workers = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for n in 0.. {
                let claim = format!("w{w}.{n}");
                let jobs = store
                    .claim_jobs(server::domain::JobKind::Outbound, &claim, 60_000, 7, false)
                    .await
                    .unwrap();
                if jobs.is_empty() {
                    break;
                }
                assert!(jobs.len() <= 7);
                assert!(jobs.iter().all(|j| j.leased_by.as_deref() == Some(&claim)));
                mine.extend(jobs.into_iter().map(|j| j.id));
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!(total, 60);
    assert_eq!(all.len(), 60, "no job was claimed twice");
}
both!(concurrent_claims_never_share_a_job);

/// A run whose lease ran out cannot finish the job a later claim took,
/// even a later claim of the same node.
async fn a_lapsed_claim_writes_no_outcome(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let store = Store::connect(&db.url).await.unwrap();
    store.queue_job(&job("lapsed")).await.unwrap();
    let kind = server::domain::JobKind::Outbound;
    let first = store
        .claim_jobs(kind, "node-a.1", 100, 10, false)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let again = store
        .claim_jobs(kind, "node-a.2", 60_000, 10, false)
        .await
        .unwrap();
    assert!(
        again.is_empty(),
        "a job whose run never finished is not batched"
    );
    let again = store
        .claim_jobs(kind, "node-a.2", 60_000, 10, true)
        .await
        .unwrap();
    assert_eq!(again[0].id, first[0].id);
    assert!(
        !store
            .finish_held(&first[0].id, "node-a.1", "done", None)
            .await
            .unwrap(),
        "the first claim no longer holds the job"
    );
    assert!(
        store
            .finish_held(&again[0].id, "node-a.2", "done", None)
            .await
            .unwrap()
    );
}
both!(a_lapsed_claim_writes_no_outcome);

/// Outcomes written as one group each count, and one the database refuses
/// does not take the others down with it.
async fn a_refused_outcome_does_not_sink_its_group(backend: Backend) {
    use server::store::{JobOutcome, Outcome, OutcomeEvent};
    use std::sync::Arc;
    let db = TestDatabase::new(backend).await;
    let store = Store::connect(&db.url).await.unwrap();
    for i in 0..20 {
        store.queue_job(&job(&format!("g{i}"))).await.unwrap();
    }
    let jobs = store
        .claim_jobs(
            server::domain::JobKind::Outbound,
            "node.1",
            60_000,
            20,
            false,
        )
        .await
        .unwrap();
    assert_eq!(jobs.len(), 20, "one statement claims them all");
    let group: Vec<Arc<JobOutcome>> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| {
            Arc::new(JobOutcome {
                job: j.id.clone(),
                lease: "node.1".into(),
                outcome: Outcome::Finish {
                    // The seventh is a state the jobs table does not take.
                    state: if i == 6 { "exploded" } else { "done" },
                    error: None,
                    report: None,
                    recipient: None,
                },
                events: vec![OutcomeEvent {
                    kind: "grouped".into(),
                    ..Default::default()
                }],
            })
        })
        .collect();
    let written = store.write_group(&group).await;
    assert!(written[6].is_err(), "the refused one is told so");
    assert!(
        written
            .iter()
            .enumerate()
            .all(|(i, w)| i == 6 || matches!(w, Ok(true))),
        "{written:?}"
    );
    assert_eq!(store.events_of_kind("grouped").await.unwrap().len(), 19);
    let left = store.queued_jobs(Default::default(), 100).await.unwrap();
    assert_eq!(left.len(), 1, "only the refused one is still queued");
    assert_eq!(left[0].id, jobs[6].id);
}
both!(a_refused_outcome_does_not_sink_its_group);

/// A second run of a pipeline job (its lease ran out while the first was
/// still working), or a run of a job quarantined or deleted meanwhile,
/// writes nothing: no second set of copies and notifications.
async fn a_finished_pipeline_job_is_not_finished_twice(backend: Backend) {
    let catcher = crate::common::catcher::Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    smtp_send(
        &app,
        "alice@corp.example",
        &["bob@gmail.example"],
        b"From: alice@corp.example\r\nTo: bob@gmail.example\r\nSubject: [secure] once\r\n\r\nbody\r\n",
    )
    .await;
    catcher.wait_for(1).await;
    let (job, row): (String, String) = match app.store.db() {
        server::store::Db::Sqlite(p) => {
            sqlx::query_as("SELECT id, message_id FROM jobs WHERE kind = 'pipeline'")
                .fetch_one(p)
                .await
        }
        server::store::Db::Postgres(p) => {
            sqlx::query_as("SELECT id, message_id FROM jobs WHERE kind = 'pipeline'")
                .fetch_one(p)
                .await
        }
    }
    .unwrap();
    let late = server::store::PipelineOutcome {
        message_row: row,
        subject: "again".into(),
        message_id: "<again@corp.example>".into(),
        content: Vec::new(),
        size: 0,
        protected: false,
        rights: None,
        template_id: None,
        expires_at: None,
        state: "relayed".into(),
        recipients: vec![server::store::NewRecipient {
            id: server::store::new_id(),
            address: "bob@gmail.example".into(),
            experience: server::domain::Experience::Link,
            state: server::domain::RecipientState::Pending,
            token_hash: None,
        }],
        jobs: Vec::new(),
        events: vec![("finished again".into(), None, String::new())],
    };
    assert!(!app.store.complete_pipeline(&job, late).await.unwrap());
    assert_eq!(app.count_events("finished again").await, 0);
    let status = server::services::revocation::status(&app.store, "<again@corp.example>", None)
        .await
        .unwrap();
    assert!(status.is_empty(), "the message row was not rewritten");
}
both!(a_finished_pipeline_job_is_not_finished_twice);

/// A message taken in, and its pipeline job claimed: (message row, job).
async fn claimed_pipeline_job(store: &Store, message_id: &str) -> (String, String) {
    let row = server::store::new_id();
    store
        .accept_messages(&[server::store::AcceptedMessage {
            id: row.clone(),
            message_id: message_id.into(),
            sender: "alice@corp.example".into(),
            subject: "[secure] twice".into(),
            source: "smtp",
            envelope: "{}".into(),
            envelope_digest: uuid::Uuid::new_v4().as_bytes().to_vec(),
            content: Vec::new(),
            size: 0,
            give_up_at: now_ms() + 60_000,
        }])
        .await
        .unwrap();
    let claimed = store
        .claim_jobs(
            server::domain::JobKind::Pipeline,
            "node.1",
            60_000,
            10,
            false,
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    (row, claimed[0].id.clone())
}

/// What run `n` of the pipeline job decided: subject "run n", one copy
/// for bob<n>@gmail.example and its notification.
fn pipeline_run(
    row: &str,
    job_id: &str,
    message_id: &str,
    n: usize,
) -> std::sync::Arc<server::store::JobOutcome> {
    use server::store::{JobOutcome, Outcome, PipelineOutcome};
    let mut notification = job(&format!("notify-{n}"));
    notification.message_id = Some(row.to_string());
    std::sync::Arc::new(JobOutcome {
        job: job_id.to_string(),
        lease: format!("node.{n}"),
        outcome: Outcome::Pipeline(PipelineOutcome {
            message_row: row.to_string(),
            subject: format!("run {n}"),
            message_id: message_id.into(),
            content: Vec::new(),
            size: 0,
            protected: true,
            rights: None,
            template_id: None,
            expires_at: None,
            state: "protected".into(),
            recipients: vec![server::store::NewRecipient {
                id: server::store::new_id(),
                address: format!("bob{n}@gmail.example"),
                experience: server::domain::Experience::Link,
                state: server::domain::RecipientState::Pending,
                token_hash: None,
            }],
            jobs: vec![notification],
            events: vec![("decided".into(), None, format!("run {n}"))],
        }),
        events: Vec::new(),
    })
}

/// Two runs of one pipeline job that finish in the same group commit (the
/// first run's lease ran out while it still worked): the first decides and
/// the second writes nothing, as when they come one at a time.
async fn two_runs_of_a_pipeline_job_in_one_group_decide_once(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let store = Store::connect(&db.url).await.unwrap();
    let id = "<twice@corp.example>";
    let (row, job_id) = claimed_pipeline_job(&store, id).await;
    let written = store
        .write_group(&[
            pipeline_run(&row, &job_id, id, 1),
            pipeline_run(&row, &job_id, id, 2),
        ])
        .await;
    assert!(matches!(written[..], [Ok(true), Ok(false)]), "{written:?}");
    assert_eq!(store.events_of_kind("decided").await.unwrap().len(), 1);
    let status = server::services::revocation::status(&store, id, None)
        .await
        .unwrap();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].subject, "run 1");
    let addresses: Vec<&str> = status[0]
        .recipients
        .iter()
        .map(|r| r.address.as_str())
        .collect();
    assert_eq!(addresses, ["bob1@gmail.example"]);
    let queued = store.queued_jobs(Default::default(), 100).await.unwrap();
    assert_eq!(queued.len(), 1, "one notification: {queued:?}");
}
both!(two_runs_of_a_pipeline_job_in_one_group_decide_once);

/// The claim that holds a pipeline job gives up on it (the message failed)
/// while a run whose lease ran out finishes in the same group: the failure
/// came first and stands; the late run decides nothing, queues nothing.
async fn a_failure_first_in_a_group_stands_against_a_late_run(backend: Backend) {
    use server::store::{JobOutcome, Outcome};
    let db = TestDatabase::new(backend).await;
    let store = Store::connect(&db.url).await.unwrap();
    let id = "<late@corp.example>";
    let (row, job_id) = claimed_pipeline_job(&store, id).await;
    let failed = std::sync::Arc::new(JobOutcome {
        job: job_id.clone(),
        lease: "node.1".into(),
        outcome: Outcome::Finish {
            state: "failed",
            error: Some("refused".into()),
            report: None,
            recipient: None,
        },
        events: Vec::new(),
    });
    let written = store
        .write_group(&[failed, pipeline_run(&row, &job_id, id, 2)])
        .await;
    assert!(matches!(written[..], [Ok(true), Ok(false)]), "{written:?}");
    assert!(store.events_of_kind("decided").await.unwrap().is_empty());
    let queued = store.queued_jobs(Default::default(), 100).await.unwrap();
    assert!(queued.is_empty(), "nothing queued: {queued:?}");
}
both!(a_failure_first_in_a_group_stands_against_a_late_run);

/// An outbound job whose lease ran out mid-send, taken over by another
/// claim, and both runs report the delivery in the same group: only the
/// claim that holds the job writes it, and its timeline line is written once.
async fn a_delivery_under_a_lost_claim_is_not_written_beside_the_new_one(backend: Backend) {
    use server::store::{JobOutcome, Outcome, OutcomeEvent};
    let db = TestDatabase::new(backend).await;
    let store = Store::connect(&db.url).await.unwrap();
    store.queue_job(&job("k1")).await.unwrap();
    let first = store
        .claim_job(server::domain::JobKind::Outbound, "node-a", 200)
        .await
        .unwrap()
        .expect("a ready job");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let again = store
        .claim_job(server::domain::JobKind::Outbound, "node-b", 60_000)
        .await
        .unwrap()
        .expect("the job again, its lease ran out");
    assert_eq!(again.id, first.id);
    let delivered = |lease: &str| {
        std::sync::Arc::new(JobOutcome {
            job: first.id.clone(),
            lease: lease.into(),
            outcome: Outcome::Finish {
                state: "done",
                error: None,
                report: None,
                recipient: None,
            },
            events: vec![OutcomeEvent {
                kind: "relayed".into(),
                detail: Some(lease.into()),
                ..Default::default()
            }],
        })
    };
    let written = store
        .write_group(&[delivered("node-a"), delivered("node-b")])
        .await;
    assert!(matches!(written[..], [Ok(false), Ok(true)]), "{written:?}");
    let lines = store.events_of_kind("relayed").await.unwrap();
    assert_eq!(lines.len(), 1, "{lines:?}");
}
both!(a_delivery_under_a_lost_claim_is_not_written_beside_the_new_one);
