//! EG3D's ImportanceRenderer as burn tensor ops: stratified coarse depths, MipRayMarcher2,
//! importance resampling (smoothed weights, inverse-CDF), unify-and-sort, final march.
//! Differentiable in the planes and the decoder; rays go in chunks so that no buffer
//! exceeds lavapipe's 128 MiB binding limit.

use burn::tensor::activation::softplus;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};

use super::decoder::OsgDecoder;
use super::rays::CameraLabel;
use super::triplane::sample_planes;

/// Sampling settings, the reference's `rendering_kwargs`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RenderSettings {
    /// Neural rendering resolution N (rays per side).
    pub resolution: usize,
    pub depth_samples: usize,
    pub importance_samples: usize,
    pub ray_start: f64,
    pub ray_end: f64,
    pub box_warp: f64,
}

impl Default for RenderSettings {
    fn default() -> Self {
        Self {
            resolution: 64,
            depth_samples: 48,
            importance_samples: 48,
            ray_start: 2.25,
            ray_end: 3.3,
            box_warp: 1.0,
        }
    }
}

/// Where the random numbers come from.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant, reason = "built once per frame")]
pub enum Randomness {
    /// Recorded draws: stratified jitter `[R, D]` and inverse-CDF uniforms `[R, Di]`.
    Given {
        stratified: Tensor<2>,
        pdf: Tensor<2>,
    },
    /// Fresh uniform draws, as the reference at inference.
    Random,
    /// No jitter and evenly spaced CDF samples (still frames and tests).
    Deterministic,
}

/// The composited images.
pub struct Rendered {
    /// `[C, N, N]`, ×2 − 1 as the reference.
    pub features: Tensor<3>,
    /// `[N, N]`, clamped to the depths sampled.
    pub depth: Tensor<2>,
    /// `[N, N]` before that clamp (+∞ where no weight), and the range sampled: the
    /// reference clamps a batch to its common range.
    pub depth_unclamped: Tensor<2>,
    pub depth_range: (f32, f32),
    /// `[N·N]`: accumulated opacity per ray.
    pub weights_sum: Tensor<1>,
    /// `[R, Di]`: the importance depths (empty without importance sampling).
    pub fine_depths: Tensor<2>,
    /// The final march's depths `[R, S]` and compositing weights `[R, S − 1]` (the reference
    /// path only): what a fixed geometry needs to re-composite new colours.
    pub samples: Option<(Tensor<2>, Tensor<2>)>,
}

/// Neighbour averages along dim 1: `(t[:, :-1] + t[:, 1:]) / 2`.
///
/// Both slices are views of one buffer. `t` is borrowed so that its owner outlives the sum:
/// if the sum consumed the last owner, burn 0.22.1 could compute it in place into memory
/// the other view still reads (seen as weights off by up to 0.18 against the official
/// renderer). Every overlapping-slice expression in this file follows this rule.
fn midpoints<const D: usize>(t: &Tensor<D>) -> Tensor<D> {
    let s = t.dims()[1];
    (t.clone().narrow(1, 0, s - 1) + t.clone().narrow(1, 1, s - 1)) * 0.5
}

/// MipRayMarcher2 over `[R, S, ·]` samples: (features `[R, C]` ×2 − 1, depth `[R]` unclamped,
/// weights `[R, S − 1]`).
pub fn march(
    colors: Tensor<3>,
    densities: Tensor<3>,
    depths: Tensor<2>,
) -> (Tensor<2>, Tensor<1>, Tensor<2>) {
    let [r, s, c] = colors.dims();
    let deltas = depths.clone().narrow(1, 1, s - 1) - depths.clone().narrow(1, 0, s - 1);
    let colors_mid = midpoints(&colors);
    let densities_mid = softplus(midpoints(&densities).reshape([r, s - 1]) - 1.0, 1.0);
    let depths_mid = midpoints(&depths);
    let optical = densities_mid * deltas;
    let alpha = optical.clone().neg().exp().neg() + 1.0;
    // Exclusive transmittance, the reference's cumprod of [1, 1 − α + 1e-10] without its last
    // entry, as exp(−cumsum(σδ)): the same values (1 − α = exp(−σδ); the 1e-10 is below f32's
    // resolution next to 1), but its gradient stays finite where a sample is fully opaque —
    // cumprod's backward divides by 1 − α, which is exactly 0 there.
    let shifted = Tensor::cat(vec![Tensor::zeros([r, 1], &alpha.device()), optical], 1);
    let transmittance = shifted.cumsum(1).narrow(1, 0, s - 1).neg().exp();
    let weights = alpha * transmittance;
    let rgb = (weights.clone().unsqueeze_dim::<3>(2) * colors_mid)
        .sum_dim(1)
        .reshape([r, c]);
    let total = weights.clone().sum_dim(1).reshape([r]);
    let depth = (weights.clone() * depths_mid).sum_dim(1).reshape([r]) / total;
    (rgb * 2.0 - 1.0, depth, weights)
}

