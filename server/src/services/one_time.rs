//! One-time secrets sent by mail: 6-digit email codes and password-reset tokens.
//!
//! Both are random (the OS generator), stored only as SHA-256 hashes and compared in constant
//! time (`subtle`), so neither a database leak nor response timing hands one out.
//!
//! A reset token is a *selector* and a *verifier* (the split-token pattern): the selector (9
//! random bytes) finds the row, the verifier (32 random bytes) is hashed and compared with the
//! stored hash in constant time. Looking a token up by its whole hash would compare it inside the
//! database index, in time that depends on the data.
//!
//! A code is only six digits, so it is hashed together with the user and the address it was
//! sent to: the same digits for two users do not hash alike, and a code proves one address only.

use super::ServiceError;
use crate::storage::TokenHash;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jeco_shared::UserId;
use jeco_shared::account::{EMAIL_CODE_LEN, RESET_TOKEN_LEN};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const SELECTOR_BYTES: usize = 9;
const VERIFIER_BYTES: usize = 32;
/// Characters of the selector in a token (base64url of 9 bytes).
const SELECTOR_LEN: usize = SELECTOR_BYTES / 3 * 4;

fn random<const N: usize>() -> Result<[u8; N], ServiceError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(bytes)
}

/// Whether two hashes are equal, in time independent of where they differ.
pub fn same_hash(a: &TokenHash, b: &TokenHash) -> bool {
    a.ct_eq(b).into()
}

/// A new code of [`EMAIL_CODE_LEN`] digits, uniform over `000000..=999999`.
pub fn new_code() -> Result<String, ServiceError> {
    const RANGE: u32 = 1_000_000;
    // Rejection sampling: the largest multiple of RANGE that fits keeps every code equally likely.
    let limit = u32::MAX - u32::MAX % RANGE;
    loop {
        let n = u32::from_le_bytes(random::<4>()?);
        if n < limit {
            return Ok(format!("{:0width$}", n % RANGE, width = EMAIL_CODE_LEN));
        }
    }
}

/// The stored hash of `code` mailed to `email` for `user`.
pub fn code_hash(user: UserId, email: &str, code: &str) -> TokenHash {
    let mut h = Sha256::new();
    h.update(b"jeco email code v1\0");
    h.update(user.0.to_le_bytes());
    h.update(email.as_bytes());
    h.update(b"\0");
    h.update(code.as_bytes());
    h.finalize().into()
}

/// Whether `code` looks like a code at all (digits, the right length).
pub fn is_code_shaped(code: &str) -> bool {
    code.len() == EMAIL_CODE_LEN && code.bytes().all(|b| b.is_ascii_digit())
}

/// A new reset token: what is mailed, and the selector and verifier hash to store.
pub fn new_reset_token() -> Result<(String, String, TokenHash), ServiceError> {
    let selector = URL_SAFE_NO_PAD.encode(random::<SELECTOR_BYTES>()?);
    let verifier = URL_SAFE_NO_PAD.encode(random::<VERIFIER_BYTES>()?);
    let hash = Sha256::digest(verifier.as_bytes()).into();
    Ok((format!("{selector}{verifier}"), selector, hash))
}

/// A presented token split into its selector and the hash of its verifier; `None` when it cannot
/// be a token (wrong length or alphabet), without touching storage.
pub fn split_reset_token(token: &str) -> Option<(&str, TokenHash)> {
    if token.len() != RESET_TOKEN_LEN
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    let (selector, verifier) = token.split_at(SELECTOR_LEN);
    Some((selector, Sha256::digest(verifier.as_bytes()).into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_vary() {
        let codes: Vec<String> = (0..20).map(|_| new_code().unwrap()).collect();
        assert!(codes.iter().all(|c| is_code_shaped(c)), "{codes:?}");
        assert!(codes.iter().any(|c| c != &codes[0]));
        assert!(!is_code_shaped("12345"));
        assert!(!is_code_shaped("12345a"));
        assert!(!is_code_shaped("١٢٣٤٥٦"));
    }

    #[test]
    fn code_hashes_bind_user_and_address() {
        let h = code_hash(UserId(1), "a@example.org", "123456");
        assert!(same_hash(
            &h,
            &code_hash(UserId(1), "a@example.org", "123456")
        ));
        assert!(!same_hash(
            &h,
            &code_hash(UserId(2), "a@example.org", "123456")
        ));
        assert!(!same_hash(
            &h,
            &code_hash(UserId(1), "b@example.org", "123456")
        ));
        assert!(!same_hash(
            &h,
            &code_hash(UserId(1), "a@example.org", "123457")
        ));
    }

    #[test]
    fn reset_tokens_split_into_what_was_stored() {
        let (token, selector, hash) = new_reset_token().unwrap();
        assert_eq!(token.len(), RESET_TOKEN_LEN);
        let (s, h) = split_reset_token(&token).unwrap();
        assert_eq!(s, selector);
        assert!(same_hash(&h, &hash));
        let (other, _, _) = new_reset_token().unwrap();
        assert_ne!(token, other);
        assert!(split_reset_token(&token[1..]).is_none());
        assert!(split_reset_token(&format!("{}!", &token[1..])).is_none());
    }
}
