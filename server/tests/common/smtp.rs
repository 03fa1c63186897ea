//! A plain SMTP client for the fault tests: one session, several
//! transactions, every reply seen as the server wrote it (lettre hides a
//! `452` behind an error and drops the connection).

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub struct SmtpSession {
    stream: BufReader<TcpStream>,
}

/// How one transaction ended: the reply to the end of its data, or the
/// first refusal before it; `None` when the connection broke.
pub type Outcome = Option<String>;

impl SmtpSession {
    /// Connects and says EHLO; `None` when nobody answers with `220`.
    pub async fn open(addr: SocketAddr) -> Option<SmtpSession> {
        let stream = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(addr))
            .await
            .ok()?
            .ok()?;
        let mut session = SmtpSession {
            stream: BufReader::new(stream),
        };
        let greeting = session.reply().await?;
        if !greeting.starts_with("220") {
            return None;
        }
        let ehlo = session.command("EHLO faults.example").await?;
        ehlo.starts_with("250").then_some(session)
    }

    /// Reads one reply, all its lines; returns the last.
    pub async fn reply(&mut self) -> Option<String> {
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(60), self.stream.read_line(&mut line))
                .await
                .ok()?
                .ok()?;
            if n == 0 {
                return None;
            }
            if line.as_bytes().get(3) != Some(&b'-') {
                return Some(line.trim_end().to_string());
            }
        }
    }

    /// Writes `text` as it is (part of a message's data, say).
    pub async fn write(&mut self, text: &str) -> Option<()> {
        self.stream.get_mut().write_all(text.as_bytes()).await.ok()
    }

    pub async fn command(&mut self, line: &str) -> Option<String> {
        self.stream
            .get_mut()
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .ok()?;
        self.reply().await
    }

    /// One transaction; `raw` uses CRLF and has no line that is a lone dot.
    pub async fn send(&mut self, from: &str, to: &str, raw: &str) -> Outcome {
        for line in [format!("MAIL FROM:<{from}>"), format!("RCPT TO:<{to}>")] {
            let reply = self.command(&line).await?;
            if !reply.starts_with("250") {
                self.command("RSET").await?;
                return Some(reply);
            }
        }
        let go = self.command("DATA").await?;
        if !go.starts_with("354") {
            return Some(go);
        }
        let body = format!("{raw}\r\n.\r\n");
        self.stream
            .get_mut()
            .write_all(body.as_bytes())
            .await
            .ok()?;
        self.reply().await
    }
}

/// A message with its own Message-ID, padded to about `size` bytes.
pub fn numbered(message_id: &str, size: usize) -> String {
    let line = "0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789\r\n";
    format!(
        "Message-ID: <{message_id}>\r\nFrom: alice@corp.example\r\nTo: bob@outside.example\r\nSubject: {message_id}\r\n\r\n{}",
        line.repeat(size / line.len() + 1)
    )
}

/// The Message-ID a caught mail carries.
pub fn message_id_of(data: &str) -> Option<String> {
    data.lines().find_map(|l| {
        l.len()
            .ge(&11)
            .then(|| l.split_at(11))
            .filter(|(name, _)| name.eq_ignore_ascii_case("message-id:"))
            .map(|(_, v)| v.trim().trim_matches(['<', '>']).to_string())
    })
}
