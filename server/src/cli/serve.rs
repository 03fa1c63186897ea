//! `sealpost serve`: the portal and the SMTP intake.

use super::*;

pub async fn run(
    settings: Settings,
    config: Option<PathBuf>,
    flags: SettingValues,
) -> Result<(), CliError> {
    // Caught from the start: SIGHUP's default action ends the process, and
    // a `systemctl reload` during start-up (migrations, keys) must not.
    let hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup());
    if settings.dev_mode {
        tracing::warn!("development mode is on: never use it in production");
    }
    let tuning = crate::startup::Tuning {
        faults: crate::pipeline::faults::Faults::from_env(),
        ..Default::default()
    };
    let app = Application::build_tuned(settings, tuning).await?;
    if let Some(admin) = &app.first_admin {
        // Standard output, never the logs: the password is shown this once.
        println!("sealpost: created the first administrator.");
        println!(
            "  Sign in at {}/login",
            app.settings.public_url.as_str().trim_end_matches('/')
        );
        println!("  Email:    {}", admin.email);
        println!("  Password: {}", admin.password);
        println!("  This password works once: you will choose your own at the first sign-in.");
    }
    tracing::info!(http = %app.http_addr(), smtp = %app.smtp_addr(), version = env!("CARGO_PKG_VERSION"), "sealpost is running");
    if let Some(addr) = app.metrics_addr() {
        tracing::info!(%addr, "metrics are served at /metrics");
    }
    match hangups {
        Ok(hangups) => {
            tokio::spawn(reload_on_hangup(
                hangups,
                app.certificates.clone(),
                config,
                flags,
            ));
        }
        Err(e) => {
            tracing::warn!(error = %e, "SIGHUP cannot be caught: reloading needs a restart")
        }
    }
    app.run_until(startup::shutdown_signal())
        .await
        .map_err(|e| CliError::Usage(format!("the web server stopped: {e}")))
}

/// SIGHUP (`systemctl reload sealpost`) reads again what can change without
/// a restart: the TLS certificates' files (a renewed certificate) and the
/// log level from the configuration file. Anything else in the file needs
/// a restart; a file that no longer loads changes nothing and says why.
async fn reload_on_hangup(
    mut hangups: tokio::signal::unix::Signal,
    certificates: Vec<std::sync::Arc<crate::tls::Certificate>>,
    config: Option<PathBuf>,
    flags: SettingValues,
) {
    while hangups.recv().await.is_some() {
        tracing::info!("SIGHUP: reloading the certificates and the log level");
        for certificate in &certificates {
            match certificate.reload() {
                Ok(()) => {
                    tracing::info!(surface = certificate.surface(), "TLS certificate reloaded")
                }
                Err(e) => {
                    tracing::error!(error = %e, "TLS certificate kept: the new one cannot be used")
                }
            }
        }
        match load_settings(config.as_ref(), &flags) {
            Ok(settings) => match crate::telemetry::set_level(&settings.log_level) {
                Ok(applied) => tracing::info!(log_level = %applied, "log level applied"),
                Err(e) => tracing::error!(error = %e, "log level kept"),
            },
            Err(e) => {
                tracing::error!(error = %e, "the configuration does not load: log level kept")
            }
        }
    }
}
