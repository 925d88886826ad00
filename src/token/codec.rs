//! Signing and verifying Charon JWTs.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto;
use jsonwebtoken::errors::ErrorKind as JwtErrorKind;

use crate::clock::UnixTime;
use crate::error::{AuthError, AuthErrorKind, ConfigError, ConfigErrorKind};
use crate::token::claims::{Claims, ClaimsProfile, TokenType};
use crate::token::gate::{self, MAX_TOKEN_LEN};
use crate::token::header;
use crate::token::key::{Key, MAX_HMAC_LEN, alg_name};
use crate::token::keyset::{KID_NOT_SET_PREFIX, Keyset};
use crate::token::sign_error::{SignError, SignErrorKind};
use crate::token::verified::VerifiedJws;

/// Clock leeway used unless configured otherwise: 5 s, Charon's hard-coded value.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(5);

/// Largest accepted clock leeway: 60 s.
pub const MAX_LEEWAY: Duration = Duration::from_secs(60);

/// Signs and verifies Charon JWTs with a [`Keyset`] and an issuer.
///
/// Cheap to clone (an `Arc` inside). The header of every key is encoded once, at
/// construction: signing writes it as is, and verification recognises it byte for byte
/// without parsing JSON (Charon's fast path). Other headers go through the full checks of
/// [`verify_signature`](Self::verify_signature).
///
/// ```
/// use charon_auth::token::{Claims, JwtCodec, Key, Keyset, TokenType};
/// let codec = JwtCodec::new(Keyset::new("k1", Key::hs256(&[9u8; 32])?)?, "my-app")?;
/// let claims = Claims::new(TokenType::Access, "my-app", "user-1", "sid-1", "full", "jti-1")
///     .with_validity(1_000, 1_900);
/// let token = codec.sign(&claims)?;
/// assert_eq!(codec.verify(&token, 1_000, TokenType::Access)?, claims);
/// assert!(codec.verify(&token, 1_905, TokenType::Access).is_err()); // expired (5 s leeway)
/// assert!(codec.verify(&token, 1_000, TokenType::Refresh).is_err()); // wrong type
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct JwtCodec {
    inner: Arc<Inner>,
}

#[derive(Clone, Debug)]
struct Inner {
    keyset: Keyset,
    issuer: String,
    leeway: Duration,
    leeway_secs: i64,
    /// Longest accepted `exp - iat` of access tokens, in seconds.
    max_access_lifetime: Option<i64>,
    /// Longest accepted `exp - iat` of refresh tokens, in seconds.
    max_refresh_lifetime: Option<i64>,
    /// Which claims tokens must carry.
    profile: ClaimsProfile,
    /// Accepted audiences; empty: tokens must carry no `aud`.
    audiences: Vec<String>,
    /// Encoded header of the signing key; `None` for a verify-only keyset.
    signing_header: Option<String>,
    /// Encoded header of every key -> its kid.
    known_headers: HashMap<String, String>,
}

impl JwtCodec {
    /// A codec signing with `keyset`'s signing key and accepting only tokens whose `iss`
    /// equals `issuer`. The leeway is [`DEFAULT_LEEWAY`].
    ///
    /// A verify-only keyset ([`Keyset::verify_only`], [`Keyset::from_jwks`]) gives a codec
    /// that verifies with every key and refuses to sign
    /// ([`SignErrorKind::NoSigningKey`](crate::token::SignErrorKind::NoSigningKey)).
    ///
    /// An empty issuer is [`ConfigErrorKind::Missing`].
    pub fn new(keyset: Keyset, issuer: impl Into<String>) -> Result<Self, ConfigError> {
        let issuer = issuer.into();
        if issuer.is_empty() {
            return Err(ConfigError::new(
                ConfigErrorKind::Missing,
                "the token issuer must not be empty",
            ));
        }
        let signing_header = keyset
            .signing_kid()
            .zip(keyset.signing_key())
            .map(|(kid, key)| header::encode(alg_name(key.algorithm()), kid));
        let known_headers = keyset
            .iter()
            .map(|(kid, key)| {
                (
                    header::encode(alg_name(key.algorithm()), kid),
                    kid.to_owned(),
                )
            })
            .collect();
        Ok(Self {
            inner: Arc::new(Inner {
                keyset,
                issuer,
                leeway: DEFAULT_LEEWAY,
                leeway_secs: secs(DEFAULT_LEEWAY),
                max_access_lifetime: None,
                max_refresh_lifetime: None,
                profile: ClaimsProfile::Charon,
                audiences: Vec::new(),
                signing_header,
                known_headers,
            }),
        })
    }

