//! One SMTP conversation: ESMTP with SIZE, 8BITMIME, PIPELINING and
//! ENHANCEDSTATUSCODES. Commands are parsed with smtp-proto; responses to
//! pipelined commands are written together, in order.

use super::Intake;
use crate::domain::EmailAddress;
use crate::domain::Envelope;
use smtp_proto::request::receiver::{DataReceiver, RequestReceiver};
use smtp_proto::{Error as SmtpError, Request};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// RFC 5321 asks servers to wait at least 5 minutes for the next command.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// A client that does not read our replies, or never finishes its TLS
/// handshake, loses its connection instead of holding it (and its memory).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(60);
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// Replies to pipelined commands wait in memory up to this much; past it
/// they are written before the next command is read, so a client that
/// pipelines without reading blocks itself, not the node.
const MAX_PENDING_REPLIES: usize = 16 * 1024;
const MAX_RECIPIENTS: usize = 100;
const MAX_ERRORS: usize = 20;

struct Session {
    peer: SocketAddr,
    helo: Option<String>,
    may_relay: bool,
    tls: bool,
    /// The organization user who authenticated, if any.
    user: Option<String>,
    from: Option<String>,
    to: Vec<EmailAddress>,
    errors: usize,
}

enum Next {
    Continue,
    Data,
    StartTls,
    Auth(AuthStep, Option<String>),
    Quit,
}

/// Where an AUTH exchange stands while the client sends base64 lines.
#[derive(Clone)]
enum AuthStep {
    Plain,
    LoginUser,
    LoginPassword(String),
}

/// How a conversation over one transport ended.
enum Ended {
    Closed,
    StartTls,
}

/// One SMTP session. When `stopping` turns true (the node shuts down), a
/// message being received is still taken in and answered, and the session
/// then ends with `421 4.3.2` at its next command: a message that heard
/// `250` is stored, one that did not is sent again later by its client.
pub async fn handle(
    intake: Arc<Intake>,
    mut stream: TcpStream,
    peer: SocketAddr,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut session = Session {
        peer,
        helo: None,
        may_relay: intake.may_relay(peer.ip()),
        tls: false,
        user: None,
        from: None,
        to: Vec::new(),
        errors: 0,
    };
    write(
        &mut stream,
        format!("220 {} ESMTP sealpost\r\n", intake.hostname).as_bytes(),
    )
    .await?;
    if let Ended::StartTls = converse(&intake, &mut stream, &mut session, &mut stopping).await? {
        let Some(acceptor) = intake.tls.clone() else {
            return Ok(());
        };
        // Whatever the client pipelined after STARTTLS was discarded: only
        // what arrives inside TLS counts (RFC 3207), and the client starts over.
        let mut tls = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out")
            })??;
        session.tls = true;
        session.helo = None;
        session.reset();
        converse(&intake, &mut tls, &mut session, &mut stopping).await?;
    }
    Ok(())
}

const SHUTTING_DOWN: &str = "421 4.3.2 Service shutting down, closing connection\r\n";

/// Writes all of `bytes`, or fails after `WRITE_TIMEOUT`.
async fn write<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8]) -> std::io::Result<()> {
    tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(bytes))
        .await
        .map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::TimedOut, "the client does not read")
        })?
}

