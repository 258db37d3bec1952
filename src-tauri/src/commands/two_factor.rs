//! Signing in in steps (password or mailed code, then two-factor when the account uses it) and the
//! Security tab's two-factor section (issue 16 items 3 and 4), over the engine's typed sign-in
//! ([`jeco_client::SignInStep`]) and two-factor API.
//!
//! The sign-in commands answer a [`SignInView`] the sign-in screen switches on. The challenge of a
//! two-factor step goes to the UI and comes back with the code: it is single use, lives minutes and
//! is worthless without the second factor. Tokens still only reach the engine's token store, the OS
//! keychain.
//!
//! The QR code of an `otpauth://` URI is drawn here, with the `qrcode` crate (default features off,
//! only its SVG renderer: no image codecs compiled in): a small, long-maintained pure-Rust encoder,
//! so the UI needs no npm package and the secret never leaves the app for a QR service. The UI
//! shows the SVG as an `<img>` data URL (the CSP allows `data:` images).

use crate::error::CommandError;
use crate::session::AppState;
use jeco_client::{SignInStep, TwoFactorOff, TwoFactorProof};
use jeco_shared::two_factor::{TwoFactorEnrollment, TwoFactorStatus};
use jeco_shared::users::User;
use serde::Serialize;
use tauri::State;

/// Where a sign-in stands after its first factor. Tagged by `status`.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SignInView {
    /// Signed in: the tokens are in the keychain and the engine syncs.
    SignedIn { user: User },
    /// Ask for the authenticator app's code (or a recovery code), then [`complete_two_factor`].
    TwoFactorRequired { challenge: String },
    /// The server requires two-factor and the account has none: show the secret and its QR code,
    /// ask for the app's first code, then [`complete_two_factor`]; show the recovery codes it
    /// answers, once.
    TwoFactorSetupRequired {
        challenge: String,
        enrollment: EnrollmentView,
    },
}

/// A new secret for an authenticator app: as text, as an `otpauth://` URI, and as a QR code.
#[derive(Clone, Serialize, ts_rs::TS)]
pub struct EnrollmentView {
    /// Base32, for typing into the app.
    pub secret: String,
    pub otpauth_uri: String,
    /// The URI as an SVG QR code (a whole `<svg>` document).
    pub qr_svg: String,
}

impl std::fmt::Debug for EnrollmentView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnrollmentView([redacted])")
    }
}

/// A sign-in completed by its second factor.
#[derive(Clone, Serialize, ts_rs::TS)]
pub struct TwoFactorSignedIn {
    pub user: User,
    /// New recovery codes when this sign-in enrolled the account, to show once; else empty.
    pub recovery_codes: Vec<String>,
    pub recovery_codes_left: u32,
}

impl std::fmt::Debug for TwoFactorSignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoFactorSignedIn")
            .field("user", &self.user.username)
            .finish_non_exhaustive()
    }
}

fn enrollment_view(enrollment: TwoFactorEnrollment) -> Result<EnrollmentView, CommandError> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::new(enrollment.otpauth_uri.as_bytes()).map_err(|e| {
        CommandError::new(
            "qr_code_failed",
            format!("Could not draw the QR code: {e}."),
        )
    })?;
    let qr_svg = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    Ok(EnrollmentView {
        secret: enrollment.secret,
        otpauth_uri: enrollment.otpauth_uri,
        qr_svg,
    })
}

fn view(step: SignInStep) -> Result<SignInView, CommandError> {
    Ok(match step {
        SignInStep::SignedIn(user) => SignInView::SignedIn { user },
        SignInStep::TwoFactorRequired(c) => SignInView::TwoFactorRequired {
            challenge: c.challenge,
        },
        SignInStep::TwoFactorSetupRequired(c) => SignInView::TwoFactorSetupRequired {
            challenge: c.challenge,
            enrollment: enrollment_view(c.enrollment)?,
        },
    })
}

/// Signs in with a password: signed in, or the two-factor step to take.
#[tauri::command]
pub async fn sign_in(
    state: State<'_, AppState>,
    username: String,
    password: String,
) -> Result<SignInView, CommandError> {
    view(state.engine().await?.sign_in(&username, &password).await?)
}

