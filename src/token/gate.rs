//! The lexical gate every token passes before any decoding: size, charset, segments.

use crate::error::{AuthError, AuthErrorKind};

/// Longest accepted token, in bytes (8 KiB). Charon tokens are a few hundred bytes; the cap
/// bounds the work an unauthenticated client can cause.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The three segments of a compact JWS, still base64url-encoded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segments<'a> {
    /// `header.payload`: the bytes the signature covers.
    pub(crate) signing_input: &'a str,
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) signature: &'a str,
}

/// Split a compact JWS after checking its shape.
///
/// Refused with [`AuthErrorKind::TokenMalformed`]: more than [`MAX_TOKEN_LEN`] bytes, any
/// byte outside the base64url alphabet and `.`, a number of segments other than two or
/// three, an empty header. A token without its signature (`header.payload`, what a
/// split-token client sends when its signature cookie is missing, or `header.payload.`)
/// is [`AuthErrorKind::SignatureInvalid`]: Charon's message for it, "bearer token signature
/// invalid", then names exactly what is wrong. The payload may be empty (RFC 7515 allows
/// it; claim parsing refuses it later).
pub(crate) fn split(token: &str) -> Result<Segments<'_>, AuthError> {
    let malformed = || AuthError::new(AuthErrorKind::TokenMalformed);
    if token.len() > MAX_TOKEN_LEN {
        return Err(malformed());
    }
    let mut dots = [0usize; 2];
    let mut count = 0usize;
    for (i, byte) in token.bytes().enumerate() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => {}
            b'.' => {
                let slot = dots.get_mut(count).ok_or_else(malformed)?;
                *slot = i;
                count += 1;
            }
            _ => return Err(malformed()),
        }
    }
    let no_signature = || AuthError::new(AuthErrorKind::SignatureInvalid);
    if count == 1 && dots[0] > 0 {
        return Err(no_signature());
    }
    if count != 2 {
        return Err(malformed());
    }
    let [first, second] = dots;
    let signing_input = token.get(..second).ok_or_else(malformed)?;
    let header = token.get(..first).ok_or_else(malformed)?;
    let payload = token.get(first + 1..second).ok_or_else(malformed)?;
    let signature = token.get(second + 1..).ok_or_else(malformed)?;
    if header.is_empty() {
        return Err(malformed());
    }
    if signature.is_empty() {
        return Err(no_signature());
    }
    Ok(Segments {
        signing_input,
        header,
        payload,
        signature,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn splits_three_segments() {
        let s = split("aa.bb.cc").unwrap();
        assert_eq!((s.header, s.payload, s.signature), ("aa", "bb", "cc"));
        assert_eq!(s.signing_input, "aa.bb");
        assert_eq!(split("aa..cc").unwrap().payload, "");
    }

    #[test]
    fn refuses_bad_shapes() {
        let long = format!("a.b.{}", "c".repeat(MAX_TOKEN_LEN));
        for bad in [
            "", "a", ".b", "a.b.c.d", ".b.c", "..", "a.b.c=", "a.b.c+", "a.b/.c", "a b.c.d",
            "a.b.c\n", "é.b.c", &long,
        ] {
            let err = split(bad).unwrap_err();
            assert_eq!(err.kind(), AuthErrorKind::TokenMalformed, "{bad:?}");
        }
        // No signature: what a split-token client sends without its cookie.
        for unsigned in ["a.b", "a.b.", "a."] {
            let err = split(unsigned).unwrap_err();
            assert_eq!(err.kind(), AuthErrorKind::SignatureInvalid, "{unsigned:?}");
            assert_eq!(err.to_string(), "bearer token signature invalid");
        }
        let max = format!("a.b.{}", "c".repeat(MAX_TOKEN_LEN - 4));
        assert!(split(&max).is_ok());
    }
}
