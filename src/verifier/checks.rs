//! Extra claim checks a layer can require (Charon's `verify_token_claim_*` plugs).

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::error::AuthError;
use crate::token::Claims;

type CustomFn = dyn Fn(&Claims) -> Result<(), AuthError> + Send + Sync;

/// One extra check on a verified token's claims. Checks run in the order added; the first
/// failure wins.
#[derive(Clone)]
#[non_exhaustive]
pub enum ClaimCheck {
    /// The claim equals the value.
    Equals(String, Value),
    /// The claim equals one of the values.
    OneOf(String, Vec<Value>),
    /// The claim is an array (or a space-separated string, as OAuth2 `scope`) holding
    /// all the values.
    ContainsAll(String, Vec<Value>),
    /// The claim is an array (or space-separated string) holding at least one of the
    /// values.
    ContainsAny(String, Vec<Value>),
    /// A custom check over all claims.
    Custom(Arc<CustomFn>),
}

impl fmt::Debug for ClaimCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClaimCheck::Equals(c, v) => f.debug_tuple("Equals").field(c).field(v).finish(),
            ClaimCheck::OneOf(c, v) => f.debug_tuple("OneOf").field(c).field(v).finish(),
            ClaimCheck::ContainsAll(c, v) => {
                f.debug_tuple("ContainsAll").field(c).field(v).finish()
            }
            ClaimCheck::ContainsAny(c, v) => {
                f.debug_tuple("ContainsAny").field(c).field(v).finish()
            }
            ClaimCheck::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl ClaimCheck {
    /// Run the check.
    ///
    /// # Errors
    ///
    /// [`AuthErrorKind::InsufficientScope`](crate::AuthErrorKind::InsufficientScope) (403):
    /// `bearer token claim <c> not found` when the claim is absent, `bearer token claim
    /// <c> invalid` when it does not match (naming the required scope for `ContainsAll` /
    /// `ContainsAny` on `scope`); or the custom check's own error.
    pub fn check(&self, claims: &Claims) -> Result<(), AuthError> {
        if let ClaimCheck::Custom(f) = self {
            return f(claims);
        }
        self.check_claim(claims)
            .map_err(|error| match self.required_scope() {
                Some(scope) => error.with_required_scope(scope),
                None => error,
            })
    }

    fn check_claim(&self, claims: &Claims) -> Result<(), AuthError> {
        let (name, ok) = match self {
            ClaimCheck::Custom(f) => return f(claims),
            ClaimCheck::Equals(name, expected) => {
                let v = get(claims, name)?;
                (name, &v == expected)
            }
            ClaimCheck::OneOf(name, expected) => {
                let v = get(claims, name)?;
                (name, expected.contains(&v))
            }
            ClaimCheck::ContainsAll(name, expected) => {
                let have = members(&get(claims, name)?);
                (name, expected.iter().all(|e| have.contains(e)))
            }
            ClaimCheck::ContainsAny(name, expected) => {
                let have = members(&get(claims, name)?);
                (name, expected.iter().any(|e| have.contains(e)))
            }
        };
        if ok {
            Ok(())
        } else {
            Err(AuthError::insufficient_scope(name.clone()))
        }
    }

    /// The scope a `ContainsAll`/`ContainsAny` check on `scope` requires, space-separated.
    fn required_scope(&self) -> Option<String> {
        let (ClaimCheck::ContainsAll(name, values) | ClaimCheck::ContainsAny(name, values)) = self
        else {
            return None;
        };
        (name == "scope").then(|| {
            values
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        })
    }
}

fn get(claims: &Claims, name: &str) -> Result<Value, AuthError> {
    claim_value(claims, name).ok_or_else(|| AuthError::insufficient_scope_absent(name.to_owned()))
}

fn members(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::String(s) => s
            .split(' ')
            .filter(|p| !p.is_empty())
            .map(|p| Value::String(p.to_owned()))
            .collect(),
        other => vec![other.clone()],
    }
}

/// A claim by name, reserved or extra, as JSON.
pub fn claim_value(claims: &Claims, name: &str) -> Option<Value> {
    Some(match name {
        "iss" => Value::from(claims.iss.as_str()),
        "sub" => Value::from(&claims.sub),
        "sid" => Value::from(claims.session_id()?),
        "styp" => Value::from(claims.session_type()?),
        "type" => Value::from(claims.token_type()?.as_str()),
        "jti" => Value::from(claims.jti.as_deref()?),
        "iat" => Value::from(claims.iat?),
        "nbf" => Value::from(claims.nbf?),
        "exp" => Value::from(claims.exp),
        "aud" => match claims.aud.as_slice() {
            [] => return None,
            [one] => Value::from(one.as_str()),
            many => Value::from(many.to_vec()),
        },
        other => return claims.extra(other).cloned(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::error::AuthErrorKind;
    use crate::token::TokenType;

    fn claims() -> Claims {
        let mut claims =
            Claims::new(TokenType::Access, "iss", "u", "s", "full", "j").with_validity(0, 10);
        claims
            .insert_extra("scope", Value::from("read write"))
            .unwrap();
        claims.insert_extra("role", Value::from("user")).unwrap();
        claims
    }

    #[test]
    fn route_checks_fail_as_403_insufficient_scope_with_charons_messages() {
        let wrong = ClaimCheck::Equals("role".into(), Value::from("admin"));
        let error = wrong.check(&claims()).unwrap_err();
        assert_eq!(error.kind(), AuthErrorKind::InsufficientScope);
        assert_eq!(error.status(), http::StatusCode::FORBIDDEN);
        assert_eq!(error.to_string(), "bearer token claim role invalid");
        assert_eq!(error.required_scope(), None);

        let absent = ClaimCheck::Equals("tenant".into(), Value::from("a"));
        let error = absent.check(&claims()).unwrap_err();
        assert_eq!(error.kind(), AuthErrorKind::InsufficientScope);
        assert_eq!(error.to_string(), "bearer token claim tenant not found");
    }

    #[test]
    fn a_scope_check_names_the_scope_it_requires() {
        let check = ClaimCheck::ContainsAll("scope".into(), vec!["read".into(), "admin".into()]);
        let error = check.check(&claims()).unwrap_err();
        assert_eq!(error.required_scope(), Some("read admin"));
        let mut unscoped = claims();
        unscoped.remove_extra("scope");
        let error = check.check(&unscoped).unwrap_err();
        assert_eq!(error.to_string(), "bearer token claim scope not found");
        assert_eq!(error.required_scope(), Some("read admin"));
        let ok = ClaimCheck::ContainsAny("scope".into(), vec!["admin".into(), "write".into()]);
        assert!(ok.check(&claims()).is_ok());
    }
}