async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    intake: &Intake,
    stream: &mut S,
    session: &mut Session,
    stopping: &mut tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<Ended> {
    let mut requests = RequestReceiver::default();
    let mut data: Option<DataReceiver> = None;
    let mut auth: Option<(AuthStep, Vec<u8>)> = None;
    let mut body: Vec<u8> = Vec::new();
    let mut oversize = false;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // Between commands (not inside a message or an AUTH exchange) a
        // shutdown ends the session; inside one, the client finishes first.
        let between = data.is_none() && auth.is_none();
        let read = tokio::select! {
            // A command that arrives after the shutdown is not taken.
            biased;
            () = crate::shutdown::stopped(stopping), if between => {
                let _ = write(stream, SHUTTING_DOWN.as_bytes()).await;
                return Ok(Ended::Closed);
            }
            read = tokio::time::timeout(IDLE_TIMEOUT, stream.read(&mut buf)) => read,
        };
        let n = match read {
            Ok(read) => read?,
            Err(_) => {
                let _ = write(stream, b"421 4.4.2 Idle too long, closing connection\r\n").await;
                return Ok(Ended::Closed);
            }
        };
        if n == 0 {
            return Ok(Ended::Closed);
        }
        let mut bytes = buf[..n].iter();
        let mut out = String::new();
        loop {
            if let Some((step, line)) = auth.as_mut() {
                let rest = bytes.as_slice();
                let Some(end) = rest.iter().position(|b| *b == b'\n') else {
                    line.extend_from_slice(rest);
                    if line.len() > 4096 {
                        auth = None;
                        out.push_str("500 5.5.6 Authentication line too long\r\n");
                    }
                    break;
                };
                line.extend_from_slice(&rest[..end]);
                bytes = rest[end + 1..].iter();
                let text = String::from_utf8_lossy(line).trim().to_string();
                let step = step.clone();
                auth = None;
                match session.auth_step(intake, step, &text).await {
                    Ok(reply) => out.push_str(&reply),
                    Err((next, prompt)) => {
                        out.push_str(&prompt);
                        auth = Some((next, Vec::new()));
                    }
                }
                continue;
            }
            if let Some(receiver) = data.as_mut() {
                let done = receiver.ingest(&mut bytes, &mut body);
                if body.len() > intake.protected_limit() {
                    // Keep reading to the end of the data, but keep nothing.
                    oversize = true;
                    body.clear();
                }
                if !done {
                    break;
                }
                data = None;
                let raw = std::mem::take(&mut body);
                // First of all, before anything else parses it: never
                // stored, so no stage, node or queue ever walks it.
                let nesting = if std::mem::take(&mut oversize) {
                    None
                } else {
                    Some(crate::mime::check_nesting(&raw))
                };
                // Protection grows a message by about a third: mail already
                // protected may use the larger limit, other mail may not.
                let too_big = match nesting {
                    None => true,
                    Some(_) => {
                        raw.len() > intake.max_message_bytes
                            && !crate::protected::looks_protected(&raw)
                    }
                };
                let reply = if let Some(Err(e)) = nesting {
                    tracing::info!(peer = %session.peer, "refused a message: {e}");
                    format!("554 5.6.0 {e}\r\n")
                } else if too_big {
                    format!(
                        "552 5.3.4 Message too big: the limit is {} bytes\r\n",
                        intake.max_message_bytes
                    )
                } else {
                    session.finish(intake, raw).await
                };
                intake.metrics.smtp_reply(&reply);
                session.reset();
                out.push_str(&reply);
                continue;
            }
            if out.len() > MAX_PENDING_REPLIES {
                write(stream, out.as_bytes()).await?;
                out.clear();
            }
            match requests.ingest(&mut bytes) {
                Ok(request) => {
                    // Pipelined after the end of a message that arrived
                    // during the shutdown: not taken, not a new message.
                    let stop = *stopping.borrow();
                    if stop {
                        out.push_str(SHUTTING_DOWN);
                        write(stream, out.as_bytes()).await?;
                        return Ok(Ended::Closed);
                    }
                    let request = request.into_owned();
                    let (reply, next) = session.command(intake, request);
                    out.push_str(&reply);
                    match next {
                        Next::Continue => {}
                        Next::Data => data = Some(DataReceiver::new()),
                        Next::StartTls => {
                            write(stream, out.as_bytes()).await?;
                            return Ok(Ended::StartTls);
                        }
                        Next::Auth(step, Some(initial)) => {
                            match session.auth_step(intake, step, &initial).await {
                                Ok(reply) => out.push_str(&reply),
                                Err((next, prompt)) => {
                                    out.push_str(&prompt);
                                    auth = Some((next, Vec::new()));
                                }
                            }
                        }
                        Next::Auth(step, None) => auth = Some((step, Vec::new())),
                        Next::Quit => {
                            write(stream, out.as_bytes()).await?;
                            return Ok(Ended::Closed);
                        }
                    }
                }
                Err(SmtpError::NeedsMoreData { .. }) => break,
                Err(e) => {
                    session.errors += 1;
                    out.push_str(&syntax_reply(e));
                    if session.errors > MAX_ERRORS {
                        out.push_str("421 4.7.0 Too many errors, closing connection\r\n");
                        write(stream, out.as_bytes()).await?;
                        return Ok(Ended::Closed);
                    }
                }
            }
        }
        if !out.is_empty() {
            write(stream, out.as_bytes()).await?;
        }
    }
}

