//! Passwords as Argon2id hashes with the OWASP parameters (19 MiB, 2 passes, 1 lane), and the
//! secrets of sessions and tokens.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::Digest;

/// The OWASP Password Storage Cheat Sheet's first Argon2id choice: m = 19 MiB, t = 2, p = 1.
fn hasher() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None).unwrap_or_default(),
    )
}

/// Shortest password accepted (OWASP ASVS 5.0: at least 12 characters, no other rules).
pub const MIN_LEN: usize = 12;

/// The Argon2id PHC string of `password`.
///
/// # Errors
/// A password shorter than [`MIN_LEN`] characters, or longer than 128.
pub fn hash(password: &str) -> Result<String, String> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(format!(
            "een wachtwoord heeft minstens {MIN_LEN} tekens (dit heeft er {n})"
        ));
    }
    if n > 128 {
        return Err("een wachtwoord heeft hoogstens 128 tekens".into());
    }
    hasher()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("hashen mislukt: {e}"))
}

/// Whether `password` matches the PHC string `phc`. With `None` a hash of the same cost is
/// still computed, so that an unknown user name takes as long as a wrong password.
#[must_use]
pub fn verify(password: &str, phc: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("onbekende-gebruiker-dummy").unwrap_or_default());
    let (phc, real) = phc.map_or((dummy.as_str(), false), |p| (p, true));
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
        && real
}

/// `n` random bytes from the operating system.
///
/// # Panics
/// When the operating system has no randomness to give (never on Linux).
#[must_use]
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("operating system randomness");
    b
}

/// A random secret, URL-safe base64 of 32 bytes, with a prefix (`wr_…` for tokens).
#[must_use]
pub fn secret(prefix: &str) -> String {
    use base64::Engine;
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>())
    )
}

/// SHA-256 of a secret, hex: how tokens and session ids are kept.
#[must_use]
pub fn digest(secret: &str) -> String {
    let d = sha2::Sha256::digest(secret.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse battery", Some(&h)));
        assert!(!verify("correct horse batterx", Some(&h)));
        assert!(!verify("correct horse battery", None));
        assert!(hash("kort").is_err());
        assert_ne!(h, hash("correct horse battery").unwrap(), "salted");
    }

    #[test]
    fn secrets_are_random_and_kept_as_digests() {
        let a = secret("wr_");
        assert!(a.starts_with("wr_") && a.len() == 3 + 43);
        assert_ne!(a, secret("wr_"));
        assert_eq!(digest(&a).len(), 64);
        assert_ne!(digest(&a), a);
    }
}
