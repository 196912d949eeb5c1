//! The decoder's first layer folded into the planes, the fused marcher's input: the layer
//! is linear and so is bilinear sampling, so sampling these equals the layer applied to
//! sampled features, and the marcher spends 12 texel reads per point on the hidden layer
//! instead of a 64×32 product (which took two thirds of its time on lavapipe).

use burn::backend::wgpu::{CubeBackend, CubeTensor};
use burn::backend::{Backend, Dispatch, backend_extension, tensor::FloatTensor};
use burn::tensor::Tensor;

use super::decoder::{FEATURES, HIDDEN, OsgDecoder};
use crate::gpu::device_copy::device_copy;
use crate::gpu::kernel::{contiguous, expect_shape, grid_1d, launch};
use crate::gpu::shaders;

#[backend_extension(Cube, Fusion: cfg(feature = "fusion"))]
pub trait HiddenPlaneOps: Backend {
    /// `shaders/hidden_planes.wgsl`: hidden planes `[3, R, R, 64]` of blended planes
    /// `[3, C, R, R]`, copied from `static_hidden` where the slot alpha `[3, R, R]` is 0.
    /// `layer` is [`first_layer`].
    #[fusion(shape = static_hidden, dtype = static_hidden)]
    fn hidden_planes_covered(
        planes: FloatTensor<Self>,
        alphas: FloatTensor<Self>,
        static_hidden: FloatTensor<Self>,
        layer: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

impl HiddenPlaneOps for CubeBackend {
    fn hidden_planes_covered(
        planes: CubeTensor,
        alphas: CubeTensor,
        static_hidden: CubeTensor,
        layer: CubeTensor,
    ) -> CubeTensor {
        let [planes, alphas, static_hidden, layer] =
            [planes, alphas, static_hidden, layer].map(contiguous);
        let shape = planes.meta.shape().clone();
        let (c, r) = (shape[1], shape[2]);
        expect_shape("planes", &planes, &[3, c, r, r]);
        expect_shape("alphas", &alphas, &[3, r, r]);
        expect_shape("static_hidden", &static_hidden, &[3, r, r, HIDDEN]);
        expect_shape("layer", &layer, &[c, HIDDEN]);
        // The static texels by a device-side copy; the kernel writes the covered ones.
        let out = device_copy(&static_hidden);
        let kernel = shaders::hidden_planes(c, r);
        let count = grid_1d(3 * r * r, kernel.workgroup_size);
        launch(kernel, count, &[&planes, &alphas, &layer, &out]);
        out
    }
}

/// The first layer as the hidden planes use it, `[C, 64]`: transposed, scaled by its gain
/// and by the 1/3 of the mean over the planes.
pub fn first_layer(decoder: &OsgDecoder) -> Tensor<2> {
    let scale = 1.0 / ((FEATURES as f64).sqrt() * 3.0);
    decoder.w0.clone().transpose() * scale
}

/// The first layer on every texel: planes `[3, C, H, W]` → `[3, H, W, 64]`, bias left out.
/// The reference, and the path for planes that differ from the static planes anywhere.
pub fn hidden_planes(planes: Tensor<4>, decoder: &OsgDecoder) -> Tensor<4> {
    let [k, c, h, w] = planes.dims();
    let layer = first_layer(decoder).unsqueeze_dim::<3>(0).repeat_dim(0, k);
    planes
        .reshape([k, c, h * w])
        .swap_dims(1, 2)
        .matmul(layer)
        .reshape([k, h, w, HIDDEN])
}

/// [`hidden_planes`] of blended planes whose texels equal the static planes wherever the
/// slot alpha is 0 (the rasterizer's blend without networks): those texels are copied from
/// `static_hidden` (the static planes' hidden planes, computed once per avatar), the rest
/// projected. Same result; on lavapipe ~4× less work, as the head covers a fraction of
/// each plane.
pub fn hidden_planes_covered(
    blended: Tensor<4>,
    alphas: Tensor<3>,
    static_hidden: Tensor<4>,
    decoder: &OsgDecoder,
) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as HiddenPlaneOps>::hidden_planes_covered(
        blended.into_dispatch(),
        alphas.into_dispatch(),
        static_hidden.into_dispatch(),
        first_layer(decoder).into_dispatch(),
    ))
}
