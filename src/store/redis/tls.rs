//! TLS settings: a private CA and a client certificate (mutual TLS), as PEM bytes or files.

use std::fmt;
use std::path::PathBuf;

use redis::{ClientTlsConfig, TlsCertificates};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{ConfigError, ConfigErrorKind};

/// PEM text given inline or read from a file when connecting.
#[derive(Clone)]
pub(crate) enum Pem {
    Bytes(Vec<u8>),
    File(PathBuf),
}

impl Pem {
    fn load(&self, what: &'static str) -> Result<Vec<u8>, ConfigError> {
        match self {
            Self::Bytes(b) => Ok(b.clone()),
            Self::File(path) => std::fs::read(path).map_err(|e| {
                ConfigError::new(
                    ConfigErrorKind::InvalidKey,
                    format!("could not read the redis TLS {what} file"),
                )
                .with_source(e)
            }),
        }
    }
}

impl fmt::Debug for Pem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bytes(_) => f.write_str("<pem bytes>"),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The TLS part of the builder.
#[derive(Clone, Default)]
pub(crate) struct TlsSettings {
    pub(crate) ca: Option<Pem>,
    pub(crate) client: Option<(Pem, Pem)>,
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("ca", &self.ca)
            .field("client_cert", &self.client.as_ref().map(|(c, _)| c))
            .field("client_key", &self.client.as_ref().map(|_| "REDACTED"))
            .finish()
    }
}

impl TlsSettings {
    /// Whether a CA or a client certificate was configured.
    pub(crate) fn is_set(&self) -> bool {
        self.ca.is_some() || self.client.is_some()
    }

    /// Read and check the PEM material: [`ConfigErrorKind::InvalidKey`] when a file cannot
    /// be read, holds no certificate, or the key does not parse.
    pub(crate) fn load(&self) -> Result<TlsCertificates, ConfigError> {
        let root_cert = match &self.ca {
            Some(ca) => {
                let pem = ca.load("CA")?;
                let certs = CertificateDer::pem_slice_iter(&pem)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| bad_pem("the redis TLS CA is not valid PEM", &e))?;
                if certs.is_empty() {
                    return Err(ConfigError::new(
                        ConfigErrorKind::InvalidKey,
                        "the redis TLS CA holds no certificate",
                    ));
                }
                Some(pem)
            }
            None => None,
        };
        let client_tls = match &self.client {
            Some((cert, key)) => {
                let cert = cert.load("client certificate")?;
                let key = key.load("client key")?;
                let chain = CertificateDer::pem_slice_iter(&cert)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| {
                        bad_pem("the redis TLS client certificate is not valid PEM", &e)
                    })?;
                if chain.is_empty() {
                    return Err(ConfigError::new(
                        ConfigErrorKind::InvalidKey,
                        "the redis TLS client certificate holds no certificate",
                    ));
                }
                PrivateKeyDer::from_pem_slice(&key).map_err(|e| {
                    bad_pem("the redis TLS client key is not a PEM private key", &e)
                })?;
                Some(ClientTlsConfig {
                    client_cert: cert,
                    client_key: key,
                })
            }
            None => None,
        };
        Ok(TlsCertificates {
            client_tls,
            root_cert,
        })
    }
}

fn bad_pem(message: &'static str, e: &rustls::pki_types::pem::Error) -> ConfigError {
    ConfigError::new(ConfigErrorKind::InvalidKey, message).with_source(PemError(e.to_string()))
}

/// A PEM parse failure (its text never holds key material).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct PemError(String);

/// redis-rs builds its rustls configuration from the process-wide crypto provider. With
/// exactly one provider compiled in, rustls picks it; with both (`aws_lc_rs` and
/// `rust_crypto`, as `--all-features` does) it cannot choose, so install aws-lc-rs, as the
/// token side does. An application that installed a provider earlier keeps it.
pub(crate) fn ensure_crypto_provider() {
    #[cfg(all(feature = "aws_lc_rs", feature = "rust_crypto"))]
    {
        static INSTALL: std::sync::Once = std::sync::Once::new();
        INSTALL.call_once(|| {
            if rustls::crypto::CryptoProvider::get_default().is_none() {
                // An error means another thread installed one first, which is what we need.
                let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
            }
        });
    }
}

/// Whether every URL uses the same scheme family; `Some(true)` for all `rediss://`.
pub(crate) fn all_tls(urls: &[String]) -> Result<bool, ConfigError> {
    let tls = urls.iter().filter(|u| u.starts_with("rediss://")).count();
    if tls == 0 {
        Ok(false)
    } else if tls == urls.len() {
        Ok(true)
    } else {
        Err(ConfigError::new(
            ConfigErrorKind::InvalidRedis,
            "redis urls mix rediss:// and plaintext schemes",
        ))
    }
}

/// TLS settings given for a plaintext URL: refused, so a CA never gives a false sense of
/// encryption.
pub(crate) fn tls_without_rediss() -> ConfigError {
    ConfigError::new(
        ConfigErrorKind::InvalidRedis,
        "redis TLS settings given, but the url is not rediss://",
    )
}
