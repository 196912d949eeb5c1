//! StyleGAN2's resampling: upfirdn2d with the [1, 3, 3, 1] low-pass filter, as the
//! reference's `_upfirdn2d_ref` (zero insertion, padding, filter, decimation). The filter is
//! separable and symmetric, so it runs as two 1-D passes of shifted slices.

use burn::tensor::Tensor;
use burn::tensor::ops::PadMode;

/// One axis of `resample_filter` = outer([1, 3, 3, 1]) / 64.
const FIR: [f64; 4] = [1.0 / 8.0, 3.0 / 8.0, 3.0 / 8.0, 1.0 / 8.0];

/// Padding `[x0, x1, y0, y1]` (left, right, top, bottom) as upfirdn2d takes it.
pub type Padding = [usize; 4];

/// `upfirdn2d(x, f, up, down, padding, gain)` for the [1, 3, 3, 1] filter.
pub fn upfirdn2d(x: Tensor<4>, up: usize, down: usize, padding: Padding, gain: f64) -> Tensor<4> {
    let x = if up > 1 { insert_zeros(x, up) } else { x };
    let [x0, x1, y0, y1] = padding;
    let x = x.pad((x0, x1, y0, y1), PadMode::Constant(0.0));
    let x = filter_axis(filter_axis(x, 3), 2);
    let x = if gain != 1.0 { x * gain } else { x };
    if down > 1 { decimate(x, down) } else { x }
}

/// `upfirdn2d.upsample2d`: ×2 with padding (2, 1) and gain 4.
pub fn upsample2d(x: Tensor<4>) -> Tensor<4> {
    upfirdn2d(x, 2, 1, [2, 1, 2, 1], 4.0)
}

/// `upfirdn2d.downsample2d`: ÷2 with padding (1, 1).
pub fn downsample2d(x: Tensor<4>) -> Tensor<4> {
    upfirdn2d(x, 1, 2, [1, 1, 1, 1], 1.0)
}

fn insert_zeros(x: Tensor<4>, up: usize) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c, h, 1, w, 1])
        .pad([(0, up - 1), (0, 0), (0, up - 1)], PadMode::Constant(0.0))
        .reshape([b, c, h * up, w * up])
}

/// A valid (unpadded) correlation with the 4-tap filter along `dim`.
fn filter_axis(x: Tensor<4>, dim: usize) -> Tensor<4> {
    let len = x.dims()[dim] - (FIR.len() - 1);
    FIR.iter()
        .enumerate()
        .map(|(k, tap)| x.clone().narrow(dim, k, len) * *tap)
        .reduce(|a, b| a + b)
        .expect("the filter has taps")
}

/// `x[:, :, ::down, ::down]`.
fn decimate(x: Tensor<4>, down: usize) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    let (h2, w2) = (h.div_ceil(down), w.div_ceil(down));
    x.pad((0, w2 * down - w, 0, h2 * down - h), PadMode::Constant(0.0))
        .reshape([b, c, h2, down, w2, down])
        .narrow(3, 0, 1)
        .narrow(5, 0, 1)
        .reshape([b, c, h2, w2])
}
