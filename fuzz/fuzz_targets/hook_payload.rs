#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| orchestron::fuzzing::hook_payload(data));
