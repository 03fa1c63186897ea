//! The SMTP intake's port. The address is bound at start-up so a port in use
//! stops `serve`; until the intake speaks SMTP it tells every client to come
//! back later (421), which makes a sending server keep the mail and retry.

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

pub async fn run(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((mut stream, peer)) => {
                tokio::spawn(async move {
                    let _ = stream
                        .write_all(b"421 4.3.2 sealpost: mail intake is not available yet, try again later\r\n")
                        .await;
                    let _ = stream.shutdown().await;
                    tracing::debug!(%peer, "SMTP connection answered 421");
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "SMTP accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}
