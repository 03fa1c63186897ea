//! Builds a running node from its settings: database, keys, first
//! administrator, HTTP router and the SMTP port.

use crate::auth::password;
use crate::auth::session_store::DbSessionStore;
use crate::config::Settings;
use crate::domain::EmailAddress;
use crate::http::{AppState, router};
use crate::intake::Intake;
use crate::keys::{self, KeyError, KeyMaterial, labels};
use crate::outbound::{Outbound, Transport};
use crate::pipeline::{Pipeline, Stage};
use crate::services::users::UserError;
use crate::store::{Store, StoreError};
use crate::tls::Certificate;
use leptos::prelude::LeptosOptions;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("cannot listen on {setting} {addr}: {source}")]
    Bind {
        setting: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Tls(String),
    #[error("SEALPOST_RELAY_URL: {0}")]
    Relay(String),
    #[error("cannot set up sessions: {0}")]
    Sessions(sqlx::Error),
    #[error("SEALPOST_DATA_DIR: cannot make {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
}

/// The first administrator, created on the first start with an empty
/// database; the password is shown once and must be changed at sign-in.
pub struct FirstAdmin {
    pub email: EmailAddress,
    pub password: String,
}

/// Knobs tests turn; production uses the defaults.
#[derive(Clone, Debug)]
pub struct Tuning {
    /// First delay before an outgoing mail is tried again; doubles per try.
    pub retry_backoff: std::time::Duration,
    /// How often expired messages are marked (pages check expiry on every
    /// request anyway) and spent rows deleted (expired sessions, old
    /// passcodes, sign-in failures outside the throttle's window).
    pub expiry_interval: std::time::Duration,
    /// Agent stages after the transport rules (tests plug one in here).
    pub agents: Agents,
    /// Test-only fault injection for transport decryption.
    pub faults: crate::pipeline::faults::Faults,
    /// Before the three tries of decryption and re-encryption (SPEC: 0 s,
    /// 5 s, 30 s).
    pub transport_retry_delays: [std::time::Duration; 3],
}

/// The pipeline's agent stages, in order.
#[derive(Clone, Default)]
pub struct Agents(pub Vec<Arc<dyn crate::pipeline::Stage>>);

impl std::fmt::Debug for Agents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|s| s.name()))
            .finish()
    }
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            retry_backoff: std::time::Duration::from_secs(30),
            expiry_interval: std::time::Duration::from_secs(60),
            agents: Agents::default(),
            faults: Default::default(),
            transport_retry_delays: [
                std::time::Duration::ZERO,
                std::time::Duration::from_secs(5),
                std::time::Duration::from_secs(30),
            ],
        }
    }
}

pub struct Application {
    http: TcpListener,
    smtp: TcpListener,
    metrics_listener: Option<TcpListener>,
    metrics: Arc<crate::metrics::Metrics>,
    router: axum::Router,
    sessions: DbSessionStore,
    store: Store,
    intake: Arc<Intake>,
    pipeline: Arc<Pipeline>,
    outbound: Arc<Outbound>,
    tuning: Tuning,
    /// The portal's HTTPS certificate, when it serves HTTPS.
    http_certificate: Option<Arc<Certificate>>,
    /// The certificates SIGHUP reads again (the intake's, the portal's).
    pub certificates: Vec<Arc<Certificate>>,
    pub first_admin: Option<FirstAdmin>,
    pub settings: Arc<Settings>,
}

