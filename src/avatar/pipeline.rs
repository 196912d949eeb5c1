//! The per-frame pipeline for one avatar on one rig: skinning → rasterization into the
//! triplanes → volume rendering. Planes are recomputed only when the rig parameters change,
//! so orbiting the camera only re-renders.

use std::sync::Arc;

use burn::tensor::{Tensor, TensorData};

use super::Avatar;
use crate::gpu::Gpu;
use crate::raster::gpu::TriplaneRasterizer;
use crate::render::camera::OrbitCamera;
use crate::render::decoder::OsgDecoder;
use crate::render::modes::Frame;
use crate::render::rays::CameraLabel;
use crate::render::triplane::PlaneProjection;
use crate::render::volume::{Randomness, RenderSettings, render_reference};
use crate::rig::params::Resolved;
use crate::rig::skin_gpu::GpuSkinner;
use crate::rig::{Rig, RigParams};

/// Rays per chunk of the reference renderer: keeps every buffer under lavapipe's 128 MiB.
const RAY_CHUNK: usize = 1024;
/// Raster resolution of the texture step (Next3D's 256).
pub const RASTER_RESOLUTION: usize = 256;

pub struct FramePipeline {
    gpu: Gpu,
    skinner: GpuSkinner,
    rasterizer: TriplaneRasterizer,
    texture: Tensor<3>,
    static_planes: Tensor<4>,
    decoder: OsgDecoder,
    projection: Tensor<3>,
    cached: Option<(RigParams, Tensor<4>)>,
}

impl FramePipeline {
    pub fn new(
        gpu: &Gpu,
        rig: Arc<Rig>,
        avatar: &Avatar,
        raster_resolution: usize,
    ) -> anyhow::Result<Self> {
        let device = &gpu.burn;
        let identity = RigParams {
            identity: avatar.source.params.identity.clone(),
            ..Default::default()
        };
        let (resolved, _) = identity.resolve(&rig)?;
        let array = |a: &super::Array| TensorData::new(a.data.clone(), a.shape.clone());
        let named = avatar
            .decoder
            .iter()
            .map(|(k, a)| (k.clone(), (a.shape.clone(), a.data.clone())))
            .collect();
        Ok(Self {
            rasterizer: TriplaneRasterizer::new(
                &rig,
                avatar.layout.clone(),
                raster_resolution,
                device,
            ),
            skinner: GpuSkinner::new(rig, &resolved, device),
            texture: Tensor::from_data(array(&avatar.texture), device),
            static_planes: Tensor::from_data(array(&avatar.static_planes), device),
            decoder: OsgDecoder::from_named(&named, device).map_err(anyhow::Error::msg)?,
            projection: PlaneProjection::from_plane_axes(&avatar.plane_axes)
                .map_err(anyhow::Error::msg)?
                .tensor(device),
            gpu: gpu.clone(),
            cached: None,
        })
    }

    /// The blended planes for these rig parameters (cached while they stay the same).
    pub fn planes(&mut self, params: &RigParams) -> anyhow::Result<Tensor<4>> {
        if let Some((cached_params, planes)) = &self.cached
            && cached_params == params
        {
            return Ok(planes.clone());
        }
        let (resolved, warnings): (Resolved, _) = params.resolve(self.skinner.rig())?;
        for w in warnings {
            log::warn!("{w}");
        }
        let (vertices, _) = self.skinner.skin(&resolved);
        let planes = self
            .rasterizer
            .forward_fused(vertices, self.texture.clone(), self.static_planes.clone())
            .planes;
        self.cached = Some((params.clone(), planes.clone()));
        Ok(planes)
    }

    /// Renders a frame; `samples_scale` multiplies the 48 + 48 samples per ray.
    pub fn render(
        &mut self,
        params: &RigParams,
        camera: &OrbitCamera,
        resolution: usize,
        samples_scale: f64,
    ) -> anyhow::Result<Frame> {
        let planes = self.planes(params)?;
        let (ray_start, ray_end) = camera.ray_bounds();
        let samples = ((48.0 * samples_scale).round() as usize).max(4);
        let settings = RenderSettings {
            resolution,
            depth_samples: samples,
            importance_samples: samples,
            ray_start,
            ray_end,
            box_warp: 1.0,
        };
        let label = CameraLabel::from_eg3d(&camera.eg3d_label());
        let rendered = render_reference(
            planes,
            &self.projection,
            &self.decoder,
            &label,
            &settings,
            Randomness::Deterministic,
            RAY_CHUNK,
        );
        let read = |t: Tensor<1>| {
            t.into_data()
                .try_to_vec::<f32>()
                .map_err(|e| anyhow::anyhow!("reading the frame back: {e:?}"))
        };
        let channels = rendered.features.dims()[0];
        let frame = Frame {
            channels,
            size: resolution,
            features: read(rendered.features.reshape([-1]))?,
            depth: read(rendered.depth.reshape([-1]))?,
            opacity: read(rendered.weights_sum)?,
        };
        self.gpu.sync();
        Ok(frame)
    }
}
