//! Organization users sign in, are throttled, change passwords and sign out,
//! through the real HTTP server on SQLite and PostgreSQL.

use crate::common::*;

const PASSWORD: &str = "a long enough password";

async fn signing_in_with_the_right_password_opens_the_start_page(backend: Backend) {
    let app = TestApp::on(backend).await.spawn().await;
    app.add_user("alice@corp.example", "sender", PASSWORD).await;
    let client = app.client();

    let before = client.get(app.url("/login")).send().await.unwrap();
    assert!(
        session_cookie(&before).is_none(),
        "the sign-in page stores no session for a visitor"
    );
    let csrf = csrf_of(&before.page().await);
    let response = client
        .post(app.url("/login"))
        .form(&[
            ("email", "Alice@Corp.Example"),
            ("password", PASSWORD),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/");
    session_cookie(&response).expect("signing in sets the session cookie");
    let set_cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        set_cookie.contains("httponly") && set_cookie.contains("samesite=lax"),
        "{set_cookie}"
    );

    let home = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    let html = home.page().await;
    assert!(
        html.contains("Signed in as <strong>alice@corp.example</strong>"),
        "{html}"
    );
}
both!(signing_in_with_the_right_password_opens_the_start_page);

async fn a_wrong_password_says_so_and_keeps_the_email(backend: Backend) {
    let app = TestApp::on(backend).await.spawn().await;
    app.add_user("alice@corp.example", "sender", PASSWORD).await;
    let client = app.client();
    for (email, password) in [
        ("alice@corp.example", "not the password"),
        ("nobody@corp.example", PASSWORD),
    ] {
        let response = sign_in(&app.address, &client, email, password).await;
        assert_eq!(response.status(), 422);
        let html = response.page().await;
        assert_eq!(alert_of(&html).as_deref(), Some("Wrong email or password."));
        assert!(
            html.contains(&format!(r#"value="{email}""#)),
            "the typed email is kept"
        );
    }
    let home = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 302);
    assert_eq!(location(&home), "/login");
}
both!(a_wrong_password_says_so_and_keeps_the_email);

async fn five_failures_lock_the_account_for_fifteen_minutes(backend: Backend) {
    let app = TestApp::on(backend).await.spawn().await;
    app.add_user("alice@corp.example", "sender", PASSWORD).await;
    let client = app.client();
    for _ in 0..5 {
        let r = sign_in(&app.address, &client, "alice@corp.example", "guess").await;
        assert_eq!(r.status(), 422);
    }
    // Even the right password is refused now, with when to come back.
    let r = sign_in(&app.address, &client, "alice@corp.example", PASSWORD).await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((840..=900).contains(&retry), "Retry-After {retry}");
    let text = alert_of(&r.page().await).unwrap();
    assert!(
        text.starts_with("Too many failed sign-in attempts. Try again in 15 minutes (at "),
        "{text}"
    );
    assert!(text.ends_with(" UTC)."), "{text}");

    // The counters are in the database: another node refuses too.
    let (second, _stop) = app.second_node().await;
    let r = sign_in(&second, &browser(), "alice@corp.example", PASSWORD).await;
    assert_eq!(r.status(), 429);

    // Another account from another client is not affected by alice's lock.
    app.add_user("bob@corp.example", "sender", PASSWORD).await;
    let r = sign_in(&app.address, &browser(), "bob@corp.example", PASSWORD).await;
    assert_eq!(r.status(), 303);
}
both!(five_failures_lock_the_account_for_fifteen_minutes);

async fn twenty_failures_from_one_address_block_it(backend: Backend) {
    let app = TestApp::on(backend).await.spawn().await;
    app.add_user("carol@corp.example", "sender", PASSWORD).await;
    let client = app.client();
    for i in 0..20 {
        let r = sign_in(
            &app.address,
            &client,
            &format!("user{i}@corp.example"),
            "guess",
        )
        .await;
        assert_eq!(r.status(), 422, "try {i}");
    }
    let r = sign_in(&app.address, &client, "carol@corp.example", PASSWORD).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
}
both!(twenty_failures_from_one_address_block_it);

async fn forms_without_a_valid_csrf_token_are_refused(backend: Backend) {
    let app = TestApp::on(backend).await.spawn().await;
    app.add_user("alice@corp.example", "sender", PASSWORD).await;
    let client = app.client();
    client.get(app.url("/login")).send().await.unwrap();
    let r = client
        .post(app.url("/login"))
        .form(&[
            ("email", "alice@corp.example"),
            ("password", PASSWORD),
            ("csrf", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        alert_of(&r.page().await).as_deref(),
        Some("This form has expired. Please sign in again.")
    );

    // Signed in, a sign-out form from another site (no token) does nothing.
    assert_eq!(
        sign_in(&app.address, &client, "alice@corp.example", PASSWORD)
            .await
            .status(),
        303
    );
    let r = client
        .post(app.url("/logout"))
        .form(&[("csrf", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let home = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 200, "still signed in");

    // With the page's own token, sign-out works and ends the session.
    let csrf = csrf_of(&home.page().await);
    let r = client
        .post(app.url("/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/login");
    assert_eq!(client.get(app.url("/")).send().await.unwrap().status(), 302);
}
both!(forms_without_a_valid_csrf_token_are_refused);

async fn the_first_administrator_must_choose_a_password(backend: Backend) {
    let app = TestApp::on(backend).await.spawn().await;
    let (email, one_time) = app
        .first_admin
        .clone()
        .expect("the first start creates an administrator");
    assert_eq!(email, "admin@localhost");
    let client = app.client();
    let r = sign_in(&app.address, &client, &email, &one_time).await;
    assert_eq!(location(&r), "/account/password");
    let home = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(
        location(&home),
        "/account/password",
        "nothing else opens before the change"
    );

    let page = client
        .get(app.url("/account/password"))
        .send()
        .await
        .unwrap()
        .page()
        .await;
    let csrf = csrf_of(&page);
    let change = |current: &str, new: &str, confirm: &str| {
        client
            .post(app.url("/account/password"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("current", current),
                ("new", new),
                ("confirm", confirm),
            ])
            .send()
    };
    let r = change(&one_time, "short", "short").await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        alert_of(&r.page().await).as_deref(),
        Some("The password must be at least 12 characters long.")
    );
    let r = change(&one_time, "a brand new password", "a different password")
        .await
        .unwrap();
    assert_eq!(
        alert_of(&r.page().await).as_deref(),
        Some("The two new passwords differ.")
    );
    let r = change("wrong", "a brand new password", "a brand new password")
        .await
        .unwrap();
    assert_eq!(
        alert_of(&r.page().await).as_deref(),
        Some("The current password is wrong.")
    );
    let r = change(&one_time, "a brand new password", "a brand new password")
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(client.get(app.url("/")).send().await.unwrap().status(), 200);

    // The one-time password no longer works; the new one does.
    assert_eq!(
        sign_in(&app.address, &browser(), &email, &one_time)
            .await
            .status(),
        422
    );
    assert_eq!(
        location(&sign_in(&app.address, &browser(), &email, "a brand new password").await),
        "/"
    );

    // A second start on the same database creates no other administrator.
    let (_second, _stop) = app.second_node().await;
    assert_eq!(app.store.count_users().await.unwrap(), 1);
}
both!(the_first_administrator_must_choose_a_password);

async fn a_session_opened_on_one_node_works_on_another(backend: Backend) {
    let app = TestApp::on(backend).await.spawn().await;
    app.add_user("alice@corp.example", "admin", PASSWORD).await;
    let client = app.client();
    assert_eq!(
        sign_in(&app.address, &client, "alice@corp.example", PASSWORD)
            .await
            .status(),
        303
    );
    let (second, _stop) = app.second_node().await;
    let html = client
        .get(format!("{second}/"))
        .send()
        .await
        .unwrap()
        .page()
        .await;
    assert!(
        html.contains("Signed in as <strong>alice@corp.example</strong> (admin)"),
        "{html}"
    );
}
both!(a_session_opened_on_one_node_works_on_another);

async fn unknown_pages_are_404(backend: Backend) {
    let app = TestApp::on(backend).await.spawn().await;
    let r = app
        .client()
        .get(app.url("/no/such/page"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.page().await.contains("There is no page at this address."));
}
both!(unknown_pages_are_404);
