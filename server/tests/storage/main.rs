//! The storage conformance suite, run against every backend.
//!
//! [`suite`] holds the checks: plain async functions that take a fresh, empty store and talk to it
//! only through the storage traits (`jeco_server::storage::Storage`), never through a backend's
//! own types — the way matrix-rust-sdk's store integration tests are written once and run by each
//! store. [`conformance_suite!`] turns every check into one `#[tokio::test]` for a backend, given
//! an async function that opens a fresh store. A new backend adds one invocation below with its own
//! factory and must pass the same suite.

mod checks_accounts;
mod checks_messages;
mod checks_teams;
mod copy;
mod suite;

use jeco_server::storage::postgres::PgStorage;
use jeco_server::storage::sqlite::SqliteStorage;
use std::sync::Arc;
use suite::Fresh;

/// Expands to one test per check of [`suite`] in a module named after the backend.
macro_rules! conformance_suite {
    ($backend:ident, $fresh:path) => {
        mod $backend {
            conformance_suite!(@checks $fresh;
                usernames_are_unique,
                user_search_is_prefix_keyset_and_escapes_wildcards,
                positions_are_gap_free_under_concurrent_writers,
                user_positions_are_gap_free_under_concurrent_writers,
                a_batch_is_stored_in_order_once_per_client_id_and_failures_stay_alone,
                client_id_is_idempotent_per_sender,
                a_batch_answers_earlier_keys_and_takes_positions_for_new_messages_only,
                a_refused_send_takes_no_position_and_no_budget,
                a_team_comes_with_its_general_channel,
                invite_outcomes,
                message_notifications_skip_sender_non_members_and_muted,
                an_edit_that_adds_a_mention_notifies_once,
                notification_previews_follow_edits_and_deletes,
                being_added_notifies_only_when_someone_else_adds,
                replay_after_a_position_and_membership_heads,
                replayed_message_created_events_show_the_message_as_created,
                a_page_gets_each_message_its_own_mentions_and_reactions,
                a_senders_message_ids_and_messages_by_id,
                search_finds_words_and_prefixes_in_the_users_conversations_only,
                search_filters_are_applied_in_the_query,
                media_records_from_upload_to_attachment,
                upload_quota_counts_uploads_and_attachments,
                login_failures_window,
                refresh_rotation_and_reuse,
                a_retry_within_the_grace_period_names_the_same_successor,
                expired_refresh_token,
                email_verification_and_one_account_per_address,
                password_changes_and_resets,
                the_session_list_and_ending_all_but_one,
                login_codes_are_used_once_before_expiry,
                two_factor_secrets_steps_and_recovery_codes,
                sign_in_challenges_are_used_once,
                requiring_two_factor_ends_sessions_without_it,
                admin_listing_deactivation_and_the_last_admin,
                concurrent_admin_removals_leave_one_admin,
                concurrent_refresh_rotations_have_one_winner,
                concurrent_password_resets_have_one_winner,
                contact_requests_pending_pair_accept_and_decline,
                concurrent_contact_requests_keep_one_per_pair,
                a_direct_conversation_is_one_per_pair,
                group_members_roles_and_renames,
                read_positions_and_conversation_lists,
                summaries_count_unread_and_mentions,
                team_membership_follows_into_channels,
                channels_names_privacy_topic_and_archive,
                invite_uses_hold_under_concurrent_redemption,
                upload_quota_holds_under_concurrent_uploads,
                media_dedup_thumbnails_avatars_and_sweeping,
                profile_changes_set_keep_and_clear,
                user_search_ignores_case_and_pages_in_byte_order,
                concurrent_recovery_code_changes_leave_one_set,
                overlapping_team_changes_at_once_all_succeed,
                edits_and_deletes_change_the_row_and_append_events,
                reactions_toggle_or_set_and_report_the_messages_reactions,
                concurrent_reaction_toggles_are_serialized,
                pins_are_listed_newest_first_and_change_once,
                replies_threads_and_thread_only_replies,
                history_pages_by_each_anchor,
                the_notification_inbox_reads_and_counts,
                search_survives_hostile_input_and_keeps_its_meaning,
                prefix_search_pages_newest_first_across_conversations,
                old_matches_are_found_past_newer_traffic_elsewhere,
                concurrent_batches_over_the_same_conversations_all_commit
            );
        }
    };
    (@checks $fresh:path; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                crate::suite::$check($fresh().await).await;
            }
        )*
    };
}

/// A fresh SQLite database in a temporary directory, removed when the store is dropped.
async fn fresh_sqlite() -> Fresh {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStorage::open(dir.path().join("conformance.db"), 0)
        .await
        .expect("open SQLite");
    Fresh::new(Arc::new(store), dir)
}

conformance_suite!(sqlite, crate::fresh_sqlite);

/// A fresh database in the test process's own PostgreSQL cluster (`jeco_testkit::postgres`:
/// Debian's PostgreSQL, started by the tests; `./dev test` installs it).
async fn fresh_postgres() -> Fresh {
    let url = tokio::task::spawn_blocking(jeco_testkit::postgres::fresh_database)
        .await
        .expect("create a test database");
    let store = PgStorage::open(&url, 0).await.expect("open PostgreSQL");
    Fresh::new(Arc::new(store), ())
}

conformance_suite!(postgres, crate::fresh_postgres);

/// PostgreSQL again for the search checks, with a search walk of 3 messages instead of 4,096 (and a second of 12):
/// with a handful of messages, most searches then cross from the walk to the lookup of the rest
/// (`storage/postgres/search.rs`), so the seam between them is checked, not only the walk.
async fn fresh_postgres_short_search_walk() -> Fresh {
    let url = tokio::task::spawn_blocking(jeco_testkit::postgres::fresh_database)
        .await
        .expect("create a test database");
    let store = PgStorage::open(&url, 0)
        .await
        .expect("open PostgreSQL")
        .with_search_walk_rows(3);
    Fresh::new(Arc::new(store), ())
}

mod postgres_short_search_walk {
    conformance_suite!(@checks crate::fresh_postgres_short_search_walk;
        search_finds_words_and_prefixes_in_the_users_conversations_only,
        search_filters_are_applied_in_the_query,
        search_survives_hostile_input_and_keeps_its_meaning,
        prefix_search_pages_newest_first_across_conversations,
        old_matches_are_found_past_newer_traffic_elsewhere
    );
}
