#![no_main]
//! See neuralhead::fuzzing::sequence_json.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    neuralhead::fuzzing::sequence_json(data);
});
