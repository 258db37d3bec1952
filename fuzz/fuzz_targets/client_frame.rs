#![no_main]

// The protocol type's round trip, then the gateway's own decoder (heartbeat fast path included).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    jeco_shared::fuzz::client_frame(data);
    jeco_fuzz::frames::fuzz_parse(data);
});
