//! A real ClamAV daemon for tests (Debian's `clamav-daemon`), started on a
//! free loopback port with one signature of our own (never freshclam): it
//! finds `VIRUS_MARKER` anywhere, also inside an attachment.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

/// The bytes the test signature matches.
pub const VIRUS_MARKER: &str = "SEALPOST-TEST-VIRUS-7f3a9c";
/// The name clamd reports for it (unofficial signatures get the suffix).
pub const SIGNATURE: &str = "Sealpost.Test.Marker.UNOFFICIAL";

pub struct Clamd {
    pub addr: SocketAddr,
    /// Listening on a Unix socket instead of `addr`.
    unix: bool,
    dir: tempfile::TempDir,
    child: Mutex<Option<Child>>,
}

impl Clamd {
    pub async fn start() -> Clamd {
        Self::start_on(false).await
    }

    /// On a Unix socket in its own directory.
    pub async fn start_unix() -> Clamd {
        Self::start_on(true).await
    }

    async fn start_on(unix: bool) -> Clamd {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("db")).unwrap();
        let hex: String = VIRUS_MARKER.bytes().map(|b| format!("{b:02x}")).collect();
        std::fs::write(
            dir.path().join("db/sealpost.ndb"),
            format!("Sealpost.Test.Marker:0:*:{hex}\n"),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let clamd = Clamd {
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
            unix,
            dir,
            child: Mutex::new(None),
        };
        clamd.run().await;
        clamd
    }

    /// The setting that points sealpost here.
    pub fn setting(&self) -> String {
        if self.unix {
            format!("unix:{}", self.socket().display())
        } else {
            self.addr.to_string()
        }
    }

    fn socket(&self) -> std::path::PathBuf {
        self.dir.path().join("clamd.sock")
    }

    async fn run(&self) {
        let conf = self.dir.path().join("clamd.conf");
        std::fs::write(
            &conf,
            format!(
                "Foreground yes\nDatabaseDirectory {}\n{}\nLogFile {}\nStreamMaxLength 60M\n",
                self.dir.path().join("db").display(),
                if self.unix {
                    format!("LocalSocket {}", self.socket().display())
                } else {
                    format!("TCPSocket {}\nTCPAddr 127.0.0.1", self.addr.port())
                },
                self.dir.path().join("clamd.log").display()
            ),
        )
        .unwrap();
        // Debian puts it in /usr/sbin, which not every PATH holds.
        let program = if std::path::Path::new("/usr/sbin/clamd").exists() {
            "/usr/sbin/clamd"
        } else {
            "clamd"
        };
        let child = Command::new(program)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("clamd runs (Debian's clamav-daemon; `make test-deps` installs it)");
        *self.child.lock().unwrap() = Some(child);
        for _ in 0..600 {
            if self.ping().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("clamd did not answer PING within a minute");
    }

    async fn ping(&self) -> bool {
        if self.unix {
            match tokio::net::UnixStream::connect(self.socket()).await {
                Ok(stream) => pong(stream).await,
                Err(_) => false,
            }
        } else {
            match tokio::net::TcpStream::connect(self.addr).await {
                Ok(stream) => pong(stream).await,
                Err(_) => false,
            }
        }
    }

    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Started again on the same port.
    pub async fn restart(&self) {
        self.stop();
        self.run().await;
    }
}

impl Drop for Clamd {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn pong<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(mut stream: S) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut answer = Vec::new();
    stream.write_all(b"zPING\0").await.is_ok()
        && stream.read_to_end(&mut answer).await.is_ok()
        && answer.starts_with(b"PONG")
}
