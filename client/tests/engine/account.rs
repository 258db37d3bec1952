//! The engine's account calls against a real server: an email address verified with the code the
//! server's dev mailer wrote, the session list and signing out other sessions, changing the
//! password, and resetting it without being signed in.

use crate::support::{PASSWORD, engine, eventually_signed_out, start_with};
use jeco_shared::ErrorCode;
use std::path::Path;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// The `n`th message the dev mailer wrote, waiting for it.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_password_and_sessions_through_the_engine() {
    // Many sign-ins from one address in a moment: more than the per-address budget of `/auth/*`.
    let server = start_with(|c| {
        c.auth_rate_per_minute = 1_000;
        c.auth_rate_burst = 1_000;
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ada = engine(server.base(), dir.path());
    ada.register("ada", PASSWORD, None).await.unwrap();
    ada.wait_live(WAIT).await.unwrap();

    // Email: pending until the mailed code comes back.
    let status = ada.email().await.unwrap();
    assert_eq!((status.email, status.pending), (None, None));
    let status = ada.set_email("Ada@Example.org").await.unwrap();
    assert_eq!(status.pending.as_deref(), Some("ada@example.org"));
    let mail = nth_mail(server.data_dir(), 1).await;
    let at = mail.find("code is ").unwrap() + "code is ".len();
    let code = &mail[at..at + 6];
    let status = ada.verify_email(code).await.unwrap();
    assert_eq!(status.email.as_deref(), Some("ada@example.org"));
    let e = ada.verify_email(code).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::CodeUsed);

    // Sessions: a second device shows up, named by its client; signing out the others ends it.
    let phone_dir = tempfile::tempdir().unwrap();
    let phone = engine(server.base(), phone_dir.path());
    phone.login("ada", PASSWORD).await.unwrap();
    phone.wait_live(WAIT).await.unwrap();
    let sessions = ada.sessions().await.unwrap();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert_eq!(sessions.iter().filter(|s| s.current).count(), 1);
    assert!(
        sessions
            .iter()
            .all(|s| s.client.as_deref() == Some("engine-test/1"))
    );
    assert_eq!(ada.sign_out_others().await.unwrap(), 1);
    eventually_signed_out(&phone).await;

    // One session by id.
    phone.login("ada", PASSWORD).await.unwrap();
    phone.wait_live(WAIT).await.unwrap();
    let other = ada
        .sessions()
        .await
        .unwrap()
        .into_iter()
        .find(|s| !s.current)
        .unwrap();
    ada.end_session(other.id).await.unwrap();
    eventually_signed_out(&phone).await;
    assert_eq!(ada.sessions().await.unwrap().len(), 1);

    // Password change: the current password is checked.
    let e = ada
        .change_password("not the password", "a newer password", false)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ValidationFailed);
    ada.change_password(PASSWORD, "a newer password", false)
        .await
        .unwrap();
    ada.wait_live(WAIT).await.unwrap();

    // Reset from a device that cannot sign in: answered alike for a stranger, the token from the
    // mail works once, and every session (ada's too) ends.
    let forgot_dir = tempfile::tempdir().unwrap();
    let forgot = engine(server.base(), forgot_dir.path());
    forgot
        .request_password_reset("nobody-at-all")
        .await
        .unwrap();
    forgot.request_password_reset("ada").await.unwrap();
    let mail = nth_mail(server.data_dir(), 2).await;
    let token = mail
        .lines()
        .find_map(|l| l.strip_prefix("Token: "))
        .unwrap()
        .trim()
        .to_owned();
    forgot
        .confirm_password_reset(&token, "the reset password")
        .await
        .unwrap();
    eventually_signed_out(&ada).await;
    let e = forgot
        .confirm_password_reset(&token, "another one again")
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::CodeUsed);
    forgot.login("ada", "the reset password").await.unwrap();
}
