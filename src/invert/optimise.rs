//! The inversion's optimisation without a generator: the neural texture and the decoder's
//! colour head are fitted so that the avatar, rendered from the fitted camera through the
//! differentiable burn path (texture sampling → blend → triplane sampling → decoder →
//! compositing), matches the portrait.
//!
//! The avatar starts as the painted avatar coloured by the portrait unwrapped into the atlas
//! (`unwrap.rs`): a volume whose density is the rig's visual hull and whose colour moves with
//! the mesh, so it is the portrait at every expression and view before the first step. The
//! optimisation corrects what the triplane's mixing of three views costs the training view,
//! and is held near that start (the anchor term) so that it does not trade other views for
//! it. The static planes stay empty: detail there would not move with the mesh and shows as
//! doubled eyes and mouths at any other expression. The surface and depth channels of the
//! texture and the decoder's hidden layer and density head are not optimised either. That is
//! the silhouette prior in its strongest form — the render's opacity is exactly the skinned
//! mesh's — and it lets every step re-composite frozen ray samples (`frozen_rays.rs`)
//! instead of marching.
//!
//! Loss = L1 + 0.5·(1 − SSIM), both inside the face mask (the hull of the portrait's
//! landmarks), + the anchor (L1 of the colour logits to the unwrapped start, heavier where the
//! portrait showed the texel less) and smoothness. Texels no ray sees keep the unwrap's colours.
//! The landmark term is the fit's (`fit.rs`): the geometry is placed by the landmarks.

use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};

use super::frozen_rays::FrozenRays;
use super::losses::photometric;
use super::other_views::{other_views, textured_target};
use super::target::{Target, rgb_image};
use super::unwrap::Unwrapped;
use crate::avatar::painted::{
    AWAY_CHANNELS, COLOUR_CHANNELS, DEPTH_CHANNEL, FRONT, INNER_CHANNEL, INNER_COLOURS, is_inner,
    painted_with_colours,
};
use crate::avatar::{Array, Avatar, RigRef, SourceState};
use crate::gpu::Gpu;
use crate::invert::fit::Fit;
use crate::raster::gpu::TriplaneRasterizer;
use crate::render::camera::OrbitCamera;
use crate::render::decoder::OsgDecoder;
use crate::render::rays::CameraLabel;
use crate::render::triplane::PlaneProjection;
use crate::render::volume::{Randomness, RenderSettings, render_reference};
use crate::rig::skin_cpu::skin;
use crate::rig::{Rig, RigParams};

/// Raster resolution of the texture step, as the viewer renders it.
const RASTER_RESOLUTION: usize = crate::avatar::pipeline::RASTER_RESOLUTION;
/// Rays per chunk of the reference renderer (lavapipe's 128 MiB buffers).
const RAY_CHUNK: usize = 2048;
/// Samples per ray of the march that freezes the geometry: the viewer's 48 + 48.
const MARCH_SAMPLES: usize = 48;

/// The painted avatar's density inside the hull (σ ≈ 20 per unit length) spreads a ray's
/// weight over centimetres; ×20 makes it a surface about one plane texel thick, whose weight
/// a few samples per ray carry.
const SURFACE_SHARPENING: f32 = 20.0;

/// The anchor holds a texel the portrait showed face-on at a quarter of an unseen one's
/// weight: the training view may sharpen it, not repaint it.
const ANCHOR_RELIEF: f32 = 0.75;

/// How hard each term pulls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossWeights {
    pub l1: f64,
    pub structure: f64,
    pub anchor: f64,
    pub smoothness: f64,
    /// The other expressions and views' photometric terms, relative to the portrait's.
    pub other_views: f64,
}