/// Mails a 6-digit sign-in code to the verified address of the account named by `login`. The
/// answer is the same whether or not there is one. Works signed out.
#[tauri::command]
pub async fn request_login_code(
    state: State<'_, AppState>,
    login: String,
) -> Result<(), CommandError> {
    Ok(state
        .engine()
        .await?
        .request_login_code(login.trim())
        .await?)
}

/// Signs in with the mailed code: signed in, or the two-factor step to take.
#[tauri::command]
pub async fn sign_in_with_code(
    state: State<'_, AppState>,
    login: String,
    code: String,
) -> Result<SignInView, CommandError> {
    view(
        state
            .engine()
            .await?
            .sign_in_with_code(login.trim(), &code)
            .await?,
    )
}

/// Completes a two-factor sign-in with the app's `code` or a `recovery_code` (exactly one).
#[tauri::command]
pub async fn complete_two_factor(
    state: State<'_, AppState>,
    challenge: String,
    code: Option<String>,
    recovery_code: Option<String>,
) -> Result<TwoFactorSignedIn, CommandError> {
    let proof = match (code, recovery_code) {
        (Some(c), None) => TwoFactorProof::Code(c),
        (None, Some(r)) => TwoFactorProof::RecoveryCode(r),
        _ => {
            return Err(CommandError::new(
                "validation_failed",
                "Give either the code from the app or a recovery code.",
            ));
        }
    };
    let done = state
        .engine()
        .await?
        .complete_two_factor(&challenge, proof)
        .await?;
    Ok(TwoFactorSignedIn {
        user: done.user,
        recovery_codes: done.recovery_codes,
        recovery_codes_left: done.recovery_codes_left,
    })
}

/// Whether the account uses two-factor, its recovery codes left, and whether the server requires it.
#[tauri::command]
pub async fn two_factor_status(
    state: State<'_, AppState>,
) -> Result<TwoFactorStatus, CommandError> {
    Ok(state.engine().await?.two_factor_status().await?)
}

/// Starts enrolling: a new secret, with its QR code. Nothing changes until [`confirm_two_factor`].
#[tauri::command]
pub async fn begin_two_factor(state: State<'_, AppState>) -> Result<EnrollmentView, CommandError> {
    enrollment_view(state.engine().await?.begin_two_factor().await?)
}

/// Turns two-factor on with the app's current code; answers the recovery codes, to show once.
#[tauri::command]
pub async fn confirm_two_factor(
    state: State<'_, AppState>,
    code: String,
) -> Result<Vec<String>, CommandError> {
    Ok(state.engine().await?.confirm_two_factor(&code).await?.codes)
}

/// Turns two-factor off, proven by the `password` or a current `code` (exactly one).
#[tauri::command]
pub async fn disable_two_factor(
    state: State<'_, AppState>,
    password: Option<String>,
    code: Option<String>,
) -> Result<(), CommandError> {
    let proof = match (password, code) {
        (Some(p), None) => TwoFactorOff::Password(p),
        (None, Some(c)) => TwoFactorOff::Code(c),
        _ => {
            return Err(CommandError::new(
                "validation_failed",
                "Give either the password or a code from the app.",
            ));
        }
    };
    Ok(state.engine().await?.disable_two_factor(proof).await?)
}

/// New recovery codes with the app's current code (the old ones stop working); shown once.
#[tauri::command]
pub async fn regenerate_recovery_codes(
    state: State<'_, AppState>,
    code: String,
) -> Result<Vec<String>, CommandError> {
    Ok(state
        .engine()
        .await?
        .regenerate_recovery_codes(&code)
        .await?
        .codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_code_is_an_svg_of_the_uri() {
        let view = enrollment_view(TwoFactorEnrollment {
            secret: "JBSWY3DPEHPK3PXP".into(),
            otpauth_uri: "otpauth://totp/Jeco:ada?secret=JBSWY3DPEHPK3PXP&issuer=Jeco".into(),
        })
        .unwrap();
        assert!(view.qr_svg.contains("<svg"), "{}", view.qr_svg);
        assert!(view.qr_svg.contains("#000000"));
        assert_eq!(view.secret, "JBSWY3DPEHPK3PXP");
    }
}
