//! The portal over HTTPS (`SEALPOST_HTTP_TLS_CERT` / `_KEY`): rustls, with
//! HTTP/2 and HTTP/1.1 offered by ALPN. axum's own `serve` speaks plain
//! TCP only, so connections are accepted here and handed to hyper.

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// A client that opens a connection and never finishes the handshake, or
/// never finishes a request's headers, holds a task and a socket: it gets
/// this long.
const HANDSHAKE: Duration = Duration::from_secs(30);

/// Connections at once. The process's descriptors (the unit's
/// `LimitNOFILE=65536`) are shared with the SMTP intake and the database:
/// the portal cannot take them all.
const MAX_CONNECTIONS: usize = 16_384;

/// Serves `router` over TLS until `shutdown` completes, then lets the
/// requests in flight finish (connections are told to close: HTTP/2
/// GOAWAY, HTTP/1.1 closes after the current response) for up to 30 s,
/// and cuts off what is left.
///
/// One client address (IPv6: one /64) holds at most `per_client`
/// connections: without it one host could hold every place, keeping each
/// connection open with HTTP/2 pings, and lock everyone else out.
pub async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    router: Router,
    per_client: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let places = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let clients = Arc::new(crate::client_addr::ConnectionLimits::new(
        MAX_CONNECTIONS,
        per_client,
    ));
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // Finished connections' tasks are reaped as the loop goes.
        while connections.try_join_next().is_some() {}
        let place = tokio::select! {
            place = places.clone().acquire_owned() => place.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tracing::warn!(error = %e, "cannot accept an HTTPS connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let router = router.clone();
        let mut stopping = stopping.clone();
        let clients = clients.clone();
        connections.spawn(async move {
            let _place = place;
            // Closed before the handshake: a client over its limit costs
            // no TLS work.
            let Some(_slot) = clients.enter(peer.ip()) else {
                tracing::info!(%peer, "HTTPS connection refused: too many from this client");
                return;
            };
            let tls = tokio::select! {
                tls = tokio::time::timeout(HANDSHAKE, acceptor.accept(tcp)) => match tls {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, %peer, "TLS handshake failed");
                        return;
                    }
                    Err(_) => return,
                },
                () = crate::shutdown::stopped(&mut stopping) => return,
            };
            let service = tower::ServiceExt::map_request(
                router,
                move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request
                },
            );
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(HANDSHAKE);
            builder
                .http2()
                .timer(TokioTimer::new())
                .keep_alive_interval(Duration::from_secs(60))
                .keep_alive_timeout(Duration::from_secs(20));
            let connection = builder.serve_connection(
                TokioIo::new(tls),
                hyper_util::service::TowerToHyperService::new(service),
            );
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = crate::shutdown::stopped(&mut stopping) => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    stop.send_replace(true);
    crate::shutdown::drain(&mut connections, "HTTPS connections").await;
    Ok(())
}
