//! The Inbox: an organization user reads the protected messages delivered
//! to them inline (also those that arrived before their account existed);
//! nobody else can.

use crate::common::catcher::Catcher;
use crate::common::*;

async fn an_internal_recipient_reads_an_inline_copy_and_nobody_else_can(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    let raw = mail_builder::MessageBuilder::new()
        .from("alice@corp.example")
        .to("carol@corp.example")
        .subject("[secure] Salary review")
        .text_body("Your new salary is attached.")
        .attachment("text/plain", "salary.txt", b"42".as_slice())
        .write_to_vec()
        .unwrap();
    smtp_send(&app, "alice@corp.example", &["carol@corp.example"], &raw).await;
    let copy = catcher.wait_for(1).await.remove(0);
    let text = text_of(&copy);
    let at = text.find("/inbox/").unwrap();
    let path: String = text[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();

    // Carol's account is made after the message arrived.
    app.add_user("carol@corp.example", "sender", "carol long password")
        .await;
    app.add_user("dave@corp.example", "sender", "dave long password")
        .await;
    let carol = browser();
    sign_in(
        &app.address,
        &carol,
        "carol@corp.example",
        "carol long password",
    )
    .await;
    let inbox = page_text(&carol, app.url("/inbox")).await;
    assert!(inbox.contains(&format!("href=\"{path}\"")), "{inbox}");
    assert!(inbox.contains(">Salary review</a>"), "{inbox}");
    let r = carol.get(app.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let page = r.page().await;
    assert!(page.contains("Your new salary is attached."), "{page}");
    let r = carol
        .get(app.url(&format!("{path}/attachments/0")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"salary.txt\""
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"42");

    // Dave gets nothing: not the page, not the attachment, not a list entry.
    let dave = browser();
    sign_in(
        &app.address,
        &dave,
        "dave@corp.example",
        "dave long password",
    )
    .await;
    let r = dave.get(app.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(!r.page().await.contains("salary"));
    let r = dave
        .get(app.url(&format!("{path}/attachments/0")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        !page_text(&dave, app.url("/inbox"))
            .await
            .contains("Salary review")
    );
    // Signed out: sent to sign in.
    let r = browser().get(app.url(&path)).send().await.unwrap();
    assert!(r.status().is_redirection());

    // Opening was recorded.
    let events = app.store.events_of_kind("opened in Inbox").await.unwrap();
    assert_eq!(events.len(), 1);
}
both!(an_internal_recipient_reads_an_inline_copy_and_nobody_else_can);