impl Default for LossWeights {
    fn default() -> Self {
        Self {
            l1: 1.0,
            structure: 0.5,
            anchor: 0.02,
            other_views: 0.5,
            smoothness: 0.02,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptimiseSettings {
    /// Neural rendering resolution N of the optimisation.
    pub resolution: usize,
    pub steps: usize,
    /// Samples per ray decoded each step (the frozen march's samples merged into groups).
    pub samples: usize,
    /// Adam's step for the texture and static planes, and for the decoder.
    pub learning_rate: f64,
    pub decoder_learning_rate: f64,
    /// Side of the static planes stored in the avatar (uniform: detail there would not move
    /// with the mesh).
    pub static_size: usize,
    pub weights: LossWeights,
}

impl Default for OptimiseSettings {
    fn default() -> Self {
        Self {
            resolution: 128,
            steps: 60,
            samples: 8,
            learning_rate: 0.06,
            decoder_learning_rate: 0.003,
            static_size: 16,
            weights: LossWeights::default(),
        }
    }
}

/// What one step measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    pub step: usize,
    pub loss: f64,
    pub l1: f64,
    pub structure: f64,
}

impl StepReport {
    /// The step's loss terms read back; a loss that is not finite is an error.
    pub(super) fn read(
        step: usize,
        loss: &Tensor<1>,
        l1: Tensor<1>,
        structure: Tensor<1>,
    ) -> anyhow::Result<Self> {
        let report = Self {
            step,
            loss: read_scalar(loss.clone())?,
            l1: read_scalar(l1)?,
            structure: read_scalar(structure)?,
        };
        anyhow::ensure!(
            report.loss.is_finite(),
            "the inversion diverged at step {step} (loss {}); try a smaller learning rate",
            report.loss
        );
        Ok(report)
    }
}

/// The optimised channels of the texture: both colour sets and the unused rest
/// (`painted.rs` says what each is).
#[derive(Module, Debug)]
struct Appearance {
    texture: Param<Tensor<3>>,
}

/// The decoder's colour head (output rows 1…C of the second layer).
#[derive(Module, Debug)]
struct ColourHead {
    weight: Param<Tensor<2>>,
    bias: Param<Tensor<1>>,
}

/// What stays as the painted avatar made it: the surface and depth channels, the static
/// planes, the hidden layer and the density head; and what the anchor holds the colours to.
struct Frozen {
    texture_geometry: Tensor<3>,
    /// 1 where a texel belongs to the away set (`painted.rs`), 0 at the front: the face must
    /// add nothing to that set, or it shows on the back of the head.
    away_mask: Tensor<3>,
    /// 1 where a texel belongs to the inner set: the skin must add nothing to it, or it
    /// shows inside the open mouth.
    inner_mask: Tensor<3>,
    static_planes: Tensor<4>,
    /// The unwrapped colour logits of the three sets `[9, T, T]` and the anchor's weight per
    /// texel `[1, T, T]`.
    start_colours: Tensor<3>,
    anchor_weight: Tensor<3>,
    w0: Tensor<2>,
    b0: Tensor<1>,
    density_weight: Tensor<2>,
    density_bias: Tensor<1>,
}

/// What one view is fitted to: the rig's expression, the camera, the target image at
/// `size`² (`[3, size, size]` in −1…1) and the mask of pixels that count.
struct ViewTarget<'a> {
    params: &'a RigParams,
    camera: &'a OrbitCamera,
    size: usize,
    rgb: Vec<f32>,
    mask: Vec<f32>,
}

/// One fixed view: the rig at its expression rasterized once, the frozen rays, the target on
/// the GPU.
struct Scene {
    size: usize,
    rasterizer: TriplaneRasterizer,
    raster: Tensor<4>,
    view_alphas: Tensor<3>,
    projection: Tensor<3>,
    rays: FrozenRays,
    target: Tensor<3>,
    /// Where the target counts: the face (the portrait), the covered mesh (other views).
    mask: Tensor<2>,
}

pub struct Optimiser {
    scene: Scene,
    /// The other expressions and views (`other_views.rs`), one per step in turn.
    others: Vec<Scene>,
    frozen: Frozen,
    appearance: Appearance,
    head: ColourHead,
    appearance_adam: ModuleOptimizer,
    head_adam: ModuleOptimizer,
    settings: OptimiseSettings,
    fit: Fit,
    /// The rig the avatar is made on, as its file will name it.
    rig: RigRef,
    step: usize,
    /// The training view's RGB from the last step, `[3, N, N]` in −1…1.
    last_render: Vec<f32>,
}

impl Optimiser {
    pub fn new(
        gpu: &Gpu,
        rig: &Rig,
        fit: &Fit,
        target: &Target,
        unwrapped: &Unwrapped,
        settings: OptimiseSettings,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            target.size == settings.resolution,
            "the target is {}² but the optimisation renders {}²",
            target.size,
            settings.resolution
        );
        let device = gpu.burn.clone().autodiff();
        let mut start =
            painted_with_colours(rig, RigRef::of(rig, None), unwrapped.size, &unwrapped.rgb);
        sharpen_surface(&mut start, SURFACE_SHARPENING);
        start.static_planes = uniform_static_planes(&start.static_planes, settings.static_size);
        let training = ViewTarget {
            params: &fit.params,
            camera: &fit.camera,
            size: target.size,
            rgb: target.rgb.clone(),
            mask: target.face_mask.clone(),
        };
        let scene = Scene::new(gpu, rig, training, &start, &settings, &device)?;
        let other_size = (settings.resolution / 2).max(16);
        let others = other_views(fit)
            .iter()
            .map(|view| {
                let (rgb, mask) = textured_target(rig, view, unwrapped, other_size)?;
                let target = ViewTarget {
                    params: &view.params,
                    camera: &view.camera,
                    size: other_size,
                    rgb,
                    mask,
                };
                Scene::new(gpu, rig, target, &start, &settings, &device)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let texture: Tensor<3> = tensor(&start.texture, &device);
        let static_planes: Tensor<4> = tensor(&start.static_planes, &device);
        let [c, t, _] = texture.dims();
        let plane = t * t;
        let channel = |c: usize| &start.texture.data[c * plane..][..plane];
        let inner: Vec<bool> = channel(INNER_CHANNEL)
            .iter()
            .map(|&v| is_inner(v))
            .collect();
        let away_mask: Vec<f32> = channel(DEPTH_CHANNEL)
            .iter()
            .zip(&inner)
            .map(|(&depth, &inner)| f32::from(u8::from(depth < FRONT && !inner)))
            .collect();
        let inner_mask: Vec<f32> = inner.iter().map(|&i| f32::from(u8::from(i))).collect();
        let anchor_weight: Vec<f32> = unwrapped
            .confidence
            .iter()
            .map(|&c| 1.0 - ANCHOR_RELIEF * c)
            .collect();
        let decoder = |name: &str| {
            start
                .decoder
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, a)| a)
                .ok_or_else(|| anyhow::anyhow!("the painted decoder has no `{name}`"))
        };
        let w1: Tensor<2> = tensor(decoder("decoder.net.2.weight")?, &device);
        let b1: Tensor<1> = tensor(decoder("decoder.net.2.bias")?, &device);
        let [rows, hidden] = w1.dims();
        Ok(Self {
            scene,
            others,
            frozen: Frozen {
                texture_geometry: texture
                    .clone()
                    .slice([0..COLOUR_CHANNELS.start, 0..t, 0..t]),
                away_mask: Tensor::from_data(TensorData::new(away_mask, [1, t, t]), &device),
                inner_mask: Tensor::from_data(TensorData::new(inner_mask, [1, t, t]), &device),
                static_planes,
                start_colours: texture.clone().slice([
                    COLOUR_CHANNELS.start..INNER_COLOURS.end,
                    0..t,
                    0..t,
                ]),
                anchor_weight: Tensor::from_data(
                    TensorData::new(anchor_weight, [1, t, t]),
                    &device,
                ),
                w0: tensor(decoder("decoder.net.0.weight")?, &device),
                b0: tensor(decoder("decoder.net.0.bias")?, &device),
                density_weight: w1.clone().slice([0..1, 0..hidden]),
                density_bias: b1.clone().narrow(0, 0, 1),
            },
            appearance: Appearance {
                texture: Param::from_tensor(texture.slice([COLOUR_CHANNELS.start..c, 0..t, 0..t])),
            },
            head: ColourHead {
                weight: Param::from_tensor(w1.slice([1..rows, 0..hidden])),
                bias: Param::from_tensor(b1.narrow(0, 1, rows - 1)),
            },
            appearance_adam: AdamConfig::new().init(),
            head_adam: AdamConfig::new().init(),
            settings,
            fit: fit.clone(),
            rig: RigRef::of(rig, None),
            step: 0,
            last_render: Vec::new(),
        })
    }

