//! A ClamAV daemon client over its INSTREAM protocol (`zINSTREAM`, chunks
//! of a 4-byte big-endian length and data, a zero length to end).

use crate::config::ClamdAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// The signature name, cleaned to `[A-Za-z0-9._-]{1,100}`.
    Infected(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ClamdError {
    #[error("clamd cannot be reached at {addr}: {cause}")]
    Unreachable { addr: String, cause: String },
    #[error("clamd refused the message as larger than its StreamMaxLength")]
    SizeLimit,
    #[error("clamd did not answer within {0} s")]
    Timeout(u64),
    #[error("clamd answered: {0}")]
    Other(String),
}

const CHUNK: usize = 64 * 1024;

/// Scans `data`; every failure to get a verdict is an error.
pub async fn scan(addr: &ClamdAddr, data: &[u8], timeout: Duration) -> Result<Verdict, ClamdError> {
    let unreachable = |e: std::io::Error| ClamdError::Unreachable {
        addr: addr.to_string(),
        cause: e.to_string(),
    };
    let work = async {
        match addr {
            ClamdAddr::Tcp(a) => {
                let stream = tokio::net::TcpStream::connect(a)
                    .await
                    .map_err(unreachable)?;
                exchange(stream, data).await
            }
            ClamdAddr::Unix(path) => {
                let stream = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(unreachable)?;
                exchange(stream, data).await
            }
        }
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| ClamdError::Timeout(timeout.as_secs()))?
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    data: &[u8],
) -> Result<Verdict, ClamdError> {
    let sent = async {
        stream.write_all(b"zINSTREAM\0").await?;
        for chunk in data.chunks(CHUNK) {
            stream
                .write_all(&(chunk.len() as u32).to_be_bytes())
                .await?;
            stream.write_all(chunk).await?;
        }
        stream.write_all(&0u32.to_be_bytes()).await?;
        stream.flush().await
    }
    .await;
    // clamd answers a stream over its limit and closes: read the answer
    // even when the writing failed.
    let mut answer = Vec::new();
    let read = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer)
        .trim_end_matches(['\0', '\n', '\r'])
        .to_string();
    if text.is_empty() {
        let cause = sent
            .err()
            .or(read.err())
            .map(|e| e.to_string())
            .unwrap_or_else(|| "no answer".into());
        return Err(ClamdError::Other(cause));
    }
    parse_answer(&text)
}

fn parse_answer(text: &str) -> Result<Verdict, ClamdError> {
    let reply = text.strip_prefix("stream: ").unwrap_or(text);
    if reply == "OK" {
        return Ok(Verdict::Clean);
    }
    if let Some(name) = reply.strip_suffix(" FOUND") {
        return Ok(Verdict::Infected(clean_name(name)));
    }
    if reply.contains("size limit exceeded") {
        return Err(ClamdError::SizeLimit);
    }
    Err(ClamdError::Other(
        reply
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect(),
    ))
}

/// A signature name as reports may show it.
pub fn clean_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(100)
        .collect();
    if cleaned.is_empty() {
        "unnamed".to_string()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert_eq!(parse_answer("stream: OK").unwrap(), Verdict::Clean);
        assert_eq!(
            parse_answer("stream: Eicar-Test-Signature FOUND").unwrap(),
            Verdict::Infected("Eicar-Test-Signature".into())
        );
        assert_eq!(
            parse_answer("stream: <script>alert(1)</script> Win.Test FOUND").unwrap(),
            Verdict::Infected("scriptalert1scriptWin.Test".into())
        );
        assert!(matches!(
            parse_answer("INSTREAM size limit exceeded. ERROR"),
            Err(ClamdError::SizeLimit)
        ));
        assert_eq!(clean_name(&"x".repeat(300)).len(), 100);
    }
}
