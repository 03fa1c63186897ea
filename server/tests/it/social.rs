//! Google / Yahoo sign-in for recipients, against a local OpenID Connect
//! provider (PyPI `oidc-provider-mock`) standing in for Google.

use crate::common::catcher::Catcher;
use crate::common::*;
use std::process::{Child, Command, Stdio};

struct Provider {
    child: Child,
    url: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn provider() -> Provider {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("oidc-provider-mock")
        .args(["-p", &port.to_string()])
        .args([
            "--user-claims",
            r#"{"sub":"bob","email":"Bob@Gmail.Example","email_verified":true}"#,
        ])
        .args([
            "--user-claims",
            r#"{"sub":"eve","email":"eve@gmail.example","email_verified":true}"#,
        ])
        .args([
            "--user-claims",
            r#"{"sub":"unverified","email":"bob@gmail.example","email_verified":false}"#,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("oidc-provider-mock is installed (make test-deps)");
    let idp = Provider {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let url = idp.url.clone();
    for _ in 0..200 {
        if reqwest::get(format!("{url}/.well-known/openid-configuration"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return idp;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("oidc-provider-mock did not start");
}

/// A gateway with "Google" at the mock provider, and a protected message to
/// bob@gmail.example; returns the app and bob's link path.
async fn setup(backend: Backend, idp: &Provider, catcher: &Catcher) -> (TestApp, String) {
    let db = TestDatabase::new(backend).await;
    let relay = catcher.url();
    let auth = format!("{}/oauth2/authorize", idp.url);
    let token = format!("{}/oauth2/token", idp.url);
    let userinfo = format!("{}/userinfo", idp.url);
    let app = TestApp::builder(db)
        .settings(&[
            ("relay_url", relay.as_str()),
            ("oauth_google_client_id", "sealpost-test"),
            ("oauth_google_client_secret", "not-so-secret"),
            ("oauth_google_auth_url", auth.as_str()),
            ("oauth_google_token_url", token.as_str()),
            ("oauth_google_userinfo_url", userinfo.as_str()),
        ])
        .spawn()
        .await;
    smtp_send(
        &app,
        "alice@corp.example",
        &["bob@gmail.example"],
        b"From: alice@corp.example
To: bob@gmail.example
Subject: [secure] Plans

The secret plans.",
    )
    .await;
    let link = link_of(&catcher.wait_for(1).await.remove(0));
    (app, link)
}

/// Clicks "Sign in with Google" and picks `sub` on the provider's page;
/// returns where sealpost sends the browser after the callback.
async fn sign_in_as(
    app: &TestApp,
    client: &reqwest::Client,
    link: &str,
    sub: &str,
) -> reqwest::Response {
    sign_in_with(app, client, link, ("google", "Google"), sub).await
}

/// As `sign_in_as`, with the provider the button names (`step`, label).
async fn sign_in_with(
    app: &TestApp,
    client: &reqwest::Client,
    link: &str,
    (step, label): (&str, &str),
    sub: &str,
) -> reqwest::Response {
    let landing = client.get(app.url(link)).send().await.unwrap().page().await;
    assert!(
        landing.contains(&format!("Sign in with {label}")),
        "{landing}"
    );
    let r = client
        .post(app.url(link))
        .form(&[("csrf", csrf_of(&landing).as_str()), ("step", step)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let authorize = location(&r);
    assert!(
        authorize.contains("code_challenge=") && authorize.contains("state="),
        "PKCE and state: {authorize}"
    );
    let r = client
        .post(&authorize)
        .form(&[("sub", sub)])
        .send()
        .await
        .unwrap();
    let callback = location(&r);
    // The callback names the public URL; the test node listens elsewhere.
    let callback = callback.replace("http://127.0.0.1:3000", &app.address);
    assert!(
        callback.starts_with(&format!("{}/oauth/callback?", app.address)),
        "{callback}"
    );
    client.get(&callback).send().await.unwrap()
}

async fn google_sign_in_opens_the_message_only_for_the_recipient(backend: Backend) {
    let idp = provider().await;
    let catcher = Catcher::start().await;
    let (app, link) = setup(backend, &idp, &catcher).await;

    // Bob, whose verified Google address is the recipient (case aside), reads it.
    let bob = browser();
    let r = sign_in_as(&app, &bob, &link, "bob").await;
    assert_eq!(location(&r), link);
    let page = bob.get(app.url(&link)).send().await.unwrap().page().await;
    assert!(page.contains("The secret plans."), "{page}");

    // Eve signs in with her own account: told so, and nothing opens.
    let eve = browser();
    let r = sign_in_as(&app, &eve, &link, "eve").await;
    assert_eq!(location(&r), link);
    let r = eve.get(app.url(&link)).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let page = r.page().await;
    assert!(
        page.contains(
            "You signed in as eve@gmail.example, but this message was sent to bob@gmail.example."
        ),
        "{page}"
    );
    assert!(!page.contains("The secret plans."));

    // An address the provider has not verified opens nothing.
    let other = browser();
    sign_in_as(&app, &other, &link, "unverified").await;
    let page = other.get(app.url(&link)).send().await.unwrap().page().await;
    assert_eq!(
        alert_of(&page).as_deref(),
        Some("Google has not verified the address bob@gmail.example.")
    );
    assert!(!page.contains("The secret plans."));

    // A callback that was never started is refused.
    let r = browser()
        .get(app.url("/oauth/callback?code=x&state=y"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}
both!(google_sign_in_opens_the_message_only_for_the_recipient);

async fn the_session_never_holds_the_link_token(backend: Backend) {
    let idp = provider().await;
    let catcher = Catcher::start().await;
    let (app, link) = setup(backend, &idp, &catcher).await;
    let bob = browser();
    // Started and finished: at each step the session data is searched.
    let token = link.trim_start_matches("/r/").as_bytes().to_vec();
    let landing = page_text(&bob, app.url(&link)).await;
    let r = bob
        .post(app.url(&link))
        .form(&[("csrf", csrf_of(&landing).as_str()), ("step", "google")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let started = app.session_data().await;
    assert!(!started.is_empty(), "the sign-in's state is kept");
    assert!(
        started
            .iter()
            .all(|data| !data.windows(token.len()).any(|w| w == token)),
        "no session holds the link token"
    );
    let r = sign_in_as(&app, &bob, &link, "bob").await;
    assert_eq!(location(&r), link);
    assert!(
        app.session_data()
            .await
            .iter()
            .all(|data| !data.windows(token.len()).any(|w| w == token))
    );
}
both!(the_session_never_holds_the_link_token);

/// The landing page as `client` sees it, and its form's CSRF token.
async fn landing(app: &TestApp, client: &reqwest::Client, link: &str) -> (String, String) {
    let page = page_text(client, app.url(link)).await;
    let csrf = csrf_of(&page);
    (page, csrf)
}

/// Posts the landing form's `step`; it must be refused with 403 and `says`.
async fn refused(
    app: &TestApp,
    client: &reqwest::Client,
    link: &str,
    csrf: &str,
    step: &str,
    says: &str,
) {
    let r = client
        .post(app.url(link))
        .form(&[("csrf", csrf), ("step", step)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "{step}");
    let page = r.page().await;
    assert!(page.contains(says), "{page}");
}

/// A template offers only the sign-in it allows, and refuses the other
/// route with a page that says so: with passcodes off, Google only; with
/// social sign-in off, the passcode only.
async fn a_template_offers_only_the_sign_in_it_allows(backend: Backend) {
    let idp = provider().await;
    let catcher = Catcher::start().await;
    let (app, link) = setup(backend, &idp, &catcher).await;
    let set = |args: &[&str]| {
        let mut all = vec!["template", "set", "--name", "Default"];
        all.extend_from_slice(args);
        let out = app.cli(&all, None);
        assert!(out.status.success(), "{}", stderr(&out));
    };

    set(&["--otp-enabled", "false"]);
    let bob = browser();
    let (page, csrf) = landing(&app, &bob, &link).await;
    assert!(page.contains("Sign in with Google"), "{page}");
    assert!(!page.contains("Sign in with a one-time passcode"), "{page}");
    refused(
        &app,
        &bob,
        &link,
        &csrf,
        "passcode",
        "This message cannot be opened with a one-time passcode.",
    )
    .await;
    assert_eq!(catcher.caught().len(), 1, "no passcode mail was sent");

    set(&["--otp-enabled", "true", "--social-enabled", "false"]);
    let (page, csrf) = landing(&app, &bob, &link).await;
    assert!(page.contains("Sign in with a one-time passcode"), "{page}");
    assert!(!page.contains("Sign in with Google"), "{page}");
    refused(
        &app,
        &bob,
        &link,
        &csrf,
        "google",
        "This message cannot be opened with that sign-in.",
    )
    .await;
}
both!(a_template_offers_only_the_sign_in_it_allows);

/// Yahoo sign-in walks the same way against its own provider (a second
/// OpenID Connect instance): Bob reads, Eve does not.
async fn yahoo_sign_in_opens_the_message_for_the_recipient(backend: Backend) {
    let google = provider().await;
    let yahoo = provider().await;
    let catcher = Catcher::start().await;
    let db = TestDatabase::new(backend).await;
    let relay = catcher.url();
    let endpoint = |idp: &Provider, path: &str| format!("{}{path}", idp.url);
    let settings = [
        (
            "oauth_google_auth_url",
            endpoint(&google, "/oauth2/authorize"),
        ),
        ("oauth_google_token_url", endpoint(&google, "/oauth2/token")),
        ("oauth_google_userinfo_url", endpoint(&google, "/userinfo")),
        (
            "oauth_yahoo_auth_url",
            endpoint(&yahoo, "/oauth2/authorize"),
        ),
        ("oauth_yahoo_token_url", endpoint(&yahoo, "/oauth2/token")),
        ("oauth_yahoo_userinfo_url", endpoint(&yahoo, "/userinfo")),
    ];
    let mut builder = TestApp::builder(db)
        .setting("relay_url", relay)
        .setting("oauth_google_client_id", "sealpost-test")
        .setting("oauth_google_client_secret", "not-so-secret")
        .setting("oauth_yahoo_client_id", "sealpost-yahoo")
        .setting("oauth_yahoo_client_secret", "not-so-secret-either");
    for (key, value) in settings {
        builder = builder.setting(key, value);
    }
    let app = builder.spawn().await;
    smtp_send(
        &app,
        "alice@corp.example",
        &["bob@gmail.example"],
        b"From: alice@corp.example\r\nTo: bob@gmail.example\r\nSubject: [secure] Plans\r\n\r\nThe secret plans.",
    )
    .await;
    let link = link_of(&catcher.wait_for(1).await.remove(0));
    let bob = browser();
    let r = sign_in_with(&app, &bob, &link, ("yahoo", "Yahoo"), "bob").await;
    assert_eq!(location(&r), link);
    let page = page_text(&bob, app.url(&link)).await;
    assert!(page.contains("The secret plans."), "{page}");
    // Eve, verified by Yahoo as herself, is turned away like with Google.
    let eve = browser();
    let r = sign_in_with(&app, &eve, &link, ("yahoo", "Yahoo"), "eve").await;
    assert_eq!(location(&r), link);
    let r = eve.get(app.url(&link)).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let page = r.page().await;
    assert!(
        page.contains(
            "You signed in as eve@gmail.example, but this message was sent to bob@gmail.example."
        ),
        "{page}"
    );
    assert!(!page.contains("The secret plans."));
}
both!(yahoo_sign_in_opens_the_message_for_the_recipient);