    /// The whole texture, static planes and decoder as they stand.
    fn assembled(&self) -> (Tensor<3>, Tensor<4>, OsgDecoder) {
        let f = &self.frozen;
        (
            self.texture(),
            f.static_planes.clone(),
            OsgDecoder {
                w0: f.w0.clone(),
                b0: f.b0.clone(),
                w1: Tensor::cat(vec![f.density_weight.clone(), self.head.weight.val()], 0),
                b1: Tensor::cat(vec![f.density_bias.clone(), self.head.bias.val()], 0),
            },
        )
    }

    /// The whole texture: the frozen geometry channels, then the optimised ones with the
    /// face's texels kept out of the away set and the skin out of the inner set.
    fn texture(&self) -> Tensor<3> {
        let f = &self.frozen;
        let optimised = self.appearance.texture.val();
        let [c, _, _] = optimised.dims();
        let offset = |channel: usize| channel - COLOUR_CHANNELS.start;
        let set = |range: std::ops::Range<usize>| {
            optimised
                .clone()
                .narrow(0, offset(range.start), range.len())
        };
        let rest = offset(INNER_COLOURS.end);
        Tensor::cat(
            vec![
                f.texture_geometry.clone(),
                set(COLOUR_CHANNELS),
                set(AWAY_CHANNELS) * f.away_mask.clone(),
                set(INNER_COLOURS) * f.inner_mask.clone(),
                optimised.clone().narrow(0, rest, c - rest),
            ],
            0,
        )
    }

