//! PyTorch's `F.interpolate(mode='bilinear', align_corners=False, antialias=True)` as two
//! matrix products (separable weights computed on the CPU), so that gradients flow through it
//! on every backend. For up-scaling it equals plain bilinear; for down-scaling the triangle
//! filter widens with the scale, as the reference's mouth paste-back needs.

use burn::tensor::{Device, Tensor, TensorData};

/// The `[output, input]` weights along one axis, as PyTorch's `_compute_weights_aa`: centre
/// scale·(i + ½), support max(scale, 1), triangle taps normalised to sum 1.
pub fn aa_bilinear_weights(input: usize, output: usize) -> Vec<f32> {
    let scale = input as f64 / output as f64;
    let (support, inv_scale) = if scale >= 1.0 {
        (scale, 1.0 / scale)
    } else {
        (1.0, 1.0)
    };
    let mut matrix = vec![0.0f32; output * input];
    for i in 0..output {
        let centre = scale * (i as f64 + 0.5);
        // Truncation toward zero, as the reference's casts.
        let start = ((centre - support + 0.5) as i64).max(0) as usize;
        let end = ((centre + support + 0.5) as i64).min(input as i64) as usize;
        let taps: Vec<f64> = (start..end)
            .map(|j| (1.0 - ((j as f64 - centre + 0.5) * inv_scale).abs()).max(0.0))
            .collect();
        let total: f64 = taps.iter().sum();
        if total != 0.0 {
            for (j, t) in (start..end).zip(taps) {
                matrix[i * input + j] = (t / total) as f32;
            }
        }
    }
    matrix
}

/// Resizes `[B, C, H, W]` to `[B, C, height, width]`.
pub fn resize_aa(x: Tensor<4>, height: usize, width: usize) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    if (h, w) == (height, width) {
        return x;
    }
    let device = x.device();
    let rows = weights_t(h, height, &device);
    let cols = weights_t(w, width, &device);
    let x = x.reshape([b * c * h, w]).matmul(cols); // [BCH, width]
    let x = x
        .reshape([b * c, h, width])
        .swap_dims(1, 2)
        .reshape([b * c * width, h]);
    let x = x.matmul(rows); // [BC·width, height]
    x.reshape([b * c, width, height])
        .swap_dims(1, 2)
        .reshape([b, c, height, width])
}

/// The transposed weights `[input, output]`, ready to multiply from the right.
fn weights_t(input: usize, output: usize, device: &Device) -> Tensor<2> {
    let m = aa_bilinear_weights(input, output);
    Tensor::<2>::from_data(TensorData::new(m, [output, input]), device).transpose()
}
