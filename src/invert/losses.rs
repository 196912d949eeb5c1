//! The inversion's losses as burn tensor ops (differentiable): masked L1 and a masked
//! structural term (SSIM with the usual 11-tap Gaussian window, σ = 1.5, on 0…1 images).
//! LPIPS's weights cannot be shipped, so these stand in for the reference's perceptual loss.

use burn::tensor::{Device, Tensor, TensorData};

const WINDOW: usize = 11;
const SIGMA: f64 = 1.5;
/// SSIM's stabilisers for a dynamic range of 1.
const C1: f64 = 0.01 * 0.01;
const C2: f64 = 0.03 * 0.03;

/// Mean |a − b| over the masked pixels; `a`, `b` `[C, N, N]`, `mask` `[N, N]` (0 or 1).
pub fn masked_l1(a: Tensor<3>, b: Tensor<3>, mask: &Tensor<2>) -> Tensor<1> {
    let [c, _, _] = a.dims();
    let total = mask.clone().sum() * c as f64 + 1e-6;
    ((a - b).abs() * mask.clone().unsqueeze_dim::<3>(0)).sum() / total
}

/// The SSIM map of two `[C, N, N]` images in 0…1, over valid windows: `[C, N − 10, N − 10]`.
pub fn ssim_map(a: Tensor<3>, b: Tensor<3>) -> Tensor<3> {
    let device = a.device();
    let blur = |x: Tensor<3>| gaussian_blur(x, &device);
    let (mu_a, mu_b) = (blur(a.clone()), blur(b.clone()));
    let var_a = blur(a.clone() * a.clone()) - mu_a.clone() * mu_a.clone();
    let var_b = blur(b.clone() * b.clone()) - mu_b.clone() * mu_b.clone();
    let covariance = blur(a * b) - mu_a.clone() * mu_b.clone();
    let numerator = (mu_a.clone() * mu_b.clone() * 2.0 + C1) * (covariance * 2.0 + C2);
    let denominator = (mu_a.clone() * mu_a + mu_b.clone() * mu_b + C1) * (var_a + var_b + C2);
    numerator / denominator
}

/// The photometric terms of `rgb` against `target` (both `[3, N, N]` in −1…1) inside `mask`:
/// (L1, 1 − SSIM on the 0…1 scale).
pub fn photometric(rgb: Tensor<3>, target: Tensor<3>, mask: &Tensor<2>) -> (Tensor<1>, Tensor<1>) {
    let l1 = masked_l1(rgb.clone(), target.clone(), mask);
    let structure = masked_structure((rgb + 1.0) * 0.5, (target + 1.0) * 0.5, mask);
    (l1, structure)
}

/// 1 − mean SSIM over the windows centred in the mask.
pub fn masked_structure(a: Tensor<3>, b: Tensor<3>, mask: &Tensor<2>) -> Tensor<1> {
    let [c, n, _] = a.dims();
    let (half, m) = (WINDOW / 2, n - (WINDOW - 1));
    let inner = mask.clone().slice([half..half + m, half..half + m]);
    let total = inner.clone().sum() * c as f64 + 1e-6;
    let mean = (ssim_map(a, b) * inner.unsqueeze_dim::<3>(0)).sum() / total;
    mean.neg() + 1.0
}

/// Separable Gaussian blur of `[B, N, N]` without padding, as two banded matrix products
/// (`G x Gᵀ`, G `[N − 10, N]`): plain matmuls, whose gradients burn computes robustly.
fn gaussian_blur(x: Tensor<3>, device: &Device) -> Tensor<3> {
    let [b, n, _] = x.dims();
    let m = n - (WINDOW - 1);
    let taps = gaussian_taps();
    let mut band = vec![0.0f32; m * n];
    for row in 0..m {
        band[row * n + row..row * n + row + WINDOW].copy_from_slice(&taps);
    }
    let g = Tensor::<2>::from_data(TensorData::new(band, [m, n]), device)
        .unsqueeze_dim::<3>(0)
        .repeat_dim(0, b);
    g.clone().matmul(x).matmul(g.swap_dims(1, 2))
}

fn gaussian_taps() -> Vec<f32> {
    let centre = (WINDOW / 2) as f64;
    let raw: Vec<f64> = (0..WINDOW)
        .map(|i| (-(i as f64 - centre).powi(2) / (2.0 * SIGMA * SIGMA)).exp())
        .collect();
    let sum: f64 = raw.iter().sum();
    raw.iter().map(|w| (w / sum) as f32).collect()
}

/// PSNR in dB of `a` against `b` (`[C, N, N]` in −1…1, read back) inside `mask` (`[N, N]`),
/// measured on the 0…1 scale.
pub fn masked_psnr(a: &[f32], b: &[f32], mask: &[f32]) -> f64 {
    let plane = mask.len();
    let (mut sum, mut count) = (0.0f64, 0.0f64);
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let w = f64::from(mask[i % plane]);
        let d = f64::from(x - y) / 2.0;
        sum += w * d * d;
        count += w;
    }
    10.0 * (1.0 / (sum / count.max(1.0))).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taps_sum_to_one_and_peak_in_the_middle() {
        let taps = gaussian_taps();
        assert!((taps.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(taps[5] > taps[4] && (taps[4] - taps[6]).abs() < 1e-9);
    }

    #[test]
    fn psnr_of_a_uniform_error() {
        // Error 0.2 on −1…1 is 0.1 on 0…1: 20 dB.
        let a = vec![0.2f32; 12];
        let b = vec![0.0f32; 12];
        let psnr = masked_psnr(&a, &b, &[1.0; 4]);
        assert!((psnr - 20.0).abs() < 1e-5, "{psnr}");
    }
}
