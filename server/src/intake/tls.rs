//! STARTTLS for the intake: a certificate chain and key from PEM files
//! (`SEALPOST_SMTP_TLS_CERT`, `SEALPOST_SMTP_TLS_KEY`), served with rustls.

use crate::config::Settings;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

pub fn acceptor(settings: &Settings) -> Result<Option<TlsAcceptor>, String> {
    let (cert, key) = match (&settings.smtp_tls_cert, &settings.smtp_tls_key) {
        (None, None) => return Ok(None),
        (Some(c), Some(k)) => (c, k),
        (Some(_), None) => {
            return Err("SEALPOST_SMTP_TLS_KEY: must be set with SEALPOST_SMTP_TLS_CERT".into());
        }
        (None, Some(_)) => {
            return Err("SEALPOST_SMTP_TLS_CERT: must be set with SEALPOST_SMTP_TLS_KEY".into());
        }
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            format!(
                "SEALPOST_SMTP_TLS_CERT: cannot read certificates from {}: {e}",
                cert.display()
            )
        })?;
    if chain.is_empty() {
        return Err(format!(
            "SEALPOST_SMTP_TLS_CERT: {} holds no certificate",
            cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        format!(
            "SEALPOST_SMTP_TLS_KEY: cannot read a private key from {}: {e}",
            key.display()
        )
    })?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("SEALPOST_SMTP_TLS_CERT: {e}"))?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| format!("SEALPOST_SMTP_TLS_KEY: the key does not fit the certificate: {e}"))?;
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}
