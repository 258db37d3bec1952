#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| jeco_shared::fuzz::request_bodies(data));