    /// One Adam step on the whole loss.
    pub fn step(&mut self) -> anyhow::Result<StepReport> {
        let w = self.settings.weights;
        let (texture, static_planes, decoder) = self.assembled();
        let rgb = self
            .scene
            .render(texture.clone(), static_planes.clone(), &decoder);
        let (l1, structure) = self.scene.photometric(rgb.clone());
        let colours = self.appearance.texture.val();
        let mut loss = l1.clone() * w.l1
            + structure.clone() * w.structure
            + self.anchor(&colours) * w.anchor
            + smoothness(&colours) * w.smoothness;
        if !self.others.is_empty() {
            let other = &self.others[self.step % self.others.len()];
            let (other_l1, other_structure) =
                other.photometric(other.render(texture, static_planes, &decoder));
            loss = loss + (other_l1 * w.l1 + other_structure * w.structure) * w.other_views;
        }

        let report = StepReport::read(self.step + 1, &loss, l1, structure)?;
        self.last_render = read(rgb.reshape([-1]))?;

        let mut grads = loss.backward();
        let appearance_grads = GradientsParams::from_module(&mut grads, &self.appearance);
        let head_grads = GradientsParams::from_module(&mut grads, &self.head);
        self.appearance = self.appearance_adam.step(
            self.settings.learning_rate,
            self.appearance.clone(),
            appearance_grads,
        );
        self.head = self.head_adam.step(
            self.settings.decoder_learning_rate,
            self.head.clone(),
            head_grads,
        );
        self.step += 1;
        Ok(report)
    }

