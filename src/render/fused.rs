//! The viewer's neural renderer: `shaders/raymarch.wgsl` as a burn op (one invocation per
//! ray, samples never stored). Same inputs and outputs as the reference path.

use burn::backend::wgpu::{CubeBackend, CubeTensor};
use burn::backend::{Backend, Dispatch, backend_extension, tensor::FloatTensor};
use burn::tensor::{Distribution, Shape, Tensor, TensorData};

use super::decoder::{FEATURES, HIDDEN, OsgDecoder};
use super::hidden::hidden_planes;
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
    /// Marches every ray: flat output features `[C, R]`, depth `[R]`, weight sum `[R]`,
    /// sampled range `[R, 2]`. `planes` are the hidden planes `[3, H, W, 64]` of
    /// [`hidden_planes`]; `uniforms` `[R, D + Di]` each ray's jitter draws, then its CDF
    /// draws in ascending order.
    #[fusion(shape = march_shape(resolution), dtype = planes)]
    fn raymarch(
        planes: FloatTensor<Self>,
        decoder: FloatTensor<Self>,
        frame: FloatTensor<Self>,
        uniforms: FloatTensor<Self>,
        resolution: usize,
        depth_samples: usize,
        importance_samples: usize,
    ) -> FloatTensor<Self>;
}

fn march_shape(resolution: &usize) -> Shape {
    Shape::new([(FEATURES + 4) * resolution * resolution])
}

impl RaymarchOps for CubeBackend {
    fn raymarch(
        planes: CubeTensor,
        decoder: CubeTensor,
        frame: CubeTensor,
        uniforms: CubeTensor,
        resolution: usize,
        depth_samples: usize,
        importance_samples: usize,
    ) -> CubeTensor {
        let [planes, decoder, frame, uniforms] = [planes, decoder, frame, uniforms].map(contiguous);
        let shape = planes.meta.shape().clone();
        let (h, w) = (shape[1], shape[2]);
        let rays = resolution * resolution;
        expect_shape("hidden planes", &planes, &[3, h, w, HIDDEN]);
        expect_shape("frame", &frame, &[FRAME_LEN]);
        expect_shape("decoder", &decoder, &[DECODER_LEN]);
        expect_shape(
            "draws",
            &uniforms,
            &[rays, depth_samples + importance_samples],
        );
        let out = empty_f32(&planes, march_shape(&resolution));
        let kernel = shaders::raymarch([h, w], resolution, depth_samples, importance_samples);
        let count = grid_1d(rays, kernel.workgroup_size);
        launch(kernel, count, &[&planes, &decoder, &frame, &uniforms, &out]);
        out
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
    let hidden = hidden_planes(planes, decoder);
    render_fused_hidden(hidden, projection, decoder, camera, settings, randomness)
}

/// [`render_fused`] from the [`hidden_planes`].
pub fn render_fused_hidden(
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
    let out = Tensor::<1>::from_dispatch(<Dispatch as RaymarchOps>::raymarch(
        planes.into_dispatch(),
        decoder.into_dispatch(),
        frame.into_dispatch(),
        uniforms.into_dispatch(),
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
