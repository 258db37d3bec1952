//! Conformance checks (see `suite.rs`): checks_accounts — credentials (emails, verification codes,
//! password changes and resets, the session list), two-factor (sign-in codes, secrets, recovery
//! codes, challenges, the server-wide requirement), administration (listing, the last active admin,
//! deactivation) and contacts (requests, one pending request per pair, accept and decline), and the
//! races the services rely on a backend to settle (one winner per token, one admin left).

use crate::suite::Fresh;
use jeco_server::storage::{
    EmailVerificationRecord, NewUser, RefreshOutcome, Storage, StorageError, UserEventData,
};
use jeco_shared::contacts::ContactRequestStatus;
use jeco_shared::notifications::NotificationKind;
use jeco_shared::{ContactRequestId, UserId};

fn person(name: &str, admin: bool) -> NewUser {
    NewUser {
        username: name.into(),
        password_hash: "h".into(),
        display_name: None,
        is_admin: admin,
        created_at_ms: 1,
    }
}

async fn user(s: &dyn Storage, name: &str) -> UserId {
    s.create_user(person(name, false)).await.unwrap().id
}

async fn admin(s: &dyn Storage, name: &str) -> UserId {
    s.create_user(person(name, true)).await.unwrap().id
}

fn pending(email: &str, code: u8, expires_at_ms: i64) -> EmailVerificationRecord {
    EmailVerificationRecord {
        email: email.into(),
        code_hash: [code; 32],
        expires_at_ms,
        attempts: 0,
        used: false,
    }
}

/// A pending address and its code are replaced as a whole, wrong codes are counted, confirming
/// makes the address the account's own and uses the code, and a verified address belongs to one
/// account.
pub async fn email_verification_and_one_account_per_address(s: Fresh) {
    let ada = user(&*s, "ada").await;
    let bob = user(&*s, "bob").await;
    assert_eq!(s.email_of(ada).await.unwrap(), None);
    assert_eq!(s.email_of(UserId(999_999)).await.unwrap(), None);
    assert_eq!(s.email_verification(ada).await.unwrap(), None);

    s.put_email_verification(ada, pending("a@example.org", 1, 100))
        .await
        .unwrap();
    s.count_email_code_attempt(ada).await.unwrap();
    s.count_email_code_attempt(ada).await.unwrap();
    let v = s.email_verification(ada).await.unwrap().unwrap();
    assert_eq!(
        (
            v.email.as_str(),
            v.code_hash,
            v.expires_at_ms,
            v.attempts,
            v.used
        ),
        ("a@example.org", [1; 32], 100, 2, false)
    );
    // A new request replaces the address, the code and the count.
    s.put_email_verification(ada, pending("ada@example.org", 2, 200))
        .await
        .unwrap();
    assert_eq!(
        s.email_verification(ada).await.unwrap().unwrap(),
        pending("ada@example.org", 2, 200)
    );
    s.confirm_email(ada, "ada@example.org", 50).await.unwrap();
    assert!(s.email_verification(ada).await.unwrap().unwrap().used);
    assert_eq!(
        s.email_of(ada).await.unwrap().as_deref(),
        Some("ada@example.org")
    );
    assert_eq!(s.user_by_email("ada@example.org").await.unwrap(), Some(ada));
    assert_eq!(s.user_by_email("nobody@example.org").await.unwrap(), None);
    // Asking again after a use starts a fresh, unused code.
    s.put_email_verification(ada, pending("ada2@example.org", 3, 300))
        .await
        .unwrap();
    assert!(!s.email_verification(ada).await.unwrap().unwrap().used);

    // Another account cannot verify the same address; nothing of bob's changes.
    assert!(matches!(
        s.confirm_email(bob, "ada@example.org", 60).await,
        Err(StorageError::Conflict)
    ));
    assert_eq!(s.email_of(bob).await.unwrap(), None);

    s.remove_email(ada).await.unwrap();
    assert_eq!(s.email_of(ada).await.unwrap(), None);
    assert_eq!(s.email_verification(ada).await.unwrap(), None);
    assert_eq!(s.user_by_email("ada@example.org").await.unwrap(), None);
    s.confirm_email(bob, "ada@example.org", 70).await.unwrap();
    assert_eq!(s.user_by_email("ada@example.org").await.unwrap(), Some(bob));
}

