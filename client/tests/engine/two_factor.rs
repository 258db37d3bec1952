//! The engine's sign-in steps against a real server: two-factor with codes computed here from
//! the secret the server handed out, recovery codes, a mailed sign-in code (read from the dev
//! mailer's file), and an admin resetting two-factor and requiring it of everyone.

use crate::support::{PASSWORD, TestServer, engine, eventually_signed_out};
use jeco_client::{ClientError, EngineError, SignInStep, TwoFactorOff, TwoFactorProof};
use jeco_server::ManualClock;
use jeco_shared::ErrorCode;
use jeco_shared::two_factor::ServerSettings;
use std::path::Path;
use std::time::Duration;
use totp_rs::{Algorithm, Builder, Secret};

const WAIT: Duration = Duration::from_secs(20);

/// An authenticator app: each code is for a later time step than the one before (the server
/// takes each step once), within the step either side of now it accepts. It reads the server's
/// clock, and when it needs the next step it moves that clock there rather than wait for it.
struct App {
    secret: String,
    last: Option<u64>,
    clock: ManualClock,
}

impl App {
    fn new(secret: &str, clock: &ManualClock) -> Self {
        Self {
            secret: secret.to_owned(),
            last: None,
            clock: clock.clone(),
        }
    }

    async fn code(&mut self) -> String {
        loop {
            let now = self.clock.clock().now_secs();
            let step = now / 30;
            let left = 30 - now % 30;
            let earliest = if left > 3 { step - 1 } else { step };
            let want = self.last.map_or(earliest, |l| (l + 1).max(earliest));
            if want <= step + 1 {
                self.last = Some(want);
                return Builder::new()
                    .with_algorithm(Algorithm::SHA1)
                    .with_digits(6)
                    .with_step_duration(30)
                    .with_secret(Secret::try_from_base32(&self.secret).unwrap())
                    .build()
                    .unwrap()
                    .generate(want * 30)
                    .to_string();
            }
            self.clock.advance(Duration::from_secs(left));
        }
    }
}