    /// Weighted mean |colour logits − the unwrapped start's|.
    fn anchor(&self, colours: &Tensor<3>) -> Tensor<1> {
        let sets = self.frozen.start_colours.dims()[0];
        let logits = colours.clone().narrow(0, 0, sets);
        ((logits - self.frozen.start_colours.clone()).abs() * self.frozen.anchor_weight.clone())
            .mean()
    }

    pub fn settings(&self) -> &OptimiseSettings {
        &self.settings
    }

    /// The training view as of the last step (the live preview), or `None` before the first.
    pub fn preview(&self) -> Option<image::RgbImage> {
        let n = self.settings.resolution;
        (self.last_render.len() == 3 * n * n).then(|| rgb_image(&self.last_render, n))
    }

    /// The avatar as it stands.
    pub fn avatar(&self, name: &str) -> anyhow::Result<Avatar> {
        let (texture, static_planes, decoder) = self.assembled();
        let array = |t: Tensor<1>, shape: Vec<usize>| -> anyhow::Result<Array> {
            Ok(Array {
                shape,
                data: read(t)?,
            })
        };
        let (ts, ss) = (texture.dims().to_vec(), static_planes.dims().to_vec());
        let (w0s, w1s) = (decoder.w0.dims().to_vec(), decoder.w1.dims().to_vec());
        let (b0s, b1s) = (decoder.b0.dims().to_vec(), decoder.b1.dims().to_vec());
        let layout = self.scene.rasterizer.layout.clone();
        Ok(Avatar {
            name: name.to_string(),
            rig: self.rig.clone(),
            source: SourceState {
                params: self.fit.params.clone(),
                camera: self.fit.camera,
            },
            texture: array(texture.reshape([-1]), ts)?,
            static_planes: array(static_planes.reshape([-1]), ss)?,
            decoder: vec![
                (
                    "decoder.net.0.weight".into(),
                    array(decoder.w0.reshape([-1]), w0s)?,
                ),
                ("decoder.net.0.bias".into(), array(decoder.b0, b0s)?),
                (
                    "decoder.net.2.weight".into(),
                    array(decoder.w1.reshape([-1]), w1s)?,
                ),
                ("decoder.net.2.bias".into(), array(decoder.b1, b1s)?),
            ],
            plane_axes: crate::avatar::plane_axes_for(layout.plane_axes),
            layout,
            generator: None,
            styles: None,
        })
    }
}

