//! How a rejected request is answered.

use http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{Response, StatusCode};

use crate::error::{AuthError, retry_after_secs};

/// Turns an [`AuthError`] into a response. Implement it, or pass a closure
/// `Fn(&AuthError) -> Response<B>`, to customise rejections; the layer attaches the error
/// to the response extensions either way.
///
/// ```
/// use charon_auth::AuthError;
/// use charon_auth::layer::Rejection;
/// use http::Response;
///
/// let plain = |error: &AuthError| {
///     let mut response = Response::new(error.to_string());
///     *response.status_mut() = error.status();
///     response
/// };
/// # fn takes(_: impl Rejection<String>) {}
/// takes(plain);
/// ```
pub trait Rejection<B>: Send + Sync + 'static {
    /// The response for `error`.
    fn reject(&self, error: &AuthError) -> Response<B>;
}

impl<B, F> Rejection<B> for F
where
    F: Fn(&AuthError) -> Response<B> + Send + Sync + 'static,
{
    fn reject(&self, error: &AuthError) -> Response<B> {
        self(error)
    }
}

/// Answer `error` with `rejection`, the error attached to the response extensions, and a
/// DEBUG line under the fixed target `charon::rejection`.
pub(crate) fn reject<B, R: Rejection<B>>(rejection: &R, error: AuthError) -> Response<B> {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "charon::rejection",
        status = error.status().as_u16(),
        kind = error.kind().as_str(),
        "rejecting request: {error}"
    );
    let mut response = rejection.reject(&error);
    response.extensions_mut().insert(error);
    response
}

/// The default rejection: the error's status, an RFC 6750 `WWW-Authenticate` header on 401
/// and 400 (and the 403 of a failed claim or scope check), and a JSON body `{"error": "<Charon's message>", "kind": "<kind>"}`.
///
/// A 503 (the store failed, [`AuthErrorKind::StoreUnavailable`](crate::AuthErrorKind))
/// also carries `Retry-After` in whole seconds: the store error's
/// [`retry_after`](crate::error::StoreError::retry_after) hint rounded up, at least 1, and
/// 1 when the store gave none.
///
/// Works for any response body that can be built from a `String` (axum's `Body`,
/// `http_body_util::Full<Bytes>`, `String`).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonRejection;

impl<B: From<String>> Rejection<B> for JsonRejection {
    fn reject(&self, error: &AuthError) -> Response<B> {
        let body = serde_json::json!({
            "error": error.to_string(),
            "kind": error.kind().as_str(),
        })
        .to_string();
        let mut response = Response::new(B::from(body));
        *response.status_mut() = error.status();
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(value) = www_authenticate(error) {
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
        }
        if error.status() == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs(error)));
        }
        response
    }
}

/// A rejection with an empty body, for body types that are only `Default` (e.g. gRPC).
#[derive(Debug, Clone, Copy, Default)]
pub struct EmptyRejection;