async fn nth_mail(data_dir: &Path, n: usize) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let mut paths: Vec<_> = std::fs::read_dir(data_dir.join("mail"))
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        paths.retain(|p| p.extension().is_some_and(|x| x == "eml"));
        paths.sort();
        if paths.len() >= n {
            return std::fs::read_to_string(&paths[n - 1]).unwrap();
        }
        assert!(tokio::time::Instant::now() < deadline, "no mail #{n}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn code_in(mail: &str) -> String {
    let at = mail.find("code is ").unwrap() + "code is ".len();
    mail[at..at + 6].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_factor_and_mailed_codes_through_the_engine() {
    let (server, clock) = TestServer::start_with_clock(|c| {
        c.auth_rate_per_minute = 1_000;
        c.auth_rate_burst = 1_000;
        c.admin_username = Some("root".into());
        c.admin_password = Some(jeco_server::Secret::new(PASSWORD));
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ada = engine(server.base(), dir.path());
    let me = ada.register("ada", PASSWORD, None).await.unwrap();
    ada.set_email("ada@example.org").await.unwrap();
    ada.verify_email(&code_in(&nth_mail(server.data_dir(), 1).await))
        .await
        .unwrap();

    // Enrol: the secret for the app, then its code; recovery codes once.
    let status = ada.two_factor_status().await.unwrap();
    assert!(!status.enabled && !status.required);
    let enrollment = ada.begin_two_factor().await.unwrap();
    assert!(
        enrollment
            .otpauth_uri
            .starts_with("otpauth://totp/Jeco:ada?")
    );
    let mut app = App::new(&enrollment.secret, &clock);
    let recovery = ada.confirm_two_factor(&app.code().await).await.unwrap();
    assert_eq!(recovery.codes.len(), 10);
    assert!(ada.two_factor_status().await.unwrap().enabled);

    // Signing in again: the password alone is a typed step, not a session.
    ada.logout().await.unwrap();
    let e = ada.login("ada", PASSWORD).await.unwrap_err();
    assert!(
        matches!(e, EngineError::Client(ClientError::TwoFactorRequired)),
        "{e:?}"
    );
    let SignInStep::TwoFactorRequired(challenge) = ada.sign_in("ada", PASSWORD).await.unwrap()
    else {
        panic!("expected a two-factor challenge")
    };
    let wrong = ada
        .complete_two_factor(&challenge.challenge, TwoFactorProof::Code("000000".into()))
        .await;
    // (Unless 000000 happens to be the code: then it signed in, which is also right.)
    if let Err(e) = &wrong {
        assert_eq!(e.code(), ErrorCode::CodeInvalid);
        let done = ada
            .complete_two_factor(&challenge.challenge, TwoFactorProof::Code(app.code().await))
            .await
            .unwrap();
        assert_eq!(done.user.id, me.id);
        assert!(done.recovery_codes.is_empty());
    }
    ada.wait_live(WAIT).await.unwrap();

    // A mailed code is a first factor; a recovery code finishes it.
    ada.logout().await.unwrap();
    ada.request_login_code("Ada@Example.org").await.unwrap();
    let code = code_in(&nth_mail(server.data_dir(), 2).await);
    let SignInStep::TwoFactorRequired(challenge) = ada
        .sign_in_with_code("ada@example.org", &code)
        .await
        .unwrap()
    else {
        panic!("expected a two-factor challenge")
    };
    let e = ada
        .sign_in_with_code("ada@example.org", &code)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::CodeUsed);
    let done = ada
        .complete_two_factor(
            &challenge.challenge,
            TwoFactorProof::RecoveryCode(recovery.codes[0].clone()),
        )
        .await
        .unwrap();
    assert_eq!(done.recovery_codes_left, 9);
    ada.wait_live(WAIT).await.unwrap();
    let fresh = ada
        .regenerate_recovery_codes(&app.code().await)
        .await
        .unwrap();
    assert_eq!(fresh.codes.len(), 10);
    assert_eq!(
        ada.two_factor_status().await.unwrap().recovery_codes_left,
        10
    );

    // The admin resets it (a lost phone): ada is signed out and needs only the password.
    let root_dir = tempfile::tempdir().unwrap();
    let root = engine(server.base(), root_dir.path());
    let SignInStep::SignedIn(_) = root.sign_in("root", PASSWORD).await.unwrap() else {
        panic!("root has no two-factor yet")
    };
    let e = root
        .set_server_settings(ServerSettings {
            require_two_factor: true,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict);
    let reset = root.admin_reset_two_factor(me.id).await.unwrap();
    assert_eq!(reset.signed_out, 1);
    eventually_signed_out(&ada).await;
    assert!(matches!(
        ada.sign_in("ada", PASSWORD).await.unwrap(),
        SignInStep::SignedIn(_)
    ));
    ada.wait_live(WAIT).await.unwrap();

    // Required of everyone: ada (without it now) is signed out and enrols at her next sign-in.
    let root_enrollment = root.begin_two_factor().await.unwrap();
    let mut root_app = App::new(&root_enrollment.secret, &clock);
    root.confirm_two_factor(&root_app.code().await)
        .await
        .unwrap();
    let done = root
        .set_server_settings(ServerSettings {
            require_two_factor: true,
        })
        .await
        .unwrap();
    assert!(done.signed_out >= 1);
    assert!(root.server_settings().await.unwrap().require_two_factor);
    eventually_signed_out(&ada).await;
    let SignInStep::TwoFactorSetupRequired(setup) = ada.sign_in("ada", PASSWORD).await.unwrap()
    else {
        panic!("expected a set-up challenge")
    };
    let mut app = App::new(&setup.enrollment.secret, &clock);
    let done = ada
        .complete_two_factor(&setup.challenge, TwoFactorProof::Code(app.code().await))
        .await
        .unwrap();
    assert_eq!(done.recovery_codes.len(), 10);
    let status = ada.two_factor_status().await.unwrap();
    assert!(status.enabled && status.required);
    let e = ada
        .disable_two_factor(TwoFactorOff::Password(PASSWORD.into()))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict);

    // Not required any more: ada turns it off with a code.
    root.set_server_settings(ServerSettings {
        require_two_factor: false,
    })
    .await
    .unwrap();
    ada.disable_two_factor(TwoFactorOff::Code(app.code().await))
        .await
        .unwrap();
    assert!(!ada.two_factor_status().await.unwrap().enabled);
}
