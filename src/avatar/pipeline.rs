//! The per-frame pipeline for one avatar on one rig: skinning → rasterization into the
//! triplanes → volume rendering. Planes are recomputed only when the rig parameters change,
//! so orbiting the camera only re-renders. While the hand drags a slider, draft planes at
//! a quarter of the raster resolution (no networks) stand in for them.

use std::sync::Arc;

use burn::tensor::{Tensor, TensorData};

use super::Avatar;
use super::generator_nets::GeneratorNets;
use crate::gpu::Gpu;
use crate::nets::mouth::read_box;
use crate::raster::gpu::{TriplaneRaster, TriplaneRasterizer};
use crate::render::camera::OrbitCamera;
use crate::render::decoder::OsgDecoder;
use crate::render::hidden::{hidden_planes, hidden_planes_covered};
use crate::render::marcher::{Marcher, NeuralField};
use crate::render::modes::{Frame, SuperResolved};
use crate::render::rays::CameraLabel;
use crate::render::triplane::PlaneProjection;
use crate::render::volume::{Randomness, RenderSettings, Rendered};
use crate::rig::params::Resolved;
use crate::rig::skin_gpu::GpuSkinner;
use crate::rig::{Rig, RigParams};

/// Raster resolution of the texture step (Next3D's 256).
pub const RASTER_RESOLUTION: usize = 256;

pub struct FramePipeline {
    gpu: Gpu,
    skinner: GpuSkinner,
    rasterizer: TriplaneRasterizer,
    texture: Tensor<3>,
    /// The avatar's static planes at the raster resolution.
    static_planes: StaticPlanes,
    /// The rasterizer and static planes of draft planes.
    draft: (TriplaneRasterizer, StaticPlanes),
    decoder: OsgDecoder,
    projection: PlaneProjection,
    /// The mouth, blending and SR networks of avatars baked from a checkpoint.
    nets: Option<GeneratorNets>,
    cached: Option<(RigParams, Planes)>,
    cached_draft: Option<(RigParams, Planes)>,
}

/// An avatar's static planes at one raster size, and their [`hidden_planes`] (which the
/// frames copy wherever the head does not cover a plane) where frames blended without
/// networks use them.
#[derive(Clone)]
struct StaticPlanes {
    planes: Tensor<4>,
    hidden: Option<Tensor<4>>,
}

/// The blended planes of one expression, and the same through the decoder's first layer
/// for the fused marcher ([`hidden_planes`]): both cached while the expression stays.
#[derive(Clone)]
pub struct Planes {
    pub blended: Tensor<4>,
    pub hidden: Tensor<4>,
}

