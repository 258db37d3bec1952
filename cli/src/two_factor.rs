//! Signing in past two-factor and with a mailed code, and `jeco two-factor …` (issue 16 items 3
//! and 4). Codes come from a flag (`--code`, `--recovery-code`, `--email-code`), else
//! `$JECO_TWO_FACTOR_CODE`, else a prompt on the terminal — the same order as passwords.

use crate::account::signed_in;
use crate::app::{App, CliError};
use anyhow::bail;
use jeco_client::{SignInStep, TwoFactorDone, TwoFactorOff, TwoFactorProof};
use jeco_shared::two_factor::TwoFactorEnrollment;
use serde_json::json;

/// The second factor given on the command line, if any.
#[derive(Debug, Clone, Default)]
pub struct Given {
    pub code: Option<String>,
    pub recovery_code: Option<String>,
}

/// A code: `given`, else `$JECO_TWO_FACTOR_CODE`, else a prompt.
fn read_code(given: Option<String>, prompt: &str) -> anyhow::Result<String> {
    if let Some(code) = given.filter(|c| !c.trim().is_empty()) {
        return Ok(code.trim().to_owned());
    }
    if let Ok(code) = std::env::var("JECO_TWO_FACTOR_CODE")
        && !code.trim().is_empty()
    {
        return Ok(code.trim().to_owned());
    }
    let code = rpassword::prompt_password(prompt).map_err(|e| {
        CliError::usage(format!(
            "cannot ask for the code ({e}): use --code or JECO_TWO_FACTOR_CODE"
        ))
    })?;
    Ok(code.trim().to_owned())
}

/// Prints a new secret for the authenticator app (to stderr unless --json).
fn show_enrollment(app: &App, e: &TwoFactorEnrollment) {
    if app.out.json {
        return;
    }
    app.out.note(format!(
        "Add this account to your authenticator app (any TOTP app):\n  secret: {}\n  or scan/open: {}",
        e.secret, e.otpauth_uri
    ));
}

fn show_recovery_codes(app: &App, codes: &[String]) {
    if app.out.json || codes.is_empty() {
        return;
    }
    app.out.line(
        "Recovery codes (each signs in once if you lose the app; keep them safe, they are not shown again):",
    );
    for code in codes {
        app.out.line(format!("  {code}"));
    }
}

/// Finishes a sign-in the server answered with `step`, asking for the second factor if needed.
pub async fn finish(app: &App, step: SignInStep, given: Given, what: &str) -> anyhow::Result<()> {
    let done = match step {
        SignInStep::SignedIn(user) => {
            signed_in(app, &user, what).await;
            return Ok(());
        }
        SignInStep::TwoFactorRequired(c) => {
            let proof = match given.recovery_code {
                Some(r) => TwoFactorProof::RecoveryCode(r),
                None => TwoFactorProof::Code(read_code(given.code, "Two-factor code: ")?),
            };
            app.engine.complete_two_factor(&c.challenge, proof).await?
        }
        SignInStep::TwoFactorSetupRequired(c) => {
            if !app.out.json {
                app.out
                    .note("This server requires two-factor authentication: set it up now.");
            }
            show_enrollment(app, &c.enrollment);
            let code = read_code(given.code, "Code from the app: ")?;
            app.engine
                .complete_two_factor(&c.challenge, TwoFactorProof::Code(code))
                .await?
        }
    };
    report(app, &done, what).await;
    Ok(())
}

async fn report(app: &App, done: &TwoFactorDone, what: &str) {
    if app.out.json {
        app.out.document(&json!({
            "user": done.user,
            "server": app.server.as_str(),
            "recovery_codes": done.recovery_codes,
            "recovery_codes_left": done.recovery_codes_left,
        }));
        return;
    }
    show_recovery_codes(app, &done.recovery_codes);
    signed_in(app, &done.user, what).await;
    if done.recovery_codes.is_empty() && done.recovery_codes_left <= 3 {
        app.out.note(format!(
            "only {} recovery code(s) left: `jeco two-factor recovery-codes` makes new ones",
            done.recovery_codes_left
        ));
    }
}

/// `jeco login USERNAME [--code C | --recovery-code R]`
pub async fn login(app: &App, username: &str, password: &str, given: Given) -> anyhow::Result<()> {
    let step = app.engine.sign_in(username, password).await?;
    finish(app, step, given, "signed in").await
}

