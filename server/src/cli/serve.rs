//! `sealpost serve`: the portal and the SMTP intake.

use super::*;

pub async fn run(settings: Settings) -> Result<(), CliError> {
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
    app.run_until(startup::shutdown_signal())
        .await
        .map_err(|e| CliError::Usage(format!("the web server stopped: {e}")))
}
