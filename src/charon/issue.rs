//! What every issuance shares: the claims of both tokens, signing, cookies.

use serde::Serialize;
use serde_json::{Map, Value};

use super::{Charon, IssuedTokens};
use crate::clock::UnixTime;
use crate::error::{SessionError, SessionErrorKind};
use crate::session::{Lifetimes, PayloadError, Session, SessionType, random_id};
use crate::token::{Claims, RESERVED_CLAIMS, TokenType};
use crate::transport::Transport;
use crate::verifier::Authenticated;

pub(super) fn invalid(message: &'static str) -> SessionError {
    SessionError::new(SessionErrorKind::InvalidInput, message)
}

/// `claims` as extra claims: a JSON object naming no reserved claim.
pub(super) fn to_claims<T: Serialize + ?Sized>(
    claims: &T,
) -> Result<Map<String, Value>, PayloadError> {
    let map = crate::session::to_object(claims)?;
    match map
        .keys()
        .find(|name| RESERVED_CLAIMS.contains(&name.as_str()))
    {
        Some(name) => Err(crate::session::reserved_claim(name.clone())),
        None => Ok(map),
    }
}

/// The session id and type an access token names.
pub(super) fn session_of(auth: &Authenticated) -> Result<(&str, SessionType), SessionError> {
    let (Some(sid), Some(styp)) = (auth.session_id(), auth.session_type()) else {
        return Err(invalid(
            "the token names no session (it is not one of this issuer's)",
        ));
    };
    let session_type = SessionType::new(styp).map_err(|_| invalid("invalid session type"))?;
    Ok((sid, session_type))
}

impl Charon {
    pub(super) fn clearing_cookies(&self) -> Vec<http::HeaderValue> {
        let cookies = self.cookies();
        vec![
            cookies.clear_access_cookie(),
            cookies.clear_refresh_cookie(),
        ]
    }

    /// The access and refresh claims of one issuance: the reserved ones, then the
    /// session's extra claims ([`Session::access_claims`], [`Session::refresh_claims`]).
    pub(super) fn claims_for(
        &self,
        session: &Session,
        lifetimes: &Lifetimes,
        now: UnixTime,
    ) -> Result<(Claims, Claims), SessionError> {
        let make = |token_type, jti: String, exp, extra: &Map<String, Value>| {
            let mut claims = Claims::new(
                token_type,
                self.issuer(),
                &session.user_id,
                session.id.as_str(),
                session.session_type.as_str(),
                jti,
            )
            .with_validity(now, exp)
            .with_audience(self.audiences().iter().cloned());
            for (name, value) in extra {
                claims
                    .insert_extra(name.as_str(), value.clone())
                    .map_err(|_| invalid("extra claims may not replace a reserved claim"))?;
            }
            Ok::<_, SessionError>(claims)
        };
        Ok((
            make(
                TokenType::Access,
                random_id(),
                lifetimes.access_expires_at,
                &session.access_claims,
            )?,
            make(
                TokenType::Refresh,
                session.refresh_token_id.clone(),
                lifetimes.refresh_expires_at,
                &session.refresh_claims,
            )?,
        ))
    }

    pub(super) fn issue(
        &self,
        session: Session,
        transport: Transport,
        lifetimes: &Lifetimes,
        (access, refresh): (Claims, Claims),
    ) -> Result<IssuedTokens, SessionError> {
        let sign = |claims: &Claims| {
            self.codec().sign(claims).map_err(|e| {
                SessionError::new(SessionErrorKind::Signing, "token signing failed").with_source(e)
            })
        };
        let access_token = sign(&access)?;
        let refresh_token = sign(&refresh)?;
        let cookies = self.cookies();
        let mut set_cookies = Vec::new();
        let (access_body, access_cookie) =
            crate::transport::split_for_transport(&access_token, transport);
        let (refresh_body, refresh_cookie) =
            crate::transport::split_for_transport(&refresh_token, transport);
        if let Some(value) = access_cookie {
            set_cookies.push(cookies.access_cookie(&value, lifetimes.access_ttl));
        }
        if let Some(value) = refresh_cookie {
            set_cookies.push(cookies.refresh_cookie(&value, lifetimes.refresh_ttl));
        }
        Ok(IssuedTokens {
            transport,
            access_token: access_body,
            refresh_token: refresh_body,
            access_token_exp: lifetimes.access_expires_at,
            refresh_token_exp: lifetimes.refresh_expires_at,
            set_cookies,
            session,
        })
    }
}
