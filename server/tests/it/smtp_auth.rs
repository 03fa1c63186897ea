//! STARTTLS and AUTH on the intake: organization users outside the relay
//! networks send after authenticating inside TLS, only as themselves.

use crate::common::catcher::Catcher;
use crate::common::*;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

const PASSWORD: &str = "dave's long password";

async fn gateway(backend: Backend, catcher: &Catcher) -> TestApp {
    let db = TestDatabase::new(backend).await;
    let (cert, key) = certificate(db.dir.path());
    // Loopback is not a relay network here: only authenticated users may send.
    let app = TestApp::builder(db)
        .gateway(catcher)
        .setting("smtp_relay_networks", "10.0.0.0/8")
        .setting("smtp_tls_cert", cert)
        .setting("smtp_tls_key", key)
        .spawn()
        .await;
    app.add_user("dave@corp.example", "sender", PASSWORD).await;
    app
}

fn client(
    app: &TestApp,
    user: &str,
    password: &str,
    mechanism: Mechanism,
) -> AsyncSmtpTransport<Tokio1Executor> {
    let tls = TlsParameters::builder("localhost".into())
        .dangerous_accept_invalid_certs(true)
        .build()
        .unwrap();
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(app.smtp_addr.port())
        .tls(Tls::Required(tls))
        .credentials(Credentials::new(user.into(), password.into()))
        .authentication(vec![mechanism])
        .build()
}

async fn send(
    t: &AsyncSmtpTransport<Tokio1Executor>,
    from: &str,
    subject: &str,
) -> Result<(), lettre::transport::smtp::Error> {
    let envelope = lettre::address::Envelope::new(
        Some(from.parse().unwrap()),
        vec!["bob@gmail.example".parse().unwrap()],
    )
    .unwrap();
    let raw = format!("From: {from}\r\nTo: bob@gmail.example\r\nSubject: {subject}\r\n\r\nhello");
    t.send_raw(&envelope, raw.as_bytes()).await.map(|_| ())
}

async fn an_authenticated_user_sends_inside_tls(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = gateway(backend, &catcher).await;
    for mechanism in [Mechanism::Plain, Mechanism::Login] {
        let t = client(&app, "dave@corp.example", PASSWORD, mechanism);
        send(
            &t,
            "dave@corp.example",
            &format!("[secure] via {mechanism:?}"),
        )
        .await
        .expect("accepted after AUTH");
    }
    let mails = catcher.wait_for(2).await;
    assert!(
        mails
            .iter()
            .all(|m| m.from == "dave@corp.example" && m.to == ["bob@gmail.example"])
    );

    // Only as themselves.
    let t = client(&app, "dave@corp.example", PASSWORD, Mechanism::Plain);
    let err = send(&t, "ceo@corp.example", "spoof").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("You may send only as dave@corp.example"),
        "{err}"
    );

    // A wrong password is refused.
    let t = client(
        &app,
        "dave@corp.example",
        "not the password",
        Mechanism::Plain,
    );
    let err = send(&t, "dave@corp.example", "x").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("Authentication credentials invalid"),
        "{err}"
    );
}
both!(an_authenticated_user_sends_inside_tls);

async fn reply(r: &mut (impl tokio::io::AsyncBufRead + Unpin)) -> String {
    use tokio::io::AsyncBufReadExt;
    let mut all = String::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).await.unwrap();
        all.push_str(&line);
        if line.as_bytes().get(3) != Some(&b'-') {
            return all;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_is_offered_only_inside_tls() {
    use tokio::io::{AsyncWriteExt, BufReader};
    let catcher = Catcher::start().await;
    let app = gateway(Backend::Sqlite, &catcher).await;
    let stream = tokio::net::TcpStream::connect(app.smtp_addr).await.unwrap();
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    reply(&mut r).await;
    w.write_all(b"EHLO outside.example\r\n").await.unwrap();
    let ehlo = reply(&mut r).await;
    assert!(ehlo.contains("STARTTLS"), "{ehlo}");
    assert!(!ehlo.contains("AUTH"), "no AUTH before TLS: {ehlo}");
    w.write_all(b"AUTH PLAIN AGRhdmVAY29ycC5leGFtcGxlAHg=\r\n")
        .await
        .unwrap();
    assert!(reply(&mut r).await.starts_with("538 "));
    w.write_all(b"MAIL FROM:<dave@corp.example>\r\n")
        .await
        .unwrap();
    assert!(
        reply(&mut r).await.starts_with("530 "),
        "no relay without AUTH"
    );
}

async fn a_locked_web_sign_in_does_not_lock_smtp_auth(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = gateway(backend, &catcher).await;
    // Five wrong passwords on the web lock the web sign-in for dave...
    let web = app.client();
    for _ in 0..5 {
        let r = sign_in(&app.address, &web, "dave@corp.example", "wrong password").await;
        assert_eq!(r.status(), 422);
    }
    let r = sign_in(&app.address, &web, "dave@corp.example", PASSWORD).await;
    assert_eq!(r.status(), 429);
    // ...but his mail client still authenticates: counters are per surface.
    let t = client(&app, "dave@corp.example", PASSWORD, Mechanism::Plain);
    send(&t, "dave@corp.example", "still sending")
        .await
        .expect("SMTP AUTH is not locked by the web's failures");
    // And five wrong SMTP passwords lock SMTP AUTH itself.
    for _ in 0..5 {
        let t = client(
            &app,
            "dave@corp.example",
            "wrong password",
            Mechanism::Plain,
        );
        let err = send(&t, "dave@corp.example", "x").await.unwrap_err();
        assert!(err.to_string().contains("credentials invalid"), "{err}");
    }
    let t = client(&app, "dave@corp.example", PASSWORD, Mechanism::Plain);
    let err = send(&t, "dave@corp.example", "x").await.unwrap_err();
    assert!(
        err.to_string().contains("Too many failed attempts"),
        "{err}"
    );
}
both!(a_locked_web_sign_in_does_not_lock_smtp_auth);

async fn a_temporary_password_does_not_open_smtp_auth(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = gateway(backend, &catcher).await;
    app.add_temporary_user("tim@corp.example", "sender", "a temporary password")
        .await;
    let t = client(
        &app,
        "tim@corp.example",
        "a temporary password",
        Mechanism::Plain,
    );
    let err = send(&t, "tim@corp.example", "x").await.unwrap_err();
    assert!(err.to_string().contains("credentials invalid"), "{err}");
}
both!(a_temporary_password_does_not_open_smtp_auth);
