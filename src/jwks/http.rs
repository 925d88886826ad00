//! The HTTP(S) client: hyper's pooled client over rustls, with a timeout and a size limit.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_LENGTH, USER_AGENT};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt as _, Empty, LengthLimitError, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

use crate::error::{ConfigError, ConfigErrorKind};
use crate::jwks::error::{JwksError, JwksErrorKind};

/// What the client needs from the builder.
pub(crate) struct ClientConfig<'a> {
    pub(crate) timeout: Duration,
    pub(crate) max_response_bytes: usize,
    pub(crate) built_in_roots: bool,
    pub(crate) root_certificates: &'a [Vec<u8>],
    pub(crate) insecure_http: bool,
}

/// A GET-only client for small JSON documents.
pub(crate) struct HttpClient {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    timeout: Duration,
    max_response_bytes: usize,
    insecure_http: bool,
}

impl HttpClient {
    pub(crate) fn new(config: &ClientConfig<'_>) -> Result<Self, ConfigError> {
        let mut roots = rustls::RootCertStore::empty();
        if config.built_in_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for pem in config.root_certificates {
            let mut found = false;
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| {
                    invalid("a root certificate PEM could not be read").with_source(e)
                })?;
                roots
                    .add(cert)
                    .map_err(|e| invalid("a root certificate could not be used").with_source(e))?;
                found = true;
            }
            if !found {
                return Err(invalid("a root certificate PEM holds no certificate"));
            }
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("TLS could not be configured").with_source(e))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config.timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(https),
            timeout: config.timeout,
            max_response_bytes: config.max_response_bytes,
            insecure_http: config.insecure_http,
        })
    }

    /// Whether `uri` may be fetched: see [`check_url`].
    pub(crate) fn check(&self, uri: &Uri) -> Result<(), &'static str> {
        check_url(uri, self.insecure_http)
    }

    /// GET `uri`: 200 and a body of at most the size limit, within the timeout.
    /// `what` names the document in errors ("JWKS", "discovery").
    pub(crate) async fn get(&self, uri: &Uri, what: &'static str) -> Result<Bytes, JwksError> {
        let request = Request::get(uri.clone())
            .header(ACCEPT, "application/jwk-set+json, application/json")
            .header(
                USER_AGENT,
                concat!("charon-auth/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::new())
            .map_err(|e| {
                JwksError::new(JwksErrorKind::Connect, "the request could not be built")
                    .with_source(e)
            })?;
        let max = self.max_response_bytes;
        let fetch = async {
            let response = self.client.request(request).await.map_err(|e| {
                JwksError::new(
                    JwksErrorKind::Connect,
                    format!("the {what} endpoint could not be reached"),
                )
                .with_source(e)
            })?;
            if response.status() != StatusCode::OK {
                return Err(JwksError::http_status(response.status(), what));
            }
            let too_large = || {
                JwksError::new(
                    JwksErrorKind::TooLarge,
                    format!("the {what} document is larger than {max} bytes"),
                )
            };
            let declared = response
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|len| len > max as u64) {
                return Err(too_large());
            }
            let body = Limited::new(response.into_body(), max)
                .collect()
                .await
                .map_err(|e| {
                    if e.downcast_ref::<LengthLimitError>().is_some() {
                        too_large()
                    } else {
                        JwksError::new(
                            JwksErrorKind::Connect,
                            format!("the {what} response could not be read"),
                        )
                        .with_source(e)
                    }
                })?;
            Ok(body.to_bytes())
        };
        tokio::time::timeout(self.timeout, fetch)
            .await
            .map_err(|_| {
                JwksError::new(
                    JwksErrorKind::Timeout,
                    format!("the {what} request timed out after {:?}", self.timeout),
                )
            })?
    }
}

fn invalid(message: &'static str) -> ConfigError {
    ConfigError::new(ConfigErrorKind::Invalid, message)
}

/// Whether keys may be fetched from `uri`: an absolute `https` URL, or `http` to a loopback
/// host (`localhost`, `127.0.0.0/8`, `::1`) or with the `insecure_http` opt-in; never with
/// credentials (`user:pass@`) in it.
pub(crate) fn check_url(uri: &Uri, insecure_http: bool) -> Result<(), &'static str> {
    let Some(authority) = uri.authority() else {
        return Err("the URL must be absolute (scheme and host)");
    };
    if authority.as_str().contains('@') {
        return Err("the URL must not carry credentials");
    }
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if insecure_http || is_loopback(authority.host()) => Ok(()),
        Some("http") => Err(
            "plain HTTP lets anyone on the path replace the keys: use https, or opt in with insecure_http",
        ),
        _ => Err("the URL scheme must be https (or http)"),
    }
}

fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rules() {
        let ok = [
            ("https://auth.example/.well-known/jwks.json", false),
            ("http://127.0.0.1:8080/jwks", false),
            ("http://127.1.2.3/jwks", false),
            ("http://localhost/jwks", false),
            ("http://[::1]:9000/jwks", false),
            ("http://auth.internal/jwks", true),
        ];
        for (url, insecure) in ok {
            let uri: Uri = url.parse().unwrap_or_default();
            assert_eq!(check_url(&uri, insecure), Ok(()), "{url}");
        }
        let refused = [
            ("http://auth.example/jwks", false),
            ("http://10.0.0.1/jwks", false),
            ("http://localhost.evil.example/jwks", false),
            ("ftp://auth.example/jwks", true),
            ("/jwks", true),
            ("https://user:secret@auth.example/jwks", true),
        ];
        for (url, insecure) in refused {
            let uri: Uri = url.parse().unwrap_or_default();
            assert!(check_url(&uri, insecure).is_err(), "{url}");
        }
    }
}
