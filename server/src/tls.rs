//! Server certificates from PEM files, for STARTTLS on the intake
//! (`SEALPOST_SMTP_TLS_*`) and HTTPS on the portal (`SEALPOST_HTTP_TLS_*`).
//!
//! A certificate is held behind a resolver, so `serve` can read the files
//! again on SIGHUP (a renewed certificate) without dropping a connection:
//! handshakes after the reload get the new one. A reload that fails keeps
//! the certificate in use and says why.

use rustls::crypto::ring::sign::any_supported_type;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use tokio_rustls::TlsAcceptor;

/// A certificate and its key, as files, and what was last read from them.
#[derive(Debug)]
pub struct Certificate {
    /// `SMTP` or `HTTP`: which settings these are, for messages.
    surface: &'static str,
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

impl Certificate {
    /// The pair of settings, both or neither; `None` when neither is set.
    pub fn from_settings(
        surface: &'static str,
        cert: Option<&Path>,
        key: Option<&Path>,
    ) -> Result<Option<Arc<Certificate>>, String> {
        let (cert, key) = match (cert, key) {
            (None, None) => return Ok(None),
            (Some(c), Some(k)) => (c, k),
            (Some(_), None) => {
                return Err(format!(
                    "SEALPOST_{surface}_TLS_KEY: must be set with SEALPOST_{surface}_TLS_CERT"
                ));
            }
            (None, Some(_)) => {
                return Err(format!(
                    "SEALPOST_{surface}_TLS_CERT: must be set with SEALPOST_{surface}_TLS_KEY"
                ));
            }
        };
        let current = read(surface, cert, key)?;
        Ok(Some(Arc::new(Certificate {
            surface,
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            current: RwLock::new(Arc::new(current)),
        })))
    }

    /// Reads the files again; on an error the certificate in use stays.
    pub fn reload(&self) -> Result<(), String> {
        let fresh = read(self.surface, &self.cert, &self.key)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
        Ok(())
    }

    pub fn surface(&self) -> &'static str {
        self.surface
    }

    /// For `sealpost check`: until when the certificate in use is valid
    /// and, given the public host name, that it names it. An error when it
    /// has expired, is not valid yet or is for another name: browsers and
    /// mail servers would refuse it.
    pub fn describe(
        &self,
        host: Option<&str>,
        now: std::time::SystemTime,
    ) -> Result<String, String> {
        use x509_cert::der::Decode;
        let path = self.cert.display();
        let current = self.current();
        let leaf = current
            .cert
            .first()
            .ok_or_else(|| format!("{path} holds no certificate"))?;
        let parsed = x509_cert::Certificate::from_der(leaf.as_ref())
            .map_err(|e| format!("{path}: cannot read the certificate: {e}"))?;
        let validity = &parsed.tbs_certificate.validity;
        let at = |t: &x509_cert::time::Time| std::time::UNIX_EPOCH + t.to_unix_duration();
        let not_after = at(&validity.not_after);
        let ms = |t: std::time::SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64)
        };
        let until = crate::domain::display_time(ms(not_after));
        if now > not_after {
            return Err(format!("{path}: the certificate expired on {until}"));
        }
        if now < at(&validity.not_before) {
            return Err(format!(
                "{path}: the certificate is not valid before {}",
                crate::domain::display_time(ms(at(&validity.not_before)))
            ));
        }
        let days = not_after.duration_since(now).unwrap_or_default().as_secs() / 86_400;
        let unit = if days == 1 { "day" } else { "days" };
        let mut text = format!(
            "{path}: the certificate and its key fit, valid until {until} ({days} {unit} left)"
        );
        if let Some(host) = host {
            let name = rustls::pki_types::ServerName::try_from(host)
                .map_err(|_| format!("{host} is not a host name a certificate can be for"))?;
            webpki::EndEntityCert::try_from(leaf)
                .map_err(|e| format!("{path}: cannot read the certificate: {e}"))?
                .verify_is_valid_for_subject_name(&name)
                .map_err(|_| format!("{path}: the certificate is not for {host} (public_url)"))?;
            text.push_str(&format!(", for {host}"));
        }
        Ok(text)
    }

    /// The certificate and key handshakes get now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A TLS acceptor that always presents the latest certificate; `alpn`
    /// lists the application protocols offered (`h2`, `http/1.1`).
    pub fn acceptor(self: &Arc<Self>, alpn: &[&[u8]]) -> TlsAcceptor {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_no_client_auth()
        .with_cert_resolver(self.clone());
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        TlsAcceptor::from(Arc::new(config))
    }
}