/// A password change keeps, ends all but one, or ends every session as asked; a reset token is
/// used once, before its expiry, uses up the account's other tokens and ends every session.
pub async fn password_changes_and_resets(s: Fresh) {
    let ada = user(&*s, "ada").await;
    let bob = user(&*s, "bob").await;
    let a1 = s.create_session(ada, [1; 32], 10_000, 10).await.unwrap();
    let a2 = s.create_session(ada, [2; 32], 10_000, 11).await.unwrap();
    let a3 = s.create_session(ada, [3; 32], 10_000, 12).await.unwrap();
    let b1 = s.create_session(bob, [4; 32], 10_000, 13).await.unwrap();

    assert!(matches!(
        s.set_password(UserId(999_999), "x".into(), None, 20).await,
        Err(StorageError::NotFound)
    ));
    assert!(
        s.set_password(ada, "p1".into(), None, 20)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.user_by_id(ada).await.unwrap().unwrap().password_hash,
        "p1"
    );
    let mut ended = s
        .set_password(ada, "p2".into(), Some(Some(a1)), 21)
        .await
        .unwrap();
    ended.sort();
    assert_eq!(ended, [a2, a3]);
    assert!(!s.session(a1).await.unwrap().unwrap().revoked);
    assert!(s.session(a2).await.unwrap().unwrap().revoked);
    assert_eq!(
        s.set_password(ada, "p3".into(), Some(None), 22)
            .await
            .unwrap(),
        [a1]
    );
    assert!(!s.session(b1).await.unwrap().unwrap().revoked);

    let a4 = s.create_session(ada, [5; 32], 10_000, 30).await.unwrap();
    s.create_password_reset("one".into(), ada, [7; 32], 30, 100)
        .await
        .unwrap();
    s.create_password_reset("two".into(), ada, [8; 32], 31, 1_000)
        .await
        .unwrap();
    s.create_password_reset("bobs".into(), bob, [9; 32], 31, 1_000)
        .await
        .unwrap();
    let r = s.password_reset("one").await.unwrap().unwrap();
    assert_eq!(
        (r.user_id, r.verifier_hash, r.expires_at_ms, r.used_at_ms),
        (ada, [7; 32], 100, None)
    );
    assert_eq!(s.password_reset("none").await.unwrap(), None);
    // At its expiry a token does nothing.
    assert_eq!(
        s.complete_password_reset("one", "q".into(), 100)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.user_by_id(ada).await.unwrap().unwrap().password_hash,
        "p3"
    );
    assert_eq!(
        s.complete_password_reset("two", "q".into(), 200)
            .await
            .unwrap(),
        Some((ada, vec![a4]))
    );
    assert_eq!(s.user_by_id(ada).await.unwrap().unwrap().password_hash, "q");
    assert_eq!(
        s.password_reset("two").await.unwrap().unwrap().used_at_ms,
        Some(200)
    );
    assert_eq!(
        s.complete_password_reset("two", "again".into(), 201)
            .await
            .unwrap(),
        None
    );
    // The other user's token is theirs alone.
    assert_eq!(
        s.password_reset("bobs").await.unwrap().unwrap().used_at_ms,
        None
    );
    // A new token sweeps the used and expired ones of the account.
    s.create_password_reset("three".into(), ada, [6; 32], 300, 2_000)
        .await
        .unwrap();
    assert_eq!(s.password_reset("one").await.unwrap(), None);
    assert_eq!(s.password_reset("two").await.unwrap(), None);
    assert!(s.password_reset("three").await.unwrap().is_some());
    assert!(s.password_reset("bobs").await.unwrap().is_some());
    // A selector is unique.
    assert!(matches!(
        s.create_password_reset("three".into(), bob, [5; 32], 300, 2_000)
            .await,
        Err(StorageError::Conflict)
    ));
}

/// The session list: live sessions only (not revoked, holding an unexpired unused token), most
/// recently active first, with the client kept from sign-in; ending all but one.
pub async fn the_session_list_and_ending_all_but_one(s: Fresh) {
    let ada = user(&*s, "ada").await;
    let bob = user(&*s, "bob").await;
    let a = s.create_session(ada, [1; 32], 10_000, 10).await.unwrap();
    let b = s.create_session(ada, [2; 32], 10_000, 20).await.unwrap();
    let expired = s.create_session(ada, [3; 32], 50, 30).await.unwrap();
    let revoked = s.create_session(ada, [4; 32], 10_000, 40).await.unwrap();
    let bobs = s.create_session(bob, [5; 32], 10_000, 50).await.unwrap();
    assert!(s.revoke_session(revoked, 41).await.unwrap());
    assert!(!s.revoke_session(revoked, 42).await.unwrap());

    s.touch_session(a, Some("laptop".into()), "192.0.2.1".into(), 60)
        .await
        .unwrap();
    s.touch_session(a, None, "192.0.2.2".into(), 65)
        .await
        .unwrap();
    let live = s.live_sessions(ada, 100).await.unwrap();
    assert_eq!(live.iter().map(|l| l.id).collect::<Vec<_>>(), [a, b]);
    assert_eq!(
        (
            live[0].client.as_deref(),
            live[0].addr.as_deref(),
            live[0].created_at_ms,
            live[0].last_active_at_ms
        ),
        (Some("laptop"), Some("192.0.2.2"), 10, 65)
    );
    assert_eq!(
        (
            live[1].client.as_deref(),
            live[1].addr.as_deref(),
            live[1].last_active_at_ms
        ),
        (None, None, 20)
    );
    // A rotated session stays live through its new token; equal activity: newest id first.
    s.rotate_refresh_token([2; 32], [6; 32], 10_000, 70, 0)
        .await
        .unwrap();
    s.touch_session(b, None, "192.0.2.3".into(), 65)
        .await
        .unwrap();
    let live = s.live_sessions(ada, 100).await.unwrap();
    assert_eq!(live.iter().map(|l| l.id).collect::<Vec<_>>(), [b, a]);

    let mut ended = s.revoke_sessions_except(ada, Some(a), 200).await.unwrap();
    ended.sort();
    assert_eq!(ended, [b, expired]);
    assert_eq!(
        s.live_sessions(ada, 200)
            .await
            .unwrap()
            .iter()
            .map(|l| l.id)
            .collect::<Vec<_>>(),
        [a]
    );
    assert_eq!(s.revoke_sessions_except(ada, None, 300).await.unwrap(), [a]);
    assert!(s.live_sessions(ada, 300).await.unwrap().is_empty());
    assert_eq!(
        s.live_sessions(bob, 300)
            .await
            .unwrap()
            .iter()
            .map(|l| l.id)
            .collect::<Vec<_>>(),
        [bobs]
    );
}

