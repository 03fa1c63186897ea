//! The SMTP session fuzzed over the wire: whatever bytes a client sends, the
//! intake answers or closes; it never panics and never hangs. (The parsers'
//! own properties are unit tests: `server/src/fuzz.rs`.)

use crate::common::smtp::SmtpSession;
use crate::common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Commands in any order, with junk, long lines and raw bytes between.
fn client_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"EHLO fuzz.example\r\n".to_vec()),
        Just(b"HELO fuzz.example\r\n".to_vec()),
        Just(b"MAIL FROM:<alice@corp.example> SIZE=100 BODY=8BITMIME\r\n".to_vec()),
        Just(b"MAIL FROM:<>\r\n".to_vec()),
        Just(b"RCPT TO:<bob@outside.example>\r\n".to_vec()),
        Just(b"RCPT TO:<\"a b\"@[127.0.0.1]>\r\n".to_vec()),
        Just(b"DATA\r\n".to_vec()),
        Just(b"Subject: x\r\n\r\nbody\r\n.\r\n".to_vec()),
        Just(b"..\r\n.\r\n".to_vec()),
        Just(b"BDAT 7 LAST\r\nSubject".to_vec()),
        Just(b"AUTH PLAIN AGFsaWNlQGNvcnAuZXhhbXBsZQB4\r\n".to_vec()),
        Just(b"AUTH LOGIN\r\n=\r\n*\r\n".to_vec()),
        Just(b"STARTTLS\r\n".to_vec()),
        Just(b"RSET\r\nNOOP\r\nVRFY x\r\nEXPN y\r\nHELP\r\n".to_vec()),
        Just(b"QUIT\r\n".to_vec()),
        Just(vec![b'A'; 5000]),
        "[ -~]{0,200}\r\n".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..300),
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

/// The threads of the runtime the fuzzed node runs on.
const THREADS: &str = "smtp-fuzz";

/// Panics on the fuzzed node's threads, wherever they come from (our code
/// or a parser's): a session's task that panics is caught by tokio, and its
/// client only sees the connection close, so it is counted here.
fn node_panics() -> &'static AtomicUsize {
    static PANICS: AtomicUsize = AtomicUsize::new(0);
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some(THREADS) {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
    &PANICS
}

#[test]
fn any_bytes_get_answers_or_a_close_never_a_panic_or_a_hang() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(THREADS)
        .enable_all()
        .build()
        .unwrap();
    let app = rt.block_on(async { TestApp::on(Backend::Sqlite).await.spawn().await });
    let panics = node_panics();
    let before = panics.load(Ordering::SeqCst);
    let mut runner = TestRunner::new(Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..Config::default()
    });
    let addr = app.smtp_addr;
    runner
        .run(&client_bytes(), |bytes| {
            let ended = rt.block_on(async {
                let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                // The server may close first; what it said is read below.
                let _ = stream.write_all(&bytes).await;
                let _ = stream.shutdown().await;
                let mut heard = Vec::new();
                tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut heard))
                    .await
                    .map(|_| heard)
            });
            let heard = ended.map_err(|_| {
                TestCaseError::fail("the session neither answered to the end nor closed")
            })?;
            prop_assert!(heard.starts_with(b"220 "), "a greeting first");
            prop_assert!(
                heard.split(|b| *b == b'\n').all(
                    |l| l.is_empty() || (l.len() >= 4 && l[..3].iter().all(u8::is_ascii_digit))
                ),
                "only SMTP replies: {}",
                String::from_utf8_lossy(&heard)
            );
            Ok(())
        })
        .unwrap();
    assert_eq!(panics.load(Ordering::SeqCst), before, "the node panicked");
    rt.block_on(async {
        assert!(
            SmtpSession::open(addr).await.is_some(),
            "the node still greets"
        );
        drop(app);
    });
}
