//! Secure replies (#19): Bob answers from the portal inside the
//! protection; Alice gets it in her Inbox, threaded under her message, with
//! the original's rights; a closed link takes no replies; 20 an hour.

use crate::common::catcher::{Catcher, Caught};
use crate::common::*;

const ORIGINAL: &str = "Message-ID: <offer-7@corp.example>\r\nFrom: alice@corp.example\r\n\
To: bob@gmail.example, dave@yahoo.example\r\nCc: carol@corp.example\r\n\
Subject: [secure] Offer\r\n\r\nPlease sign the offer.";

/// Alice's offer to Bob and Dave (outside) and Carol (inside); Bob signed
/// in on his link. Returns Bob's browser, his link and Dave's.
async fn bob_reads_the_offer(
    app: &TestApp,
    catcher: &Catcher,
) -> (reqwest::Client, String, String) {
    smtp_send(
        app,
        "alice@corp.example",
        &[
            "bob@gmail.example",
            "dave@yahoo.example",
            "carol@corp.example",
        ],
        ORIGINAL.as_bytes(),
    )
    .await;
    let mails = catcher.wait_for(3).await;
    let link_to = |who: &str| link_of(mails.iter().find(|m| m.to == [who]).unwrap());
    let (bob_link, dave_link) = (link_to("bob@gmail.example"), link_to("dave@yahoo.example"));
    let bob = browser();
    let code = passcode_from_mail(app, catcher, &bob, &bob_link).await;
    assert_eq!(
        enter_passcode(app, &bob, &bob_link, &code).await.status(),
        303
    );
    (bob, bob_link, dave_link)
}

