//! Throttles hold under concurrency and behind a proxy: every try is
//! reserved before it is checked, so parallel requests cannot all pass a
//! count read before any of them was recorded.

use crate::common::catcher::Catcher;
use crate::common::*;
use tokio::task::JoinSet;

const PASSWORD: &str = "alice's long password";

/// A browser with a session and the sign-in form's CSRF token.
async fn at_login(app: &TestApp) -> (reqwest::Client, String) {
    let client = app.client();
    let page = page_text(&client, app.url("/login")).await;
    (client, csrf_of(&page))
}

async fn forty_parallel_wrong_passwords_check_at_most_five(backend: Backend) {
    let app = TestApp::on(backend).await.spawn().await;
    app.add_user("alice@corp.example", "sender", PASSWORD).await;
    let mut browsers = Vec::new();
    for _ in 0..40 {
        browsers.push(at_login(&app).await);
    }
    let mut tries = JoinSet::new();
    for (client, csrf) in browsers {
        let url = app.url("/login");
        tries.spawn(async move {
            client
                .post(url)
                .form(&[
                    ("email", "alice@corp.example"),
                    ("password", "a wrong password"),
                    ("csrf", &csrf),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let statuses = tries.join_all().await;
    let checked = statuses.iter().filter(|s| **s == 422).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((checked, refused), (5, 35), "{statuses:?}");
}
both!(forty_parallel_wrong_passwords_check_at_most_five);

async fn fifty_parallel_passcode_requests_send_three_codes(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    smtp_send(
        &app,
        "alice@corp.example",
        &["bob@gmail.example"],
        b"From: alice@corp.example\r\nTo: bob@gmail.example\r\nSubject: [secure] numbers\r\n\r\nbody\r\n",
    )
    .await;
    let link = link_of(&catcher.wait_for(1).await[0]);
    let mut browsers = Vec::new();
    for _ in 0..50 {
        let client = browser();
        let landing = page_text(&client, app.url(&link)).await;
        browsers.push((client, csrf_of(&landing)));
    }
    let mut asks = JoinSet::new();
    for (client, csrf) in browsers {
        let url = app.url(&link);
        asks.spawn(async move {
            client
                .post(url)
                .form(&[("csrf", csrf.as_str()), ("step", "passcode")])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let statuses = asks.join_all().await;
    let sent = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((sent, refused), (3, 47), "{statuses:?}");
    // Exactly three passcode mails leave (after the notification).
    let mails = catcher.wait_for(4).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(catcher.caught().len(), 4, "{}", mails.len());
}
both!(fifty_parallel_passcode_requests_send_three_codes);

async fn parallel_code_guesses_are_compared_at_most_five_times(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    smtp_send(
        &app,
        "alice@corp.example",
        &["bob@gmail.example"],
        b"From: alice@corp.example\r\nTo: bob@gmail.example\r\nSubject: [secure] numbers\r\n\r\nbody\r\n",
    )
    .await;
    let link = link_of(&catcher.wait_for(1).await[0]);
    let bob = browser();
    let code = passcode_from_mail(&app, &catcher, &bob, &link).await;
    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let mut guesses = JoinSet::new();
    for _ in 0..19 {
        let client = bob.clone();
        let url = app.url(&link);
        let page = page_text(&bob, app.url(&link)).await;
        let csrf = csrf_of(&page);
        guesses.spawn(async move {
            let r = client
                .post(url)
                .form(&[("csrf", csrf.as_str()), ("step", "verify"), ("code", wrong)])
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, alert_of(&r.page().await).unwrap_or_default())
        });
    }
    let answers = guesses.join_all().await;
    let compared = answers
        .iter()
        .filter(|(_, alert)| alert.starts_with("That code is wrong"))
        .count();
    // The fifth wrong try answers "too many tries" itself: four say wrong.
    assert_eq!(compared, 4, "{answers:?}");
    assert!(
        answers.iter().all(|(s, _)| *s == 422 || *s == 429),
        "{answers:?}"
    );
    // After that even the right code is refused.
    let r = enter_passcode(&app, &bob, &link, &code).await;
    assert_eq!(r.status(), 429);
}
both!(parallel_code_guesses_are_compared_at_most_five_times);

async fn forwarded_for_names_the_client_only_behind_a_trusted_proxy(backend: Backend) {
    for trusted in [false, true] {
        let db = TestDatabase::new(backend).await;
        let settings: &[(&'static str, &str)] = if trusted {
            &[("trusted_proxies", "127.0.0.1")]
        } else {
            &[]
        };
        let app = TestApp::builder(db).settings(settings).spawn().await;
        // Twenty failures from one client address (different accounts).
        for i in 0..20 {
            let (client, csrf) = at_login(&app).await;
            let r = client
                .post(app.url("/login"))
                .header("x-forwarded-for", "198.51.100.1")
                .form(&[
                    ("email", format!("nobody{i}@corp.example").as_str()),
                    ("password", "wrong"),
                    ("csrf", &csrf),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 422, "try {i}");
        }
        let (client, csrf) = at_login(&app).await;
        let r = client
            .post(app.url("/login"))
            .header("x-forwarded-for", "198.51.100.2")
            .form(&[
                ("email", "someone@corp.example"),
                ("password", "wrong"),
                ("csrf", &csrf),
            ])
            .send()
            .await
            .unwrap();
        // Behind a trusted proxy, another client is not blocked; without
        // one the header is the client's own words, and the address is
        // the TCP peer's, which made twenty failures.
        let expected = if trusted { 422 } else { 429 };
        assert_eq!(r.status(), expected, "trusted proxy: {trusted}");
    }
}
both!(forwarded_for_names_the_client_only_behind_a_trusted_proxy);
