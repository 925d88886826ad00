//! [`Verifier::health`]: every trusted issuer has keys to verify with.

use std::borrow::Cow;
use std::time::Instant;

use super::Verifier;
use super::slot::IssuerSlot;
use crate::health::{Check, CheckErrorKind, HealthReport, HealthStatus};

impl Verifier {
    /// Whether every trusted issuer has keys to verify with: one check per issuer, named
    /// `keys` for the first (the [primary](Self::issuers) one) and `keys:<iss>` for each
    /// other. Keys given at build time are always present; keys from a remote JWKS
    /// ([`IssuerKeys::Remote`](super::IssuerKeys), feature `jwks`) are checked as
    /// [`Check::remote_keys`] does: ok while fresh, degraded while stale (the last refresh
    /// failed, the keys are kept), failed with none (their tokens answer 503).
    ///
    /// Instant (no I/O, no fetch): it reads what the verifier holds.
    pub fn health(&self) -> HealthReport {
        let inner = &self.inner;
        let mut report = HealthReport::new();
        report.push(keys_check("keys".into(), &inner.primary));
        for slot in &inner.others {
            report.push(keys_check(format!("keys:{}", slot.iss()).into(), slot));
        }
        report
    }
}

fn keys_check(name: Cow<'static, str>, slot: &IssuerSlot) -> Check {
    #[cfg(feature = "jwks")]
    if let Some(jwks) = slot.remote() {
        return Check::remote_keys(name, jwks);
    }
    let start = Instant::now();
    let present = slot.static_codec().is_some_and(|c| !c.keyset().is_empty());
    let latency = start.elapsed();
    if present {
        Check::ok(name, latency)
    } else {
        Check::not_ok(name, HealthStatus::Failed, latency, CheckErrorKind::NoKeys)
    }
}

#[cfg(test)]
mod tests {
    use crate::health::HealthStatus;
    use crate::token::{Key, Keyset};
    use crate::verifier::{TrustedIssuer, Verifier};

    #[test]
    fn one_keys_check_per_trusted_issuer() {
        let keys = |b| Keyset::new("k", Key::hs256(&[b; 32]).unwrap()).unwrap();
        let verifier = Verifier::builder()
            .trust(TrustedIssuer::charon("https://a.example", keys(1)))
            .trust(TrustedIssuer::external("https://idp.example", keys(2)))
            .build()
            .unwrap();
        let report = verifier.health();
        let names: Vec<_> = report.checks().iter().map(|c| c.name()).collect();
        assert_eq!(names, ["keys", "keys:https://idp.example"]);
        assert_eq!(report.status(), HealthStatus::Ok);
    }
}