/// Opens the database and the keys: what every command that touches data needs.
pub async fn open(settings: &Settings) -> Result<(Store, KeyMaterial), StartupError> {
    // The data directory is sealpost's alone: made 0700.
    crate::store::private_dir(&settings.data_dir).map_err(|source| StartupError::DataDir {
        path: settings.data_dir.display().to_string(),
        source,
    })?;
    let store = Store::connect(&settings.database_url).await?;
    let keys = keys::load_or_create(&store, settings).await?;
    store.ensure_default_template().await?;
    Ok((store, keys))
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        Self::build_tuned(settings, Tuning::default()).await
    }

    pub async fn build_tuned(
        settings: Settings,
        tuning: Tuning,
    ) -> Result<Application, StartupError> {
        // One rustls crypto provider for the process (lettre's TLS to the relay).
        let _ = rustls::crypto::ring::default_provider().install_default();
        // Files named by settings are read before anything is bound or opened.
        let smtp_certificate = Certificate::from_settings(
            "SMTP",
            settings.smtp_tls_cert.as_deref(),
            settings.smtp_tls_key.as_deref(),
        )
        .map_err(StartupError::Tls)?;
        let http_certificate = Certificate::from_settings(
            "HTTP",
            settings.http_tls_cert.as_deref(),
            settings.http_tls_key.as_deref(),
        )
        .map_err(StartupError::Tls)?;
        let tls = smtp_certificate.as_ref().map(|c| c.acceptor(&[]));
        let http = bind("SEALPOST_HTTP_ADDR", settings.http_addr).await?;
        // Sign-in of an unknown address verifies against it: made now, not
        // during the first such sign-in.
        let _ = tokio::task::spawn_blocking(crate::auth::password::prepare).await;
        let smtp = bind("SEALPOST_SMTP_ADDR", settings.smtp_addr).await?;
        let metrics_listener = match settings.metrics_addr {
            Some(addr) => Some(bind("SEALPOST_METRICS_ADDR", addr).await?),
            None => None,
        };
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let (store, keys) = open(&settings).await?;
        let first_admin = create_first_admin(&store, &settings.admin_email).await?;

        let sessions = DbSessionStore::new(&store)
            .await
            .map_err(StartupError::Sessions)?;
        let session_store = sessions.clone();
        let session_layer = SessionManagerLayer::new(sessions)
            .with_name("sealpost_session")
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(settings.cookies_secure())
            .with_expiry(Expiry::OnInactivity(time::Duration::hours(8)));

        let leptos_options = LeptosOptions::builder()
            .output_name("app")
            .site_root(settings.site_dir.display().to_string())
            .site_pkg_dir("pkg")
            .env(leptos::config::Env::PROD)
            .site_addr(settings.http_addr)
            .build();
        if !settings.site_dir.join("pkg").join("app.js").exists() {
            tracing::warn!(site_dir = %settings.site_dir.display(),
                "the client bundle is missing: pages render but do not hydrate (build it with `make site`)");
        }
        let settings = Arc::new(settings);
        let keys = Arc::new(keys);
        let hostname = settings
            .public_url
            .host_str()
            .unwrap_or("localhost")
            .to_string();
        let transport =
            Transport::from_settings(settings.relay_url.as_ref(), settings.outbound_in_flight)
                .map_err(StartupError::Relay)?;
        let wake_pipeline = Arc::new(Notify::new());
        let wake_outbound = Arc::new(Notify::new());
        let outcomes = crate::store::Outcomes::start(store.clone());
        let intake = Arc::new(Intake::new(
            store.clone(),
            keys.clone(),
            &settings,
            tls,
            wake_pipeline.clone(),
            metrics.clone(),
        ));
        let pipeline = Arc::new(Pipeline {
            store: store.clone(),
            keys: keys.clone(),
            settings: settings.clone(),
            hostname: hostname.clone(),
            stages: stages(
                &store,
                &keys,
                &settings,
                &tuning.agents.0,
                crate::pipeline::faults::Tries {
                    delays: tuning.transport_retry_delays,
                    faults: Arc::new(tuning.faults.clone()),
                },
            ),
            retry_backoff: tuning.retry_backoff,
            faults: tuning.faults.clone(),
            wake: wake_pipeline,
            wake_outbound: wake_outbound.clone(),
            metrics: metrics.clone(),
            outcomes: outcomes.clone(),
        });
        let outbound = Arc::new(Outbound {
            store: store.clone(),
            keys: keys.clone(),
            settings: settings.clone(),
            transport,
            hostname,
            wake: wake_outbound,
            backoff: tuning.retry_backoff,
            metrics: metrics.clone(),
            lease_ms: tuning
                .faults
                .lease_ms()
                .unwrap_or(crate::outbound::LEASE_MS),
            outcomes,
        });
        let state = AppState {
            csrf_key: Arc::new(keys.derived(labels::CSRF)),
            intake: intake.clone(),
            passcode_key: Arc::new(keys.derived(labels::PASSCODE)),
            wake_outbound: outbound.wake.clone(),
            // Five minutes and 64 MB of sanitised views at most.
            views: Arc::new(crate::portal::ViewCache::new(
                std::time::Duration::from_secs(300),
                64 << 20,
            )),
            // As many pages as views: a page is its view and a few KB.
            pages: Arc::new(crate::http::PageCache::new(
                std::time::Duration::from_secs(300),
                64 << 20,
            )),
            opened: Arc::new(crate::portal::Opened::new(100_000)),
            event_log: crate::store::EventLog::start(store.clone()),
            metrics: metrics.clone(),
            keys,
            settings: settings.clone(),
            store: store.clone(),
            leptos_options,
        };
        Ok(Application {
            router: router(state, session_layer),
            sessions: session_store,
            http,
            smtp,
            metrics_listener,
            metrics,
            store,
            intake,
            pipeline,
            outbound,
            tuning,
            certificates: smtp_certificate
                .iter()
                .chain(&http_certificate)
                .cloned()
                .collect(),
            http_certificate,
            first_admin,
            settings,
        })
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn smtp_addr(&self) -> SocketAddr {
        self.smtp
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Where `/metrics` is served, when it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .map(|l| l.local_addr().expect("a bound listener has an address"))
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let node = format!("{}-{}", std::process::id(), crate::store::new_id());
        // The shutdown reaches the intake as well as the portal: both stop
        // taking new work and finish what is under way, side by side.
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let shutdown = async move {
            shutdown.await;
            stop.send_replace(true);
        };
        let intake = tokio::spawn(crate::intake::run(self.smtp, self.intake.clone(), stopping));
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(crate::queue::serve(
            self.pipeline.clone(),
            format!("{node}-p"),
            self.settings.pipeline_in_flight,
        )));
        if let Some(listener) = self.metrics_listener {
            tasks.push(tokio::spawn(crate::metrics::serve(
                listener,
                self.metrics.clone(),
                self.store.clone(),
            )));
        }
        tasks.push(tokio::spawn(housekeeping(
            self.store.clone(),
            self.sessions.clone(),
            self.tuning.expiry_interval,
            self.settings.retention_ms,
        )));
        tasks.push(tokio::spawn(crate::queue::serve(
            self.outbound.clone(),
            format!("{node}-o"),
            self.settings.outbound_in_flight,
        )));
        let result = match &self.http_certificate {
            Some(certificate) => {
                let acceptor = certificate.acceptor(&[b"h2", b"http/1.1"]);
                let per_client = self.settings.http_max_connections_per_client;
                crate::http::https::serve(self.http, acceptor, self.router, per_client, shutdown)
                    .await
            }
            None => {
                let app = self
                    .router
                    .into_make_service_with_connect_info::<SocketAddr>();
                axum::serve(self.http, app)
                    .with_graceful_shutdown(shutdown)
                    .await
            }
        };
        // The intake's own drain is bounded (30 s); its sessions end with
        // the answer to the message they were sending.
        let _ = intake.await;
        // Workers stop between jobs or mid-job; a job left mid-way keeps its
        // lease until it expires and is then taken again from the stored original.
        for task in tasks {
            task.abort();
        }
        self.store.close().await;
        result
    }
}

