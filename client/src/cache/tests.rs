//! Tests of the cache on its own (no server): events, outbox rewrites, search, reopen.
