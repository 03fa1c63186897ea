//! An external recipient opens the link, signs in with a one-time passcode
//! caught from the relay, reads the message and downloads its attachment;
//! every failure rule of the passcode, and revocation and expiry cutting off
//! an open session.

use crate::common::catcher::Catcher;
use crate::common::*;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Duration;

const PUBLIC: &str = "http://127.0.0.1:3000";

struct Portal {
    app: TestApp,
    catcher: Catcher,
}

impl Portal {
    async fn start(backend: Backend) -> Portal {
        let catcher = Catcher::start().await;
        let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
        Portal { app, catcher }
    }

    /// Sends a protected message with an attachment; returns each
    /// recipient's link path (`/r/<token>`).
    async fn send(&self, body: &str, to: &[&str]) -> Vec<String> {
        let raw = mail_builder::MessageBuilder::new()
            .from("alice@corp.example")
            .to(to.to_vec())
            .subject("[secure] Quarterly numbers")
            .text_body(body)
            .attachment("text/csv", "numbers.csv", b"q,n\n3,42\n".as_slice())
            .write_to_vec()
            .unwrap();
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(self.app.smtp_addr.port())
            .build();
        let envelope = lettre::address::Envelope::new(
            Some("alice@corp.example".parse().unwrap()),
            to.iter().map(|a| a.parse().unwrap()).collect(),
        )
        .unwrap();
        let before = self.catcher.caught().len();
        transport.send_raw(&envelope, &raw).await.unwrap();
        let mails = self.catcher.wait_for(before + to.len()).await;
        to.iter()
            .map(|r| {
                let mail = mails
                    .iter()
                    .rev()
                    .find(|m| m.to == [r.to_string()])
                    .unwrap();
                let text = text_of(mail);
                let at = text.find(&format!("{PUBLIC}/r/")).unwrap() + PUBLIC.len();
                text[at..at + 3 + 43].to_string()
            })
            .collect()
    }

    async fn get(&self, client: &reqwest::Client, path: &str) -> (u16, String) {
        let r = client.get(self.app.url(path)).send().await.unwrap();
        (r.status().as_u16(), r.page().await)
    }

