#![no_main]
//! See neuralhead::fuzzing::weights_bytes.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    neuralhead::fuzzing::weights_bytes(data);
});
