//! Random closed meshes for the rasterization tests.
#![allow(dead_code)]

use neuralhead::rig::{Rig, synthetic};
use rand::{Rng, rngs::StdRng};

pub fn random_head(rng: &mut StdRng, rings: usize, segments: usize) -> Rig {
    synthetic::lat_long_head(rng.random(), rings, segments)
}
