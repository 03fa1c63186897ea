//! The SMTP intake. A message is answered `250` only after it is stored,
//! encrypted, together with its pipeline job, in one transaction.

mod session;

use crate::config::Settings;
use crate::crypto::sha256;
use crate::domain::Envelope;
use crate::keys::KeyMaterial;
use crate::store::{AcceptedMessage, Store, new_id};
use ipnet::IpNet;

use std::net::IpAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc, oneshot};

pub struct Intake {
    pub store: Store,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// STARTTLS, when a certificate is configured.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    pub keys: Arc<KeyMaterial>,
    pub hostname: String,
    pub max_message_bytes: usize,
    pub relay_networks: Vec<IpNet>,
    pub queue_lifetime_ms: i64,
    pub max_sessions: usize,
    pub max_sessions_per_client: usize,
    writer: mpsc::Sender<Pending>,
}

impl Intake {
    /// The size limit for mail already in the protected format (1.4 times
    /// the limit), and so the most any transaction may send.
    pub fn protected_limit(&self) -> usize {
        self.max_message_bytes.saturating_mul(7) / 5
    }
}

pub(crate) enum AuthOutcome {
    Accepted(String),
    Refused,
    Blocked,
    Unavailable,
}

/// The message could not be stored; the client is told to try again (451,
/// or 452 when the disk is full).
#[derive(Debug, thiserror::Error)]
#[error("{cause}")]
pub struct NotStored {
    cause: String,
    pub disk_full: bool,
}

impl NotStored {
    fn shutting_down() -> NotStored {
        NotStored {
            cause: "the intake is shutting down".into(),
            disk_full: false,
        }
    }
}

type Pending = (AcceptedMessage, oneshot::Sender<Result<String, NotStored>>);

/// At most this many messages share one commit.
const BATCH: usize = 64;

