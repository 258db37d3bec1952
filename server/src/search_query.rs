//! The search query language, as the server uses it.
//!
//! The language itself — parser, tree, limits and errors — lives in `jeco_shared::search::query`,
//! because the client engine's offline cache searches with it too and a query must find the same
//! messages online and offline. This module re-exports it for the services and the storage
//! backends, and holds the fuzz target that checks the parser against the server's real index:
//! whatever arrives parses or is refused, and SQLite's FTS5 accepts every rendering.

pub use jeco_shared::search::query::*;

/// The `search_query` fuzz target (`fuzz/`): parsing never panics; what parses renders to text
/// that parses back to the same query, within the limits; and SQLite's FTS5 accepts every
/// rendering of its text part, on a table made like the server's index.
#[cfg(any(test, fuzzing))]
pub fn fuzz_search_query(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(query) = SearchQuery::parse(text) else {
        return;
    };
    let canonical = query.to_string();
    match SearchQuery::parse(&canonical) {
        // The canonical form quotes terms and spells filters out, so near the length limit it can
        // be longer than what was typed (found by the fuzzer: 220 typed characters, 280 rendered).
        // Only the length may refuse it; anything else must round-trip.
        Err(jeco_shared::search::query::QueryError::TooLong)
            if canonical.chars().count() > jeco_shared::search::query::QUERY_MAX_CHARS => {}
        again => assert_eq!(again.as_ref(), Ok(&query), "{canonical}"),
    }
    let Some(fts) = query.text.as_ref().map(TextQuery::to_fts5) else {
        return;
    };
    thread_local! {
        static DB: rusqlite::Connection = {
            let db = rusqlite::Connection::open_in_memory().unwrap();
            // As `messages_fts` in the server's migrations.
            db.execute_batch(
                "CREATE VIRTUAL TABLE t USING fts5(text, tokenize = 'unicode61 remove_diacritics 2',
                     prefix = '2 3');
                 INSERT INTO t VALUES ('the quarterly report is late'), ('Ünïcödé 日本語 text');",
            )
            .unwrap();
            db
        };
    }
    DB.with(|db| {
        let found: Result<i64, _> =
            db.query_row("SELECT count(*) FROM t WHERE t MATCH ?1", [&fts], |r| {
                r.get(0)
            });
        if let Err(e) = found {
            panic!("FTS5 refused {fts:?} (from {text:?}): {e}");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_corpus_and_regressions_replay() {
        crate::fuzz_cases::replay("search_query", fuzz_search_query);
    }

    /// Random queries made of the language's syntax, FTS5's syntax and SQL's, in any order: each
    /// parses or is refused, what parses round-trips, and FTS5 accepts its rendering.
    #[test]
    fn random_syntax_soup_never_breaks_the_parser_or_fts5() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let piece = prop::sample::select(vec![
            "a",
            "bc",
            "Ünï",
            "日本",
            "\"",
            "\"\"",
            "(",
            ")",
            "*",
            " ",
            "  ",
            "AND",
            "OR",
            "NOT",
            "NEAR",
            ":",
            "^",
            "-",
            "+",
            "{",
            "}",
            ",",
            "'",
            ";",
            "--",
            "from:",
            "from:@",
            "@ada",
            "in:#",
            "gen",
            "before:",
            "after:",
            "2026-12-01",
            "2026-02-30",
            "has:file",
            "has:",
            "col:",
            "\u{0}",
            "\t",
            "…",
            "%",
            "_",
        ]);
        let query = prop::collection::vec(piece, 0..40).prop_map(|p| p.concat());
        TestRunner::new(Config {
            cases: 2000,
            failure_persistence: None,
            ..Config::default()
        })
        .run(&query, |q| {
            fuzz_search_query(q.as_bytes());
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn fts5_accepts_every_rendering() {
        for q in [
            "a",
            "a b OR c NOT (d OR \"e f\"*)",
            "日本語 Ünïcödé",
            "x ) y",
            "\"\"\"\"",
            "\"*\"*",
            "NEAR(a b) text: ^x col:y {a b} a + b",
            "\"unclosed phrase",
            "report from:@ada in:#general before:2026-12-01 after:2026-11-01 has:file",
            "'; DROP TABLE t; --",
        ] {
            fuzz_search_query(q.as_bytes());
        }
    }
}
