//! Signing in with a mailed code, and two-factor authentication (`/api/v1/auth/login-code*`,
//! `/api/v1/auth/login/two-factor`, `/api/v1/users/me/two-factor*`, `/api/v1/admin/settings`).
//!
//! **Sign-in is a typed outcome** ([`SignInOutcome`]): a password or a mailed code is the first
//! factor. An account without two-factor gets its tokens at once (`signed_in`, the same JSON as a
//! [`TokenResponse`] plus `"status"`, so clients that only read tokens keep working). An account
//! with two-factor gets a *challenge* (`two_factor_required`): a random, single-use, short-lived
//! token that, with a code from the authenticator app or a recovery code, becomes a session at
//! `POST /auth/login/two-factor`. When the server requires two-factor of everyone and the account
//! has none, the answer is `two_factor_setup_required`: the same challenge plus a new secret to
//! put into the app; the first code proves it, enables two-factor and signs in, and the answer
//! carries the recovery codes (shown once).
//!
//! **Codes.** TOTP per RFC 6238: HMAC-SHA1, [`TOTP_DIGITS`] digits, [`TOTP_STEP_SECS`]-second
//! steps, one step of clock skew either way; a code is accepted once (the server keeps the time
//! step of the last one accepted). Recovery codes are [`RECOVERY_CODE_COUNT`] random
//! `xxxxx-xxxxx` codes (base32, case and dash ignored), each good for one sign-in. Wrong,
//! expired and reused codes answer `code_invalid`, `code_expired` and `code_used`; every wrong
//! code counts as a failed login (`account_locked` with `Retry-After` once throttled).

use crate::auth::TokenResponse;
use serde::{Deserialize, Serialize};

/// Digits of a TOTP code.
pub const TOTP_DIGITS: usize = 6;
/// Seconds per TOTP time step.
pub const TOTP_STEP_SECS: u64 = 30;
/// The issuer an authenticator app shows next to the account.
pub const TOTP_ISSUER: &str = "Jeco";
/// Recovery codes handed out at once.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Characters of a recovery code as shown (`xxxxx-xxxxx`).
pub const RECOVERY_CODE_LEN: usize = 11;
/// Digits of a mailed sign-in code.
pub const LOGIN_CODE_LEN: usize = 6;

/// The answer to a first sign-in step (password, or mailed code). Tagged by `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SignInOutcome {
    /// Signed in: the token pair and the user.
    SignedIn(TokenResponse),
    /// The account uses two-factor: send a code with the challenge to
    /// `POST /auth/login/two-factor`.
    TwoFactorRequired(TwoFactorChallenge),
    /// The server requires two-factor and the account has none: put the secret into an
    /// authenticator app, then send its code with the challenge to `POST /auth/login/two-factor`.
    TwoFactorSetupRequired(TwoFactorSetupChallenge),
}

/// A sign-in waiting for its second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TwoFactorChallenge {
    /// Opaque, single use.
    pub challenge: String,
    /// Seconds the challenge stays valid.
    pub expires_in: u64,
}

/// A sign-in that must enrol in two-factor before it gets tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TwoFactorSetupChallenge {
    /// Opaque, single use.
    pub challenge: String,
    /// Seconds the challenge stays valid.
    pub expires_in: u64,
    /// The secret to put into the authenticator app.
    pub enrollment: TwoFactorEnrollment,
}

/// A new TOTP secret, for an authenticator app: as text and as an `otpauth://` URI (which a QR
/// code shows).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TwoFactorEnrollment {
    /// Base32 (RFC 4648, no padding), for typing into the app.
    pub secret: String,
    /// `otpauth://totp/Jeco:<username>?secret=…&issuer=Jeco&algorithm=SHA1&digits=6&period=30`.
    pub otpauth_uri: String,
}

impl std::fmt::Debug for TwoFactorEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TwoFactorEnrollment([redacted])")
    }
}

/// `POST /api/v1/auth/login/two-factor`: the challenge and exactly one of `code` (from the
/// authenticator app) or `recovery_code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct TwoFactorLoginRequest {
    pub challenge: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub code: Option<String>,
    /// Not accepted for a `two_factor_setup_required` challenge (there are none yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub recovery_code: Option<String>,
}