    /// Set the clock leeway applied to `exp`, `nbf` and `iat`, in whole seconds (a fraction
    /// of a second is dropped). Defaults to [`DEFAULT_LEEWAY`] (5 s); more than
    /// [`MAX_LEEWAY`] (60 s) is [`ConfigErrorKind::LeewayTooLarge`].
    pub fn with_leeway(mut self, leeway: Duration) -> Result<Self, ConfigError> {
        if leeway > MAX_LEEWAY {
            return Err(ConfigError::new(
                ConfigErrorKind::LeewayTooLarge,
                "the clock leeway must be at most 60 s",
            ));
        }
        let inner = Arc::make_mut(&mut self.inner);
        inner.leeway = Duration::from_secs(leeway.as_secs());
        inner.leeway_secs = secs(leeway);
        Ok(self)
    }

    /// Refuse tokens of `token_type` whose lifetime (`exp - iat`) exceeds `max` plus the
    /// leeway (`claim_invalid("exp")`): a token minted for ten years, or one issued a month
    /// ago whose `exp` still lies ahead, is not one this issuer hands out. Whole seconds.
    /// Without it (the codec's default) any lifetime passes; the [`Charon`](crate::Charon)
    /// handle sets it to the TTLs it issues.
    #[must_use]
    pub fn with_max_lifetime(mut self, token_type: TokenType, max: Duration) -> Self {
        let inner = Arc::make_mut(&mut self.inner);
        let slot = match token_type {
            TokenType::Access => &mut inner.max_access_lifetime,
            TokenType::Refresh => &mut inner.max_refresh_lifetime,
        };
        *slot = Some(i64::try_from(max.as_secs()).unwrap_or(i64::MAX));
        self
    }

    /// The longest accepted lifetime of tokens of `token_type`, if limited.
    pub fn max_lifetime(&self, token_type: TokenType) -> Option<Duration> {
        self.inner
            .max_lifetime_secs(token_type)
            .map(|s| Duration::from_secs(u64::try_from(s).unwrap_or(0)))
    }

    /// Read tokens with `profile`: which claims they must carry. Defaults to
    /// [`ClaimsProfile::Charon`].
    #[must_use]
    pub fn with_profile(mut self, profile: ClaimsProfile) -> Self {
        Arc::make_mut(&mut self.inner).profile = profile;
        self
    }

    /// The claims profile.
    pub fn profile(&self) -> ClaimsProfile {
        self.inner.profile
    }