impl Intake {
    pub fn new(
        store: Store,
        keys: Arc<KeyMaterial>,
        settings: &Settings,
        tls: Option<tokio_rustls::TlsAcceptor>,
        wake: Arc<Notify>,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Intake {
        let (writer, queue) = mpsc::channel(BATCH * 4);
        tokio::spawn(write_batches(store.clone(), queue, wake, metrics.clone()));
        Intake {
            store,
            metrics,
            tls,
            keys,
            hostname: settings.hostname(),
            max_message_bytes: settings.max_message_bytes,
            relay_networks: settings.smtp_relay_networks.clone(),
            queue_lifetime_ms: settings.queue_lifetime_ms,
            max_sessions: settings.smtp_max_sessions,
            max_sessions_per_client: settings.smtp_max_sessions_per_client,
            writer,
        }
    }

    /// Checks an organization user's password for SMTP AUTH, with the same
    /// throttle as the web sign-in.
    pub(crate) async fn authenticate(
        &self,
        user: &str,
        password: String,
        ip: IpAddr,
    ) -> AuthOutcome {
        let account = user.trim().to_lowercase();
        let reserved = match crate::auth::throttle::reserve(
            &self.store,
            crate::auth::throttle::Surface::Smtp,
            &account,
            ip,
        )
        .await
        {
            Ok(Ok(reserved)) => reserved,
            Ok(Err(_)) => return AuthOutcome::Blocked,
            Err(_) => return AuthOutcome::Unavailable,
        };
        let found = match crate::domain::EmailAddress::parse(&account) {
            Ok(email) => match self.store.user_by_email(&email).await {
                Ok(found) => found.filter(|u| !u.disabled),
                Err(_) => return AuthOutcome::Unavailable,
            },
            Err(_) => None,
        };
        let valid = crate::auth::password::verify(
            password,
            found.as_ref().map(|u| u.password_hash.clone()),
        )
        .await;
        // A temporary password opens only the password change on the web.
        match found.filter(|u| valid && !u.must_change_password) {
            Some(user) => {
                let _ = crate::auth::throttle::succeeded(&self.store, reserved).await;
                AuthOutcome::Accepted(user.email)
            }
            None => {
                self.metrics.sign_in_failure("smtp");
                tracing::info!(%ip, "SMTP authentication failed");
                AuthOutcome::Refused
            }
        }
    }

    fn may_relay(&self, ip: IpAddr) -> bool {
        let ip = crate::client_addr::canonical(ip);
        self.relay_networks.iter().any(|net| net.contains(&ip))
    }

    /// Stores the message and its pipeline job; returns the message's id
    /// once it is committed. A transaction identical to one already stored
    /// (same envelope, same content) is acknowledged again and not
    /// processed twice.
    pub async fn accept(
        &self,
        envelope: Envelope,
        raw: Vec<u8>,
        source: &'static str,
    ) -> Result<String, NotStored> {
        let id = new_id();
        let digest = envelope_digest(&envelope, &raw);
        let parsed = mail_parser::MessageParser::default().parse_headers(&raw);
        let message_id = parsed
            .as_ref()
            .and_then(|m| m.message_id())
            .map(crate::domain::normalise_message_id)
            .unwrap_or_else(|| format!("<{id}@{}>", self.hostname));
        let subject = parsed
            .as_ref()
            .and_then(|m| m.subject())
            .map(crate::mime::printable)
            .unwrap_or_default();
        let received = received_line(&envelope, &self.hostname, &self.keys.org_id, &id);
        let content = [received.as_bytes(), &raw].concat();
        let message = AcceptedMessage {
            size: content.len() as i64,
            content: self.keys.keyring.seal(id.as_bytes(), &content),
            id,
            message_id,
            sender: envelope.from.clone(),
            subject,
            source,
            envelope: serde_json::to_string(&envelope).expect("an envelope serialises"),
            envelope_digest: digest,
            give_up_at: crate::store::now_ms() + self.queue_lifetime_ms,
        };
        let (done, stored) = oneshot::channel();
        self.writer
            .send((message, done))
            .await
            .map_err(|_| NotStored::shutting_down())?;
        stored.await.map_err(|_| NotStored::shutting_down())?
    }
}

/// Group commit: messages that arrive while a commit is on its way to disk
/// share the next one, so concurrent connections do not wait for one flush
/// each. Every sender hears back only after its message is committed.
async fn write_batches(
    store: Store,
    mut queue: mpsc::Receiver<Pending>,
    wake: Arc<Notify>,
    metrics: Arc<crate::metrics::Metrics>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while queue.recv_many(&mut batch, BATCH).await > 0 {
        let (messages, replies): (Vec<AcceptedMessage>, Vec<_>) = batch.drain(..).unzip();
        let started = std::time::Instant::now();
        let stored = store.accept_messages(&messages).await;
        metrics.intake_commit(started.elapsed());
        match stored {
            Ok(ids) => {
                let mut new = false;
                for ((message, reply), id) in messages.iter().zip(replies).zip(ids) {
                    if id == message.id {
                        new = true;
                        tracing::info!(message = %id, size = message.size, "message accepted");
                    } else {
                        tracing::info!(message = %id, "identical transaction acknowledged again");
                    }
                    let _ = reply.send(Ok(id));
                }
                if new {
                    wake.notify_waiters();
                }
            }
            Err(e) => {
                tracing::error!(error = %e, count = messages.len(), "could not store incoming messages");
                for reply in replies {
                    let _ = reply.send(Err(NotStored {
                        cause: e.to_string(),
                        disk_full: e.is_full(),
                    }));
                }
            }
        }
    }
}

/// Accepts SMTP sessions until `stopping` turns true, then closes the port
/// and gives the open sessions up to 30 s to end (each finishes the message
/// it is receiving and says `421 4.3.2` at its next command).
pub async fn run(
    listener: TcpListener,
    intake: Arc<Intake>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let limits = Arc::new(crate::client_addr::ConnectionLimits::new(
        intake.max_sessions,
        intake.max_sessions_per_client,
    ));
    let mut sessions = tokio::task::JoinSet::new();
    loop {
        while sessions.try_join_next().is_some() {}
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = crate::shutdown::stopped(&mut stopping) => break,
        };
        match accepted {
            Ok((mut stream, peer)) => {
                let intake = intake.clone();
                let limits = limits.clone();
                let stopping = stopping.clone();
                sessions.spawn(async move {
                    let _ = stream.set_nodelay(true);
                    let Some(_slot) = limits.enter(peer.ip()) else {
                        // Said at once and closed: nothing is read from a
                        // client over its limit.
                        let _ = tokio::time::timeout(
                            session::WRITE_TIMEOUT,
                            tokio::io::AsyncWriteExt::write_all(
                                &mut stream,
                                b"421 4.7.0 Too many connections\r\n",
                            ),
                        )
                        .await;
                        tracing::info!(%peer, "SMTP connection refused: too many connections");
                        return;
                    };
                    // Every line of the session, and the id of the message
                    // it last handed over, under one span.
                    let span = tracing::info_span!(
                        "smtp",
                        %peer,
                        message = tracing::field::Empty
                    );
                    let session = session::handle(intake, stream, peer, stopping);
                    if let Err(e) = tracing::Instrument::instrument(session, span).await {
                        tracing::debug!(%peer, error = %e, "SMTP connection ended with an error");
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "SMTP accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
    drop(listener);
    crate::shutdown::drain(&mut sessions, "SMTP sessions").await;
}

fn envelope_digest(envelope: &Envelope, raw: &[u8]) -> Vec<u8> {
    let mut to = envelope.to.clone();
    to.sort();
    let content = sha256(raw);
    let mut input = Vec::with_capacity(256);
    input.extend_from_slice(envelope.from.as_bytes());
    input.push(0);
    input.extend_from_slice(to.join(",").as_bytes());
    input.push(0);
    input.extend_from_slice(&content);
    sha256(&input).to_vec()
}

/// sealpost's trace line; it names the organization, so a later hop of the
/// same organization (this node or another site) can count its own passes.
fn received_line(envelope: &Envelope, hostname: &str, org_id: &str, id: &str) -> String {
    let date = crate::mime::rfc2822_now();
    let helo: String = envelope
        .helo
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(100)
        .collect();
    format!(
        "Received: from {helo} ([{}])\r\n\tby {hostname} (sealpost {org_id}) with ESMTP id {id};\r\n\t{date}\r\n",
        envelope.peer.ip()
    )
}
