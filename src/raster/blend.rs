//! Merging the views into three slots and blending them with the static triplane:
//! `plane = α·raster + (1 − α)·static`. CPU reference, f64.

use super::layout::{AlphaRule, PlaneLayout, Source};
use super::reference::{Image, ViewImages};

/// The pixel of `source`'s image that lands on pixel (row, col) of the slot.
fn source_pixel(source: &Source, row: usize, col: usize, n: usize) -> usize {
    let r = if source.flip_v { n - 1 - row } else { row };
    let c = if source.flip_u { n - 1 - col } else { col };
    r * n + c
}

/// One slot's raster features and alpha, before blending.
pub fn merge_slot(layout: &PlaneLayout, slot: usize, views: &[ViewImages]) -> (Image, Vec<f64>) {
    let n = views[0].raster.resolution;
    let channels = views[0].rendering.channels;
    let spec = &layout.slots[slot];
    let mut raster = Image::zeros(channels, n, n);
    let mut alpha = vec![0.0f64; n * n];
    for row in 0..n {
        for col in 0..n {
            let pixel = row * n + col;
            for source in &spec.rasters {
                let from = source_pixel(source, row, col, n);
                for c in 0..channels {
                    raster.data[c * n * n + pixel] +=
                        views[source.view].rendering.data[c * n * n + from];
                }
            }
            for source in &spec.alphas {
                let a = views[source.view].alpha[source_pixel(source, row, col, n)];
                let a = match spec.alpha_rule {
                    AlphaRule::Fractional => a,
                    AlphaRule::Binarized => f64::from(u8::from(a != 0.0)),
                };
                alpha[pixel] = alpha[pixel].max(a);
            }
        }
    }
    (raster, alpha)
}

/// The three blended planes, each `C×n×n`, from the static planes at the raster resolution.
pub fn blend(layout: &PlaneLayout, views: &[ViewImages], static_planes: &[Image; 3]) -> [Image; 3] {
    [0, 1, 2].map(|slot| {
        let (raster, alpha) = merge_slot(layout, slot, views);
        let n = raster.height;
        let mut plane = static_planes[slot].clone();
        for (i, x) in plane.data.iter_mut().enumerate() {
            let a = alpha[i % (n * n)];
            *x = a * raster.data[i] + (1.0 - a) * *x;
        }
        plane
    })
}
