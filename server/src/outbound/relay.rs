//! The connections to the relay: opened with `TCP_NODELAY`, kept open
//! between mails and reused, several mails each.
//!
//! lettre's own transport writes a message's data and the closing
//! `.` as two writes on a socket with Nagle's algorithm on: the dot waits
//! for the acknowledgement of the data, which the relay delays (40 ms on
//! Linux) because it has nothing to answer yet. Every mail took 45 ms
//! however idle the relay and sealpost were. Here the socket is ours, so
//! it is opened with `TCP_NODELAY`, and lettre's connection speaks SMTP on it.

use super::TransportError;
use lettre::address::Envelope;
use lettre::transport::smtp::Error;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How the connection to the relay is protected.
pub enum RelayTls {
    /// Loopback, or `?tls=none`.
    None,
    /// STARTTLS, required: a relay that does not offer it is not used.
    Required(TlsParameters),
    /// `smtps://`: TLS from the first byte (lettre opens that socket).
    Wrapper(TlsParameters),
}

pub struct Relay {
    pub host: String,
    pub port: u16,
    pub tls: RelayTls,
    pub credentials: Option<Credentials>,
    /// For connecting, and for each mail from `MAIL FROM` to the relay's
    /// answer to the data.
    pub timeout: Duration,
    /// Connections kept open between mails, at most `max_idle`.
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
    max_idle: usize,
    hello: ClientId,
}

/// A connection unused for longer is closed rather than reused: relays
/// drop idle clients after a while (Postfix: 300 s).
const IDLE_LIMIT: Duration = Duration::from_secs(60);
/// A connection unused for longer is asked `NOOP` before it is reused.
const TRUSTED_IDLE: Duration = Duration::from_secs(2);

impl Relay {
    pub fn new(
        host: String,
        port: u16,
        tls: RelayTls,
        credentials: Option<Credentials>,
        max_idle: usize,
    ) -> Relay {
        Relay {
            host,
            port,
            tls,
            credentials,
            timeout: Duration::from_secs(60),
            idle: Mutex::new(Vec::new()),
            max_idle,
            hello: ClientId::default(),
        }
    }

    /// Sends one mail, on a kept connection when one is open.
    pub async fn send(&self, envelope: &Envelope, raw: &[u8]) -> Result<(), TransportError> {
        let mut conn = match self.kept().await {
            Some(conn) => conn,
            None => self.connect().await?,
        };
        match tokio::time::timeout(self.timeout, conn.send(envelope, raw)).await {
            Ok(Ok(_)) => {
                self.keep(conn);
                Ok(())
            }
            // lettre has already ended a connection whose command failed.
            Ok(Err(e)) => Err(refused(e)),
            // Dropped, not ended with QUIT: a relay that stopped answering
            // may never answer that either (and in the data, QUIT is text).
            Err(_) => {
                drop(conn);
                Err(TransportError::Temporary(
                    "the relay is unavailable: it did not answer in time".into(),
                ))
            }
        }
    }

    /// For `sealpost check`: opens a connection as a mail would (EHLO,
    /// STARTTLS when required, AUTH when configured) and ends it with QUIT;
    /// sends nothing. Says how the connection was protected.
    pub async fn check(&self) -> Result<&'static str, TransportError> {
        let mut conn = self.connect().await?;
        let _ = tokio::time::timeout(Duration::from_secs(5), conn.quit()).await;
        Ok(match self.tls {
            RelayTls::None => "EHLO answered, without TLS (loopback or ?tls=none)",
            RelayTls::Required(_) => "EHLO and STARTTLS answered",
            RelayTls::Wrapper(_) => "TLS and EHLO answered (smtps)",
        })
    }

    /// The most recently used open connection that still answers.
    async fn kept(&self) -> Option<AsyncSmtpConnection> {
        loop {
            let (mut conn, since) = self.idle.lock().expect("relay pool").pop()?;
            let idle = since.elapsed();
            if idle > IDLE_LIMIT {
                continue;
            }
            // A connection the network dropped silently answers nothing:
            // asked briefly, and closed without QUIT if it does not answer.
            if idle > TRUSTED_IDLE {
                let answer =
                    tokio::time::timeout(Duration::from_secs(5), conn.test_connected()).await;
                if !matches!(answer, Ok(true)) {
                    continue;
                }
            }
            return Some(conn);
        }
    }

    fn keep(&self, conn: AsyncSmtpConnection) {
        if conn.has_broken() {
            return;
        }
        let mut idle = self.idle.lock().expect("relay pool");
        if idle.len() < self.max_idle {
            idle.push((conn, Instant::now()));
        }
        // Else dropped: the socket closes without QUIT, which relays take
        // as the end of the session.
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, TransportError> {
        let unavailable = |e: &dyn std::fmt::Display| {
            TransportError::Temporary(format!("the relay is unavailable: {e}"))
        };
        let connecting = async {
            let mut conn = match &self.tls {
                RelayTls::Wrapper(params) => AsyncSmtpConnection::connect_tokio1(
                    (self.host.as_str(), self.port),
                    Some(self.timeout),
                    &self.hello,
                    Some(params.clone()),
                    None,
                )
                .await
                .map_err(refused)?,
                RelayTls::None | RelayTls::Required(_) => {
                    let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
                        .await
                        .map_err(|e| unavailable(&e))?;
                    tcp.set_nodelay(true).map_err(|e| unavailable(&e))?;
                    AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
                        .await
                        .map_err(refused)?
                }
            };
            if let RelayTls::Required(params) = &self.tls {
                conn.starttls(params.clone(), &self.hello)
                    .await
                    .map_err(refused)?;
            }
            if let Some(credentials) = &self.credentials {
                conn.auth(DEFAULT_MECHANISMS, credentials)
                    .await
                    .map_err(refused)?;
            }
            Ok::<_, TransportError>(conn)
        };
        tokio::time::timeout(self.timeout, connecting)
            .await
            .unwrap_or_else(|_| Err(unavailable(&"no connection in time")))
    }
}

/// A relay's `5xx` is final for the mail; anything else is tried again.
fn refused(e: Error) -> TransportError {
    if e.is_permanent() {
        TransportError::Permanent(format!("the relay refused the mail: {e}"))
    } else {
        TransportError::Temporary(format!("the relay is unavailable: {e}"))
    }
}
