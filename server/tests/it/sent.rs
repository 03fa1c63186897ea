//! The Sent folder: a sender removes external access to their own message
//! (seed 000); nobody else sees or revokes it.

use crate::common::catcher::Catcher;
use crate::common::*;

async fn remove_external_access_from_the_sent_folder(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    app.add_user("alice@corp.example", "sender", "alice long password")
        .await;
    app.add_user("dave@corp.example", "sender", "dave long password")
        .await;
    smtp_send(
        &app,
        "alice@corp.example",
        &["bob@gmail.example"],
        b"From: alice@corp.example
To: bob@gmail.example
Subject: [secure] Offer letter

The offer.",
    )
    .await;
    let link = link_of(&catcher.wait_for(1).await.remove(0));

    let alice = app.client();
    assert_eq!(
        sign_in(
            &app.address,
            &alice,
            "alice@corp.example",
            "alice long password"
        )
        .await
        .status(),
        303
    );
    let list = page_text(&alice, app.url("/sent")).await;
    assert!(list.contains(">Offer letter</a>"), "{list}");
    let start = list.find("href=\"/sent/").unwrap() + 6;
    let path: String = list[start..].chars().take_while(|c| *c != '"').collect();
    let page = page_text(&alice, app.url(&path)).await;
    assert!(page.contains("Remove external access"), "{page}");
    assert!(
        page.contains("bob@gmail.example (link, notified)"),
        "{page}"
    );
    // The message itself, decrypted for its sender, and what happened to it.
    assert!(page.contains("The offer."), "{page}");
    assert!(page.contains("notification sent"), "the timeline: {page}");
    // In Japanese for a Japanese browser, with the SPEC's words.
    let ja = alice
        .get(app.url(&path))
        .header("accept-language", "ja")
        .send()
        .await
        .unwrap()
        .page()
        .await;
    assert!(ja.contains("外部アクセスの削除"), "{ja}");

    // Another sender neither sees nor revokes it.
    let dave = app.client();
    sign_in(
        &app.address,
        &dave,
        "dave@corp.example",
        "dave long password",
    )
    .await;
    assert_eq!(dave.get(app.url(&path)).send().await.unwrap().status(), 404);
    let dave_page = page_text(&dave, app.url("/")).await;
    let dave_csrf = csrf_of(&dave_page);
    let r = dave
        .post(app.url(&path))
        .form(&[("csrf", dave_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        browser().get(app.url(&link)).send().await.unwrap().status(),
        200,
        "still readable"
    );

    // A forged form (no token) does nothing; the real button revokes.
    let r = alice
        .post(app.url(&path))
        .form(&[("csrf", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = alice
        .post(app.url(&path))
        .form(&[("csrf", csrf_of(&page).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = page_text(&alice, app.url(&path)).await;
    assert!(page.contains("External access was removed."), "{page}");
    assert!(!page.contains(">Remove external access<"));
    let ja = alice
        .get(app.url(&path))
        .header("accept-language", "ja")
        .send()
        .await
        .unwrap()
        .page()
        .await;
    assert!(ja.contains("外部アクセスは削除されました。"), "{ja}");
    let r = browser().get(app.url(&link)).send().await.unwrap();
    assert_eq!(r.status(), 410);
}
both!(remove_external_access_from_the_sent_folder);
