#![no_main]
//! See neuralhead::fuzzing::params_json.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    neuralhead::fuzzing::params_json(data);
});
