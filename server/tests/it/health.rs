//! `/healthz` for monitors.

use crate::common::*;

async fn healthz_reports_the_database_and_relay(backend: Backend) {
    let app = TestApp::on(backend).await.spawn().await;
    let r = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["relay"], "none (local outbox)");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        body["queue"],
        serde_json::json!({"ready": 0, "oldest_ready_secs": 0})
    );

    // A job that is due and that nobody takes (a kind no worker runs,
    // written as an older or newer version of sealpost might).
    let insert = "INSERT INTO jobs (id, kind, dedupe_key, purpose, envelope_from, envelope_to, payload, \
                  state, attempts, run_at, created_at, give_up_at) \
                  VALUES ($1, 'nobody', 'health', 'relay', '', '[]', $2, 'ready', 0, $3, $3, $4)";
    let now = server::store::now_ms();
    macro_rules! insert {
        ($pool:expr) => {
            sqlx::query(insert)
                .bind(server::store::new_id())
                .bind(Vec::<u8>::new())
                .bind(now)
                .bind(now + 60_000)
                .execute(&$pool)
                .await
                .unwrap()
                .rows_affected()
        };
    }
    match backend {
        Backend::Sqlite => insert!(sqlx::SqlitePool::connect(&app.db.url).await.unwrap()),
        Backend::Postgres => insert!(sqlx::PgPool::connect(&app.db.url).await.unwrap()),
    };
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let body: serde_json::Value = reqwest::get(app.url("/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["queue"]["ready"], 1, "{body}");
    assert!(
        body["queue"]["oldest_ready_secs"].as_i64().unwrap() >= 1,
        "{body}"
    );
}
both!(healthz_reports_the_database_and_relay);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_503_when_the_database_is_gone() {
    let app = TestApp::on(Backend::Postgres).await.spawn().await;
    app.db.drop_postgres().await;
    let r = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["database"], "unreachable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_a_strict_content_security_policy() {
    let app = TestApp::on(Backend::Sqlite).await.spawn().await;
    let r = browser().get(app.url("/login")).send().await.unwrap();
    let policy = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let html = r.page().await;
    let nonce = html
        .split("nonce=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(
        policy.contains(&format!(
            "script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'"
        )),
        "{policy}"
    );
    assert!(
        policy.contains("frame-ancestors 'none'") && policy.contains("object-src 'none'"),
        "{policy}"
    );
    assert!(
        !policy.contains("'unsafe-inline' 'nonce")
            && !policy.contains("script-src 'unsafe-inline'")
    );
}