fn syntax_reply(e: SmtpError) -> String {
    match e {
        SmtpError::UnknownCommand => "500 5.5.1 Command not recognized\r\n".into(),
        SmtpError::InvalidSenderAddress => "501 5.1.7 Bad sender address syntax\r\n".into(),
        SmtpError::InvalidRecipientAddress => "501 5.1.3 Bad recipient address syntax\r\n".into(),
        SmtpError::SyntaxError { syntax } => format!("501 5.5.4 Syntax: {syntax}\r\n"),
        SmtpError::InvalidParameter { param } => format!("501 5.5.4 Invalid parameter {param}\r\n"),
        SmtpError::UnsupportedParameter { param } => {
            format!(
                "504 5.5.4 Unsupported parameter {}\r\n",
                param.chars().take(40).collect::<String>()
            )
        }
        SmtpError::ResponseTooLong => "500 5.5.2 Line too long\r\n".into(),
        _ => "500 5.5.2 Syntax error\r\n".into(),
    }
}

impl Session {
    fn reset(&mut self) {
        self.from = None;
        self.to.clear();
    }

    fn command(&mut self, intake: &Intake, request: Request<String>) -> (String, Next) {
        let reply = |text: &str| (format!("{text}\r\n"), Next::Continue);
        match request {
            Request::Ehlo { host } => {
                self.helo = Some(host);
                self.reset();
                let mut text = format!(
                    "250-{} greets you\r\n250-SIZE {}\r\n250-8BITMIME\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n",
                    intake.hostname,
                    intake.protected_limit()
                );
                if intake.tls.is_some() && !self.tls {
                    text.push_str("250-STARTTLS\r\n");
                }
                // Passwords travel only inside TLS.
                if self.tls {
                    text.push_str("250-AUTH PLAIN LOGIN\r\n");
                }
                text.push_str("250 SMTPUTF8\r\n");
                (text, Next::Continue)
            }
            Request::Helo { host } => {
                self.helo = Some(host);
                self.reset();
                reply(&format!("250 {}", intake.hostname))
            }
            Request::Lhlo { .. } => reply("500 5.5.1 This is not an LMTP server"),
            Request::Mail { from } => {
                if self.helo.is_none() {
                    return reply("503 5.5.1 Say EHLO first");
                }
                if self.from.is_some() {
                    return reply("503 5.5.1 Sender already given");
                }
                if !self.may_relay && self.user.is_none() {
                    return reply("530 5.7.0 Authentication required to relay");
                }
                if from.size > intake.protected_limit() {
                    return reply(&format!(
                        "552 5.3.4 Message too big: the limit is {} bytes",
                        intake.max_message_bytes
                    ));
                }
                let address = from.address.trim().to_string();
                if !address.is_empty() && EmailAddress::parse(&address).is_err() {
                    return reply("553 5.1.7 The sender address is not valid");
                }
                let address = address.to_lowercase();
                if let Some(user) = self.user.as_ref().filter(|u| **u != address) {
                    return reply(&format!("553 5.7.1 You may send only as {user}"));
                }
                self.from = Some(address);
                reply("250 2.1.0 Sender ok")
            }
            Request::Rcpt { to } => {
                if self.from.is_none() {
                    return reply("503 5.5.1 Need MAIL before RCPT");
                }
                if self.to.len() >= MAX_RECIPIENTS {
                    return reply("452 4.5.3 Too many recipients");
                }
                match EmailAddress::parse(&to.address) {
                    Ok(address) => {
                        if !self.to.contains(&address) {
                            self.to.push(address);
                        }
                        reply("250 2.1.5 Recipient ok")
                    }
                    Err(_) => reply("553 5.1.3 The recipient address is not valid"),
                }
            }
            Request::Data => {
                if self.from.is_none() {
                    reply("503 5.5.1 Need MAIL before DATA")
                } else if self.to.is_empty() {
                    reply("554 5.5.1 No valid recipients")
                } else {
                    (
                        "354 Start mail input; end with <CRLF>.<CRLF>\r\n".into(),
                        Next::Data,
                    )
                }
            }
            Request::Bdat { .. } => reply("502 5.5.1 BDAT is not supported, use DATA"),
            Request::Rset => {
                self.reset();
                reply("250 2.0.0 Reset")
            }
            Request::Noop { .. } => reply("250 2.0.0 OK"),
            Request::Vrfy { .. } => reply("252 2.5.2 Cannot verify, but will accept the message"),
            Request::Expn { .. } => reply("502 5.5.1 EXPN is not supported"),
            Request::Help { .. } => reply("214 2.0.0 See RFC 5321; this server speaks ESMTP"),
            Request::StartTls if intake.tls.is_none() => reply("454 4.7.0 TLS is not available"),
            Request::StartTls if self.tls => reply("503 5.5.1 TLS is already active"),
            Request::StartTls => ("220 2.0.0 Ready to start TLS\r\n".into(), Next::StartTls),
            Request::Auth { .. } if !self.tls => {
                reply("538 5.7.11 Encryption required: use STARTTLS first")
            }
            Request::Auth { .. } if self.user.is_some() => reply("503 5.5.1 Already authenticated"),
            Request::Auth {
                mechanism,
                initial_response,
            } => {
                let initial = Some(initial_response).filter(|r| !r.is_empty());
                match mechanism {
                    smtp_proto::AUTH_PLAIN => match initial {
                        Some(_) => (String::new(), Next::Auth(AuthStep::Plain, initial)),
                        None => ("334 \r\n".into(), Next::Auth(AuthStep::Plain, None)),
                    },
                    smtp_proto::AUTH_LOGIN => match initial {
                        Some(_) => (String::new(), Next::Auth(AuthStep::LoginUser, initial)),
                        None => (
                            "334 VXNlcm5hbWU6\r\n".into(),
                            Next::Auth(AuthStep::LoginUser, None),
                        ),
                    },
                    _ => {
                        reply("504 5.5.4 Unrecognized authentication mechanism: use PLAIN or LOGIN")
                    }
                }
            }
            Request::Quit => ("221 2.0.0 Bye\r\n".into(), Next::Quit),
            _ => reply("502 5.5.1 Command not implemented"),
        }
    }

