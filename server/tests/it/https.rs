//! The portal over HTTPS (`SEALPOST_HTTP_TLS_CERT` / `_KEY`): a recipient
//! walks the passcode sign-in through it, over HTTP/2, with Secure cookies
//! and HSTS because the public URL is https.

use crate::common::catcher::Catcher;
use crate::common::*;

/// A browser that accepts the test's self-signed certificate.
fn https_browser() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::ACCEPT, "text/html".parse().unwrap());
    headers.insert(reqwest::header::ACCEPT_LANGUAGE, "en".parse().unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .danger_accept_invalid_certs(true)
        .default_headers(headers)
        .build()
        .unwrap()
}

async fn a_recipient_signs_in_with_a_passcode_over_https(backend: Backend) {
    let catcher = Catcher::start().await;
    let db = TestDatabase::new(backend).await;
    let (cert, key) = certificate(db.dir.path());
    let app = TestApp::builder(db)
        .gateway(&catcher)
        .setting("public_url", "https://localhost")
        .setting("http_tls_cert", cert)
        .setting("http_tls_key", key)
        .spawn()
        .await;
    assert!(app.address.starts_with("https://localhost:"));
    send_with_id(
        &app,
        "alice@corp.example",
        "bob@gmail.example",
        "https-walk@corp.example",
        "[secure] Over TLS",
    )
    .await;
    let link = link_of(&catcher.wait_for(1).await[0]);
    let bob = https_browser();

    let landing = bob.get(app.url(&link)).send().await.unwrap();
    assert_eq!(landing.status(), 200);
    assert_eq!(
        landing.version(),
        reqwest::Version::HTTP_2,
        "HTTP/2 is offered by ALPN"
    );
    assert_eq!(
        landing.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let cookies: Vec<&str> = landing
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(!cookies.is_empty());
    assert!(
        cookies.iter().all(|c| c.contains("; Secure")),
        "every cookie is Secure: {cookies:?}"
    );

    // Plain HTTP on the HTTPS port gets nothing readable.
    let plain = reqwest::Client::new()
        .get(app.url(&link).replace("https://", "http://"))
        .send()
        .await;
    assert!(plain.is_err() || plain.unwrap().status() != 200);

    let code = passcode_from_mail(&app, &catcher, &bob, &link).await;
    let r = enter_passcode(&app, &bob, &link, &code).await;
    assert_eq!(r.status(), 303);
    let page = page_text(&bob, app.url(&link)).await;
    assert!(page.contains("Over TLS"), "{page}");
    assert!(page.contains("body"));
}
both!(a_recipient_signs_in_with_a_passcode_over_https);

/// One client address cannot hold every HTTPS connection (a host that
/// opens thousands and keeps them would lock everyone else out): over its
/// limit a connection is closed at once, and a place given back is taken
/// again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_cannot_hold_every_https_connection() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let (cert, key) = certificate(db.dir.path());
    let app = TestApp::builder(db)
        .setting("public_url", "https://localhost")
        .setting("http_tls_cert", cert)
        .setting("http_tls_key", key)
        .setting("http_max_connections_per_client", "3")
        .spawn()
        .await;
    let port = app.address.rsplit(':').next().unwrap().to_string();
    let mut held = Vec::new();
    for _ in 0..3 {
        // Connected, never a handshake: each holds a place until it goes.
        held.push(
            tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
                .await
                .unwrap(),
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let refused = https_browser().get(app.url("/healthz")).send().await;
    assert!(
        refused.is_err(),
        "a fourth connection is served: {refused:?}"
    );

    drop(held.pop());
    let mut served = None;
    for _ in 0..50 {
        if let Ok(r) = https_browser().get(app.url("/healthz")).send().await {
            served = Some(r.status());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        served,
        Some(reqwest::StatusCode::OK),
        "the place given back"
    );
}
