//! Ray samples frozen at the fitted geometry. The inversion keeps the avatar's density fixed
//! (it comes from the fitted rig: the surface channel and the decoder's density head do not
//! change), so every ray's sample depths and compositing weights are known before the
//! optimisation starts. MipRayMarcher2's colour is Σᵢ wᵢ·(fᵢ + fᵢ₊₁)/2 = Σⱼ cⱼ·fⱼ with
//! cⱼ = (wⱼ₋₁ + wⱼ)/2. Each ray's samples are merged, in depth order, into K groups of about
//! equal weight; a group becomes one sample at its weighted mean depth carrying its total
//! weight. All the weight is kept; what changes is only that a group's colours, spread over a
//! millimetre or so of a surface, are decoded at one point.

use burn::tensor::{Device, Tensor, TensorData};

use crate::render::decoder::OsgDecoder;
use crate::render::rays::CameraLabel;
use crate::render::triplane::sample_planes;

pub struct FrozenRays {
    /// `[R·K, 3]` world points, ray-major.
    points: Tensor<2>,
    /// `[R, K, 1]` compositing coefficients cⱼ.
    coefficients: Tensor<3>,
    rays: usize,
    per_ray: usize,
    box_warp: f64,
}

impl FrozenRays {
    /// From a reference march's final depths `[R, S]` and weights `[R, S − 1]`, read back.
    pub fn new(
        camera: &CameraLabel,
        resolution: usize,
        depths: &[f32],
        weights: &[f32],
        per_ray: usize,
        box_warp: f64,
        device: &Device,
    ) -> Self {
        let rays = resolution * resolution;
        let s = depths.len() / rays;
        let (origins, directions) = camera.rays(resolution);
        let mut points = Vec::with_capacity(rays * per_ray * 3);
        let mut coefficients = Vec::with_capacity(rays * per_ray);
        for r in 0..rays {
            let w = &weights[r * (s - 1)..(r + 1) * (s - 1)];
            let t = &depths[r * s..(r + 1) * s];
            let c: Vec<f64> = (0..s)
                .map(|j| {
                    let before = if j > 0 { w[j - 1] } else { 0.0 };
                    let after = if j < s - 1 { w[j] } else { 0.0 };
                    f64::from(before + after) / 2.0
                })
                .collect();
            let (o, d) = (origins[r], directions[r]);
            for (weight, depth) in merge(&c, t, per_ray) {
                points.extend((0..3).map(|i| o[i] + d[i] * depth as f32));
                coefficients.push(weight as f32);
            }
        }
        Self {
            points: Tensor::from_data(TensorData::new(points, [rays * per_ray, 3]), device),
            coefficients: Tensor::from_data(
                TensorData::new(coefficients, [rays, per_ray, 1]),
                device,
            ),
            rays,
            per_ray,
            box_warp,
        }
    }

    /// The composited features `[C, R]` (×2 − 1, as the marcher) of `planes` through `decoder`.
    pub fn composite(
        &self,
        planes: Tensor<4>,
        projection: &Tensor<3>,
        decoder: &OsgDecoder,
    ) -> Tensor<2> {
        let features = sample_planes(planes, projection, self.points.clone(), self.box_warp);
        let (_, colours) = decoder.forward(features);
        let [_, c] = colours.dims();
        let colours = colours.reshape([self.rays, self.per_ray, c]);
        let composite = (colours * self.coefficients.clone())
            .sum_dim(1)
            .reshape([self.rays, c]);
        (composite * 2.0 - 1.0).swap_dims(0, 1)
    }
}

/// `groups` (weight, depth) pairs: consecutive samples of weights `c` at depths `t`, grouped
/// so that each group holds about 1/groups of the total.
fn merge(c: &[f64], t: &[f32], groups: usize) -> Vec<(f64, f64)> {
    let total: f64 = c.iter().sum();
    let mut merged = vec![(0.0, 0.0); groups];
    for (j, (&cj, &tj)) in c.iter().zip(t).enumerate() {
        // The group of the sample's weight midpoint in the running sum.
        let before: f64 = c[..j].iter().sum();
        let g = if total > 0.0 {
            (((before + cj / 2.0) / total * groups as f64) as usize).min(groups - 1)
        } else {
            j * groups / c.len()
        };
        merged[g].0 += cj;
        merged[g].1 += cj * f64::from(tj);
    }
    // Weighted mean depths; an empty group sits at the ray's middle sample, with no weight.
    let middle = f64::from(t[t.len() / 2]);
    merged
        .into_iter()
        .map(|(w, wt)| (w, if w > 0.0 { wt / w } else { middle }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_keeps_the_weight_and_averages_depths_within_groups() {
        let c = [0.0, 0.1, 0.3, 0.3, 0.2, 0.1, 0.0];
        let t = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        let merged = merge(&c, &t, 2);
        let total: f64 = merged.iter().map(|m| m.0).sum();
        assert!((total - 1.0).abs() < 1e-12);
        // First half: 0.1 at 2 and 0.3 at 3; second half: the rest.
        assert!((merged[0].0 - 0.4).abs() < 1e-12);
        assert!((merged[0].1 - 2.75).abs() < 1e-12, "{:?}", merged);
        assert!((merged[1].1 - (1.2 + 1.0 + 0.6) / 0.6).abs() < 1e-12);
    }
}
