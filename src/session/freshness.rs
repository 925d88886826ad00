//! Token generations: which refresh tokens are still fresh (Charon's `verify_token_fresh`).
//!
//! A generation is the set of refresh tokens issued within `new_cycle_after` of its first
//! token. The refresh layer accepts tokens from the current and the previous generation, so
//! a client that lost a refresh response can retry; anything older is stale and, by
//! default, treated as reuse of a stolen token.
//!
//! | time | token | current gen | previous gen | fresh |
//! |---|---|---|---|---|
//! | 0 | A | g1(0): A | – | A |
//! | 10 | B | g2(10): B | g1(0): A | A, B |
//! | 12 | C | g2(10): B, C | g1 | A, B, C |
//! | 20 | D | g3(20): D | g2(10): B, C | B, C, D |
//! | 30 | E | g4(30): E | g3(20): D | D, E |

use super::Session;
use crate::clock::UnixTime;

/// The outcome of a freshness check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    /// Whether the token's `iat` lies in the current or previous generation.
    pub fresh: bool,
    /// Whether the refresh about to happen starts a new generation.
    pub new_cycle: bool,
}

/// Check a refresh token issued at `iat` against `session` at `now`.
///
/// A new cycle starts when the current generation is older than `new_cycle_after`
/// (strictly). The token is fresh when `iat >= fresh_from - leeway`, where `fresh_from`
/// is the start of the generation that will be the previous one after this refresh.
pub fn check(
    session: &Session,
    iat: UnixTime,
    now: UnixTime,
    new_cycle_after: i64,
    leeway: i64,
) -> Freshness {
    let new_cycle = session.tokens_fresh_from.saturating_add(new_cycle_after) < now;
    let fresh_from = if new_cycle {
        session.tokens_fresh_from
    } else {
        session.prev_tokens_fresh_from
    };
    Freshness {
        fresh: iat >= fresh_from.saturating_sub(leeway),
        new_cycle,
    }
}

/// Start a new generation at `now` (the current one becomes the previous one).
pub fn cycle(session: &mut Session, now: UnixTime) {
    session.prev_tokens_fresh_from = session.tokens_fresh_from;
    session.tokens_fresh_from = now;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionType;

    /// Replays Charon's documented table: tokens issued at 0, 10, 12, 20, 30 with
    /// `new_cycle_after = 5` (strictly older than 5 s starts a new generation), leeway 0.
    #[test]
    fn charons_generation_table() {
        let mut s = Session::new(
            "sid".into(),
            "u".into(),
            SessionType::default(),
            0,
            None,
            1000,
            "r".into(),
        );
        // Token A issued at creation (t = 0).
        let issued = [0_i64, 10, 12, 20, 30];
        let expected_fresh: [&[i64]; 5] = [&[0], &[0, 10], &[0, 10, 12], &[10, 12, 20], &[20, 30]];
        for (i, &t) in issued.iter().enumerate() {
            if t > 0 {
                // A refresh at time t with the newest token.
                let f = check(&s, issued[i - 1], t, 5, 0);
                assert!(f.fresh);
                if f.new_cycle {
                    cycle(&mut s, t);
                }
            }
            // Right after this refresh, the tokens of the current and previous generations
            // are accepted.
            for &iat in &issued[..=i] {
                let accepted_now = iat >= s.prev_tokens_fresh_from;
                assert_eq!(
                    accepted_now,
                    expected_fresh[i].contains(&iat),
                    "t={t} iat={iat}"
                );
            }
        }
    }

    #[test]
    fn stale_after_two_cycles_and_leeway_applies() {
        let mut s = Session::new(
            "sid".into(),
            "u".into(),
            SessionType::default(),
            100,
            None,
            1000,
            "r".into(),
        );
        // Within the first generation, the login token is fresh.
        assert_eq!(
            check(&s, 100, 105, 10, 5),
            Freshness {
                fresh: true,
                new_cycle: false
            }
        );
        // 11 s later a new cycle starts; the login token is in the generation that becomes
        // the previous one: still fresh.
        let f = check(&s, 100, 111, 10, 5);
        assert_eq!(
            f,
            Freshness {
                fresh: true,
                new_cycle: true
            }
        );
        cycle(&mut s, 111);
        // Another cycle later the login token is stale; within leeway it is not.
        let f = check(&s, 100, 130, 10, 5);
        assert!(f.new_cycle);
        assert!(!f.fresh);
        assert!(check(&s, 106, 130, 10, 5).fresh);
        assert!(!check(&s, 105, 130, 10, 5).fresh);
    }
}