/// Coarse depths: linspace(start, end, D) plus U(0,1)·Δ on every sample (last included).
fn stratified(
    rays: usize,
    settings: &RenderSettings,
    jitter: Option<Tensor<2>>,
    device: &Device,
) -> Tensor<2> {
    let d = settings.depth_samples;
    let delta = (settings.ray_end - settings.ray_start) / (d - 1) as f64;
    let line: Vec<f32> = (0..d)
        .map(|i| (settings.ray_start + delta * i as f64) as f32)
        .collect();
    let base = Tensor::<1>::from_data(TensorData::new(line, [d]), device)
        .unsqueeze_dim::<2>(0)
        .repeat_dim(0, rays);
    match jitter {
        Some(u) => base + u * delta,
        None => base,
    }
}

/// Importance depths from the coarse depths `[R, D]` and weights `[R, D − 1]`: EG3D's
/// max_pool1d(2, 1, pad 1) → avg_pool1d(2, 1) → +0.01 smoothing, bins at coarse midpoints,
/// `sample_pdf` (eps 1e-5, searchsorted right) with the uniforms `u` `[R, Di]`. Detached.
pub fn importance(depths: Tensor<2>, weights: Tensor<2>, u: Tensor<2>) -> Tensor<2> {
    let (depths, weights) = (depths.detach(), weights.detach());
    let [r, d] = depths.dims();
    let l = d - 1;
    debug_assert!(
        l >= 3,
        "importance sampling needs at least four coarse samples"
    );
    let neg_inf = Tensor::<2>::full([r, 1], f32::NEG_INFINITY, &weights.device());
    let padded = Tensor::cat(vec![neg_inf.clone(), weights, neg_inf], 1); // [R, L + 2]
    let maxed = padded
        .clone()
        .slice([0..r, 0..l + 1])
        .max_pair(padded.slice([0..r, 1..l + 2])); // [R, L + 1]
    let smoothed = (maxed.clone().slice([0..r, 0..l]) + maxed.slice([0..r, 1..l + 1])) * 0.5 + 0.01; // [R, L]
    let bins = (depths.clone().slice([0..r, 0..l]) + depths.slice([0..r, 1..d])) * 0.5; // [R, L]
    sample_pdf(bins, smoothed.slice([0..r, 1..l - 1]), u)
}

/// Inverse-CDF sampling of `bins` `[R, B + 1]` by `weights` `[R, B]` at uniforms `u` `[R, K]`.
pub fn sample_pdf(bins: Tensor<2>, weights: Tensor<2>, u: Tensor<2>) -> Tensor<2> {
    const EPS: f64 = 1e-5;
    let [r, b] = weights.dims();
    let [_, k] = u.dims();
    let weights = weights + EPS;
    let pdf = weights.clone() / weights.sum_dim(1);
    let cdf = Tensor::cat(vec![Tensor::zeros([r, 1], &pdf.device()), pdf.cumsum(1)], 1); // [R, B + 1]
    // searchsorted(right=True): how many cdf entries are ≤ u.
    let below_count = cdf
        .clone()
        .unsqueeze_dim::<3>(1)
        .lower_equal(u.clone().unsqueeze_dim::<3>(2))
        .int()
        .sum_dim(2)
        .reshape([r, k]);
    let below = (below_count.clone() - 1).clamp_min(0);
    let above = below_count.clamp_max(b as i64);
    let gather = |t: &Tensor<2>, idx: Tensor<2, Int>| t.clone().gather(1, idx);
    let (cdf_below, cdf_above) = (gather(&cdf, below.clone()), gather(&cdf, above.clone()));
    let (bin_below, bin_above) = (gather(&bins, below), gather(&bins, above));
    let denom = cdf_above - cdf_below.clone();
    let denom = denom.clone().mask_fill(denom.lower_elem(EPS), 1.0);
    bin_below.clone() + (u - cdf_below) / denom * (bin_above - bin_below)
}