    async fn post(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(self.app.url(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Asks for a code; returns (reference shown on the page, code from the mail).
    async fn request_code(&self, client: &reqwest::Client, link: &str) -> (String, String) {
        let (_, landing) = self.get(client, link).await;
        let csrf = csrf_of(&landing);
        let before = self.catcher.caught().len();
        let r = self
            .post(client, link, &[("csrf", &csrf), ("step", "passcode")])
            .await;
        assert_eq!(r.status(), 200);
        let page = r.page().await;
        let shown = page
            .split("Reference code: ")
            .nth(1)
            .unwrap_or_else(|| panic!("{page}"))[..4]
            .to_string();
        let mail = self.catcher.wait_for(before + 1).await.pop().unwrap();
        let text = text_of(&mail);
        assert!(
            text.contains(&format!("Reference code: {shown}")),
            "the email shows the page's reference: {text}"
        );
        let code = text.split("Your one-time passcode is ").nth(1).unwrap()[..8].to_string();
        (shown, code)
    }

    async fn verify(&self, client: &reqwest::Client, link: &str, code: &str) -> reqwest::Response {
        let (_, page) = self.get(client, link).await;
        let csrf = csrf_of(&page);
        self.post(
            client,
            link,
            &[("csrf", &csrf), ("step", "verify"), ("code", code)],
        )
        .await
    }

    /// The state the sender and the administrator see for the (only)
    /// recipient of the newest message.
    async fn recipient_state(&self) -> String {
        let store = &self.app.store;
        let traced = server::services::trace::trace(store, &Default::default())
            .await
            .unwrap();
        let status = server::services::revocation::status(store, &traced[0].message_id, None)
            .await
            .unwrap();
        status[0].recipients[0].state.clone()
    }

    async fn sql(&self, statement: &str) {
        match self.app.store.db() {
            server::store::Db::Sqlite(p) => sqlx::query(statement).execute(p).await.map(|_| ()),
            server::store::Db::Postgres(p) => sqlx::query(statement).execute(p).await.map(|_| ()),
        }
        .unwrap();
    }
}

async fn a_recipient_reads_the_message_after_a_passcode(backend: Backend) {
    let p = Portal::start(backend).await;
    let canary = format!("canary-{}", uuid::Uuid::new_v4().simple());
    let link = p
        .send(
            &format!("The {canary} numbers are up."),
            &["bob@gmail.example"],
        )
        .await
        .remove(0);
    let bob = browser();

    // Opening the link (as a mail scanner does) reveals and spends nothing.
    for _ in 0..2 {
        let (status, landing) = p.get(&bob, &link).await;
        assert_eq!(status, 200);
        assert!(
            landing.contains("alice@corp.example sent you a protected message"),
            "{landing}"
        );
        assert!(!landing.contains(&canary) && !landing.contains("Quarterly numbers"));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        p.catcher.caught().len(),
        1,
        "no passcode was sent by opening the link"
    );

    let (_reference, code) = p.request_code(&bob, &link).await;
    assert_eq!(p.recipient_state().await, "code sent");
    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let r = p.verify(&bob, &link, wrong).await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        alert_of(&r.page().await).as_deref(),
        Some("That code is wrong. You have 4 tries left.")
    );

    let r = p.verify(&bob, &link, &code).await;
    assert_eq!(r.status(), 303);
    assert_eq!(p.recipient_state().await, "opened");
    let (status, page) = p.get(&bob, &link).await;
    assert_eq!(status, 200);
    // Once: the body is not repeated as hydration data.
    assert_eq!(page.matches(&canary).count(), 1, "{page}");
    assert!(
        page.contains(r#"<h1 id="subject">Quarterly numbers</h1>"#),
        "{page}"
    );
    assert!(page.contains("numbers.csv"));
    // Reading it again in the same session is not another "opened".
    for _ in 0..3 {
        assert_eq!(p.get(&bob, &link).await.0, 200);
    }
    let mut opened = 0;
    for _ in 0..50 {
        opened = p.app.count_events("opened").await;
        if opened > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(opened, 1, "one open per session");

    let r = bob
        .get(p.app.url(&format!("{link}/attachments/0")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"numbers.csv\""
    );
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"q,n\n3,42\n");

    // The code worked once.
    let r = p.verify(&browser(), &link, &code).await;
    assert_eq!(r.status(), 422);
    let alert = alert_of(&r.page().await).unwrap();
    assert!(alert.starts_with("That code was already used"), "{alert}");
}
both!(a_recipient_reads_the_message_after_a_passcode);

/// The message page is rendered once per copy and language and kept: each
/// reader still gets forms bound to their own session, in their language,
/// and a change to what the page shows is there on the next view.
async fn each_reader_of_a_kept_page_gets_forms_of_their_own(backend: Backend) {
    let p = Portal::start(backend).await;
    let link = p.send("Numbers", &["bob@gmail.example"]).await.remove(0);
    // Bob on his laptop and on his phone: two sessions.
    let laptop = browser();
    let phone = browser();
    for reader in [&laptop, &phone] {
        let (_, code) = p.request_code(reader, &link).await;
        assert_eq!(p.verify(reader, &link, &code).await.status(), 303);
    }
    let mut tokens = Vec::new();
    for reader in [&laptop, &phone, &laptop, &phone] {
        let (status, page) = p.get(reader, &link).await;
        assert_eq!(status, 200);
        tokens.push(csrf_of(&page));
        assert_eq!(
            page.matches(&format!(
                r#"name="csrf" value="{}""#,
                tokens.last().unwrap()
            ))
            .count(),
            page.matches(r#"name="csrf""#).count(),
            "every form on the page carries the reader's token"
        );
    }
    // The phone switches to Japanese: its views are in Japanese from then
    // on, the laptop's still in English.
    assert_eq!(p.get(&phone, &format!("{link}?lang=ja")).await.0, 200);
    let (_, japanese) = p.get(&phone, &link).await;
    let (_, english) = p.get(&laptop, &link).await;
    assert!(japanese.contains(r#"<html lang="ja""#), "{japanese}");
    assert!(english.contains(r#"<html lang="en""#), "{english}");
    assert_eq!(tokens[0], tokens[2], "one session, one token");
    assert_ne!(tokens[0], tokens[1], "two sessions, two tokens");

    // The laptop's token does not work for the phone's session.
    let r = p
        .post(&phone, &link, &[("csrf", &tokens[0]), ("step", "signout")])
        .await;
    assert_eq!(r.status(), 403);
    // Bob replies from his laptop: the reply is on the next view.
    let r = laptop
        .post(p.app.url(&format!("{link}/reply")))
        .multipart(
            reqwest::multipart::Form::new()
                .text("csrf", tokens[0].clone())
                .text("body", "Thanks, got them.")
                .text("all", "no"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, page) = p.get(&laptop, &link).await;
    assert!(page.contains("Thanks, got them."), "{page}");
    // Signing out with its own token works, and the next view is the
    // landing page again.
    let r = p
        .post(&phone, &link, &[("csrf", &tokens[1]), ("step", "signout")])
        .await;
    assert_eq!(r.status(), 303);
    let (status, page) = p.get(&phone, &link).await;
    assert_eq!(status, 200);
    assert!(!page.contains("Thanks, got them."), "{page}");
    // Revoked: the next view says so, kept page or not.
    p.sql("UPDATE messages SET revoked_at = 1").await;
    assert_eq!(p.get(&laptop, &link).await.0, 410);
}
both!(each_reader_of_a_kept_page_gets_forms_of_their_own);

/// The `Max-Age` of the session cookie a response sets, in seconds.
fn session_max_age(r: &reqwest::Response) -> Option<i64> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| c.to_str().ok())
        .filter(|c| c.starts_with("sealpost_session="))
        .find_map(|c| {
            c.split(';')
                .find_map(|part| part.trim().strip_prefix("Max-Age="))
                .and_then(|v| v.parse().ok())
        })
}

async fn keep_me_signed_in_chooses_between_30_minutes_and_30_days(backend: Backend) {
    let p = Portal::start(backend).await;
    let links = p
        .send("Numbers", &["bob@gmail.example", "carol@gmail.example"])
        .await;
    for (link, remember, days) in [(&links[0], false, 0), (&links[1], true, 30)] {
        let reader = browser();
        let (_, code) = p.request_code(&reader, link).await;
        let (_, page) = p.get(&reader, link).await;
        let csrf = csrf_of(&page);
        let mut form = vec![("csrf", csrf.as_str()), ("step", "verify"), ("code", &code)];
        if remember {
            form.push(("remember", "yes"));
        }
        let r = p.post(&reader, link, &form).await;
        assert_eq!(r.status(), 303);
        let expected = if days > 0 { days * 86_400 } else { 30 * 60 };
        assert_eq!(session_max_age(&r), Some(expected), "remember: {remember}");
        // The session opens the message.
        let (status, _) = p.get(&reader, link).await;
        assert_eq!(status, 200);
        // Reading it again within the minute does not save the session
        // again (a page view is not a durable write): no new cookie.
        for _ in 0..3 {
            let r = reader.get(p.app.url(link)).send().await.unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(session_max_age(&r), None, "the session was saved again");
        }
    }
}
both!(keep_me_signed_in_chooses_between_30_minutes_and_30_days);

async fn an_organization_sign_in_takes_the_organizations_idle_timeout(backend: Backend) {
    let p = Portal::start(backend).await;
    let link = p.send("Numbers", &["alice@gmail.example"]).await.remove(0);
    p.app
        .add_user("alice@corp.example", "sender", "alice's long password")
        .await;
    // Alice reads a message sent to her own address, kept signed in for
    // 30 days...
    let browser = browser();
    let (_, code) = p.request_code(&browser, &link).await;
    let (_, page) = p.get(&browser, &link).await;
    let form = [
        ("csrf", csrf_of(&page)),
        ("step", "verify".into()),
        ("code", code),
        ("remember", "yes".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = p.post(&browser, &link, &form).await;
    assert_eq!(session_max_age(&r), Some(30 * 86_400));
    // ...then signs in to the organization on the same browser: 8 hours.
    let r = sign_in(
        &p.app.address,
        &browser,
        "alice@corp.example",
        "alice's long password",
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(session_max_age(&r), Some(8 * 3600));
}
both!(an_organization_sign_in_takes_the_organizations_idle_timeout);

async fn a_japanese_browser_reads_the_portal_and_its_mail_in_japanese(backend: Backend) {
    let p = Portal::start(backend).await;
    let link = p.send("本文", &["hanako@gmail.example"]).await.remove(0);
    let hanako = browser_in("ja-JP,ja;q=0.9,en;q=0.5");

    let r = hanako.get(p.app.url(&link)).send().await.unwrap();
    let policy = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let landing = r.page().await;
    assert!(landing.contains(r#"<html lang="ja""#), "{landing}");
    assert!(
        landing.contains("alice@corp.example さんから保護されたメッセージが届きました"),
        "{landing}"
    );
    // The portal is plain HTML and forms: it loads no script bundle, and its
    // policy allows only the nonce'd lines Leptos writes.
    assert!(!landing.contains("app_bg.wasm") && !landing.contains("pkg/app.js"));
    assert!(
        policy.contains("script-src 'nonce-") && !policy.contains("wasm-unsafe-eval"),
        "{policy}"
    );

    // The passcode mail follows the page's language.
    let before = p.catcher.caught().len();
    let r = p
        .post(
            &hanako,
            &link,
            &[("csrf", &csrf_of(&landing)), ("step", "passcode")],
        )
        .await;
    let page = r.page().await;
    assert!(
        page.contains("ワンタイム パスコードを送信しました"),
        "{page}"
    );
    let mail = p.catcher.wait_for(before + 1).await.pop().unwrap();
    let text = text_of(&mail);
    let code = text
        .split("ワンタイム パスコードは ")
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"))[..8]
        .to_string();
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{text}");

    // A refusal is explained in Japanese too.
    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let r = p.verify(&hanako, &link, wrong).await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        alert_of(&r.page().await).as_deref(),
        Some("コードが正しくありません。あと 4 回入力できます。")
    );

    // The switch to English is remembered for the next pages.
    let r = hanako
        .get(p.app.url(&format!("{link}?lang=en")))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("lang=en;")),
        "{:?}",
        r.headers()
    );
    let (_, page) = p.get(&hanako, &link).await;
    assert!(page.contains(r#"<html lang="en""#));
    assert!(page.contains("alice@corp.example sent you a protected message"));
}
both!(a_japanese_browser_reads_the_portal_and_its_mail_in_japanese);

async fn links_that_do_not_open_say_why(backend: Backend) {
    let p = Portal::start(backend).await;
    // Not even text: the same page, not the router's own refusal.
    for path in ["/r/short", &format!("/r/{}", "A".repeat(43)), "/r/%FF%FE"] {
        let (status, page) = p.get(&browser(), path).await;
        assert_eq!(status, 404, "{path}");
        assert!(page.contains("This link is not valid."));
    }
    let links = p
        .send("body", &["bob@gmail.example", "dan@gmail.example"])
        .await;
    let bob = browser();
    let (_, code) = p.request_code(&bob, &links[0]).await;
    assert_eq!(p.verify(&bob, &links[0], &code).await.status(), 303);

    // Bob's session does not open Dan's copy.
    let (status, page) = p.get(&bob, &links[1]).await;
    assert_eq!(status, 403);
    assert!(
        page.contains(
            "You signed in as bob@gmail.example, but this message was sent to dan@gmail.example."
        ),
        "{page}"
    );

    // Revocation cuts off the open session at once, attachments too.
    p.sql("UPDATE messages SET revoked_at = 1").await;
    let (status, page) = p.get(&bob, &links[0]).await;
    assert_eq!(status, 410);
    assert!(page.contains("The message was revoked by the sender."));
    let r = bob
        .get(p.app.url(&format!("{}/attachments/0", links[0])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);

    p.sql("UPDATE messages SET revoked_at = NULL, expires_at = 1")
        .await;
    let (status, page) = p.get(&bob, &links[0]).await;
    assert_eq!(status, 410);
    assert!(page.contains("This message has expired."));
}
both!(links_that_do_not_open_say_why);

async fn passcode_limits_hold(backend: Backend) {
    let p = Portal::start(backend).await;
    let link = p.send("body", &["bob@gmail.example"]).await.remove(0);
    let bob = browser();
    let (_, code) = p.request_code(&bob, &link).await;
    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    for left in (1..=4).rev() {
        let r = p.verify(&bob, &link, wrong).await;
        assert_eq!(r.status(), 422);
        let expected = format!(
            "That code is wrong. You have {left} {} left.",
            if left == 1 { "try" } else { "tries" }
        );
        assert_eq!(alert_of(&r.page().await), Some(expected));
    }
    let r = p.verify(&bob, &link, wrong).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    // After five wrong tries even the right code no longer works.
    let r = p.verify(&bob, &link, &code).await;
    assert_eq!(r.status(), 429);

    // An expired code says so.
    let (_, code) = p.request_code(&bob, &link).await;
    p.sql("UPDATE passcodes SET expires_at = 1 WHERE used_at IS NULL AND NOT invalidated")
        .await;
    let r = p.verify(&bob, &link, &code).await;
    assert_eq!(r.status(), 422);
    assert!(
        alert_of(&r.page().await)
            .unwrap()
            .starts_with("That code has expired")
    );

    // Three codes per 15 minutes: the fourth is refused with when to retry.
    p.request_code(&bob, &link).await;
    let (_, landing) = p.get(&bob, &link).await;
    let r = p
        .post(
            &bob,
            &link,
            &[("csrf", &csrf_of(&landing)), ("step", "passcode")],
        )
        .await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 800 && retry <= 900, "{retry}");
    let alert = alert_of(&r.page().await).unwrap();
    assert!(
        alert.starts_with("You asked for three codes in 15 minutes. You can ask for a new one in "),
        "{alert}"
    );
}
both!(passcode_limits_hold);

async fn one_address_guessing_is_stopped_across_links(backend: Backend) {
    let p = Portal::start(backend).await;
    let links = p
        .send("body", &["bob@gmail.example", "dan@gmail.example"])
        .await;
    let guesser = browser();
    for i in 0..20 {
        let r = p.verify(&guesser, &links[i % 2], "12345678").await;
        assert_eq!(r.status(), 422, "guess {i}");
    }
    let r = p.verify(&guesser, &links[0], "12345678").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let alert = alert_of(&r.page().await).unwrap();
    assert!(
        alert.starts_with("Too many failed sign-in attempts from your network. Try again in "),
        "{alert}"
    );
}
both!(one_address_guessing_is_stopped_across_links);
