#![no_main]
//! See neuralhead::fuzzing::portrait_bytes.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    neuralhead::fuzzing::portrait_bytes(data);
});