    /// Accept tokens whose `aud` names one of `audiences` (RFC 7519 section 4.1.3); tokens
    /// without `aud`, or naming none of them, are refused (`claim_invalid("aud")`). Without
    /// audiences (the default) a token carrying `aud` is refused: a token meant for a named
    /// audience is not meant for a service that names none.
    #[must_use]
    pub fn with_audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Arc::make_mut(&mut self.inner).audiences = audiences.into_iter().map(Into::into).collect();
        self
    }

    /// The accepted audiences.
    pub fn audiences(&self) -> &[String] {
        &self.inner.audiences
    }

    /// The keyset.
    pub fn keyset(&self) -> &Keyset {
        &self.inner.keyset
    }

    /// The issuer written to and required in `iss`.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The clock leeway.
    pub fn leeway(&self) -> Duration {
        self.inner.leeway
    }

    /// Sign `claims` with the signing key: `header.payload.signature`, each base64url
    /// without padding, the header exactly `{"alg":"..","typ":"JWT","kid":".."}`.
    ///
    /// The claims are signed as given; [`verify`](Self::verify) later requires `iss` to equal
    /// this codec's issuer.
    ///
    /// A verify-only keyset cannot sign:
    /// [`SignErrorKind::NoSigningKey`](crate::token::SignErrorKind::NoSigningKey).
    pub fn sign(&self, claims: &Claims) -> Result<String, SignError> {
        let inner = &*self.inner;
        let (Some(key), Some(signing_header)) =
            (inner.keyset.signing_key(), inner.signing_header.as_deref())
        else {
            return Err(SignError::no_signing_key());
        };
        let Some(encoding) = key.encoding_key() else {
            // Unreachable: a keyset only accepts signing keys as its signing key.
            return Err(SignError::new(
                SignErrorKind::Backend,
                jsonwebtoken::errors::Error::from(JwtErrorKind::InvalidKeyFormat),
            ));
        };
        let json =
            serde_json::to_vec(claims).map_err(|e| SignError::new(SignErrorKind::Encoding, e))?;
        // Header, payload, two dots, and room for the longest signature (RSA-4096: 683).
        let mut token =
            String::with_capacity(signing_header.len() + json.len().div_ceil(3) * 4 + 685);
        token.push_str(signing_header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&json, &mut token);
        if let Some(hmac) = key.hmac_key() {
            let mut tag = [0u8; MAX_HMAC_LEN];
            let n = hmac.sign(token.as_bytes(), &mut tag);
            token.push('.');
            URL_SAFE_NO_PAD.encode_string(tag.get(..n).unwrap_or_default(), &mut token);
        } else {
            let signature = crypto::sign(token.as_bytes(), encoding, key.algorithm())
                .map_err(|e| SignError::new(SignErrorKind::Backend, e))?;
            token.push('.');
            token.push_str(&signature);
        }
        if token.len() > MAX_TOKEN_LEN {
            // Verification would refuse it: never issue a token that cannot be used.
            return Err(SignError::new(
                SignErrorKind::TooLong,
                TokenTooLong(token.len()),
            ));
        }
        Ok(token)
    }

    /// Check a token's form, header and signature, without looking at its claims.
    ///
    /// In order, each failure an [`AuthError`] of the named kind:
    /// 1. the gate: at most [`MAX_TOKEN_LEN`](crate::token::MAX_TOKEN_LEN) bytes, base64url
    ///    characters and exactly two dots, non-empty header and signature
    ///    ([`TokenMalformed`](AuthErrorKind::TokenMalformed));
    /// 2. the header: if it is byte for byte the header this codec writes for one of its keys,
    ///    that key is used directly. Otherwise it must be a JSON object without duplicate
    ///    keys, with a string `alg` and an optional string `kid` (`TokenMalformed`), no
    ///    parameter outside [`ALLOWED_HEADER_PARAMS`](crate::token::ALLOWED_HEADER_PARAMS)
    ///    and a `typ`, if any, of `JWT` or `at+jwt`
    ///    ([`HeaderForbidden`](AuthErrorKind::HeaderForbidden)), and `alg` not `none`
    ///    ([`AlgorithmMismatch`](AuthErrorKind::AlgorithmMismatch));
    /// 3. the key: the `kid`, or `kid_not_set.<alg>` when there is none, must be in the
    ///    keyset ([`KeyNotFound`](AuthErrorKind::KeyNotFound)) and its algorithm must equal
    ///    the header `alg` (`AlgorithmMismatch`);
    /// 4. the signature over `header.payload` with that key: a mismatch, or a signature
    ///    segment that is not canonical base64url, is
    ///    [`SignatureInvalid`](AuthErrorKind::SignatureInvalid);
    /// 5. the payload must be base64url (`TokenMalformed`).
    pub fn verify_signature(&self, token: &str) -> Result<VerifiedJws, AuthError> {
        let (kid, key, segments) = self.check_signature(token)?;
        let payload = URL_SAFE_NO_PAD
            .decode(segments.payload)
            .map_err(|_| AuthError::new(AuthErrorKind::TokenMalformed))?;
        Ok(VerifiedJws {
            kid: kid.into_owned(),
            algorithm: key.algorithm(),
            payload,
        })
    }

    /// [`verify_signature`](Self::verify_signature) followed by
    /// [`Claims::from_payload`], without the intermediate [`VerifiedJws`]: a payload of
    /// Charon's usual size is decoded on the stack. The request hot path.
    pub(crate) fn verify_claims(&self, token: &str) -> Result<Claims, AuthError> {
        const STACK_PAYLOAD: usize = 1024;
        let (_, _, segments) = self.check_signature(token)?;
        let malformed = || AuthError::new(AuthErrorKind::TokenMalformed);
        if segments.payload.len() / 4 * 3 + 3 <= STACK_PAYLOAD {
            let mut buf = [0u8; STACK_PAYLOAD];
            let n = URL_SAFE_NO_PAD
                .decode_slice(segments.payload, &mut buf)
                .map_err(|_| malformed())?;
            Claims::from_payload_with(buf.get(..n).unwrap_or_default(), self.inner.profile)
        } else {
            let payload = URL_SAFE_NO_PAD
                .decode(segments.payload)
                .map_err(|_| malformed())?;
            Claims::from_payload_with(&payload, self.inner.profile)
        }
    }

    /// Steps 1 to 4 of [`verify_signature`](Self::verify_signature): the kid, key and
    /// segments of a token whose signature verified.
    fn check_signature<'t>(
        &self,
        token: &'t str,
    ) -> Result<(Cow<'_, str>, &Key, gate::Segments<'t>), AuthError> {
        let inner = &*self.inner;
        let segments = gate::split(token)?;
        let signing = inner
            .signing_header
            .as_deref()
            .filter(|h| *h == segments.header)
            .and_then(|_| inner.keyset.signing_kid().zip(inner.keyset.signing_key()));
        let (kid, key) = if let Some((kid, key)) = signing {
            (Cow::Borrowed(kid), key)
        } else if let Some(kid) = inner.known_headers.get(segments.header) {
            let key = inner
                .keyset
                .get(kid)
                .ok_or(AuthError::new(AuthErrorKind::KeyNotFound))?;
            (Cow::Borrowed(kid.as_str()), key)
        } else {
            let header = header::parse(segments.header)?;
            let kid = header
                .kid
                .unwrap_or_else(|| format!("{KID_NOT_SET_PREFIX}{}", header.alg));
            let key = inner
                .keyset
                .get(&kid)
                .ok_or(AuthError::new(AuthErrorKind::KeyNotFound))?;
            if header.alg != alg_name(key.algorithm()) {
                return Err(AuthError::new(AuthErrorKind::AlgorithmMismatch));
            }
            (Cow::Owned(kid), key)
        };
        check(key, segments)?;
        Ok((kid, key, segments))
    }

    /// Verify a token completely and return its claims.
    ///
    /// Checks, in order, the first failure winning:
    /// 1. everything [`verify_signature`](Self::verify_signature) checks;
    /// 2. the claims: a JSON object without duplicate keys, with the claims of the
    ///    [profile](Self::with_profile) (Charon: all of `exp nbf iat iss sub sid styp type
    ///    jti`), each of the right type (see [`Claims::from_payload_with`]);
    /// 3. time, with `leeway` L: `now >= exp + L` is [`Expired`](AuthErrorKind::Expired);
    ///    `now < nbf - L` and `now < iat - L` are [`NotYetValid`](AuthErrorKind::NotYetValid)
    ///    (an absent `nbf` or `iat` is not checked);
    /// 4. `iss` must equal the issuer (`claim_invalid("iss")`);
    /// 5. `aud` must name one of the [audiences](Self::with_audiences), or be absent when
    ///    there are none (`claim_invalid("aud")`);
    /// 6. `type` must equal `expected` (`claim_invalid("type")`); a token naming no session
    ///    (another issuer's) counts as an access token;
    /// 7. with a [maximum lifetime](Self::with_max_lifetime) for `expected`, `exp - iat`
    ///    must not exceed it plus the leeway (`claim_invalid("exp")`).
    ///
    /// `now` is the request's single time reading (see [`Clock`](crate::clock::Clock)).
    pub fn verify(
        &self,
        token: &str,
        now: UnixTime,
        expected: TokenType,
    ) -> Result<Claims, AuthError> {
        let claims = self.verify_claims(token)?;
        self.validate(&claims, now, expected)?;
        Ok(claims)
    }

    /// Steps 3 to 5 of [`verify`](Self::verify) on claims that are already parsed.
    pub fn validate(
        &self,
        claims: &Claims,
        now: UnixTime,
        expected: TokenType,
    ) -> Result<(), AuthError> {
        let leeway = self.inner.leeway_secs;
        if now >= claims.exp.saturating_add(leeway) {
            return Err(AuthError::new(AuthErrorKind::Expired));
        }
        let too_early = |t: Option<UnixTime>| t.is_some_and(|t| now < t.saturating_sub(leeway));
        if too_early(claims.nbf) || too_early(claims.iat) {
            return Err(AuthError::new(AuthErrorKind::NotYetValid));
        }
        if claims.iss != self.inner.issuer {
            return Err(AuthError::claim_invalid("iss"));
        }
        let audiences = &self.inner.audiences;
        let audience_ok = if audiences.is_empty() {
            claims.aud.is_empty()
        } else {
            audiences.iter().any(|a| claims.has_audience(a))
        };
        if !audience_ok {
            return Err(AuthError::claim_invalid("aud"));
        }
        match claims.token_type() {
            Some(t) if t == expected => {}
            None if expected == TokenType::Access => {}
            Some(_) => return Err(AuthError::claim_invalid("type")),
            None => return Err(AuthError::claim_not_found("type")),
        }
        if let (Some(max), Some(iat)) = (self.inner.max_lifetime_secs(expected), claims.iat)
            && claims.exp.saturating_sub(iat) > max.saturating_add(leeway)
        {
            return Err(AuthError::claim_invalid("exp"));
        }
        Ok(())
    }
}

