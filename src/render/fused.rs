//! The viewer's neural renderer: `shaders/raymarch.wgsl` as a burn op (one invocation per
//! ray, samples never stored). Same inputs and outputs as the reference path.

use burn::backend::wgpu::{CubeBackend, CubeTensor};
use burn::backend::{Backend, Dispatch, backend_extension, tensor::FloatTensor};
use burn::tensor::{Distribution, Shape, Tensor, TensorData};

use super::decoder::{FEATURES, OsgDecoder};
use super::rays::CameraLabel;
use super::triplane::PlaneProjection;
use super::volume::{Randomness, RenderSettings, Rendered};
use crate::gpu::kernel::{contiguous, empty_f32, expect_shape, grid_1d, launch};
use crate::gpu::shaders;

/// Camera (17), ray bounds and box warp (3), plane projection (18), sample counts (2) and a
/// zero (1); see raymarch.wgsl.
const FRAME_LEN: usize = 41;
/// w0 `[64, 32]`, b0 `[64]`, w1 `[33, 64]`, b1 `[33]`, flattened in that order.
const DECODER_LEN: usize = 64 * 32 + 64 + 33 * 64 + 33;

#[backend_extension(Cube, Fusion: cfg(feature = "fusion"))]
pub trait RaymarchOps: Backend {
    /// Pass 0: each ray's merged, sorted sample depths `[R, D + Di]` from its uniform draws
    /// `[R, D + Di]` (jitter, then CDF samples).
    #[fusion(shape = depths_shape(resolution, depth_samples, importance_samples), dtype = planes)]
    fn raymarch_depths(
        planes: FloatTensor<Self>,
        decoder: FloatTensor<Self>,
        frame: FloatTensor<Self>,
        uniforms: FloatTensor<Self>,
        resolution: usize,
        depth_samples: usize,
        importance_samples: usize,
    ) -> FloatTensor<Self>;

    /// Pass 1, flat output: features `[C, R]`, depth `[R]`, weight sum `[R]`, sampled range
    /// `[R, 2]`.
    #[fusion(shape = composite_shape(resolution), dtype = planes)]
    fn raymarch_composite(
        planes: FloatTensor<Self>,
        decoder: FloatTensor<Self>,
        frame: FloatTensor<Self>,
        depths: FloatTensor<Self>,
        resolution: usize,
        depth_samples: usize,
        importance_samples: usize,
    ) -> FloatTensor<Self>;
}

fn depths_shape(resolution: &usize, depth_samples: &usize, importance_samples: &usize) -> Shape {
    Shape::new([resolution * resolution, depth_samples + importance_samples])
}

fn composite_shape(resolution: &usize) -> Shape {
    Shape::new([(FEATURES + 4) * resolution * resolution])
}

/// Launches one pass over `[planes, decoder, frame, input]` after checking their shapes.
fn launch_pass(
    pass: u32,
    inputs: [CubeTensor; 4],
    resolution: usize,
    samples: [usize; 2],
    output: Shape,
) -> CubeTensor {
    let [planes, decoder, frame, input] = inputs.map(contiguous);
    let shape = planes.meta.shape().clone();
    let (h, w) = (shape[2], shape[3]);
    let rays = resolution * resolution;
    expect_shape("planes", &planes, &[3, FEATURES, h, w]);
    expect_shape("frame", &frame, &[FRAME_LEN]);
    expect_shape("decoder", &decoder, &[DECODER_LEN]);
    expect_shape("pass input", &input, &[rays, samples[0] + samples[1]]);
    let out = empty_f32(&planes, output);
    let kernel = shaders::raymarch(pass, [h, w], resolution, samples[0], samples[1]);
    let count = grid_1d(rays, kernel.workgroup_size);
    launch(kernel, count, &[&planes, &decoder, &frame, &input, &out]);
    out
}

impl RaymarchOps for CubeBackend {
    fn raymarch_depths(
        planes: CubeTensor,
        decoder: CubeTensor,
        frame: CubeTensor,
        uniforms: CubeTensor,
        resolution: usize,
        depth_samples: usize,
        importance_samples: usize,
    ) -> CubeTensor {
        launch_pass(
            0,
            [planes, decoder, frame, uniforms],
            resolution,
            [depth_samples, importance_samples],
            depths_shape(&resolution, &depth_samples, &importance_samples),
        )
    }

