//! Random identifiers: session ids, refresh token ids, access token ids.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;

/// Longest accepted user id (claim `sub`), in bytes.
pub const MAX_USER_ID_LEN: usize = 1024;

/// Longest accepted session id (claim `sid`), in bytes. Ours are 22.
pub const MAX_SESSION_ID_LEN: usize = 128;

/// Whether `id` is an acceptable user id: 1 to [`MAX_USER_ID_LEN`] bytes without control
/// characters (C0, DEL, C1). Any other text is fine: stores encode user ids injectively.
pub fn is_valid_user_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_USER_ID_LEN && !id.chars().any(char::is_control)
}

/// Whether `id` is an acceptable session id: 1 to [`MAX_SESSION_ID_LEN`] bytes of the
/// base64url alphabet `[A-Za-z0-9_-]`. Our ids (and Charon's default ones) are 22 such
/// characters; the rule keeps anything hostile (quotes, `;`, NUL, braces, CRLF, `.` which
/// stores use as a separator) away from the store.
pub fn is_valid_session_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_SESSION_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A new random id: 16 bytes from the OS-seeded CSPRNG, base64url without padding
/// (22 characters), as Charon's `random_url_encoded(16)`. Never derived from user input,
/// and never contains `.` (stores rely on that).
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_22_url_safe_chars_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let id = random_id();
            assert_eq!(id.len(), 22);
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert!(is_valid_session_id(&id));
            assert!(seen.insert(id));
        }
    }

    #[test]
    fn id_rules() {
        for bad in [
            "",
            "a.b",
            "a\"b",
            "a;b",
            "a\0b",
            "{x}",
            "a\r\nb",
            "é",
            &"a".repeat(129),
        ] {
            assert!(!is_valid_session_id(bad), "{bad:?}");
        }
        assert!(is_valid_session_id(&"a".repeat(128)));
        for bad in ["", "a\0", "a\r\nb", "\u{7f}", "\u{85}", &"u".repeat(1025)] {
            assert!(!is_valid_user_id(bad), "{bad:?}");
        }
        for good in [
            "42",
            "alice@example.com",
            "{weird}:%id",
            "ünïcödé",
            &"u".repeat(1024),
        ] {
            assert!(is_valid_user_id(good), "{good:?}");
        }
    }
}