impl Inner {
    fn max_lifetime_secs(&self, token_type: TokenType) -> Option<i64> {
        match token_type {
            TokenType::Access => self.max_access_lifetime,
            TokenType::Refresh => self.max_refresh_lifetime,
        }
    }
}

/// A signed token longer than [`MAX_TOKEN_LEN`] (too many extra claims).
#[derive(Debug, thiserror::Error)]
#[error("token of {0} bytes exceeds the {MAX_TOKEN_LEN}-byte limit")]
struct TokenTooLong(usize);

/// Verify the signature with the chosen key.
fn check(key: &Key, segments: gate::Segments<'_>) -> Result<(), AuthError> {
    let alg = key.algorithm();
    if let Some(hmac) = key.hmac_key() {
        // HS*: the keyed HMAC state is precomputed; the tag is compared in constant time.
        // The same engine as jsonwebtoken's refuses non-canonical base64url, and a segment
        // longer than any HMAC tag does not fit the buffer: both are invalid signatures.
        let mut tag = [0u8; MAX_HMAC_LEN];
        let valid = URL_SAFE_NO_PAD
            .decode_slice(segments.signature, &mut tag)
            .ok()
            .and_then(|n| tag.get(..n))
            .is_some_and(|tag| hmac.verify(segments.signing_input.as_bytes(), tag));
        if !valid {
            return Err(AuthError::new(AuthErrorKind::SignatureInvalid));
        }
        Ok(())
    } else {
        verify_with_jsonwebtoken(key, alg, segments)
    }
}

