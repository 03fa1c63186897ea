//! An SMTP catcher for tests: a real SMTP server on loopback that keeps
//! what it receives, and can be stopped and started again on its port.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

#[derive(Clone, Debug)]
pub struct Caught {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

#[derive(Clone, Default)]
pub struct Catcher {
    pub mails: Arc<Mutex<Vec<Caught>>>,
    /// Recipients answered `550` (a permanent refusal).
    pub reject: Arc<Mutex<Vec<String>>>,
    /// SMTP connections it has accepted.
    pub connections: Arc<AtomicUsize>,
    /// How long it takes to answer a message's data (a slow relay), and
    /// the most messages it was answering at once.
    pub data_delay: Arc<Mutex<std::time::Duration>>,
    answering: Arc<AtomicUsize>,
    pub most_at_once: Arc<AtomicUsize>,
    addr: Arc<Mutex<Option<SocketAddr>>>,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Catcher {
    pub async fn start() -> Catcher {
        let catcher = Catcher::default();
        catcher.listen("127.0.0.1:0".parse().unwrap()).await;
        catcher
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr.lock().unwrap().expect("started")
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr())
    }

    /// Stops accepting: connections are refused until `restart`.
    pub fn stop(&self) {
        if let Some(task) = self.task.lock().unwrap().take() {
            task.abort();
        }
    }

    pub async fn restart(&self) {
        let addr = self.addr();
        self.listen(addr).await;
    }

    async fn listen(&self, addr: SocketAddr) {
        let listener = loop {
            match TcpListener::bind(addr).await {
                Ok(l) => break l,
                // The old socket may linger for a moment after stop().
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        };
        *self.addr.lock().unwrap() = Some(listener.local_addr().unwrap());
        let this = self.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                this.connections.fetch_add(1, Ordering::SeqCst);
                let this = this.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read);
                    let _ = write.write_all(b"220 catcher ESMTP\r\n").await;
                    let (mut from, mut to) = (String::new(), Vec::new());
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let upper = line.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") {
                            b"250-catcher\r\n250 8BITMIME\r\n"
                        } else if upper.starts_with("HELO")
                            || upper.starts_with("RSET")
                            || upper.starts_with("NOOP")
                        {
                            b"250 OK\r\n"
                        } else if upper.starts_with("MAIL FROM:") {
                            from = addr_of(&line[10..]);
                            to.clear();
                            b"250 OK\r\n"
                        } else if upper.starts_with("RCPT TO:") {
                            let rcpt = addr_of(&line[8..]);
                            if this.reject.lock().unwrap().contains(&rcpt) {
                                b"550 5.1.1 No such user\r\n"
                            } else {
                                to.push(rcpt);
                                b"250 OK\r\n"
                            }
                        } else if upper.starts_with("DATA") {
                            let _ = write.write_all(b"354 go ahead\r\n").await;
                            let mut data = String::new();
                            loop {
                                line.clear();
                                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                                    return;
                                }
                                if line == ".\r\n" || line == ".\n" {
                                    break;
                                }
                                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                            }
                            let now = this.answering.fetch_add(1, Ordering::SeqCst) + 1;
                            this.most_at_once.fetch_max(now, Ordering::SeqCst);
                            let delay = *this.data_delay.lock().unwrap();
                            tokio::time::sleep(delay).await;
                            this.answering.fetch_sub(1, Ordering::SeqCst);
                            this.mails.lock().unwrap().push(Caught {
                                from: from.clone(),
                                to: to.clone(),
                                data,
                            });
                            b"250 OK queued\r\n"
                        } else if upper.starts_with("QUIT") {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        } else {
                            b"502 not implemented\r\n"
                        };
                        if write.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        *self.task.lock().unwrap() = Some(task);
    }

    pub fn caught(&self) -> Vec<Caught> {
        self.mails.lock().unwrap().clone()
    }

    /// Waits until at least `n` mails arrived (or panics after 20 s).
    pub async fn wait_for(&self, n: usize) -> Vec<Caught> {
        for _ in 0..400 {
            let mails = self.caught();
            if mails.len() >= n {
                return mails;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!(
            "expected {n} mails, the catcher has {}",
            self.caught().len()
        );
    }
}

fn addr_of(arg: &str) -> String {
    let arg = arg.trim();
    let inner = arg
        .split('>')
        .next()
        .unwrap_or_default()
        .trim_start_matches('<');
    inner.trim().to_lowercase()
}
