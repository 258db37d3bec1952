#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| jeco_fuzz::search_query::fuzz_search_query(data));
