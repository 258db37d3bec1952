#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| jeco_fuzz::names::fuzz_names(data));