/// A mailed sign-in code: replaced with a fresh count, wrong tries counted, used once and only
/// before its expiry.
pub async fn login_codes_are_used_once_before_expiry(s: Fresh) {
    let ada = user(&*s, "ada").await;
    assert_eq!(s.login_code(ada).await.unwrap(), None);
    assert!(!s.use_login_code(ada, 1).await.unwrap());
    s.put_login_code(ada, [1; 32], 100).await.unwrap();
    s.count_login_code_attempt(ada).await.unwrap();
    let code = s.login_code(ada).await.unwrap().unwrap();
    assert_eq!(
        (code.code_hash, code.expires_at_ms, code.attempts, code.used),
        ([1; 32], 100, 1, false)
    );
    assert!(!s.use_login_code(ada, 100).await.unwrap());
    assert!(s.use_login_code(ada, 99).await.unwrap());
    assert!(!s.use_login_code(ada, 99).await.unwrap());
    assert!(s.login_code(ada).await.unwrap().unwrap().used);
    s.put_login_code(ada, [2; 32], 200).await.unwrap();
    let code = s.login_code(ada).await.unwrap().unwrap();
    assert_eq!(
        (code.code_hash, code.expires_at_ms, code.attempts, code.used),
        ([2; 32], 200, 0, false)
    );
}

/// Enrolment (a pending secret, replaceable until enabled), TOTP steps used once and in order,
/// recovery codes used once and replaced as a set, disabling, and an admin's reset that also ends
/// every session and open challenge.
pub async fn two_factor_secrets_steps_and_recovery_codes(s: Fresh) {
    let ada = user(&*s, "ada").await;
    let bob = user(&*s, "bob").await;
    assert_eq!(s.two_factor(ada).await.unwrap(), None);
    // Nothing pending: nothing to enable.
    assert!(
        !s.enable_two_factor(ada, 5, vec![[1; 32]], 10)
            .await
            .unwrap()
    );

    s.put_pending_two_factor(ada, b"first".to_vec(), 10)
        .await
        .unwrap();
    s.put_pending_two_factor(ada, b"second".to_vec(), 11)
        .await
        .unwrap();
    let tf = s.two_factor(ada).await.unwrap().unwrap();
    assert_eq!(
        (tf.sealed_secret.as_slice(), tf.enabled, tf.last_step),
        (&b"second"[..], false, None)
    );
    assert!(
        s.enable_two_factor(ada, 7, vec![[1; 32], [2; 32], [3; 32]], 12)
            .await
            .unwrap()
    );
    assert!(
        !s.enable_two_factor(ada, 8, vec![[9; 32]], 13)
            .await
            .unwrap()
    );
    let tf = s.two_factor(ada).await.unwrap().unwrap();
    assert_eq!(
        (tf.sealed_secret.as_slice(), tf.enabled, tf.last_step),
        (&b"second"[..], true, Some(7))
    );
    // Enabled: a new enrolment is refused and changes nothing.
    assert!(matches!(
        s.put_pending_two_factor(ada, b"third".to_vec(), 14).await,
        Err(StorageError::Conflict)
    ));
    assert_eq!(
        s.two_factor(ada).await.unwrap().unwrap().sealed_secret,
        b"second"
    );

    // Steps: only later ones.
    assert!(!s.use_totp_step(ada, 7).await.unwrap());
    assert!(!s.use_totp_step(ada, 6).await.unwrap());
    assert!(s.use_totp_step(ada, 9).await.unwrap());
    assert!(!s.use_totp_step(ada, 8).await.unwrap());
    assert!(!s.use_totp_step(bob, 1).await.unwrap());

    // Recovery codes: in the order given, each used once.
    let codes = s.recovery_codes(ada).await.unwrap();
    assert_eq!(
        codes.iter().map(|c| (c.1, c.2)).collect::<Vec<_>>(),
        [([1; 32], false), ([2; 32], false), ([3; 32], false)]
    );
    assert!(s.use_recovery_code(codes[1].0, 20).await.unwrap());
    assert!(!s.use_recovery_code(codes[1].0, 21).await.unwrap());
    assert_eq!(
        s.recovery_codes(ada)
            .await
            .unwrap()
            .iter()
            .map(|c| c.2)
            .collect::<Vec<_>>(),
        [false, true, false]
    );
    s.replace_recovery_codes(ada, vec![[4; 32], [5; 32]])
        .await
        .unwrap();
    let codes = s.recovery_codes(ada).await.unwrap();
    assert_eq!(
        codes.iter().map(|c| (c.1, c.2)).collect::<Vec<_>>(),
        [([4; 32], false), ([5; 32], false)]
    );
    assert!(s.recovery_codes(bob).await.unwrap().is_empty());

    assert!(s.disable_two_factor(ada).await.unwrap());
    assert!(!s.disable_two_factor(ada).await.unwrap());
    assert_eq!(s.two_factor(ada).await.unwrap(), None);
    assert!(s.recovery_codes(ada).await.unwrap().is_empty());

    // A reset (an admin's, for a lost phone) ends the sessions and the open challenges too.
    assert!(matches!(
        s.reset_two_factor(UserId(999_999), 30).await,
        Err(StorageError::NotFound)
    ));
    s.put_pending_two_factor(bob, b"bobs".to_vec(), 30)
        .await
        .unwrap();
    assert!(
        s.enable_two_factor(bob, 1, vec![[6; 32]], 31)
            .await
            .unwrap()
    );
    let b1 = s.create_session(bob, [1; 32], 10_000, 32).await.unwrap();
    let b2 = s.create_session(bob, [2; 32], 10_000, 33).await.unwrap();
    s.create_challenge("ch".into(), bob, [3; 32], false, 1_000)
        .await
        .unwrap();
    let mut ended = s.reset_two_factor(bob, 40).await.unwrap();
    ended.sort();
    assert_eq!(ended, [b1, b2]);
    assert_eq!(s.two_factor(bob).await.unwrap(), None);
    assert!(s.recovery_codes(bob).await.unwrap().is_empty());
    assert!(s.challenge("ch").await.unwrap().unwrap().used);
    assert!(!s.use_challenge("ch", 41).await.unwrap());
    // Without two-factor, a reset still ends the sessions.
    assert!(s.reset_two_factor(bob, 50).await.unwrap().is_empty());
}

