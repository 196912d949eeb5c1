#![no_main]
//! See neuralhead::fuzzing::live_link_csv.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    neuralhead::fuzzing::live_link_csv(data);
});
