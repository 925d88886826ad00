//! Selection of jsonwebtoken's process-wide crypto backend.
//!
//! jsonwebtoken picks its backend from its crate features. When both `aws_lc_rs` and
//! `rust_crypto` are enabled (as `--all-features` does) it cannot choose and would panic on
//! first use, so this crate installs aws-lc-rs as the process default before building any
//! key. An application that installed its own provider earlier keeps it.

#[cfg(not(any(feature = "aws_lc_rs", feature = "rust_crypto")))]
compile_error!("charon-auth needs a crypto backend: enable feature `aws_lc_rs` or `rust_crypto`");

/// Make sure jsonwebtoken has a crypto provider. Cheap after the first call.
pub(crate) fn ensure_installed() {
    #[cfg(all(feature = "aws_lc_rs", feature = "rust_crypto"))]
    {
        static INSTALL: std::sync::Once = std::sync::Once::new();
        INSTALL.call_once(|| {
            // An error means a provider is installed already, which is what we need.
            let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        });
    }
}
