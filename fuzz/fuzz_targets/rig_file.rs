#![no_main]
//! See neuralhead::fuzzing::rig_file_bytes.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    neuralhead::fuzzing::rig_file_bytes(data);
});
