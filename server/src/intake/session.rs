//! One SMTP conversation: ESMTP with SIZE, 8BITMIME, PIPELINING and
//! ENHANCEDSTATUSCODES. Commands are parsed with smtp-proto; responses to
//! pipelined commands are written together, in order.

use super::{Envelope, Intake};
use crate::domain::EmailAddress;
use smtp_proto::request::receiver::{DataReceiver, RequestReceiver};
use smtp_proto::{Error as SmtpError, Request};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// RFC 5321 asks servers to wait at least 5 minutes for the next command.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
const MAX_RECIPIENTS: usize = 100;
const MAX_ERRORS: usize = 20;

struct Session {
    peer: SocketAddr,
    helo: Option<String>,
    may_relay: bool,
    from: Option<String>,
    to: Vec<EmailAddress>,
    errors: usize,
}

enum Next {
    Continue,
    Data,
    Quit,
}

pub async fn handle(
    intake: Arc<Intake>,
    stream: TcpStream,
    peer: SocketAddr,
) -> std::io::Result<()> {
    let (mut reader, mut writer) = stream.into_split();
    let mut session = Session {
        peer,
        helo: None,
        may_relay: intake.may_relay(peer.ip()),
        from: None,
        to: Vec::new(),
        errors: 0,
    };
    writer
        .write_all(format!("220 {} ESMTP sealpost\r\n", intake.hostname).as_bytes())
        .await?;
    let mut requests = RequestReceiver::default();
    let mut data: Option<DataReceiver> = None;
    let mut body: Vec<u8> = Vec::new();
    let mut oversize = false;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match tokio::time::timeout(IDLE_TIMEOUT, reader.read(&mut buf)).await {
            Ok(read) => read?,
            Err(_) => {
                let _ = writer
                    .write_all(b"421 4.4.2 Idle too long, closing connection\r\n")
                    .await;
                return Ok(());
            }
        };
        if n == 0 {
            return Ok(());
        }
        let mut bytes = buf[..n].iter();
        let mut out = String::new();
        loop {
            if let Some(receiver) = data.as_mut() {
                let done = receiver.ingest(&mut bytes, &mut body);
                if body.len() > intake.max_message_bytes {
                    // Keep reading to the end of the data, but keep nothing.
                    oversize = true;
                    body.clear();
                }
                if !done {
                    break;
                }
                data = None;
                let raw = std::mem::take(&mut body);
                let reply = if std::mem::take(&mut oversize) {
                    format!(
                        "552 5.3.4 Message too big: the limit is {} bytes\r\n",
                        intake.max_message_bytes
                    )
                } else {
                    session.finish(&intake, raw).await
                };
                session.reset();
                out.push_str(&reply);
                continue;
            }
            match requests.ingest(&mut bytes) {
                Ok(request) => {
                    let request = request.into_owned();
                    let (reply, next) = session.command(&intake, request);
                    out.push_str(&reply);
                    match next {
                        Next::Continue => {}
                        Next::Data => data = Some(DataReceiver::new()),
                        Next::Quit => {
                            writer.write_all(out.as_bytes()).await?;
                            return Ok(());
                        }
                    }
                }
                Err(SmtpError::NeedsMoreData { .. }) => break,
                Err(e) => {
                    session.errors += 1;
                    out.push_str(&syntax_reply(e));
                    if session.errors > MAX_ERRORS {
                        out.push_str("421 4.7.0 Too many errors, closing connection\r\n");
                        writer.write_all(out.as_bytes()).await?;
                        return Ok(());
                    }
                }
            }
        }
        if !out.is_empty() {
            writer.write_all(out.as_bytes()).await?;
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
                let text = format!(
                    "250-{} greets you\r\n250-SIZE {}\r\n250-8BITMIME\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8\r\n",
                    intake.hostname, intake.max_message_bytes
                );
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
                if !self.may_relay {
                    return reply("530 5.7.0 Authentication required to relay");
                }
                if from.size > intake.max_message_bytes {
                    return reply(&format!(
                        "552 5.3.4 Message too big: the limit is {} bytes",
                        intake.max_message_bytes
                    ));
                }
                let address = from.address.trim().to_string();
                if !address.is_empty() && EmailAddress::parse(&address).is_err() {
                    return reply("553 5.1.7 The sender address is not valid");
                }
                self.from = Some(address.to_lowercase());
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
            Request::StartTls => reply("454 4.7.0 TLS is not available"),
            Request::Auth { .. } => reply("503 5.5.1 AUTH is not available"),
            Request::Quit => ("221 2.0.0 Bye\r\n".into(), Next::Quit),
            _ => reply("502 5.5.1 Command not implemented"),
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
            Ok(id) => format!("250 2.0.0 Ok: queued as {id}\r\n"),
            Err(e) => {
                tracing::error!(error = %e, "could not store an incoming message");
                "451 4.3.0 Temporary failure storing the message, try again later\r\n".into()
            }
        }
    }
}