/// Sign-in challenges: found by selector, attempts counted, used once before expiry; a user's
/// long-expired challenges are swept when a new one is made.
pub async fn sign_in_challenges_are_used_once(s: Fresh) {
    const DAY: i64 = 24 * 60 * 60 * 1000;
    let ada = user(&*s, "ada").await;
    s.create_challenge("old".into(), ada, [1; 32], true, 100)
        .await
        .unwrap();
    let c = s.challenge("old").await.unwrap().unwrap();
    assert_eq!(
        (
            c.user_id,
            c.verifier_hash,
            c.setup,
            c.expires_at_ms,
            c.attempts,
            c.used
        ),
        (ada, [1; 32], true, 100, 0, false)
    );
    s.count_challenge_attempt("old").await.unwrap();
    s.count_challenge_attempt("old").await.unwrap();
    assert_eq!(s.challenge("old").await.unwrap().unwrap().attempts, 2);
    assert!(!s.use_challenge("old", 100).await.unwrap());
    assert!(s.use_challenge("old", 99).await.unwrap());
    assert!(!s.use_challenge("old", 99).await.unwrap());
    assert!(!s.use_challenge("missing", 1).await.unwrap());
    assert_eq!(s.challenge("missing").await.unwrap(), None);
    assert!(matches!(
        s.create_challenge("old".into(), ada, [2; 32], false, 200)
            .await,
        Err(StorageError::Conflict)
    ));
    // Less than a day past its expiry: kept.
    s.create_challenge("new".into(), ada, [2; 32], false, 100 + DAY)
        .await
        .unwrap();
    assert!(s.challenge("old").await.unwrap().is_some());
    // More than a day: swept.
    s.create_challenge("newer".into(), ada, [3; 32], false, 101 + DAY)
        .await
        .unwrap();
    assert_eq!(s.challenge("old").await.unwrap(), None);
    let c = s.challenge("newer").await.unwrap().unwrap();
    assert!(!c.setup && !c.used);
}

/// Requiring two-factor ends, in the same change, every live session of the accounts without it.
pub async fn requiring_two_factor_ends_sessions_without_it(s: Fresh) {
    let ada = user(&*s, "ada").await;
    let bob = user(&*s, "bob").await;
    let cat = user(&*s, "cat").await;
    assert!(!s.require_two_factor().await.unwrap());
    s.put_pending_two_factor(ada, b"a".to_vec(), 1)
        .await
        .unwrap();
    s.enable_two_factor(ada, 1, vec![], 2).await.unwrap();
    // Bob only started enrolling: that is not two-factor.
    s.put_pending_two_factor(bob, b"b".to_vec(), 1)
        .await
        .unwrap();
    let a = s.create_session(ada, [1; 32], 10_000, 3).await.unwrap();
    let b = s.create_session(bob, [2; 32], 10_000, 3).await.unwrap();
    let c1 = s.create_session(cat, [3; 32], 10_000, 3).await.unwrap();
    let c2 = s.create_session(cat, [4; 32], 10_000, 3).await.unwrap();
    s.revoke_session(c2, 4).await.unwrap();
    let mut ended = s.set_require_two_factor(true, 5).await.unwrap();
    ended.sort();
    assert_eq!(ended, [b, c1]);
    assert!(s.require_two_factor().await.unwrap());
    assert!(!s.session(a).await.unwrap().unwrap().revoked);
    assert!(s.session(b).await.unwrap().unwrap().revoked);
    assert!(s.set_require_two_factor(false, 6).await.unwrap().is_empty());
    assert!(!s.require_two_factor().await.unwrap());
    assert!(!s.session(a).await.unwrap().unwrap().revoked);
}