async fn post_reply(
    app: &TestApp,
    bob: &reqwest::Client,
    link: &str,
    text: &str,
    all: bool,
    file: Option<(&str, &[u8])>,
) -> reqwest::Response {
    let page = page_text(bob, app.url(link)).await;
    let mut form = reqwest::multipart::Form::new()
        .text("csrf", csrf_of(&page))
        .text("body", text.to_string())
        .text("all", if all { "yes" } else { "no" });
    if let Some((name, bytes)) = file {
        form = form.part(
            "attachments",
            reqwest::multipart::Part::bytes(bytes.to_vec())
                .file_name(name.to_string())
                .mime_str("application/pdf")
                .unwrap(),
        );
    }
    bob.post(app.url(&format!("{link}/reply")))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// The message inside a protected copy the catcher got.
fn unprotected(app: &TestApp, copy: &Caught) -> Vec<u8> {
    let out = run_cli_bytes(&app.db, &["unprotect"], Some(copy.data.as_bytes()), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    out.stdout
}

async fn bob_replies_and_alice_reads_it_in_her_inbox(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    app.add_user("alice@corp.example", "sender", "alice long password")
        .await;
    let (bob, bob_link, _) = bob_reads_the_offer(&app, &catcher).await;
    let page = page_text(&bob, app.url(&bob_link)).await;
    assert!(page.contains(">Reply<"), "{page}");
    assert!(page.contains(">Reply all<"), "{page}");
    assert!(
        page.contains("Reply all also sends it to dave@yahoo.example, carol@corp.example."),
        "{page}"
    );

    let before = catcher.caught().len();
    let r = post_reply(
        &app,
        &bob,
        &bob_link,
        "Signed, see attached.",
        false,
        Some(("signed.pdf", b"%PDF-1.4 signed")),
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), bob_link);
    let page = page_text(&bob, app.url(&bob_link)).await;
    assert_eq!(
        alert_of(&page).as_deref(),
        Some("Your reply was sent to alice@corp.example.")
    );
    // His earlier replies, under the message.
    assert!(page.contains("Your replies"), "{page}");
    assert!(page.contains("Signed, see attached."), "{page}");
    assert!(page.contains("signed.pdf"), "{page}");

    // Alice, inside, gets it inline: protected with the original's rights,
    // threaded under her message, from the address Bob proved.
    let mails = catcher.wait_for(before + 1).await;
    let copy = &mails[before];
    assert_eq!(copy.to, ["alice@corp.example"]);
    assert_eq!(copy.from, "bob@gmail.example");
    let inside = unprotected(&app, copy);
    let parsed = mail_parser::MessageParser::default()
        .parse(&inside)
        .unwrap();
    assert_eq!(parsed.subject(), Some("Re: Offer"));
    assert_eq!(parsed.in_reply_to().as_text(), Some("offer-7@corp.example"));
    assert_eq!(parsed.references().as_text(), Some("offer-7@corp.example"));
    assert_eq!(
        parsed
            .from()
            .and_then(|f| f.first())
            .and_then(|a| a.address()),
        Some("bob@gmail.example")
    );
    assert!(!String::from_utf8_lossy(copy.data.as_bytes()).contains("Signed, see attached."));

    let alice = app.client();
    sign_in(
        &app.address,
        &alice,
        "alice@corp.example",
        "alice long password",
    )
    .await;
    let inbox = page_text(&alice, app.url("/inbox")).await;
    assert!(inbox.contains("Re: Offer"), "{inbox}");
    let start = inbox.find("href=\"/inbox/").unwrap() + 6;
    let path: String = inbox[start..].chars().take_while(|c| *c != '"').collect();
    let message = page_text(&alice, app.url(&path)).await;
    assert!(message.contains("Signed, see attached."), "{message}");
    assert!(message.contains("signed.pdf"), "{message}");
    // Alice answers Bob again from her Inbox: the form comes prefilled,
    // and the answer is threaded under Bob's reply.
    assert!(message.contains(r#"href="/compose?reply="#), "{message}");
    let compose_path = format!("/compose?reply={}", &path["/inbox/".len()..]);
    let compose = page_text(&alice, app.url(&compose_path)).await;
    assert!(
        compose.contains(r#"value="bob@gmail.example""#),
        "{compose}"
    );
    assert!(compose.contains(r#"value="Re: Offer""#), "{compose}");
    let in_reply_to = compose
        .split(r#"name="in_reply_to" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the reply is tied to the Inbox message")
        .to_string();
    let before = catcher.caught().len();
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf_of(&compose))
        .text("to", "bob@gmail.example")
        .text("cc", "carol@corp.example")
        .text("subject", "Re: Offer")
        .text("body", "Countersigned, thank you.")
        .text("rights", "encrypt-only")
        .text("in_reply_to", in_reply_to);
    let r = alice
        .post(app.url("/compose"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let mails = catcher.wait_for(before + 2).await;
    let to_bob = mails[before..]
        .iter()
        .find(|m| m.to == ["bob@gmail.example"])
        .expect("Bob gets a link");
    let carol = mails[before..]
        .iter()
        .find(|m| m.to == ["carol@corp.example"])
        .expect("Carol gets an inline copy");
    let inside = unprotected(&app, carol);
    let parsed = mail_parser::MessageParser::default()
        .parse(&inside)
        .unwrap();
    let bobs_id = mail_parser::MessageParser::default()
        .parse(&unprotected(&app, copy))
        .unwrap()
        .message_id()
        .unwrap()
        .to_string();
    assert_eq!(parsed.in_reply_to().as_text(), Some(bobs_id.as_str()));
    assert_eq!(
        parsed.references().as_text_list().unwrap(),
        ["offer-7@corp.example", bobs_id.as_str()]
    );
    let bob_again = link_of(to_bob);
    let code = passcode_from_mail(&app, &catcher, &bob, &bob_again).await;
    enter_passcode(&app, &bob, &bob_again, &code).await;
    let page = page_text(&bob, app.url(&bob_again)).await;
    assert!(page.contains("Countersigned, thank you."), "{page}");

    // The Sent folder's timeline says Bob replied.
    let sent = page_text(&alice, app.url("/sent")).await;
    let sent_path = sent
        .split(r#"href=""#)
        .find_map(|rest| {
            let (path, _) = rest.split_once(r#"">Offer</a>"#)?;
            (!path.contains('"')).then(|| path.to_string())
        })
        .expect("the offer in the Sent folder");
    let detail = page_text(&alice, app.url(&sent_path)).await;
    assert!(detail.contains("replied"), "{detail}");
}
both!(bob_replies_and_alice_reads_it_in_her_inbox);

async fn reply_all_reaches_the_others_by_their_own_way(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    let (bob, bob_link, _) = bob_reads_the_offer(&app, &catcher).await;
    let before = catcher.caught().len();
    let r = post_reply(&app, &bob, &bob_link, "Agreed, all of us.", true, None).await;
    assert_eq!(r.status(), 303);
    // Inside (Alice and Carol) inline copies; Dave outside by link.
    let mails = catcher.wait_for(before + 3).await;
    let new = &mails[before..];
    for inside in ["alice@corp.example", "carol@corp.example"] {
        let copy = new
            .iter()
            .find(|m| m.to.iter().any(|to| to == inside))
            .expect("an inline copy for each inside");
        let inside = unprotected(&app, copy);
        let parsed = mail_parser::MessageParser::default()
            .parse(&inside)
            .unwrap();
        assert_eq!(parsed.subject(), Some("Re: Offer"));
    }
    let dave = new
        .iter()
        .find(|m| m.to == ["dave@yahoo.example"])
        .expect("a notification for Dave");
    let dave_link = link_of(dave);
    let dave_browser = browser();
    let code = passcode_from_mail(&app, &catcher, &dave_browser, &dave_link).await;
    enter_passcode(&app, &dave_browser, &dave_link, &code).await;
    let page = page_text(&dave_browser, app.url(&dave_link)).await;
    assert!(page.contains("Agreed, all of us."), "{page}");
    assert!(page.contains("Re: Offer"), "{page}");
}
both!(reply_all_reaches_the_others_by_their_own_way);

async fn replies_are_refused_when_they_should_be(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::on(backend).await.gateway(&catcher).spawn().await;
    let (bob, bob_link, _) = bob_reads_the_offer(&app, &catcher).await;

    // Nothing written: said so, in Japanese for a Japanese browser too.
    let r = post_reply(&app, &bob, &bob_link, "  ", false, None).await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        alert_of(&r.page().await).as_deref(),
        Some("Write a reply, or attach a file, before sending.")
    );
    // A forged form (no token) sends nothing.
    let form = reqwest::multipart::Form::new()
        .text("csrf", "forged")
        .text("body", "hi");
    let r = bob
        .post(app.url(&format!("{bob_link}/reply")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Someone without Bob's session is sent to sign in.
    let stranger = browser();
    let page = page_text(&stranger, app.url(&bob_link)).await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf_of(&page))
        .text("body", "hi");
    let r = stranger
        .post(app.url(&format!("{bob_link}/reply")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(app.count_events("replied").await, 0);
    // An unknown link is not found, as its page says.
    let r = bob
        .post(app.url(&format!("/r/{}/reply", "x".repeat(43))))
        .multipart(reqwest::multipart::Form::new().text("body", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // 20 replies an hour per copy, however fast they come.
    let page = page_text(&bob, app.url(&bob_link)).await;
    let csrf = csrf_of(&page);
    let mut tries = tokio::task::JoinSet::new();
    for i in 0..24 {
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .text("body", format!("Reply {i}"));
        let request = bob
            .post(app.url(&format!("{bob_link}/reply")))
            .multipart(form);
        tries.spawn(async move { request.send().await.unwrap().status().as_u16() });
    }
    let statuses = tries.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        20,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        4,
        "{statuses:?}"
    );
    let r = post_reply(&app, &bob, &bob_link, "one more", false, None).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let text = r.page().await;
    assert!(
        text.contains("You have sent 20 replies to this message in the last hour."),
        "{text}"
    );

    // Access removed: the reply is refused with that page.
    let out = app.cli(
        &[
            "message",
            "revoke",
            "--message-id",
            "offer-7@corp.example",
            "--recipient",
            "bob@gmail.example",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf)
        .text("body", "too late");
    let r = bob
        .post(app.url(&format!("{bob_link}/reply")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    assert!(
        r.page()
            .await
            .contains("The sender removed your access to this message.")
    );
}
both!(replies_are_refused_when_they_should_be);
