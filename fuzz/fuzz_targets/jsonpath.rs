#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| orchestron::fuzzing::jsonpath(data));