impl Planes {
    /// The planes of the rasterizer's blend alone (no networks), which left the static
    /// planes wherever the alpha is 0: only the texels the head covers are projected, given
    /// the static planes' hidden planes (else every texel).
    fn from_blend(raster: TriplaneRaster, statics: &StaticPlanes, decoder: &OsgDecoder) -> Self {
        let hidden = match &statics.hidden {
            Some(hidden) => hidden_planes_covered(
                raster.planes.clone(),
                raster.alphas,
                hidden.clone(),
                decoder,
            ),
            None => hidden_planes(raster.planes.clone(), decoder),
        };
        Self {
            hidden,
            blended: raster.planes,
        }
    }
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
        let nets = GeneratorNets::load(avatar, device)?;
        if let Some(nets) = &nets {
            anyhow::ensure!(
                nets.raster_resolution() == raster_resolution,
                "this avatar's blending network takes {0}² rasters; render it at raster size {0}",
                nets.raster_resolution()
            );
        }
        let array = |a: &super::Array| TensorData::new(a.data.clone(), a.shape.clone());
        let static_planes = Tensor::<4>::from_data(array(&avatar.static_planes), device);
        let decoder = avatar.osg_decoder(device).map_err(anyhow::Error::msg)?;
        // Resampled (and projected, where the frames blend without networks) once here
        // rather than in every frame.
        let rasterizer = |resolution, project: bool| {
            let rasterizer =
                TriplaneRasterizer::new(&rig, avatar.layout.clone(), resolution, device);
            let planes = rasterizer.resample(static_planes.clone());
            let hidden = project.then(|| hidden_planes(planes.clone(), &decoder));
            (rasterizer, StaticPlanes { planes, hidden })
        };
        // Full frames of avatars with networks project every texel (see finish_planes);
        // draft frames never run the networks. Drafts at a quarter: the whole head's draft
        // at half (128²) took ~70 ms of a ~105 ms slider frame on lavapipe.
        let (full, draft) = (
            rasterizer(raster_resolution, nets.is_none()),
            rasterizer((raster_resolution / 4).max(16), true),
        );
        Ok(Self {
            rasterizer: full.0,
            static_planes: full.1,
            draft,
            skinner: GpuSkinner::new(rig, &resolved, device),
            texture: Tensor::from_data(array(&avatar.texture), device),
            decoder,
            projection: PlaneProjection::from_plane_axes(&avatar.plane_axes)
                .map_err(anyhow::Error::msg)?,
            gpu: gpu.clone(),
            nets,
            cached: None,
            cached_draft: None,
        })
    }

    /// Full planes, or draft ones when `options` ask for them (see [`FrameOptions::draft_planes`]).
    pub fn planes_for(
        &mut self,
        params: &RigParams,
        options: &FrameOptions,
    ) -> anyhow::Result<Planes> {
        if !options.draft_planes {
            return self.planes(params);
        }
        if let Some(planes) = cached_for(&self.cached_draft, params) {
            return Ok(planes);
        }
        let (rasterizer, static_planes) = &self.draft;
        let (vertices, _) = self.skin(params)?;
        let raster = rasterizer.forward_fused(
            vertices,
            self.texture.clone(),
            static_planes.planes.clone(),
            false,
        );
        let planes = Planes::from_blend(raster, static_planes, &self.decoder);
        self.cached_draft = Some((params.clone(), planes.clone()));
        Ok(planes)
    }

    /// The avatar's skinned mesh for these parameters, read back (rig space).
    pub fn skinned_vertices(&self, params: &RigParams) -> anyhow::Result<Vec<[f32; 3]>> {
        let (vertices, _) = self.skin(params)?;
        crate::rig::skin_gpu::read_points(vertices)
    }

    /// The skinned vertices and landmarks for these parameters (warnings logged).
    fn skin(&self, params: &RigParams) -> anyhow::Result<(Tensor<2>, Tensor<2>)> {
        let (resolved, warnings): (Resolved, _) = params.resolve(self.skinner.rig())?;
        for w in warnings {
            log::warn!("{w}");
        }
        Ok(self.skinner.skin(&resolved))
    }

    /// The planes for these rig parameters (cached while they stay the same).
    pub fn planes(&mut self, params: &RigParams) -> anyhow::Result<Planes> {
        if let Some(planes) = cached_for(&self.cached, params) {
            return Ok(planes);
        }
        let (raster, landmarks) = self.rasterize(params)?;
        let planes = self.finish_planes(raster, landmarks)?;
        self.cached = Some((params.clone(), planes.clone()));
        Ok(planes)
    }

    /// The first stage of [`Self::planes`]: skinning, rasterization and the texture blend;
    /// also the skinned landmarks.
    pub fn rasterize(&self, params: &RigParams) -> anyhow::Result<(TriplaneRaster, Tensor<2>)> {
        let (vertices, landmarks) = self.skin(params)?;
        let raster = self.rasterizer.forward_fused(
            vertices,
            self.texture.clone(),
            self.static_planes.planes.clone(),
            self.nets.is_some(),
        );
        Ok((raster, landmarks))
    }

    /// The second stage of [`Self::planes`]: the mouth and blending networks if the avatar
    /// has them, and the hidden planes.
    pub fn finish_planes(
        &self,
        raster: TriplaneRaster,
        landmarks: Tensor<2>,
    ) -> anyhow::Result<Planes> {
        let Some(nets) = &self.nets else {
            return Ok(Planes::from_blend(
                raster,
                &self.static_planes,
                &self.decoder,
            ));
        };
        let mouth_box = read_box(self.rasterizer.mouth_box(landmarks))?;
        // `rasterize` keeps the front view for avatars with networks.
        let front = raster
            .front
            .ok_or_else(|| anyhow::anyhow!("the front view was not rasterized"))?;
        let front = nets.fix_mouth(front, mouth_box);
        let blended = self
            .rasterizer
            .replace_front(raster.planes, &raster.alphas, front, self.static_planes.planes.clone())
            .ok_or_else(|| {
                anyhow::anyhow!("the avatar's plane layout has no slot for the front view alone, which its blending network needs")
            })?;
        // The networks change the front plane beyond the head: project every texel.
        Ok(Planes {
            hidden: hidden_planes(blended.clone(), &self.decoder),
            blended,
        })
    }

    pub fn decoder(&self) -> &OsgDecoder {
        &self.decoder
    }

    pub fn projection(&self) -> &PlaneProjection {
        &self.projection
    }

    /// Marches the rays of `camera` through `planes`.
    pub fn march(&self, planes: Planes, camera: &OrbitCamera, options: &FrameOptions) -> Rendered {
        let field = NeuralField {
            planes: planes.blended,
            hidden_planes: Some(planes.hidden),
            projection: self.projection.clone(),
            decoder: self.decoder.clone(),
        };
        let randomness = if options.jitter {
            Randomness::Random
        } else {
            Randomness::Deterministic
        };
        let label = CameraLabel::from_eg3d(&camera.eg3d_label());
        options
            .marcher
            .render(&field, &label, &options.settings(camera), randomness)
    }

    /// An error naming the settings when a frame at `options` needs a buffer larger than the
    /// adapter allows (checked before anything is allocated).
    pub fn check_buffers(&self, options: &FrameOptions) -> anyhow::Result<()> {
        super::buffer_limits::check(options, &self.gpu.device.limits())
    }

    /// Renders a frame and reads it back.
    pub fn render(
        &mut self,
        params: &RigParams,
        camera: &OrbitCamera,
        options: &FrameOptions,
    ) -> anyhow::Result<Frame> {
        self.check_buffers(options)?;
        let planes = self.planes_for(params, options)?;
        let rendered = self.march(planes, camera, options);
        let super_resolved = match options.super_resolution {
            true => self.super_resolve(&rendered, options.resolution)?,
            false => None,
        };
        let mut frame = read_frame(rendered, options.resolution)?;
        frame.super_resolved = super_resolved;
        self.gpu.sync();
        Ok(frame)
    }

    /// The avatar's super-resolution network on a rendered frame of side `resolution`
    /// (`None` for avatars without a generator).
    pub fn super_resolve(
        &self,
        rendered: &Rendered,
        resolution: usize,
    ) -> anyhow::Result<Option<SuperResolved>> {
        let Some(nets) = &self.nets else {
            return Ok(None);
        };
        let c = rendered.features.dims()[0];
        let n = resolution;
        let image = nets.super_resolve(rendered.features.clone().reshape([c, n, n]));
        let size = image.dims()[1];
        let rgb = image
            .reshape([-1])
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| anyhow::anyhow!("reading the super-resolved image: {e:?}"))?;
        Ok(Some(SuperResolved { size, rgb }))
    }
}