/// Answer to `POST /api/v1/auth/login/two-factor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TwoFactorSignedIn {
    pub tokens: TokenResponse,
    /// New recovery codes when this sign-in enrolled the account (a `two_factor_setup_required`
    /// challenge), shown this once; else empty.
    pub recovery_codes: Vec<String>,
    /// Unused recovery codes left (after this sign-in, if it used one).
    pub recovery_codes_left: u32,
}

/// `POST /api/v1/auth/login-code`: mail a sign-in code to the account's verified address. The
/// answer is `204` whether or not such an account exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct LoginCodeRequest {
    /// A username or a verified email address.
    pub login: String,
}

/// `POST /api/v1/auth/login-code/confirm`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ConfirmLoginCodeRequest {
    /// The username or address the code was asked for with.
    pub login: String,
    /// The 6 digits from the mail.
    pub code: String,
}

/// `GET /api/v1/users/me/two-factor`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TwoFactorStatus {
    pub enabled: bool,
    /// Unused recovery codes (0 when disabled).
    pub recovery_codes_left: u32,
    /// Whether the server requires two-factor of every account (then it cannot be disabled).
    pub required: bool,
}

/// `POST /api/v1/users/me/two-factor/confirm`, `POST /api/v1/users/me/two-factor/recovery-codes`:
/// a current code from the authenticator app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct TwoFactorCodeRequest {
    pub code: String,
}

/// `DELETE /api/v1/users/me/two-factor`: the account's password or a current code (either).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct DisableTwoFactorRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub code: Option<String>,
}

/// New recovery codes, shown once (enabling two-factor, or regenerating them).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RecoveryCodes {
    pub codes: Vec<String>,
}

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoveryCodes([{} redacted])", self.codes.len())
    }
}

/// Server-wide settings an admin changes at run time (`GET`/`PUT /api/v1/admin/settings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Every account must use two-factor. Turning it on ends the sessions of accounts without
    /// it (their sockets close with `4008`); their next sign-in enrols them.
    pub require_two_factor: bool,
}

/// What an admin's two-factor reset or settings change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AdminSignedOut {
    /// Sessions that were ended.
    pub signed_out: u32,
}

/// The normal form of a typed recovery code (lowercase, no dashes or spaces), or `None` when it
/// cannot be one.
pub fn normalize_recovery_code(code: &str) -> Option<String> {
    let cleaned: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (cleaned.len() == RECOVERY_CODE_LEN - 1
        && cleaned
            .bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)))
    .then_some(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::User;

    #[test]
    fn a_signed_in_outcome_reads_as_a_token_response() {
        let tokens = TokenResponse {
            access_token: "a".into(),
            refresh_token: "r".into(),
            token_type: "Bearer".into(),
            expires_in: 900,
            user: User {
                id: crate::UserId(1),
                username: "ada".into(),
                display_name: None,
                bio: None,
                status_text: None,
                is_admin: false,
                deactivated: false,
                created_at: "1970-01-01T00:00:00Z".into(),
                avatar: None,
            },
        };
        let json = serde_json::to_value(SignInOutcome::SignedIn(tokens.clone())).unwrap();
        assert_eq!(json["status"], "signed_in");
        let old: TokenResponse = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(old, tokens);
        let back: SignInOutcome = serde_json::from_value(json).unwrap();
        assert_eq!(back, SignInOutcome::SignedIn(tokens));
        let challenge = SignInOutcome::TwoFactorRequired(TwoFactorChallenge {
            challenge: "c".into(),
            expires_in: 300,
        });
        assert_eq!(
            serde_json::to_value(&challenge).unwrap(),
            serde_json::json!({"status": "two_factor_required", "challenge": "c", "expires_in": 300})
        );
    }

    #[test]
    fn recovery_codes_are_read_loosely() {
        assert_eq!(
            normalize_recovery_code(" ABCDE-fgh23 "),
            Some("abcdefgh23".into())
        );
        assert_eq!(
            normalize_recovery_code("abcdefgh23"),
            Some("abcdefgh23".into())
        );
        assert_eq!(normalize_recovery_code("abcdefgh2"), None);
        assert_eq!(normalize_recovery_code("abcdefgh21"), None);
    }
}