/// The stages every message passes, in order: transport decryption, the
/// transport rules, `agents` (tests plug theirs in here), the configured
/// agents (custom agents, antivirus) and protection. The pipeline runs
/// these, and `sealpost agent list` shows these. (Built here, not in
/// `pipeline`: the rules and the agents are stages of the pipeline's trait.)
pub fn stages(
    store: &Store,
    keys: &Arc<KeyMaterial>,
    settings: &Arc<Settings>,
    agents: &[Arc<dyn Stage>],
    tries: crate::pipeline::faults::Tries,
) -> Vec<Arc<dyn Stage>> {
    let decryption: Arc<dyn Stage> = Arc::new(crate::pipeline::TransportDecryptionStage {
        store: store.clone(),
        keys: keys.clone(),
        tries: tries.clone(),
    });
    // The rules first, so every later agent sees what they changed.
    let rules: Arc<dyn Stage> = Arc::new(crate::rules::RulesStage::new(
        store.clone(),
        settings.internal_domains.clone(),
    ));
    let protection: Arc<dyn Stage> = Arc::new(crate::pipeline::ProtectionStage {
        store: store.clone(),
        keys: keys.clone(),
        settings: settings.clone(),
        hostname: settings.hostname(),
        tries,
    });
    [decryption, rules]
        .into_iter()
        .chain(agents.iter().cloned())
        .chain(crate::agents::configured(settings))
        .chain([protection])
        .collect()
}

async fn bind(setting: &'static str, addr: SocketAddr) -> Result<TcpListener, StartupError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind {
            setting,
            addr,
            source,
        })
}

async fn create_first_admin(
    store: &Store,
    email: &EmailAddress,
) -> Result<Option<FirstAdmin>, StartupError> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let one_time = password::generate_one_time();
    // `sealpost serve` was started by someone: the trail names them.
    let actor = crate::domain::Actor::command_line();
    let created = crate::services::users::add(
        store,
        &actor,
        email,
        crate::domain::Role::Admin,
        one_time.clone(),
        true,
    )
    .await;
    match created {
        Ok(_) => Ok(Some(FirstAdmin {
            email: email.clone(),
            password: one_time,
        })),
        Err(UserError::Store(e)) => Err(e.into()),
        // It exists: another node created it at the same moment.
        Err(_) => Ok(None),
    }
}

/// Marks expired messages, deletes content past retention, and deletes what
/// no rule needs any more: expired
/// sessions, passcodes a day past their expiry, sign-in failures outside
/// the throttle's window. Any node may do it; doing it twice is harmless.
async fn housekeeping(
    store: Store,
    sessions: DbSessionStore,
    every: std::time::Duration,
    retention_ms: Option<i64>,
) {
    use tower_sessions::session_store::ExpiredDeletion;
    loop {
        tokio::time::sleep(every).await;
        match store.expire_due().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "messages expired"),
            Err(e) => tracing::warn!(error = %e, "expiry task cannot reach the database"),
        }
        match crate::services::retention::run_once(&store, retention_ms).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "message content deleted by retention"),
            Err(e) => tracing::warn!(error = %e, "retention task cannot reach the database"),
        }
        let now = crate::store::now_ms();
        let pruned = async {
            store
                .prune_login_failures(now - crate::auth::throttle::WINDOW_MS)
                .await?;
            store.prune_passcodes(now - 86_400_000).await?;
            Ok::<_, StoreError>(())
        };
        if let Err(e) = pruned.await {
            tracing::warn!(error = %e, "housekeeping cannot reach the database");
        }
        if let Err(e) = sessions.delete_expired().await {
            tracing::warn!(error = %e, "expired sessions cannot be deleted");
        }
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