/// The admins' account list (prefix of username, display name or email, case-insensitively,
/// keyset by username) with what only admins see; the last active admin stays; deactivation
/// keeps its first time and ends every session.
pub async fn admin_listing_deactivation_and_the_last_admin(s: Fresh) {
    let root = admin(&*s, "root").await;
    let ada = user(&*s, "ada").await;
    let zed = user(&*s, "zed").await;
    let under = user(&*s, "a_c").await;
    s.update_profile(
        zed,
        jeco_server::storage::ProfileChange {
            display_name: Some(Some("Adam Zed".into())),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    s.confirm_email(root, "alpha@example.org", 1).await.unwrap();
    s.put_pending_two_factor(ada, b"s".to_vec(), 1)
        .await
        .unwrap();
    s.enable_two_factor(ada, 1, vec![], 1).await.unwrap();

    let names = |v: Vec<jeco_server::storage::AdminUserRecord>| {
        v.into_iter().map(|r| r.user.username).collect::<Vec<_>>()
    };
    assert_eq!(
        names(s.admin_users("", None, 10, 5).await.unwrap()),
        ["a_c", "ada", "root", "zed"]
    );
    assert_eq!(
        names(s.admin_users("A", None, 10, 5).await.unwrap()),
        ["a_c", "ada", "root", "zed"]
    );
    assert_eq!(
        names(s.admin_users("a_", None, 10, 5).await.unwrap()),
        ["a_c"]
    );
    assert_eq!(
        names(s.admin_users("al", None, 10, 5).await.unwrap()),
        ["root"]
    );
    assert_eq!(
        names(s.admin_users("a", Some("ada"), 1, 5).await.unwrap()),
        ["root"]
    );
    assert_eq!(
        names(s.admin_users("a", Some("root"), 10, 5).await.unwrap()),
        ["zed"]
    );
    assert!(s.admin_users("%", None, 10, 5).await.unwrap().is_empty());
    assert_eq!(s.admin_user(UserId(999_999), 5).await.unwrap(), None);
    let r = s.admin_user(root, 5).await.unwrap().unwrap();
    assert_eq!(
        (
            r.user.is_admin,
            r.email.as_deref(),
            r.two_factor,
            r.live_sessions
        ),
        (true, Some("alpha@example.org"), false, 0)
    );
    assert_eq!(r.last_active_at_ms, None);
    assert!(s.admin_user(ada, 5).await.unwrap().unwrap().two_factor);
    assert_eq!(s.admin_user(under, 5).await.unwrap().unwrap().email, None);

    assert!(matches!(
        s.set_admin(root, false).await,
        Err(StorageError::LastAdmin)
    ));
    assert!(matches!(
        s.deactivate_user(root, 5).await,
        Err(StorageError::LastAdmin)
    ));
    assert!(
        s.user_by_id(root)
            .await
            .unwrap()
            .unwrap()
            .deactivated_at_ms
            .is_none()
    );
    for missing in [
        s.set_admin(UserId(999_999), true).await,
        s.set_admin(UserId(999_999), false).await,
        s.reactivate_user(UserId(999_999)).await,
    ] {
        assert!(matches!(missing, Err(StorageError::NotFound)));
    }
    assert!(matches!(
        s.deactivate_user(UserId(999_999), 5).await,
        Err(StorageError::NotFound)
    ));
    // Removing the flag from a non-admin is no change, not a refusal.
    s.set_admin(zed, false).await.unwrap();

    let a = s.create_session(ada, [1; 32], 10_000, 2).await.unwrap();
    let b = s.create_session(ada, [2; 32], 10_000, 3).await.unwrap();
    s.create_session(ada, [3; 32], 4, 3).await.unwrap();
    let r = s.admin_user(ada, 5).await.unwrap().unwrap();
    assert_eq!((r.live_sessions, r.last_active_at_ms), (2, Some(3)));
    let mut ended = s.deactivate_user(ada, 6).await.unwrap();
    ended.sort();
    assert_eq!(ended.len(), 3);
    assert!(ended.contains(&a) && ended.contains(&b));
    let r = s.admin_user(ada, 7).await.unwrap().unwrap();
    assert_eq!((r.user.deactivated_at_ms, r.live_sessions), (Some(6), 0));
    let session = s.session(a).await.unwrap().unwrap();
    assert!(session.revoked && session.deactivated);
    // Again: nothing more to end, the first time stays.
    assert!(s.deactivate_user(ada, 8).await.unwrap().is_empty());
    assert_eq!(
        s.user_by_id(ada).await.unwrap().unwrap().deactivated_at_ms,
        Some(6)
    );

    // A deactivated admin is not another admin; a reactivated one is.
    s.set_admin(ada, true).await.unwrap();
    assert!(s.session(a).await.unwrap().unwrap().is_admin);
    assert!(matches!(
        s.set_admin(root, false).await,
        Err(StorageError::LastAdmin)
    ));
    s.reactivate_user(ada).await.unwrap();
    assert_eq!(
        s.user_by_id(ada).await.unwrap().unwrap().deactivated_at_ms,
        None
    );
    s.set_admin(root, false).await.unwrap();
    assert!(!s.user_by_id(root).await.unwrap().unwrap().is_admin);
    // Now ada is the last one.
    assert!(matches!(
        s.deactivate_user(ada, 9).await,
        Err(StorageError::LastAdmin)
    ));
    s.deactivate_user(root, 9).await.unwrap();
}

/// Two admins removed at once — one demoted, one deactivated, on different connections — leave
/// exactly one: the second change sees the first and is refused.
pub async fn concurrent_admin_removals_leave_one_admin(s: Fresh) {
    let mut pair = (admin(&*s, "a0").await, admin(&*s, "b0").await);
    for round in 0..8 {
        // Exactly `pair` are the active admins here.
        let (a, b) = pair;
        let (x, y) = tokio::join!(s.set_admin(a, false), s.deactivate_user(b, 10));
        assert!(
            matches!(
                (&x, &y),
                (Ok(()), Err(StorageError::LastAdmin)) | (Err(StorageError::LastAdmin), Ok(_))
            ),
            "round {round}: {x:?} {y:?}"
        );
        let active: Vec<UserId> = s
            .admin_users("", None, 100, 10)
            .await
            .unwrap()
            .iter()
            .filter(|r| r.user.is_admin && r.user.deactivated_at_ms.is_none())
            .map(|r| r.user.id)
            .collect();
        let survivor = if x.is_ok() { b } else { a };
        assert_eq!(active, [survivor], "round {round}");
        // The next pair comes in; the survivor steps down.
        pair = (
            admin(&*s, &format!("a{}", round + 1)).await,
            admin(&*s, &format!("b{}", round + 1)).await,
        );
        s.set_admin(survivor, false).await.unwrap();
    }
}

/// Two rotations of one refresh token at once, on different connections: one rotates, the other
/// sees it — a retry when it names the same successor, theft (the session revoked) when not.
pub async fn concurrent_refresh_rotations_have_one_winner(s: Fresh) {
    let u = s.create_user(person("carol", false)).await.unwrap();
    for round in 0..8u8 {
        let old = [round * 4 + 1; 32];
        let sid = s.create_session(u.id, old, 10_000, 10).await.unwrap();
        let same = [round * 4 + 2; 32];
        let (x, y) = tokio::join!(
            s.rotate_refresh_token(old, same, 20_000, 20, 1_000),
            s.rotate_refresh_token(old, same, 20_000, 20, 1_000)
        );
        let mut outcomes = [x.unwrap(), y.unwrap()];
        outcomes.sort_by_key(|o| matches!(o, RefreshOutcome::Retried { .. }));
        assert_eq!(
            outcomes,
            [
                RefreshOutcome::Rotated {
                    session: sid,
                    user: u.id
                },
                RefreshOutcome::Retried {
                    session: sid,
                    user: u.id,
                    rotated_at_ms: 20
                }
            ],
            "round {round}"
        );
        assert!(!s.session(sid).await.unwrap().unwrap().revoked);

        let (other_a, other_b) = ([round * 4 + 3; 32], [round * 4 + 4; 32]);
        let (x, y) = tokio::join!(
            s.rotate_refresh_token(same, other_a, 20_000, 30, 1_000),
            s.rotate_refresh_token(same, other_b, 20_000, 30, 1_000)
        );
        let (x, y) = (x.unwrap(), y.unwrap());
        let rotated = [x, y]
            .iter()
            .filter(|o| matches!(o, RefreshOutcome::Rotated { .. }))
            .count();
        let reused = [x, y]
            .iter()
            .filter(|o| **o == RefreshOutcome::Reused { session: sid })
            .count();
        assert_eq!((rotated, reused), (1, 1), "round {round}: {x:?} {y:?}");
        assert!(s.session(sid).await.unwrap().unwrap().revoked);
    }
}

/// Two requests completing one reset token at once: one sets the password, the other gets `None`.
pub async fn concurrent_password_resets_have_one_winner(s: Fresh) {
    let ada = user(&*s, "ada").await;
    for round in 0..8 {
        let selector = format!("sel{round}");
        s.create_password_reset(selector.clone(), ada, [round; 32], 10, 1_000)
            .await
            .unwrap();
        let (x, y) = tokio::join!(
            s.complete_password_reset(&selector, "x".into(), 20),
            s.complete_password_reset(&selector, "y".into(), 20)
        );
        let (x, y) = (x.unwrap(), y.unwrap());
        assert!(x.is_some() != y.is_some(), "round {round}: {x:?} {y:?}");
        let winner = if x.is_some() { "x" } else { "y" };
        assert_eq!(
            s.user_by_id(ada).await.unwrap().unwrap().password_hash,
            winner
        );
    }
}

/// Contact requests: one pending request per pair either way, both users told, the recipient
/// notified; declining and accepting once; accepted means contacts both ways and the sender
/// notified; no request between contacts; removing the contact both ways.
pub async fn contact_requests_pending_pair_accept_and_decline(s: Fresh) {
    let ada = user(&*s, "ada").await;
    let bob = user(&*s, "bob").await;
    let cat = user(&*s, "cat").await;
    let (req, committed) = s
        .create_contact_request(ada, bob, "ada wants to connect".into(), 10)
        .await
        .unwrap();
    assert_eq!(
        (
            req.from_user,
            req.to_user,
            req.status,
            req.created_at_ms,
            req.resolved_at_ms
        ),
        (ada, bob, ContactRequestStatus::Pending, 10, None)
    );
    assert!(committed.events.is_empty());
    let told: Vec<_> = committed.user_events.iter().map(|e| e.user_id).collect();
    assert_eq!(told, [ada, bob, bob]);
    for e in &committed.user_events[..2] {
        assert_eq!(
            e.data,
            UserEventData::ContactRequestChanged {
                request: req.clone()
            }
        );
    }
    match &committed.user_events[2].data {
        UserEventData::NotificationCreated { notification } => {
            assert_eq!(
                (
                    notification.user_id,
                    notification.kind,
                    notification.actor_id,
                    notification.contact_request_id,
                    notification.preview.as_str()
                ),
                (
                    bob,
                    NotificationKind::ContactRequest,
                    Some(ada),
                    Some(req.id),
                    "ada wants to connect"
                )
            );
            assert!(notification.id.0 > 0);
        }
        other => panic!("expected a notification, got {other:?}"),
    }

    // One pending request per pair, whichever way.
    for (from, to) in [(ada, bob), (bob, ada)] {
        assert!(matches!(
            s.create_contact_request(from, to, "again".into(), 11).await,
            Err(StorageError::Conflict)
        ));
    }
    let (to_cat, _) = s
        .create_contact_request(cat, ada, "cat".into(), 12)
        .await
        .unwrap();
    let ids = |v: Vec<jeco_server::storage::ContactRequestRecord>| {
        v.into_iter().map(|r| r.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(s.pending_contact_requests(ada).await.unwrap()),
        [req.id, to_cat.id]
    );
    assert_eq!(
        ids(s.pending_contact_requests(bob).await.unwrap()),
        [req.id]
    );
    assert_eq!(
        s.contact_request(req.id).await.unwrap().as_ref(),
        Some(&req)
    );
    assert_eq!(
        s.contact_request(ContactRequestId(999_999)).await.unwrap(),
        None
    );

    // Declined: once, no contact, no notification; a new request may follow.
    let (declined, committed) = s
        .resolve_contact_request(req.id, bob, ContactRequestStatus::Declined, "x".into(), 20)
        .await
        .unwrap();
    assert_eq!(
        (declined.status, declined.resolved_at_ms),
        (ContactRequestStatus::Declined, Some(20))
    );
    assert_eq!(
        committed
            .user_events
            .iter()
            .map(|e| e.user_id)
            .collect::<Vec<_>>(),
        [ada, bob]
    );
    assert!(matches!(
        s.resolve_contact_request(req.id, bob, ContactRequestStatus::Accepted, "x".into(), 21)
            .await,
        Err(StorageError::Conflict)
    ));
    assert!(matches!(
        s.resolve_contact_request(
            ContactRequestId(999_999),
            bob,
            ContactRequestStatus::Accepted,
            "x".into(),
            21
        )
        .await,
        Err(StorageError::Conflict)
    ));
    assert!(s.contacts(ada).await.unwrap().is_empty());
    assert!(s.pending_contact_requests(bob).await.unwrap().is_empty());

    // Accepted: contacts both ways, the sender notified.
    let (again, _) = s
        .create_contact_request(bob, ada, "bob".into(), 30)
        .await
        .unwrap();
    let (accepted, committed) = s
        .resolve_contact_request(
            again.id,
            ada,
            ContactRequestStatus::Accepted,
            "ok".into(),
            31,
        )
        .await
        .unwrap();
    assert_eq!(accepted.status, ContactRequestStatus::Accepted);
    let told: Vec<_> = committed.user_events.iter().map(|e| e.user_id).collect();
    assert_eq!(told, [bob, ada, bob]);
    match &committed.user_events[2].data {
        UserEventData::NotificationCreated { notification } => assert_eq!(
            (
                notification.kind,
                notification.actor_id,
                notification.preview.as_str()
            ),
            (NotificationKind::ContactAccepted, Some(ada), "ok")
        ),
        other => panic!("expected a notification, got {other:?}"),
    }
    let contacts = s.contacts(ada).await.unwrap();
    assert_eq!(
        contacts
            .iter()
            .map(|c| (c.user_id, c.since_ms))
            .collect::<Vec<_>>(),
        [(bob, 31)]
    );
    assert_eq!(s.contacts(bob).await.unwrap()[0].user_id, ada);
    for (from, to) in [(ada, bob), (bob, ada)] {
        assert!(matches!(
            s.create_contact_request(from, to, "again".into(), 32).await,
            Err(StorageError::Conflict)
        ));
    }
    // Cat's request is accepted too: ada's contacts in username order.
    s.resolve_contact_request(
        to_cat.id,
        ada,
        ContactRequestStatus::Accepted,
        "ok".into(),
        33,
    )
    .await
    .unwrap();
    assert_eq!(
        s.contacts(ada)
            .await
            .unwrap()
            .iter()
            .map(|c| c.user_id)
            .collect::<Vec<_>>(),
        [bob, cat]
    );
    // A cancelled request is resolved like the others.
    let (bc_req, _) = s
        .create_contact_request(bob, cat, "b".into(), 34)
        .await
        .unwrap();
    let (cancelled, _) = s
        .resolve_contact_request(
            bc_req.id,
            bob,
            ContactRequestStatus::Cancelled,
            "".into(),
            35,
        )
        .await
        .unwrap();
    assert_eq!(cancelled.status, ContactRequestStatus::Cancelled);

    let committed = s.remove_contact(bob, ada, 40).await.unwrap();
    assert_eq!(
        committed
            .user_events
            .iter()
            .map(|e| (e.user_id, e.data.clone()))
            .collect::<Vec<_>>(),
        [
            (bob, UserEventData::ContactRemoved { user: ada }),
            (ada, UserEventData::ContactRemoved { user: bob })
        ]
    );
    assert!(matches!(
        s.remove_contact(ada, bob, 41).await,
        Err(StorageError::NotFound)
    ));
    assert_eq!(
        s.contacts(ada)
            .await
            .unwrap()
            .iter()
            .map(|c| c.user_id)
            .collect::<Vec<_>>(),
        [cat]
    );
    assert!(s.contacts(bob).await.unwrap().is_empty());
    // After removal, a new request is possible.
    s.create_contact_request(ada, bob, "again".into(), 42)
        .await
        .unwrap();
}

/// Requests both ways between two people at once, and an acceptance racing a new request: one
/// pending request per pair, and never a pending request between contacts.
pub async fn concurrent_contact_requests_keep_one_per_pair(s: Fresh) {
    for round in 0..6 {
        let a = user(&*s, &format!("a{round}")).await;
        let b = user(&*s, &format!("b{round}")).await;
        let (x, y) = tokio::join!(
            s.create_contact_request(a, b, "p".into(), 1),
            s.create_contact_request(b, a, "p".into(), 1)
        );
        assert_eq!(
            [x.is_ok(), y.is_ok()].iter().filter(|ok| **ok).count(),
            1,
            "round {round}"
        );
        let request = x.or(y).unwrap().0;
        let (accepted, again) = tokio::join!(
            s.resolve_contact_request(
                request.id,
                request.to_user,
                ContactRequestStatus::Accepted,
                "ok".into(),
                2
            ),
            s.create_contact_request(request.from_user, request.to_user, "p".into(), 2)
        );
        accepted.unwrap();
        assert!(
            matches!(again, Err(StorageError::Conflict)),
            "round {round}: a request between contacts: {again:?}"
        );
        assert!(s.pending_contact_requests(a).await.unwrap().is_empty());
    }
}

/// A profile change sets, keeps or clears each field as asked and returns the row as written;
/// an unknown user is `None`.
pub async fn profile_changes_set_keep_and_clear(s: Fresh) {
    use jeco_server::storage::ProfileChange;
    let ada = user(&*s, "ada").await;
    let set_all = ProfileChange {
        display_name: Some(Some("Ada L".into())),
        bio: Some(Some("maths".into())),
        status_text: Some(Some("away".into())),
    };
    let u = s.update_profile(ada, set_all).await.unwrap().unwrap();
    assert_eq!(
        (
            u.display_name.as_deref(),
            u.bio.as_deref(),
            u.status_text.as_deref()
        ),
        (Some("Ada L"), Some("maths"), Some("away"))
    );
    let u = s
        .update_profile(
            ada,
            ProfileChange {
                bio: Some(None),
                status_text: Some(Some("here".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            u.display_name.as_deref(),
            u.bio.as_deref(),
            u.status_text.as_deref()
        ),
        (Some("Ada L"), None, Some("here"))
    );
    assert_eq!(s.user_by_id(ada).await.unwrap(), Some(u.clone()));
    // Nothing asked: nothing changes.
    assert_eq!(
        s.update_profile(ada, ProfileChange::default())
            .await
            .unwrap(),
        Some(u)
    );
    assert_eq!(
        s.update_profile(UserId(999_999), ProfileChange::default())
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.user_by_username("nobody").await.unwrap(), None);
    assert_eq!(s.user_by_id(UserId(999_999)).await.unwrap(), None);
}

/// The user search ignores ASCII case in the prefix, matches display names, and pages strictly
/// after the given username in byte order.
pub async fn user_search_ignores_case_and_pages_in_byte_order(s: Fresh) {
    use jeco_server::storage::ProfileChange;
    for name in ["b_x", "b-y", "bz", "b0", "cat"] {
        user(&*s, name).await;
    }
    let cat = s.user_by_username("cat").await.unwrap().unwrap();
    s.update_profile(
        cat.id,
        ProfileChange {
            display_name: Some(Some("Big Cat".into())),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let names = |v: Vec<jeco_server::storage::UserRecord>| {
        v.into_iter().map(|u| u.username).collect::<Vec<_>>()
    };
    // Byte order: '-' < '0' < '_' < 'c' < 'z'.
    assert_eq!(
        names(s.search_users("B", None, 10).await.unwrap()),
        ["b-y", "b0", "b_x", "bz", "cat"]
    );
    assert_eq!(
        names(s.search_users("b", Some("b0"), 2).await.unwrap()),
        ["b_x", "bz"]
    );
    assert_eq!(
        names(s.search_users("BIG c", None, 10).await.unwrap()),
        ["cat"]
    );
    assert!(
        s.search_users("b", Some("cat"), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.search_users("b", None, 0).await.unwrap().is_empty());
}

/// Two replacements of a user's recovery codes at once, and two enrolments confirmed at once:
/// one set of codes remains, whole, and one confirmation wins.
pub async fn concurrent_recovery_code_changes_leave_one_set(s: Fresh) {
    for round in 0..8u8 {
        let u = user(&*s, &format!("u{round}")).await;
        s.put_pending_two_factor(u, b"s".to_vec(), 1).await.unwrap();
        let (x, y) = tokio::join!(
            s.enable_two_factor(u, 1, vec![[1; 32], [2; 32]], 2),
            s.enable_two_factor(u, 1, vec![[3; 32], [4; 32]], 2)
        );
        assert!(x.unwrap() != y.unwrap(), "round {round}");
        let first: Vec<_> = s
            .recovery_codes(u)
            .await
            .unwrap()
            .iter()
            .map(|c| c.1)
            .collect();
        assert!(
            first == [[1; 32], [2; 32]] || first == [[3; 32], [4; 32]],
            "round {round}: {first:?}"
        );
        let (x, y) = tokio::join!(
            s.replace_recovery_codes(u, vec![[5; 32], [6; 32], [7; 32]]),
            s.replace_recovery_codes(u, vec![[8; 32], [9; 32], [10; 32]])
        );
        x.unwrap();
        y.unwrap();
        let codes: Vec<_> = s
            .recovery_codes(u)
            .await
            .unwrap()
            .iter()
            .map(|c| c.1)
            .collect();
        assert!(
            codes == [[5; 32], [6; 32], [7; 32]] || codes == [[8; 32], [9; 32], [10; 32]],
            "round {round}: {codes:?}"
        );
    }
}
