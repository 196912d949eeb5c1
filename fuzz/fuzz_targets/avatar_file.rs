#![no_main]
//! See neuralhead::fuzzing::avatar_file_bytes.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    neuralhead::fuzzing::avatar_file_bytes(data);
});