/// Asymmetric algorithms: jsonwebtoken's `crypto::verify`.
fn verify_with_jsonwebtoken(
    key: &Key,
    alg: jsonwebtoken::Algorithm,
    segments: gate::Segments<'_>,
) -> Result<(), AuthError> {
    match crypto::verify(
        segments.signature,
        segments.signing_input.as_bytes(),
        key.decoding_key(),
        alg,
    ) {
        Ok(true) => {}
        Ok(false) => return Err(AuthError::new(AuthErrorKind::SignatureInvalid)),
        // The signature segment does not decode (wrong length, non-canonical last
        // character): no valid signature looks like that.
        Err(e) => return Err(AuthError::new(AuthErrorKind::SignatureInvalid).with_source(e)),
    }
    Ok(())
}

fn secs(d: Duration) -> i64 {
    // At most MAX_LEEWAY (60 s) by the time this is called.
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

    const SECRET: [u8; 64] = [0x5a; 64];

    fn codec(alg: Algorithm) -> JwtCodec {
        let key = Key::hmac(alg, &SECRET).unwrap();
        JwtCodec::new(Keyset::new("k1", key).unwrap(), "iss").unwrap()
    }

    fn claims() -> Claims {
        Claims::new(TokenType::Access, "iss", "u", "s", "full", "j").with_validity(100, 200)
    }

    /// The precomputed HMAC path signs and verifies exactly as jsonwebtoken does.
    #[test]
    fn hmac_fast_path_agrees_with_jsonwebtoken() {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let codec = codec(alg);
            let token = codec.sign(&claims()).unwrap();
            let (input, sig) = token.rsplit_once('.').unwrap();
            let theirs =
                crypto::sign(input.as_bytes(), &EncodingKey::from_secret(&SECRET), alg).unwrap();
            assert_eq!(sig, theirs, "{alg:?}");
            assert!(
                crypto::verify(
                    sig,
                    input.as_bytes(),
                    &DecodingKey::from_secret(&SECRET),
                    alg
                )
                .unwrap()
            );
            assert_eq!(
                codec.verify(&token, 150, TokenType::Access).unwrap(),
                claims()
            );
        }
    }

    /// A verify-only keyset verifies with every key through the precomputed headers
    /// (HS* fast path included) and refuses to sign with a typed error.
    #[test]
    fn verify_only_codec_verifies_and_refuses_to_sign() {
        let signer = codec(Algorithm::HS256);
        let token = signer.sign(&claims()).unwrap();
        let other = Key::hmac(Algorithm::HS256, &[0x11; 32]).unwrap();
        let keyset = Keyset::verify_only([
            ("k1", Key::hmac(Algorithm::HS256, &SECRET).unwrap()),
            ("k2", other.clone()),
        ])
        .unwrap();
        let verifier = JwtCodec::new(keyset, "iss").unwrap();
        assert!(verifier.inner.signing_header.is_none());
        // The token's header is the precomputed one of kid k1.
        let header = token.split('.').next().unwrap();
        assert_eq!(
            verifier.inner.known_headers.get(header).map(String::as_str),
            Some("k1")
        );
        assert_eq!(
            verifier.verify(&token, 150, TokenType::Access).unwrap(),
            claims()
        );
        let err = verifier.sign(&claims()).unwrap_err();
        assert_eq!(err.kind(), SignErrorKind::NoSigningKey);
        assert!(err.to_string().starts_with("could not create jwt"));
        // Tokens of the second key verify too, and a third key's tokens do not.
        let second = JwtCodec::new(Keyset::new("k2", other).unwrap(), "iss").unwrap();
        let token = second.sign(&claims()).unwrap();
        assert_eq!(
            verifier.verify(&token, 150, TokenType::Access).unwrap(),
            claims()
        );
        let stranger = Key::hmac(Algorithm::HS256, &[0x22; 32]).unwrap();
        let third = JwtCodec::new(Keyset::new("k2", stranger).unwrap(), "iss").unwrap();
        let token = third.sign(&claims()).unwrap();
        let err = verifier.verify(&token, 150, TokenType::Access).unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::SignatureInvalid);
    }

    #[test]
    fn hmac_fast_path_refuses_odd_signature_segments() {
        let codec = codec(Algorithm::HS256);
        let token = codec.sign(&claims()).unwrap();
        let (input, sig) = token.rsplit_once('.').unwrap();
        let bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
        // 32 bytes = 43 characters whose last one carries 2 unused bits: set one.
        let last = sig.chars().last().unwrap();
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let pos = alphabet.find(last).unwrap();
        let non_canonical = alphabet.chars().nth(pos ^ 1).unwrap();
        let twin = format!("{input}.{}{non_canonical}", &sig[..sig.len() - 1]);
        let longer = format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode([bytes.clone(), bytes].concat())
        );
        let oversized = format!("{input}.{}", URL_SAFE_NO_PAD.encode([7u8; 200]));
        for bad in [twin, longer, oversized] {
            let err = codec.verify(&bad, 150, TokenType::Access).unwrap_err();
            assert_eq!(err.kind(), AuthErrorKind::SignatureInvalid, "{bad}");
        }
    }
}
