//! Passwords: argon2id hashes, and the rules a new password must meet. Hashing and verifying
//! cost tens of milliseconds: callers run them on blocking threads.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};

use crate::error::{AppError, AppResult, ErrorCode};

pub const MIN_PASSWORD_CHARS: usize = 8;
/// argon2 hashes any length, but a megabyte password is a denial-of-service lever.
pub const MAX_PASSWORD_BYTES: usize = 256;

const COMMON: &[&str] = &[
    "password",
    "password1",
    "password123",
    "12345678",
    "123456789",
    "1234567890",
    "qwertyuiop",
    "qwerty123",
    "iloveyou",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "welcome1",
    "letmein1",
    "trustno1",
    "abc12345",
    "11111111",
    "00000000",
    "passw0rd",
    "superman",
    "starwars",
    "dragon123",
    "monkey123",
    "cloudvault",
    "changeme",
    "administrator",
    "qwertyui",
    "asdfghjk",
    "zxcvbnm1",
    "1q2w3e4r",
    "1qaz2wsx",
    "q1w2e3r4",
    "aaaaaaaa",
];

pub fn hash_password(password: &str) -> AppResult<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(format_args!("argon2: {e}")))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Refuses weak and over-long passwords with a message that says what to change.
pub fn check_password_rules(password: &str, username: &str) -> AppResult<()> {
    let weak = |m: String| AppError::bad_request(ErrorCode::WeakPassword, m);
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::bad_request(
            ErrorCode::PasswordTooLong,
            format!("the password is too long: at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(weak(format!(
            "the password is too short: use at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    let lower = password.to_lowercase();
    if !username.is_empty() && lower.contains(&username.to_lowercase()) {
        return Err(weak("the password must not contain the username".into()));
    }
    if COMMON.contains(&lower.as_str()) {
        return Err(weak(
            "this password is one of the most common ones: choose another".into(),
        ));
    }
    let distinct: std::collections::HashSet<char> = password.chars().collect();
    if distinct.len() < 4 {
        return Err(weak(
            "the password needs at least 4 different characters".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn rules() {
        assert!(check_password_rules("short", "bob").is_err());
        assert!(check_password_rules("password123", "bob").is_err());
        assert!(check_password_rules("bob-is-great", "bob").is_err());
        assert!(check_password_rules("aaaaaaaaaaab", "bob").is_err());
        assert!(
            check_password_rules(&"x1y2".repeat(100), "bob")
                .unwrap_err()
                .code
                == ErrorCode::PasswordTooLong
        );
        assert!(check_password_rules("tulip-orbit-92", "bob").is_ok());
    }
}
