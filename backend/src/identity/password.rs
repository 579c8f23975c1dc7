//! Password hashing: argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane),
//! stored as PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$…`). Verification reads the
//! parameters from the stored string, so raising them later keeps old hashes valid.

use std::sync::OnceLock;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

use crate::error::ServiceError;

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 1024;

fn hasher() -> Result<Argon2<'static>, ServiceError> {
    let params =
        Params::new(19 * 1024, 2, 1, None).map_err(|e| ServiceError::Database(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The password rules: long enough to resist guessing, short enough to bound hashing work.
pub fn check_policy(password: &str) -> Result<(), ServiceError> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(ServiceError::invalid(
            "password",
            format!("must be at least {MIN_LEN} characters"),
        ));
    }
    if password.len() > MAX_LEN {
        return Err(ServiceError::invalid(
            "password",
            format!("must be at most {MAX_LEN} bytes"),
        ));
    }
    Ok(())
}

/// Hashes with a fresh random salt (blocking: ~20 ms optimised; call from `spawn_blocking`).
pub fn hash_blocking(password: &str) -> Result<String, ServiceError> {
    hasher()?
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Database(format!("cannot hash password: {e}")))
}

/// Whether `password` matches the PHC string `phc`; a malformed hash never matches.
pub fn verify_blocking(password: &str, phc: &str) -> bool {
    if password.len() > MAX_LEN {
        return false;
    }
    hasher().is_ok_and(|h| h.verify_password(password.as_bytes(), phc).is_ok())
}

/// A hash of a random password, verified against when the username is unknown so that a
/// wrong username costs the same time as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut pw = [0u8; 24];
        let _ = crate::secrets::random(&mut pw);
        let text: String = pw.iter().map(|b| format!("{b:02x}")).collect();
        hash_blocking(&text).unwrap_or_default()
    })
}

pub async fn hash(password: &str) -> Result<String, ServiceError> {
    let pw = password.to_owned();
    tokio::task::spawn_blocking(move || hash_blocking(&pw))
        .await
        .map_err(|e| ServiceError::Database(format!("password hashing task failed: {e}")))?
}

/// Verifies against `phc`, or against a dummy hash when there is none (unknown user, account
/// without a password) — then always false, in about the same time.
pub async fn verify(password: &str, phc: Option<&str>) -> bool {
    let pw = password.to_owned();
    let phc = phc.map(str::to_owned);
    tokio::task::spawn_blocking(move || match phc {
        Some(h) => verify_blocking(&pw, &h),
        None => {
            let _ = verify_blocking(&pw, dummy_hash());
            false
        }
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash_blocking("correct horse battery").unwrap();
        let b = hash_blocking("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "a fresh salt each time");
        assert!(verify_blocking("correct horse battery", &a));
        assert!(!verify_blocking("correct horse batterY", &a));
        assert!(!verify_blocking("x", "not a phc string"));
    }

    #[test]
    fn policy_bounds_length() {
        assert!(check_policy("short").is_err());
        assert!(check_policy("twelve chars").is_ok());
        assert!(check_policy(&"x".repeat(MAX_LEN + 1)).is_err());
    }

    #[tokio::test]
    async fn unknown_users_never_verify() {
        assert!(!verify("anything at all", None).await);
    }
}