/// The cached planes, if they were made for `params`.
fn cached_for(cache: &Option<(RigParams, Planes)>, params: &RigParams) -> Option<Planes> {
    cache
        .as_ref()
        .filter(|(cached_params, _)| cached_params == params)
        .map(|(_, planes)| planes.clone())
}

/// Reads a rendered frame of side `resolution` back to the CPU.
pub fn read_frame(rendered: Rendered, resolution: usize) -> anyhow::Result<Frame> {
    let read = |t: Tensor<1>| {
        t.into_data()
            .try_to_vec::<f32>()
            .map_err(|e| anyhow::anyhow!("reading the frame back: {e:?}"))
    };
    Ok(Frame {
        channels: rendered.features.dims()[0],
        size: resolution,
        features: read(rendered.features.reshape([-1]))?,
        depth: read(rendered.depth.reshape([-1]))?,
        opacity: read(rendered.weights_sum)?,
        super_resolved: None,
    })
}

/// How a frame is rendered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameOptions {
    /// Neural rendering resolution N.
    pub resolution: usize,
    /// Multiplies the 48 + 48 samples per ray (EG3D's viewer offers ×0.5 … ×4).
    pub samples_scale: f64,
    pub marcher: Marcher,
    /// Fresh stratified jitter and CDF draws each frame, as in training; without it frames
    /// are deterministic (still frames, tests).
    pub jitter: bool,
    /// Run the avatar's super-resolution network (avatars baked from a checkpoint).
    pub super_resolution: bool,
    /// Draft planes: rasterized at a quarter of the resolution (64² for 256²: two texels per
    /// ray of the N = 32 preview of N = 64), without the mouth and blending networks, for
    /// frames shown while a slider moves.
    pub draft_planes: bool,
}

impl Default for FrameOptions {
    fn default() -> Self {
        Self {
            resolution: 64,
            samples_scale: 1.0,
            marcher: Marcher::Fused,
            jitter: false,
            super_resolution: false,
            draft_planes: false,
        }
    }
}

impl FrameOptions {
    /// Samples per ray before the scale: Next3D's 48 coarse + 48 importance.
    pub const BASE_SAMPLES: usize = 48;

    /// The quick frame shown while the hand moves: half the resolution (at least 16), at
    /// most ×0.5 samples and draft planes.
    pub fn preview(self) -> Self {
        Self {
            resolution: (self.resolution / 2).max(16),
            samples_scale: self.samples_scale.min(0.5),
            super_resolution: false,
            draft_planes: true,
            ..self
        }
    }

    /// Coarse samples per ray (as many importance samples follow).
    fn coarse_samples(&self) -> usize {
        // At least 4: importance sampling smooths over interior bins.
        ((Self::BASE_SAMPLES as f64 * self.samples_scale).round() as usize).max(4)
    }

    /// Coarse and importance samples per ray.
    pub fn samples_per_ray(&self) -> usize {
        2 * self.coarse_samples()
    }

    /// The sampling settings for this camera (ray bounds follow its radius).
    pub fn settings(&self, camera: &OrbitCamera) -> RenderSettings {
        let (ray_start, ray_end) = camera.ray_bounds();
        let samples = self.coarse_samples();
        RenderSettings {
            resolution: self.resolution,
            depth_samples: samples,
            importance_samples: samples,
            ray_start,
            ray_end,
            box_warp: 1.0,
        }
    }
}