impl ResolvesServerCert for Certificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

fn read(surface: &str, cert: &Path, key: &Path) -> Result<CertifiedKey, String> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            format!(
                "SEALPOST_{surface}_TLS_CERT: cannot read certificates from {}: {e}",
                cert.display()
            )
        })?;
    if chain.is_empty() {
        return Err(format!(
            "SEALPOST_{surface}_TLS_CERT: {} holds no certificate",
            cert.display()
        ));
    }
    let der = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        format!(
            "SEALPOST_{surface}_TLS_KEY: cannot read a private key from {}: {e}",
            key.display()
        )
    })?;
    let signing = any_supported_type(&der).map_err(|e| {
        format!(
            "SEALPOST_{surface}_TLS_KEY: {} is not a key rustls can use: {e}",
            key.display()
        )
    })?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|e| {
        format!("SEALPOST_{surface}_TLS_KEY: the key does not fit the certificate: {e}")
    })?;
    Ok(certified)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make(dir: &Path, name: &str) {
        make_for(dir, name, 1);
    }

    /// A self-signed certificate for `name` (subject and DNS name), valid
    /// for `days` from now, as cert.pem and key.pem in `dir`.
    fn make_for(dir: &Path, name: &str, days: u32) {
        let status = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days"])
            .arg(days.to_string())
            .args(["-subj", &format!("/CN={name}")])
            .args(["-addext", &format!("subjectAltName=DNS:{name}")])
            .arg("-keyout")
            .arg(dir.join("key.pem"))
            .arg("-out")
            .arg(dir.join("cert.pem"))
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl makes a test certificate");
        assert!(status.success());
    }

    #[test]
    fn check_tells_until_when_and_for_whom_a_certificate_is() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        make_for(dir.path(), "mail.corp.example", 30);
        let certificate = Certificate::from_settings("HTTP", Some(&cert), Some(&key))
            .unwrap()
            .unwrap();
        let now = std::time::SystemTime::now();
        let day = std::time::Duration::from_secs(86_400);

        let text = certificate
            .describe(Some("mail.corp.example"), now)
            .unwrap();
        assert!(
            text.contains("(29 days left), for mail.corp.example"),
            "{text}"
        );
        let other = certificate
            .describe(Some("portal.corp.example"), now)
            .unwrap_err();
        assert!(
            other.ends_with("the certificate is not for portal.corp.example (public_url)"),
            "{other}"
        );
        let later = certificate.describe(None, now + 31 * day).unwrap_err();
        assert!(later.contains("the certificate expired on"), "{later}");
        let earlier = certificate.describe(None, now - day).unwrap_err();
        assert!(earlier.contains("not valid before"), "{earlier}");
    }

    #[test]
    fn a_reload_serves_the_renewed_certificate_and_a_broken_one_is_not_taken() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        make(dir.path(), "first");
        let certificate = Certificate::from_settings("HTTP", Some(&cert), Some(&key))
            .unwrap()
            .unwrap();
        let first = certificate.current().cert[0].clone();

        std::fs::write(&cert, "not a certificate").unwrap();
        let refused = certificate.reload().unwrap_err();
        assert!(refused.starts_with("SEALPOST_HTTP_TLS_CERT:"), "{refused}");
        assert_eq!(certificate.current().cert[0], first, "the old one stays");

        make(dir.path(), "renewed");
        certificate.reload().unwrap();
        assert_ne!(certificate.current().cert[0], first);
    }

    #[test]
    fn half_a_pair_is_refused_naming_the_missing_setting() {
        let refused =
            Certificate::from_settings("SMTP", Some(Path::new("/c.pem")), None).unwrap_err();
        assert!(
            refused.starts_with("SEALPOST_SMTP_TLS_KEY: must be set"),
            "{refused}"
        );
    }
}