    /// One step of AUTH PLAIN or LOGIN: the final reply, or the next step
    /// with its prompt.
    async fn auth_step(
        &mut self,
        intake: &Intake,
        step: AuthStep,
        text: &str,
    ) -> Result<String, (AuthStep, String)> {
        use base64::Engine;
        if text == "*" {
            return Ok("501 5.0.0 Authentication cancelled\r\n".into());
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(text) else {
            return Ok("501 5.5.2 Cannot decode the response\r\n".into());
        };
        let decoded = String::from_utf8_lossy(&decoded).into_owned();
        let (user, password) = match step {
            AuthStep::Plain => {
                let mut fields = decoded.split('\0');
                let (_authzid, user, password) = (fields.next(), fields.next(), fields.next());
                match (user, password) {
                    (Some(u), Some(p)) => (u.to_string(), p.to_string()),
                    _ => return Ok("501 5.5.2 Malformed PLAIN response\r\n".into()),
                }
            }
            AuthStep::LoginUser => {
                return Err((
                    AuthStep::LoginPassword(decoded),
                    "334 UGFzc3dvcmQ6\r\n".into(),
                ));
            }
            AuthStep::LoginPassword(user) => (user, decoded),
        };
        match intake.authenticate(&user, password, self.peer.ip()).await {
            super::AuthOutcome::Accepted(email) => {
                self.user = Some(email);
                Ok("235 2.7.0 Authentication succeeded\r\n".into())
            }
            super::AuthOutcome::Blocked => {
                Ok("454 4.7.0 Too many failed attempts, try again later\r\n".into())
            }
            super::AuthOutcome::Refused => {
                Ok("535 5.7.8 Authentication credentials invalid\r\n".into())
            }
            super::AuthOutcome::Unavailable => {
                Ok("454 4.7.0 Temporary authentication failure\r\n".into())
            }
        }
    }

    /// Stores the message durably and answers; `250` means it is on disk.
    async fn finish(&mut self, intake: &Intake, raw: Vec<u8>) -> String {
        let envelope = Envelope {
            from: self.from.clone().unwrap_or_default(),
            to: self.to.iter().map(|a| a.to_string()).collect(),
            peer: self.peer,
            helo: self.helo.clone().unwrap_or_default(),
            requested: None,
        };
        match intake.accept(envelope, raw, "smtp").await {
            Ok(id) => {
                tracing::Span::current().record("message", id.as_str());
                format!("250 2.0.0 Ok: queued as {id}\r\n")
            }
            Err(e) if e.disk_full => {
                tracing::error!(error = %e, "could not store an incoming message: the disk is full");
                "452 4.3.1 Insufficient system storage\r\n".into()
            }
            Err(e) => {
                tracing::error!(error = %e, "could not store an incoming message");
                "451 4.3.0 Temporary failure storing the message, try again later\r\n".into()
            }
        }
    }
}