    fn raymarch_composite(
        planes: CubeTensor,
        decoder: CubeTensor,
        frame: CubeTensor,
        depths: CubeTensor,
        resolution: usize,
        depth_samples: usize,
        importance_samples: usize,
    ) -> CubeTensor {
        launch_pass(
            1,
            [planes, decoder, frame, depths],
            resolution,
            [depth_samples, importance_samples],
            composite_shape(&resolution),
        )
    }
}

/// Renders with the fused kernel; the results match [`super::volume::render_reference`].
pub fn render_fused(
    planes: Tensor<4>,
    projection: &PlaneProjection,
    decoder: &OsgDecoder,
    camera: &CameraLabel,
    settings: &RenderSettings,
    randomness: Randomness,
) -> Rendered {
    let device = planes.device();
    let n = settings.resolution;
    let rays = n * n;
    let (d, di) = (settings.depth_samples, settings.importance_samples);
    let m = camera.cam2world.transpose().to_cols_array();
    let k = camera.intrinsics;
    let mut frame: Vec<f32> = m[..12].iter().map(|&x| x as f32).collect();
    frame.extend([k.x_axis.x, k.y_axis.y, k.z_axis.x, k.z_axis.y, k.y_axis.x].map(|x| x as f32));
    frame.extend([settings.ray_start, settings.ray_end, settings.box_warp].map(|x| x as f32));
    frame.extend(projection.q.iter().flatten().flatten().map(|&x| x as f32));
    frame.extend([d, d + di, 0].map(|x| x as f32));
    let frame = Tensor::<1>::from_data(TensorData::new(frame, [FRAME_LEN]), &device);
    let decoder = Tensor::cat(
        vec![
            decoder.w0.clone().reshape([-1]),
            decoder.b0.clone(),
            decoder.w1.clone().reshape([-1]),
            decoder.b1.clone(),
        ],
        0,
    );
    // The kernel wants each ray's CDF draws in ascending order (one sweep over the bins);
    // the importance depths are sorted afterwards anyway, so the order changes nothing.
    let uniforms = match randomness {
        Randomness::Given { stratified, pdf } => Tensor::cat(vec![stratified, pdf.sort(1)], 1),
        Randomness::Random => Tensor::cat(
            vec![
                Tensor::random([rays, d], Distribution::Uniform(0.0, 1.0), &device),
                Tensor::random([rays, di], Distribution::Uniform(0.0, 1.0), &device).sort(1),
            ],
            1,
        ),
        Randomness::Deterministic => {
            let mut row = vec![0.0f32; d];
            row.extend((0..di).map(|i| i as f32 / (di - 1).max(1) as f32));
            Tensor::<1>::from_data(TensorData::new(row, [d + di]), &device)
                .unsqueeze_dim::<2>(0)
                .repeat_dim(0, rays)
        }
    };
    let depths = Tensor::<2>::from_dispatch(<Dispatch as RaymarchOps>::raymarch_depths(
        planes.clone().into_dispatch(),
        decoder.clone().into_dispatch(),
        frame.clone().into_dispatch(),
        uniforms.into_dispatch(),
        n,
        d,
        di,
    ));
    let out = Tensor::<1>::from_dispatch(<Dispatch as RaymarchOps>::raymarch_composite(
        planes.into_dispatch(),
        decoder.into_dispatch(),
        frame.into_dispatch(),
        depths.clone().into_dispatch(),
        n,
        d,
        di,
    ));
    let c = FEATURES;
    let depth = out.clone().narrow(0, c * rays, rays);
    let range = out
        .clone()
        .narrow(0, (c + 2) * rays, 2 * rays)
        .reshape([rays, 2]);
    let lowest = range.clone().narrow(1, 0, 1).min().into_scalar::<f32>();
    let highest = range.narrow(1, 1, 1).max().into_scalar::<f32>();
    let unclamped = depth
        .clone()
        .mask_fill(depth.is_nan(), f32::INFINITY)
        .reshape([n, n]);
    Rendered {
        features: out.clone().narrow(0, 0, c * rays).reshape([c, n, n]),
        depth: unclamped.clone().clamp(lowest, highest),
        depth_unclamped: unclamped,
        depth_range: (lowest, highest),
        weights_sum: out.narrow(0, (c + 1) * rays, rays),
        fine_depths: Tensor::zeros([rays, 0], &device),
        samples: None,
    }
}