impl Scene {
    fn new(
        gpu: &Gpu,
        rig: &Rig,
        target: ViewTarget,
        start: &Avatar,
        settings: &OptimiseSettings,
        device: &Device,
    ) -> anyhow::Result<Self> {
        let (resolved, _) = target.params.resolve(rig)?;
        let vertices: Vec<f32> = skin(rig, &resolved)
            .vertices
            .iter()
            .flatten()
            .map(|&v| v as f32)
            .collect();
        let count = vertices.len() / 3;
        // Rasterize and march once on the plain device: the geometry does not change.
        let plain_device = &gpu.burn;
        let plain =
            TriplaneRasterizer::new(rig, start.layout.clone(), RASTER_RESOLUTION, plain_device);
        let raster = plain.rasterize(Tensor::from_data(
            TensorData::new(vertices, [count, 3]),
            plain_device,
        ));
        let view_alphas = plain.fill(plain.mask_alpha(&raster));
        let (renderings, _) = plain.sample(&raster, tensor(&start.texture, plain_device));
        let (planes, _) = plain.blend(
            renderings,
            view_alphas.clone(),
            tensor(&start.static_planes, plain_device),
        );
        let projection =
            PlaneProjection::from_plane_axes(&start.plane_axes).map_err(anyhow::Error::msg)?;
        let decoder = start
            .osg_decoder(plain_device)
            .map_err(anyhow::Error::msg)?;
        let n = target.size;
        let camera = CameraLabel::from_eg3d(&target.camera.eg3d_label());
        let (ray_start, ray_end) = target.camera.ray_bounds();
        let render = RenderSettings {
            resolution: n,
            depth_samples: MARCH_SAMPLES,
            importance_samples: MARCH_SAMPLES,
            ray_start,
            ray_end,
            box_warp: 1.0,
        };
        let marched = render_reference(
            planes,
            &projection.tensor(plain_device),
            &decoder,
            &camera,
            &render,
            Randomness::Deterministic,
            RAY_CHUNK,
        );
        let (depths, weights) = marched
            .samples
            .ok_or_else(|| anyhow::anyhow!("the reference march kept no samples"))?;
        let rays = FrozenRays::new(
            &camera,
            n,
            &read(depths.reshape([-1]))?,
            &read(weights.reshape([-1]))?,
            settings.samples,
            render.box_warp,
            device,
        );
        let mask = |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [n, n]), device);
        Ok(Self {
            size: n,
            rasterizer: TriplaneRasterizer::new(
                rig,
                start.layout.clone(),
                RASTER_RESOLUTION,
                device,
            ),
            raster: Tensor::from_data(raster.into_data(), device),
            view_alphas: Tensor::from_data(view_alphas.into_data(), device),
            projection: projection.tensor(device),
            rays,
            target: Tensor::from_data(TensorData::new(target.rgb.clone(), [3, n, n]), device),
            mask: mask(&target.mask),
        })
    }

    /// The avatar's RGB `[3, N, N]` from this view.
    fn render(
        &self,
        texture: Tensor<3>,
        static_planes: Tensor<4>,
        decoder: &OsgDecoder,
    ) -> Tensor<3> {
        let (renderings, _) = self.rasterizer.sample(&self.raster, texture);
        let (planes, _) =
            self.rasterizer
                .blend(renderings, self.view_alphas.clone(), static_planes);
        let n = self.size;
        self.rays
            .composite(planes, &self.projection, decoder)
            .narrow(0, 0, 3)
            .reshape([3, n, n])
    }

    /// (L1, 1 − SSIM) of `rgb` against the target inside its mask.
    fn photometric(&self, rgb: Tensor<3>) -> (Tensor<1>, Tensor<1>) {
        photometric(rgb, self.target.clone(), &self.mask)
    }
}

fn tensor<const D: usize>(a: &Array, device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(a.data.clone(), a.shape.clone()), device)
}

pub(super) fn read(t: Tensor<1>) -> anyhow::Result<Vec<f32>> {
    t.inner()
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("reading a tensor back: {e:?}"))
}

fn read_scalar(t: Tensor<1>) -> anyhow::Result<f64> {
    Ok(f64::from(read(t)?[0]))
}

/// Scales the decoder's density head (σ's row of the second layer, and its bias).
fn sharpen_surface(avatar: &mut Avatar, factor: f32) {
    for (name, array) in &mut avatar.decoder {
        match name.as_str() {
            "decoder.net.2.weight" => {
                let hidden = array.shape[1];
                array.data[..hidden].iter_mut().for_each(|w| *w *= factor);
            }
            "decoder.net.2.bias" => array.data[0] *= factor,
            _ => {}
        }
    }
}

/// The painted avatar's static planes (uniform per channel) at `size`².
fn uniform_static_planes(planes: &Array, size: usize) -> Array {
    let [k, c, h, w] = [0, 1, 2, 3].map(|i| planes.shape[i]);
    let data = (0..k * c)
        .flat_map(|plane| std::iter::repeat_n(planes.data[plane * h * w], size * size))
        .collect();
    Array {
        shape: vec![k, c, size, size],
        data,
    }
}

/// Mean absolute difference of neighbouring texels.
fn smoothness(texture: &Tensor<3>) -> Tensor<1> {
    let [_, h, w] = texture.dims();
    let across = texture.clone().narrow(2, 1, w - 1) - texture.clone().narrow(2, 0, w - 1);
    let down = texture.clone().narrow(1, 1, h - 1) - texture.clone().narrow(1, 0, h - 1);
    across.abs().mean() + down.abs().mean()
}
