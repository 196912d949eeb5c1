//! One entry per parser of outside data, taking raw bytes: the fuzz targets in `fuzz/` call
//! these, and `tests/fuzz_corpus.rs` replays the committed corpus and every crasher through
//! them under `cargo test`. Each returns whether the input was accepted; a panic is a finding.
//! Where a parser accepts, the result is held to what its readers rely on.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use crate::app::Settings;
use crate::avatar::file as avatar_file;
use crate::export::live_link;
use crate::fadm::model::FadmConfig;
use crate::invert::face::portrait;
use crate::nets::generator::Next3dCheckpoint;
use crate::nets::weights::Weights;
use crate::render::decoder::FEATURES;
use crate::rig::file as rig_file;
use crate::rig::sequence::Sequence;
use crate::rig::{Rig, RigParams, default_rig};

/// A fuzz entry: the input's bytes in, whether the parser accepted them out.
pub type Entry = fn(&[u8]) -> bool;

/// The targets, by the names of their folders under `fuzz/corpus/`.
pub const TARGETS: [(&str, Entry); 9] = [
    ("avatar_file", avatar_file_bytes),
    ("rig_file", rig_file_bytes),
    ("weights", weights_bytes),
    ("sequence_csv", sequence_csv),
    ("sequence_json", sequence_json),
    ("live_link", live_link_csv),
    ("params_json", params_json),
    ("settings", settings_json),
    ("portrait", portrait_bytes),
];

/// The default rig, made once (sequences and parameters are checked against it).
fn rig() -> &'static Arc<Rig> {
    static RIG: OnceLock<Arc<Rig>> = OnceLock::new();
    RIG.get_or_init(default_rig::embedded)
}

pub fn avatar_file_bytes(data: &[u8]) -> bool {
    let Ok(avatar) = avatar_file::from_bytes(data, "fuzz") else {
        return false;
    };
    avatar_file::validate(&avatar).expect("an accepted avatar validates");
    true
}

pub fn rig_file_bytes(data: &[u8]) -> bool {
    let Ok(rig) = rig_file::from_bytes(data, "fuzz") else {
        return false;
    };
    rig.validate().expect("an accepted rig validates");
    true
}

/// Converted Next3D and FADM weights: the safetensors reader, then what each model reads
/// from the metadata and shapes before building networks.
pub fn weights_bytes(data: &[u8]) -> bool {
    let Ok(weights) = Weights::from_bytes(data, "fuzz") else {
        return false;
    };
    for key in weights.names().map(str::to_string).collect::<Vec<_>>() {
        let shape = weights.shape(&key).expect("a listed tensor has a shape");
        if let Ok(values) = weights.values(&key) {
            assert_eq!(values.len(), shape.iter().product::<usize>());
        }
    }
    let _ = FadmConfig::from_metadata(&weights);
    Next3dCheckpoint::from_weights(weights, Path::new("fuzz"), String::new()).is_ok()
}

fn sequence(data: &[u8], is_csv: bool) -> bool {
    let Ok(sequence) = Sequence::from_bytes(data, is_csv, "fuzz", rig()) else {
        return false;
    };
    assert!(!sequence.frames.is_empty());
    assert!(sequence.fps.is_finite() && sequence.fps > 0.0);
    let last = sequence.frame_at(sequence.duration() * 2.0, true);
    assert!(last < sequence.frames.len());
    true
}

pub fn sequence_csv(data: &[u8]) -> bool {
    sequence(data, true)
}

pub fn sequence_json(data: &[u8]) -> bool {
    sequence(data, false)
}

pub fn live_link_csv(data: &[u8]) -> bool {
    live_link::parse(data, rig()).is_ok()
}

/// A `--params` file: JSON, then checked against the rig as the renderer does.
pub fn params_json(data: &[u8]) -> bool {
    let Ok(params) = serde_json::from_slice::<RigParams>(data) else {
        return false;
    };
    params.resolve(rig()).is_ok()
}

pub fn settings_json(data: &[u8]) -> bool {
    let Ok(settings) = Settings::from_json(data) else {
        return false;
    };
    assert_eq!(settings.clone().sane(), settings, "sane() is idempotent");
    assert!(settings.channels.iter().all(|&c| c < FEATURES));
    assert!(settings.samples_scale.is_finite() && settings.samples_scale > 0.0);
    true
}

/// Bytes → the checked, upright RGB image inversion starts from.
pub fn portrait_bytes(data: &[u8]) -> bool {
    let Ok((image, _)) = portrait::decode(data, "fuzz") else {
        return false;
    };
    let (width, height) = image.dimensions();
    assert!(width.min(height) >= portrait::MIN_SIDE && width.max(height) <= portrait::MAX_SIDE);
    true
}
