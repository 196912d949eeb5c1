//! A test avatar of smooth random textures and planes and a random decoder, seeded: it
//! exercises the whole pipeline before a generator or an inversion has made a real one.

use rand::{Rng, SeedableRng, rngs::StdRng};

use super::{Array, Avatar, RigRef, SourceState, plane_axes_for};
use crate::raster::layout::PlaneLayout;
use crate::render::decoder::{FEATURES, HIDDEN};

/// Smooth noise: random values on a coarse grid, bilinearly up-sampled.
fn smooth_noise(
    rng: &mut StdRng,
    channels: usize,
    size: usize,
    cells: usize,
    amplitude: f32,
) -> Vec<f32> {
    let grid: Vec<f32> = (0..channels * (cells + 1) * (cells + 1))
        .map(|_| rng.random_range(-amplitude..amplitude))
        .collect();
    let mut out = Vec::with_capacity(channels * size * size);
    for c in 0..channels {
        for r in 0..size {
            for k in 0..size {
                let (y, x) = (
                    r as f32 / size as f32 * cells as f32,
                    k as f32 / size as f32 * cells as f32,
                );
                let (y0, x0) = (y.floor() as usize, x.floor() as usize);
                let (fy, fx) = (y - y0 as f32, x - x0 as f32);
                let at = |yy: usize, xx: usize| grid[(c * (cells + 1) + yy) * (cells + 1) + xx];
                out.push(
                    (1.0 - fy) * ((1.0 - fx) * at(y0, x0) + fx * at(y0, x0 + 1))
                        + fy * ((1.0 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1)),
                );
            }
        }
    }
    out
}

pub fn random_avatar(rig: RigRef, seed: u64, texture_size: usize, plane_size: usize) -> Avatar {
    let rng = &mut StdRng::seed_from_u64(seed);
    let layout = PlaneLayout::consistent();
    let gaussian = |rng: &mut StdRng, n: usize, scale: f32| -> Vec<f32> {
        (0..n)
            .map(|_| {
                (rng.random::<f32>() + rng.random::<f32>() + rng.random::<f32>() - 1.5)
                    * 2.0
                    * scale
            })
            .collect()
    };
    let mut b2 = gaussian(rng, FEATURES + 1, 0.3);
    b2[0] = 1.0; // some density inside the box, so the render shows a volume
    Avatar {
        name: format!("random test avatar (seed {seed})"),
        rig,
        source: SourceState::default(),
        texture: Array {
            shape: vec![FEATURES, texture_size, texture_size],
            data: smooth_noise(rng, FEATURES, texture_size, 12, 2.5),
        },
        static_planes: Array {
            shape: vec![3, FEATURES, plane_size, plane_size],
            data: smooth_noise(rng, 3 * FEATURES, plane_size, 6, 1.5),
        },
        decoder: vec![
            (
                "decoder.net.0.weight".into(),
                Array {
                    shape: vec![HIDDEN, FEATURES],
                    data: gaussian(rng, HIDDEN * FEATURES, 1.0),
                },
            ),
            (
                "decoder.net.0.bias".into(),
                Array {
                    shape: vec![HIDDEN],
                    data: gaussian(rng, HIDDEN, 0.2),
                },
            ),
            (
                "decoder.net.2.weight".into(),
                Array {
                    shape: vec![FEATURES + 1, HIDDEN],
                    data: gaussian(rng, (FEATURES + 1) * HIDDEN, 1.0),
                },
            ),
            (
                "decoder.net.2.bias".into(),
                Array {
                    shape: vec![FEATURES + 1],
                    data: b2,
                },
            ),
        ],
        plane_axes: plane_axes_for(layout.plane_axes),
        layout,
        generator: None,
        styles: None,
    }
}
