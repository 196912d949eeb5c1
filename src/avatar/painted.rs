//! A hand-built test avatar that makes the pipeline's geometry visible: the rig's colour
//! texture becomes a head-shaped volume. Channel 0 carries "surface here" (+4 on the texture,
//! −4 in the static planes) and channels 1–3 the colour as logits. The decoder passes the
//! plane features through (softplus of x + 10 ≈ x + 10) and makes density only where the
//! mean of the three planes' channel 0 is high — where all three views saw the surface, the
//! visual hull of the head.

use super::{Array, Avatar, RigRef, SourceState, plane_axes_for};
use crate::raster::layout::PlaneLayout;
use crate::render::decoder::{FEATURES, HIDDEN};
use crate::rig::Rig;

const SURFACE: f32 = 4.0;
/// Keeps the hidden layer in softplus's linear range.
const OFFSET: f32 = 10.0;
/// σ = DENSITY_GAIN · (mean surface feature − DENSITY_THRESHOLD). Channel 0 is +4 where a
/// plane's views saw the surface and −4 elsewhere, but the side slot sums the left and right
/// views (+8 where both saw it): the mean of the three planes is at least 4 inside the hull
/// and at most 8/3 outside it (two planes covered, one of them the side's 8). The threshold
/// sits between, or a ghost of the head's front or sides appears wherever two planes agree.
const DENSITY_GAIN: f32 = 30.0;
const DENSITY_THRESHOLD: f32 = 10.0 / 3.0;
const PLANE_SIZE: usize = 64;

fn logit(x: f32) -> f32 {
    let x = x.clamp(0.02, 0.98);
    (x / (1.0 - x)).ln()
}

pub fn painted_avatar(rig: &Rig, rig_ref: RigRef) -> Avatar {
    // The rig's colour texture, or mid grey.
    let (size, rgb): (usize, Vec<[f32; 3]>) = match &rig.albedo {
        Some(img) if img.channels == 3 && img.width == img.height => (
            img.width,
            img.data
                .chunks_exact(3)
                .map(|c| [c[0], c[1], c[2]].map(|x| f32::from(x) / 255.0))
                .collect(),
        ),
        _ => (64, vec![[0.6, 0.6, 0.6]; 64 * 64]),
    };
    painted_with_colours(rig_ref, size, &rgb)
}

/// The painted avatar with `rgb` (a `size`² atlas, 0…1) for its colours.
pub fn painted_with_colours(rig_ref: RigRef, size: usize, rgb: &[[f32; 3]]) -> Avatar {
    let plane = size * size;
    let mut texture = vec![0.0f32; FEATURES * plane];
    for (p, colour) in rgb.iter().enumerate() {
        texture[p] = SURFACE;
        for c in 0..3 {
            texture[(1 + c) * plane + p] = logit(colour[c]);
        }
    }
    let static_plane = PLANE_SIZE * PLANE_SIZE;
    let mut static_planes = vec![0.0f32; 3 * FEATURES * static_plane];
    for k in 0..3 {
        static_planes[k * FEATURES * static_plane..][..static_plane].fill(-SURFACE);
    }
    let (g0, g1) = ((FEATURES as f32).sqrt(), (HIDDEN as f32).sqrt());
    let mut w0 = vec![0.0f32; HIDDEN * FEATURES];
    for j in 0..FEATURES {
        w0[j * FEATURES + j] = g0; // cancels the 1/√in gain: hidden j = softplus(x_j + OFFSET)
    }
    let mut w1 = vec![0.0f32; (FEATURES + 1) * HIDDEN];
    let mut b1 = vec![0.0f32; FEATURES + 1];
    w1[0] = DENSITY_GAIN * g1;
    b1[0] = -DENSITY_GAIN * (OFFSET + DENSITY_THRESHOLD);
    for c in 1..4 {
        w1[c * HIDDEN + c] = g1;
        b1[c] = -OFFSET;
    }
    let layout = PlaneLayout::consistent();
    Avatar {
        name: "painted test avatar".into(),
        rig: rig_ref,
        source: SourceState::default(),
        texture: Array {
            shape: vec![FEATURES, size, size],
            data: texture,
        },
        static_planes: Array {
            shape: vec![3, FEATURES, PLANE_SIZE, PLANE_SIZE],
            data: static_planes,
        },
        decoder: vec![
            (
                "decoder.net.0.weight".into(),
                Array {
                    shape: vec![HIDDEN, FEATURES],
                    data: w0,
                },
            ),
            (
                "decoder.net.0.bias".into(),
                Array {
                    shape: vec![HIDDEN],
                    data: vec![OFFSET; HIDDEN],
                },
            ),
            (
                "decoder.net.2.weight".into(),
                Array {
                    shape: vec![FEATURES + 1, HIDDEN],
                    data: w1,
                },
            ),
            (
                "decoder.net.2.bias".into(),
                Array {
                    shape: vec![FEATURES + 1],
                    data: b1,
                },
            ),
        ],
        plane_axes: plane_axes_for(layout.plane_axes),
        layout,
        generator: None,
        styles: None,
    }
}