/// `jeco login-code LOGIN`: mails a code; on a terminal, asks for it and signs in.
pub async fn request_code(
    app: &App,
    login: &str,
    prompt: bool,
    given: Given,
) -> anyhow::Result<()> {
    app.engine.request_login_code(login).await?;
    if !prompt {
        if app.out.json {
            app.out.document(&json!({"requested": true}));
        } else {
            app.out.line(format!(
                "if {login} has a verified email address, a sign-in code is on its way; then: jeco login {login} --email-code CODE"
            ));
        }
        return Ok(());
    }
    let code = rpassword::prompt_password("Code from the mail: ")
        .map_err(|e| CliError::usage(format!("cannot ask for the code ({e})")))?;
    with_code(app, login, code.trim(), given).await
}

/// `jeco login LOGIN --email-code CODE`
pub async fn with_code(app: &App, login: &str, code: &str, given: Given) -> anyhow::Result<()> {
    let step = app.engine.sign_in_with_code(login, code).await?;
    finish(app, step, given, "signed in").await
}

/// `jeco two-factor status`
pub async fn status(app: &App) -> anyhow::Result<()> {
    let s = app.engine.two_factor_status().await?;
    if app.out.json {
        app.out.document(&s);
    } else if s.enabled {
        app.out.line(format!(
            "two-factor is on; {} recovery code(s) left{}",
            s.recovery_codes_left,
            if s.required {
                " (required on this server)"
            } else {
                ""
            }
        ));
    } else {
        app.out.line(format!(
            "two-factor is off{}",
            if s.required {
                " (this server requires it: your next sign-in sets it up)"
            } else {
                ""
            }
        ));
    }
    Ok(())
}

/// `jeco two-factor enable`: the secret; on a terminal, a code from the app and the recovery
/// codes, else `jeco two-factor confirm CODE` finishes.
pub async fn enable(app: &App, prompt: bool) -> anyhow::Result<()> {
    let e = app.engine.begin_two_factor().await?;
    if !prompt {
        if app.out.json {
            app.out.document(&json!({
                "secret": e.secret,
                "otpauth_uri": e.otpauth_uri,
            }));
        } else {
            app.out.line(format!("secret: {}", e.secret));
            app.out.line(format!("otpauth_uri: {}", e.otpauth_uri));
            app.out
                .note("add it to your authenticator app, then: jeco two-factor confirm CODE");
        }
        return Ok(());
    }
    show_enrollment(app, &e);
    let code = read_code(None, "Code from the app: ")?;
    confirm(app, &code).await
}

/// `jeco two-factor confirm CODE`: two-factor is on; the recovery codes.
pub async fn confirm(app: &App, code: &str) -> anyhow::Result<()> {
    let codes = app.engine.confirm_two_factor(code).await?;
    if app.out.json {
        app.out.document(&json!({"recovery_codes": codes.codes}));
    } else {
        app.out.line("two-factor is on");
        show_recovery_codes(app, &codes.codes);
    }
    Ok(())
}

/// `jeco two-factor disable (--code C | password)`
pub async fn disable(
    app: &App,
    code: Option<String>,
    password: Option<String>,
) -> anyhow::Result<()> {
    let proof = match (code, password) {
        (Some(c), _) => TwoFactorOff::Code(c),
        (None, Some(p)) => TwoFactorOff::Password(p),
        (None, None) => bail!(CliError::usage("give --code or the password")),
    };
    app.engine.disable_two_factor(proof).await?;
    if app.out.json {
        app.out.document(&json!({"enabled": false}));
    } else {
        app.out.line("two-factor is off");
    }
    Ok(())
}

/// `jeco two-factor recovery-codes [--code C]`
pub async fn recovery_codes(app: &App, code: Option<String>) -> anyhow::Result<()> {
    let code = read_code(code, "Code from the app: ")?;
    let codes = app.engine.regenerate_recovery_codes(&code).await?;
    if app.out.json {
        app.out.document(&codes.codes);
    } else {
        app.out
            .line("new recovery codes; the old ones no longer work");
        show_recovery_codes(app, &codes.codes);
    }
    Ok(())
}
