//! The views besides the portrait's that the inversion is held to: other expressions (neutral,
//! the jaw open, a smile, a blink) and other yaws. Their targets are the unwrapped portrait
//! drawn on the mesh moved there (`unwrap::render_textured`): what the avatar should show
//! if its colour moved with the mesh. Without them the optimiser fixes training-view pixels
//! with the side and top planes' texels, which holds for the portrait's geometry alone and
//! shows as doubled lids and smeared mouths everywhere else.

use super::fit::Fit;
use super::unwrap::{Unwrapped, render_textured};
use crate::render::camera::OrbitCamera;
use crate::rig::{Rig, RigParams};

/// An expression (on the portrait's identity) and a camera.
pub struct OtherView {
    pub params: RigParams,
    pub camera: OrbitCamera,
}

/// Neutral, the jaw open, smiling and blinking at the portrait's view; neutral and the
/// portrait's own expression turned either way.
pub fn other_views(fit: &Fit) -> Vec<OtherView> {
    let own = fit.params.clone();
    let neutral = RigParams {
        expression: Default::default(),
        ..own.clone()
    };
    let turned = |yaw_degrees: f64| OrbitCamera {
        yaw: fit.camera.yaw + yaw_degrees.to_radians(),
        ..fit.camera
    };
    let both = |p: RigParams, name: &str, w: f32| {
        p.with_expression(&format!("{name}_L"), w)
            .with_expression(&format!("{name}_R"), w)
    };
    vec![
        (neutral.clone(), turned(0.0)),
        (neutral.clone().with_expression("jawOpen", 0.7), turned(0.0)),
        (both(neutral.clone(), "mouthSmile", 1.0), turned(0.0)),
        (both(neutral.clone(), "eyeBlink", 1.0), turned(0.0)),
        (neutral.clone(), turned(-30.0)),
        (neutral, turned(30.0)),
        (own.clone(), turned(-45.0)),
        (own, turned(45.0)),
    ]
    .into_iter()
    .map(|(params, camera)| OtherView { params, camera })
    .collect()
}

/// The view's target at `size`²: RGB `[3, size, size]` in −1…1 and the mask of pixels the
/// mesh covers with all four neighbours (edges are half background).
pub fn textured_target(
    rig: &Rig,
    view: &OtherView,
    unwrapped: &Unwrapped,
    size: usize,
) -> anyhow::Result<(Vec<f32>, Vec<f32>)> {
    let drawn = render_textured(rig, &view.params, &view.camera, unwrapped, size)?;
    let plane = size * size;
    let mut rgb = vec![-1.0; 3 * plane];
    for (p, colour) in drawn.iter().enumerate() {
        if let Some(c) = colour {
            for k in 0..3 {
                rgb[k * plane + p] = 2.0 * c[k] - 1.0;
            }
        }
    }
    let covered = |row: usize, col: usize| drawn[row * size + col].is_some();
    let mask = (0..plane)
        .map(|p| {
            let (row, col) = (p / size, p % size);
            let inside = row > 0
                && col > 0
                && row + 1 < size
                && col + 1 < size
                && covered(row, col)
                && covered(row - 1, col)
                && covered(row + 1, col)
                && covered(row, col - 1)
                && covered(row, col + 1);
            f32::from(u8::from(inside))
        })
        .collect();
    Ok((rgb, mask))
}