impl<B: Default> Rejection<B> for EmptyRejection {
    fn reject(&self, error: &AuthError) -> Response<B> {
        let mut response = Response::new(B::default());
        *response.status_mut() = error.status();
        if let Some(value) = www_authenticate(error) {
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// A rejection for gRPC services (tonic): a trailers-only response, HTTP 200 with
/// `content-type: application/grpc`, `grpc-status` and `grpc-message` (percent-encoded, as
/// the gRPC spec asks) in the headers, and an empty body.
///
/// | HTTP status of the error | gRPC status |
/// |---|---|
/// | 401 | `UNAUTHENTICATED` (16) |
/// | 403 | `PERMISSION_DENIED` (7) |
/// | 503 | `UNAVAILABLE` (14) |
/// | 400 | `INVALID_ARGUMENT` (3) |
/// | anything else | `INTERNAL` (13) |
///
/// Works for any body type that is `Default` (tonic's `Body`).
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcRejection;

impl GrpcRejection {
    /// The gRPC status code answering `error`.
    pub fn code(error: &AuthError) -> u16 {
        match error.status().as_u16() {
            401 => 16,
            403 => 7,
            503 => 14,
            400 => 3,
            _ => 13,
        }
    }
}

impl<B: Default> Rejection<B> for GrpcRejection {
    fn reject(&self, error: &AuthError) -> Response<B> {
        let mut response = Response::new(B::default());
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert("grpc-status", HeaderValue::from(Self::code(error)));
        if let Ok(message) = HeaderValue::from_str(&grpc_percent_encode(&error.to_string())) {
            headers.insert("grpc-message", message);
        }
        response
    }
}

/// gRPC's `grpc-message` encoding: percent-encode everything outside printable ASCII and
/// `%` itself.
fn grpc_percent_encode(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for byte in message.bytes() {
        if (0x20..=0x7e).contains(&byte) && byte != b'%' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The RFC 6750 section 3 challenge for `error`, on 401 and 400 responses and on the 403
/// of [`InsufficientScope`](crate::AuthErrorKind::InsufficientScope).
///
/// A request without a token gets a bare `Bearer` challenge (no error code, as RFC 6750
/// section 3.1 asks); the others carry `error` and `error_description`, and an
/// `insufficient_scope` challenge also `scope` when the route named the scope it requires.
pub fn www_authenticate(error: &AuthError) -> Option<HeaderValue> {
    let status = error.status();
    let insufficient = error.kind() == crate::AuthErrorKind::InsufficientScope;
    if status != StatusCode::UNAUTHORIZED && status != StatusCode::BAD_REQUEST && !insufficient {
        return None;
    }
    let value = match error.rfc6750_code() {
        None => "Bearer".to_owned(),
        Some(code) => {
            // error_description must be %x20-21 / %x23-5B / %x5D-7E: drop quotes and
            // backslashes (messages never contain them, custom ones might).
            let description: String = error
                .to_string()
                .chars()
                .filter(|c| matches!(c, ' '..='~') && *c != '"' && *c != '\\')
                .collect();
            let mut value = format!("Bearer error=\"{code}\", error_description=\"{description}\"");
            if let Some(scope) = error.required_scope().filter(|_| insufficient) {
                // scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), space-separated.
                let scope: String = scope
                    .chars()
                    .filter(|c| matches!(c, ' '..='~') && *c != '"' && *c != '\\')
                    .collect();
                value.push_str(&format!(", scope=\"{scope}\""));
            }
            value
        }
    };
    HeaderValue::from_str(&value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AuthErrorKind;

    #[test]
    fn json_rejection_for_expired_token() {
        let r: Response<String> = JsonRejection.reject(&AuthError::new(AuthErrorKind::Expired));
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.headers()[WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\", error_description=\"bearer token expired\""
        );
        let body: serde_json::Value = serde_json::from_str(r.body()).unwrap();
        assert_eq!(body["error"], "bearer token expired");
    }

    #[test]
    fn a_failed_scope_check_is_403_insufficient_scope_naming_the_scope() {
        let error = AuthError::insufficient_scope("scope").with_required_scope("admin write");
        let r: Response<String> = JsonRejection.reject(&error);
        assert_eq!(r.status(), 403);
        assert_eq!(
            r.headers()[WWW_AUTHENTICATE],
            "Bearer error=\"insufficient_scope\", error_description=\"bearer token claim \
             scope invalid\", scope=\"admin write\""
        );
        let body: serde_json::Value = serde_json::from_str(r.body()).unwrap();
        assert_eq!(body["kind"], "insufficient_scope");
        assert_eq!(GrpcRejection::code(&error), 7);
        // CSRF failures stay 403 without a Bearer challenge: not a token problem.
        let csrf: Response<String> =
            JsonRejection.reject(&AuthError::new(AuthErrorKind::CsrfFailed));
        assert!(csrf.headers().get(WWW_AUTHENTICATE).is_none());
    }

    #[test]
    fn missing_token_gets_bare_challenge() {
        let r: Response<String> =
            JsonRejection.reject(&AuthError::new(AuthErrorKind::TokenNotFound));
        assert_eq!(r.headers()[WWW_AUTHENTICATE], "Bearer");
    }

    #[test]
    fn malformed_request_is_400_invalid_request() {
        let r: Response<String> = JsonRejection.reject(&AuthError::with_detail(
            AuthErrorKind::MalformedRequest,
            "two headers",
        ));
        assert_eq!(r.status(), 400);
        assert!(
            r.headers()[WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .contains("invalid_request")
        );
    }

    #[test]
    fn store_failure_is_503_without_challenge() {
        let r: Response<()> =
            EmptyRejection.reject(&AuthError::new(AuthErrorKind::StoreUnavailable));
        assert_eq!(r.status(), 503);
        assert!(r.headers().get(WWW_AUTHENTICATE).is_none());
    }

    #[test]
    fn grpc_rejection_is_trailers_only_with_the_mapped_status() {
        for (kind, code) in [
            (AuthErrorKind::Expired, "16"),
            (AuthErrorKind::CsrfFailed, "7"),
            (AuthErrorKind::StoreUnavailable, "14"),
            (AuthErrorKind::MalformedRequest, "3"),
        ] {
            let r: Response<()> = GrpcRejection.reject(&AuthError::new(kind));
            assert_eq!(r.status(), 200, "{kind:?}");
            assert_eq!(r.headers()[CONTENT_TYPE], "application/grpc");
            assert_eq!(r.headers()["grpc-status"], code, "{kind:?}");
        }
        let r: Response<()> = GrpcRejection.reject(&AuthError::custom("50% ünïcode\n"));
        assert_eq!(r.headers()["grpc-message"], "50%25 %C3%BCn%C3%AFcode%0A");
    }

    #[test]
    fn closures_are_rejections() {
        let teapot = |e: &AuthError| {
            let mut r = Response::new(e.kind().as_str().to_owned());
            *r.status_mut() = StatusCode::IM_A_TEAPOT;
            r
        };
        let r = teapot.reject(&AuthError::new(AuthErrorKind::Expired));
        assert_eq!(
            (r.status(), r.body().as_str()),
            (StatusCode::IM_A_TEAPOT, "expired")
        );
    }

    #[test]
    fn store_failure_json_has_kind_and_retry_after() {
        use crate::error::{StoreError, StoreErrorKind};
        let unavailable = StoreError::new(StoreErrorKind::Unavailable)
            .with_retry_after(std::time::Duration::from_millis(1500));
        let error = AuthError::new(AuthErrorKind::StoreUnavailable).with_source(unavailable);
        let r: Response<String> = JsonRejection.reject(&error);
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()[RETRY_AFTER], "2");
        let body: serde_json::Value = serde_json::from_str(r.body()).unwrap();
        assert_eq!(body["kind"], "store_unavailable");
        // A store error without a hint (a timeout): 1 s.
        let timeout = AuthError::new(AuthErrorKind::StoreUnavailable)
            .with_source(StoreError::new(StoreErrorKind::Timeout));
        let r: Response<String> = JsonRejection.reject(&timeout);
        assert_eq!(r.headers()[RETRY_AFTER], "1");
        // Not on other statuses.
        let r: Response<String> = JsonRejection.reject(&AuthError::new(AuthErrorKind::Expired));
        assert!(r.headers().get(RETRY_AFTER).is_none());
    }

    #[test]
    fn custom_messages_cannot_break_the_header() {
        let v = www_authenticate(&AuthError::custom("a \"quoted\"\\ msg\n")).unwrap();
        assert_eq!(
            v,
            "Bearer error=\"invalid_token\", error_description=\"a quoted msg\""
        );
    }
}
