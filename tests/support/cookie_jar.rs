//! What an HTTP client keeps between requests: the token cookies a response set, and the
//! body tokens of a login or refresh.

use std::collections::BTreeMap;

use serde_json::Value;

/// Apply `Set-Cookie` values to a jar: set, replace, or (empty value or `Max-Age=0`) remove.
pub fn absorb_set_cookies(jar: &mut BTreeMap<String, String>, set_cookies: &[String]) {
    for set_cookie in set_cookies {
        let pair = set_cookie.split(';').next().unwrap_or_default();
        let Some((name, value)) = pair.split_once('=') else {
            continue;
        };
        if value.is_empty() || set_cookie.contains("Max-Age=0") {
            jar.remove(name);
        } else {
            jar.insert(name.to_owned(), value.to_owned());
        }
    }
}

/// The `(access_token, refresh_token)` of a login or refresh body, or `None` for another
/// body. Tokens are `None` for the cookie-only transport.
pub fn body_tokens(body: &Value) -> Option<(Option<String>, Option<String>)> {
    body.get("access_token_exp")?;
    let token = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
    Some((token("access_token"), token("refresh_token")))
}

/// The `Cookie` header value for a jar, or `None` when it is empty.
pub fn cookie_header(jar: &BTreeMap<String, String>) -> Option<String> {
    (!jar.is_empty()).then(|| {
        jar.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    })
}