/// Renders the planes (`[3, C, H, W]`) from `camera` with the reference path.
pub fn render_reference(
    planes: Tensor<4>,
    projection: &Tensor<3>,
    decoder: &OsgDecoder,
    camera: &CameraLabel,
    settings: &RenderSettings,
    randomness: Randomness,
    chunk: usize,
) -> Rendered {
    let device = planes.device();
    let n = settings.resolution;
    let rays = n * n;
    let [_, c, _, _] = planes.dims();
    let (origins, directions) = camera.rays(n);
    let to_tensor = |v: Vec<[f32; 3]>| {
        Tensor::<2>::from_data(
            TensorData::new(v.into_iter().flatten().collect::<Vec<f32>>(), [rays, 3]),
            &device,
        )
    };
    let (origins, directions) = (to_tensor(origins), to_tensor(directions));
    let (d, di) = (settings.depth_samples, settings.importance_samples);
    let (jitter, pdf_u) = match randomness {
        Randomness::Given { stratified, pdf } => (Some(stratified), pdf),
        Randomness::Random => (
            Some(Tensor::random(
                [rays, d],
                Distribution::Uniform(0.0, 1.0),
                &device,
            )),
            Tensor::random([rays, di.max(1)], Distribution::Uniform(0.0, 1.0), &device),
        ),
        Randomness::Deterministic => {
            // One column at least: without importance samples the draws go unused.
            let columns = di.max(1);
            let line: Vec<f32> = (0..columns)
                .map(|i| i as f32 / (columns - 1).max(1) as f32)
                .collect();
            (
                None,
                Tensor::<1>::from_data(TensorData::new(line, [columns]), &device)
                    .unsqueeze_dim::<2>(0)
                    .repeat_dim(0, rays),
            )
        }
    };
    let coarse_all = stratified(rays, settings, jitter, &device);

    let mut features = Vec::new();
    let mut depths = Vec::new();
    let mut totals = Vec::new();
    let mut fines = Vec::new();
    let mut all_samples = Vec::new();
    let mut all_weights = Vec::new();
    let (mut lowest, mut highest) = (f32::INFINITY, f32::NEG_INFINITY);
    for start in (0..rays).step_by(chunk.max(1)) {
        let end = (start + chunk).min(rays);
        let r = end - start;
        let o = origins.clone().slice([start..end, 0..3]);
        let dir = directions.clone().slice([start..end, 0..3]);
        let evaluate = |depths: Tensor<2>| {
            let s = depths.dims()[1];
            let points = o.clone().unsqueeze_dim::<3>(1)
                + dir.clone().unsqueeze_dim::<3>(1) * depths.unsqueeze_dim::<3>(2);
            let feats = sample_planes(
                planes.clone(),
                projection,
                points.reshape([r * s, 3]),
                settings.box_warp,
            );
            let (sigma, rgb) = decoder.forward(feats);
            (rgb.reshape([r, s, c]), sigma.reshape([r, s, 1]))
        };
        let coarse = coarse_all.clone().slice([start..end, 0..d]);
        let (rgb_c, sigma_c) = evaluate(coarse.clone());
        // Without importance samples the coarse pass is the final one (EG3D's N_importance 0).
        let (samples, rgb, sigma) = if di == 0 {
            (coarse, rgb_c, sigma_c)
        } else {
            let (_, _, weights) = march(rgb_c, sigma_c, coarse.clone());
            let fine = importance(
                coarse.clone(),
                weights,
                pdf_u.clone().slice([start..end, 0..di]),
            );
            fines.push(fine.clone());
            // Unify: all depths, sorted. The samples are evaluated again at the sorted depths
            // instead of gathering the coarse and fine results into that order: the same
            // values, and on burn 0.22.1 (wgpu, fusion) gathered tensors fed to the march gave
            // weights off by up to 0.18 against the official renderer — tests/render_reference.rs
            // holds parity.
            let (sorted, _) = Tensor::cat(vec![coarse, fine], 1).sort_with_indices(1);
            let (rgb, sigma) = evaluate(sorted.clone());
            (sorted, rgb, sigma)
        };
        let range: Vec<f32> = samples
            .clone()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        lowest = range.iter().copied().fold(lowest, f32::min);
        highest = range.iter().copied().fold(highest, f32::max);
        let (rgb, depth, weights) = march(rgb, sigma, samples.clone());
        all_samples.push(samples);
        all_weights.push(weights.clone());
        features.push(rgb);
        depths.push(depth);
        totals.push(weights.sum_dim(1).reshape([r]));
    }
    // NaN (no weight) becomes +∞, then everything is clamped to the sampled depth range.
    let depth = Tensor::cat(depths, 0);
    let unclamped = depth
        .clone()
        .mask_fill(depth.is_nan(), f32::INFINITY)
        .reshape([n, n]);
    Rendered {
        features: Tensor::cat(features, 0).swap_dims(0, 1).reshape([c, n, n]),
        depth: unclamped.clone().clamp(lowest, highest),
        depth_unclamped: unclamped,
        depth_range: (lowest, highest),
        weights_sum: Tensor::cat(totals, 0),
        fine_depths: if fines.is_empty() {
            Tensor::zeros([rays, 0], &device)
        } else {
            Tensor::cat(fines, 0)
        },
        samples: Some((Tensor::cat(all_samples, 0), Tensor::cat(all_weights, 0))),
    }
}
