#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| jeco_fuzz::voice::ogg_opus::fuzz_ogg_opus(data));
