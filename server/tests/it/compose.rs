//! Writing a protected message on the web: it goes through the same
//! pipeline as SMTP mail, with the rights and template the sender chose.

use crate::common::catcher::Catcher;
use crate::common::*;
use reqwest::multipart::{Form, Part};

const PASSWORD: &str = "alice's long password";

async fn composer(backend: Backend, catcher: &Catcher) -> (TestApp, reqwest::Client, String) {
    let app = TestApp::on(backend).await.gateway(catcher).spawn().await;
    app.add_user("alice@corp.example", "sender", PASSWORD).await;
    let client = app.client();
    assert_eq!(
        sign_in(&app.address, &client, "alice@corp.example", PASSWORD)
            .await
            .status(),
        303
    );
    let page = client
        .get(app.url("/compose"))
        .send()
        .await
        .unwrap()
        .page()
        .await;
    assert!(
        page.contains(r#"<option value="Default" selected"#),
        "{page}"
    );
    let csrf = csrf_of(&page);
    (app, client, csrf)
}

fn form(csrf: &str, to: &str, subject: &str, body: &str) -> Form {
    Form::new()
        .text("csrf", csrf.to_string())
        .text("to", to.to_string())
        .text("cc", "carol@corp.example")
        .text("subject", subject.to_string())
        .text("body", body.to_string())
        .text("rights", "do-not-forward")
        .text("template", "Default")
}

async fn a_message_written_on_the_web_is_protected_and_sent(backend: Backend) {
    let catcher = Catcher::start().await;
    let (app, client, csrf) = composer(backend, &catcher).await;
    let canary = format!("canary-{}", uuid::Uuid::new_v4().simple());
    let attachment = Part::bytes(format!("quarter,amount\nQ3,{canary}\n").into_bytes())
        .file_name("numbers.csv")
        .mime_str("text/csv")
        .unwrap();
    let r = client
        .post(app.url("/compose"))
        .multipart(
            form(
                &csrf,
                "bob@gmail.example",
                "Quarterly numbers",
                "See the attachment.",
            )
            .part("attachments", attachment),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/compose");
    let page = client
        .get(app.url("/compose"))
        .send()
        .await
        .unwrap()
        .page()
        .await;
    assert_eq!(
        alert_of(&page).as_deref(),
        Some(
            "Your protected message \"Quarterly numbers\" is on its way to bob@gmail.example, carol@corp.example."
        )
    );
    let again = client
        .get(app.url("/compose"))
        .send()
        .await
        .unwrap()
        .page()
        .await;
    assert_eq!(alert_of(&again), None, "the notice is shown once");

    let mails = catcher.wait_for(2).await;
    let notification = mails
        .iter()
        .find(|m| m.to == ["bob@gmail.example"])
        .expect("a notification for bob");
    assert!(!notification.data.contains(&canary));
    assert_eq!(notification.from, "alice@corp.example");
    let inline = mails
        .iter()
        .find(|m| m.to == ["carol@corp.example"])
        .expect("an inline copy for carol");
    // Carol's copy is in the protected format; inside is the message.
    let out = run_cli_bytes(&app.db, &["unprotect"], Some(inline.data.as_bytes()), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let info = stdout(&run_cli_bytes(
        &app.db,
        &["unprotect", "--info"],
        Some(inline.data.as_bytes()),
        &[],
    ));
    assert!(info.contains("Rights         : do-not-forward"), "{info}");
    let parsed = mail_parser::MessageParser::default()
        .parse(&out.stdout)
        .unwrap();
    assert_eq!(parsed.subject(), Some("Quarterly numbers"));
    assert_eq!(parsed.body_text(0).unwrap().trim(), "See the attachment.");
    use mail_parser::MimeHeaders;
    let csv = parsed.attachment(0).expect("the attachment");
    assert_eq!(csv.attachment_name(), Some("numbers.csv"));
    assert!(String::from_utf8_lossy(csv.contents()).contains(&canary));

    let rows: Vec<(String, Option<String>, bool)> = match app.store.db() {
        server::store::Db::Sqlite(p) => {
            sqlx::query_as("SELECT source, rights, protected FROM messages")
                .fetch_all(p)
                .await
                .unwrap()
        }
        server::store::Db::Postgres(p) => {
            sqlx::query_as("SELECT source, rights, protected FROM messages")
                .fetch_all(p)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        rows,
        vec![("web".to_string(), Some("do-not-forward".to_string()), true)]
    );
}
both!(a_message_written_on_the_web_is_protected_and_sent);

async fn a_refused_form_says_why_and_keeps_what_was_typed(backend: Backend) {
    let catcher = Catcher::start().await;
    let (app, client, csrf) = composer(backend, &catcher).await;
    let r = client
        .post(app.url("/compose"))
        .multipart(form(
            &csrf,
            "bob@gmail.example, not-an-address",
            "Kept subject",
            "Kept body",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let page = r.page().await;
    let alert = alert_of(&page).unwrap();
    assert!(
        alert.starts_with("To: 'not-an-address' is not a valid email address"),
        "{alert}"
    );
    assert!(page.contains(r#"value="Kept subject""#), "{page}");
    assert!(page.contains("Kept body"));
    assert!(
        page.contains(r#"value="do-not-forward" checked"#),
        "the chosen rights are kept"
    );

    let r = client
        .post(app.url("/compose"))
        .multipart(form("forged", "bob@gmail.example", "x", "y"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(catcher.caught().is_empty(), "nothing was sent");

    // Signed out, the form sends nowhere.
    let stranger = browser();
    let r = stranger
        .post(app.url("/compose"))
        .multipart(form(&csrf, "bob@gmail.example", "x", "y"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/login");
}
both!(a_refused_form_says_why_and_keeps_what_was_typed);

async fn an_attached_message_nested_too_deep_is_refused(backend: Backend) {
    let catcher = Catcher::start().await;
    let (app, client, csrf) = composer(backend, &catcher).await;
    let mut deep = b"From: x@y.example\r\nSubject: deep\r\n".to_vec();
    for i in 0..101 {
        deep.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n")
                .as_bytes(),
        );
    }
    deep.extend_from_slice(b"Content-Type: text/plain\r\n\r\nin\r\n");
    let attachment = Part::bytes(deep)
        .file_name("deep.eml")
        .mime_str("message/rfc822")
        .unwrap();
    let r = client
        .post(app.url("/compose"))
        .multipart(
            form(&csrf, "bob@gmail.example", "Deep", "See it.").part("attachments", attachment),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let page = r.page().await;
    assert!(
        alert_of(&page).is_some_and(|a| a.contains("MIME nesting exceeds 100 levels")),
        "{page}"
    );
    assert!(
        app.store
            .trace(None, None, 0, i64::MAX)
            .await
            .unwrap()
            .is_empty()
    );
}
both!(an_attached_message_nested_too_deep_is_refused);
