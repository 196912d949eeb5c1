#![no_main]
//! See neuralhead::fuzzing::settings_json.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    neuralhead::fuzzing::settings_json(data);
});
