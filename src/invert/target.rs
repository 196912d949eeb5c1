//! The portrait as the optimisation sees it: re-cropped to the fitted EG3D framing at the
//! neural resolution N, the face mask, and where the landmarks land.
//!
//! The fit says the rig's projection lands in the aligned crop at `scale · p + shift`
//! (normalised units), so render pixel `p` shows the crop at `scale · p + shift`: that square
//! of the original portrait, supersampled so that large portraits do not alias.

use crate::invert::align::Crop;
use crate::invert::face::sampling::{Border, bilinear};
use crate::invert::fit::Fit;

/// Subsamples per side at most when a render pixel covers many portrait pixels.
const MAX_SUPERSAMPLING: usize = 8;

#[derive(Debug, Clone)]
pub struct Target {
    pub size: usize,
    /// `[3, N, N]` in −1…1 (the renderer's RGB range).
    pub rgb: Vec<f32>,
    /// `[N, N]`: 1 inside the convex hull of the portrait's landmarks (the face), else 0.
    pub face_mask: Vec<f32>,
    /// The portrait's 468 landmarks in normalised render coordinates (0…1, y down).
    pub landmarks: Vec<[f64; 2]>,
}

impl Target {
    /// `landmarks` are the 468 points in normalised crop coordinates, as the fit took them.
    pub fn new(
        portrait: &image::RgbImage,
        crop: &Crop,
        fit: &Fit,
        landmarks: &[[f64; 2]],
        size: usize,
    ) -> Self {
        let to_render =
            |c: [f64; 2]| std::array::from_fn(|i| (c[i] - fit.crop_shift[i]) / fit.crop_scale);
        let landmarks: Vec<[f64; 2]> = landmarks.iter().map(|&c| to_render(c)).collect();
        Self {
            size,
            rgb: reframe(portrait, crop, fit, size),
            face_mask: face_mask(&landmarks, size),
            landmarks,
        }
    }

    /// The target as an RGB image (for previews and the quality tests).
    pub fn image(&self) -> image::RgbImage {
        rgb_image(&self.rgb, self.size)
    }
}

/// `[3, N, N]` in −1…1 → an RGB image.
pub fn rgb_image(rgb: &[f32], n: usize) -> image::RgbImage {
    image::RgbImage::from_fn(n as u32, n as u32, |x, y| {
        let p = y as usize * n + x as usize;
        image::Rgb(std::array::from_fn(|c| {
            ((rgb[c * n * n + p] + 1.0) * 127.5)
                .round()
                .clamp(0.0, 255.0) as u8
        }))
    })
}

/// The portrait in the fitted framing, `[3, N, N]` in −1…1.
fn reframe(portrait: &image::RgbImage, crop: &Crop, fit: &Fit, size: usize) -> Vec<f32> {
    let footprint = fit.crop_scale * crop.side() / size as f64;
    let k = (footprint.ceil() as usize).clamp(1, MAX_SUPERSAMPLING);
    let mut rgb = vec![0.0f32; 3 * size * size];
    for row in 0..size {
        for col in 0..size {
            let mut sum = [0.0f32; 3];
            for (sy, sx) in (0..k).flat_map(|sy| (0..k).map(move |sx| (sy, sx))) {
                let u = (col as f64 + (sx as f64 + 0.5) / k as f64) / size as f64;
                let v = (row as f64 + (sy as f64 + 0.5) / k as f64) / size as f64;
                let c = [
                    fit.crop_scale * u + fit.crop_shift[0],
                    fit.crop_scale * v + fit.crop_shift[1],
                ];
                let [x, y] = crop.to_portrait(1, c[0], c[1]);
                // Pixel centres sit on integers for the sampler.
                let s = bilinear(portrait, x as f32 - 0.5, y as f32 - 0.5, Border::Replicate);
                for i in 0..3 {
                    sum[i] += s[i];
                }
            }
            for (i, s) in sum.iter().enumerate() {
                rgb[i * size * size + row * size + col] = s / (k * k) as f32 / 127.5 - 1.0;
            }
        }
    }
    rgb
}

/// `[N, N]`: 1 where a pixel centre lies inside the convex hull of `points` (normalised
/// coordinates), the face region of a set of landmarks.
pub fn face_mask(points: &[[f64; 2]], size: usize) -> Vec<f32> {
    fill_polygon(&convex_hull(points), size)
}

/// Andrew's monotone chain, counter-clockwise in a y-down frame's arithmetic.
fn convex_hull(points: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    let cross = |o: [f64; 2], a: [f64; 2], b: [f64; 2]| {
        (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
    };
    let half = |iter: &mut dyn Iterator<Item = [f64; 2]>| {
        let mut chain: Vec<[f64; 2]> = Vec::new();
        for p in iter {
            while chain.len() >= 2
                && cross(chain[chain.len() - 2], chain[chain.len() - 1], p) <= 0.0
            {
                chain.pop();
            }
            chain.push(p);
        }
        chain.pop();
        chain
    };
    let mut hull = half(&mut sorted.iter().copied());
    hull.extend(half(&mut sorted.iter().rev().copied()));
    hull
}

/// 1 where a pixel centre lies inside the convex polygon (normalised coordinates).
fn fill_polygon(polygon: &[[f64; 2]], size: usize) -> Vec<f32> {
    let n = polygon.len();
    (0..size * size)
        .map(|p| {
            let c = pixel_centre(p, size);
            let inside = (0..n).all(|i| {
                let (a, b) = (polygon[i], polygon[(i + 1) % n]);
                (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]) >= 0.0
            });
            f32::from(u8::from(n >= 3 && inside))
        })
        .collect()
}

fn pixel_centre(p: usize, size: usize) -> [f64; 2] {
    [
        ((p % size) as f64 + 0.5) / size as f64,
        ((p / size) as f64 + 0.5) / size as f64,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hull_of_a_square_and_its_centre_fills_the_square() {
        let points = [
            [0.25, 0.25],
            [0.75, 0.25],
            [0.5, 0.5],
            [0.75, 0.75],
            [0.25, 0.75],
        ];
        let hull = convex_hull(&points);
        assert_eq!(hull.len(), 4);
        let mask = fill_polygon(&hull, 8);
        assert_eq!(mask.iter().sum::<f32>(), 16.0);
        assert_eq!(mask[3 * 8 + 3], 1.0);
        assert_eq!(mask[0], 0.0);
    }
}
