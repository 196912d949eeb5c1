//! Pivotal tuning inversion (PTI, Roich et al. 2022) with a Next3D generator on a FLAME rig.
//! First the latent w is optimised with the generator frozen (one w for all 28 ws, from the
//! mapping's `w_avg`, as PTI's w projector); then the generator is fine-tuned around that
//! pivot. Both through the differentiable path: texture and static-plane synthesis → texture
//! sampling at the fitted mesh → mouth and blending networks → blend → reference ray marcher.
//!
//! Tuned: the texture and static-plane synthesis networks and the decoder, the parts whose
//! outputs the avatar stores. The mouth, blending and super-resolution networks stay the
//! checkpoint's, so that the avatar goes on referencing it for them (with the pivot's ws).
//! The raw (equalised learning rate) weights are the parameters, as PTI tunes them.
//!
//! Loss (LPIPS's weights cannot be shipped): L1 + 0.5·(1 − SSIM) over the whole image, plus L1
//! inside the face mask, on the neural RGB image at N (EG3D's `image_raw`).

use std::collections::HashMap;

use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};

use super::fit::Fit;
use super::losses::{masked_l1, photometric};
use super::optimise::{StepReport, read};
use super::target::{Target, rgb_image};
use crate::avatar::from_generator::generator_avatar;
use crate::avatar::{Avatar, RigRef, SourceState};
use crate::gpu::Gpu;
use crate::nets::generator::{EG3D_WS, IdentityNets, NamedArray, Next3dCheckpoint};
use crate::nets::mouth::{MouthBox, fix_front, read_box};
use crate::nets::styleunet::StyleUNet;
use crate::raster::gpu::TriplaneRasterizer;
use crate::raster::layout::PlaneLayout;
use crate::render::decoder::{FEATURES, HIDDEN, OsgDecoder};
use crate::render::rays::CameraLabel;
use crate::render::triplane::PlaneProjection;
use crate::render::volume::{Randomness, RenderSettings, render_reference};
use crate::rig::Rig;
use crate::rig::skin_cpu::skin;

/// Rays per chunk of the reference renderer (lavapipe's 128 MiB buffers).
const RAY_CHUNK: usize = 1024;
/// The networks PTI tunes, by key prefix.
const TUNED_PREFIXES: [&str; 3] = [
    "texture_backbone.synthesis.",
    "backbone.synthesis.",
    "decoder.net.",
];

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PtiSettings {
    /// Neural rendering resolution N of the optimisation.
    pub resolution: usize,
    /// Coarse and importance samples per ray.
    pub samples: usize,
    /// Steps and Adam's step size of the latent stage (PTI: 450, 5e-3).
    pub latent_steps: usize,
    pub latent_learning_rate: f64,
    /// Steps and Adam's step size of the generator fine-tuning (PTI: 350, 3e-4).
    pub tuning_steps: usize,
    pub tuning_learning_rate: f64,
}

impl Default for PtiSettings {
    fn default() -> Self {
        Self {
            resolution: 128,
            samples: 48,
            latent_steps: 450,
            latent_learning_rate: 5e-3,
            tuning_steps: 350,
            tuning_learning_rate: 3e-4,
        }
    }
}

impl PtiSettings {
    pub fn total_steps(&self) -> usize {
        self.latent_steps + self.tuning_steps
    }
}

#[derive(Module, Debug)]
struct Latent {
    /// `[1, w]`, broadcast to all 28 ws.
    w: Param<Tensor<2>>,
}

/// The tuned networks' raw weights, flattened, in the order of `Pti::tuned_keys`.
#[derive(Module, Debug)]
struct Tuned {
    tensors: Vec<Param<Tensor<1>>>,
}

/// The fixed scene: the fitted mesh rasterized once, the camera, the target.
struct Scene {
    rasterizer: TriplaneRasterizer,
    raster: Tensor<4>,
    view_alphas: Tensor<3>,
    mouth_box: MouthBox,
    projection: Tensor<3>,
    camera: CameraLabel,
    render: RenderSettings,
    target: Tensor<3>,
    face_mask: Tensor<2>,
    everywhere: Tensor<2>,
}

pub struct Pti {
    checkpoint: Next3dCheckpoint,
    device: Device,
    scene: Scene,
    mouth: StyleUNet,
    blend: StyleUNet,
    /// The frozen generator of the latent stage (dropped when tuning starts).
    frozen: Option<(IdentityNets, OsgDecoder)>,
    latent: Latent,
    latent_adam: ModuleOptimizer,
    tuned_keys: Vec<String>,
    tuned: Option<Tuned>,
    tuned_adam: ModuleOptimizer,
    settings: PtiSettings,
    fit: Fit,
    rig_ref: RigRef,
    step: usize,
    last_render: Vec<f32>,
}

impl Pti {
    pub fn new(
        gpu: &Gpu,
        rig: &Rig,
        checkpoint: Next3dCheckpoint,
        fit: &Fit,
        target: &Target,
        rig_ref: RigRef,
        settings: PtiSettings,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            target.size == settings.resolution,
            "the target is {}² but PTI renders {}²",
            target.size,
            settings.resolution
        );
        let device = gpu.burn.clone().autodiff();
        let scene = Scene::new(gpu, rig, &checkpoint, fit, target, &settings, &device)?;
        let (mouth, blend) = checkpoint.mouth_networks(&device)?;
        let w_avg: Tensor<1> =
            checkpoint
                .weights
                .tensor("backbone.mapping.w_avg", [None], &device)?;
        let w_dim = w_avg.dims()[0];
        let mut tuned_keys: Vec<String> = checkpoint
            .weights
            .keys()
            .filter(|k| TUNED_PREFIXES.iter().any(|p| k.starts_with(p)))
            .filter(|k| !k.ends_with("noise_const") && !k.ends_with("noise_strength"))
            .map(str::to_string)
            .collect();
        tuned_keys.sort();
        Ok(Self {
            frozen: Some((
                IdentityNets::load(&checkpoint, &device)?,
                decoder(&checkpoint, &device)?,
            )),
            checkpoint,
            scene,
            mouth,
            blend,
            latent: Latent {
                w: Param::from_tensor(w_avg.reshape([1, w_dim])),
            },
            latent_adam: AdamConfig::new().init(),
            tuned_keys,
            tuned: None,
            tuned_adam: AdamConfig::new().init(),
            settings,
            fit: fit.clone(),
            rig_ref,
            step: 0,
            last_render: Vec::new(),
            device,
        })
    }

    pub fn total_steps(&self) -> usize {
        self.settings.total_steps()
    }

    /// What the next step optimises.
    pub fn stage(&self) -> &'static str {
        if self.tuning() {
            "tuning the generator"
        } else {
            "finding w"
        }
    }

    fn tuning(&self) -> bool {
        self.step >= self.settings.latent_steps
    }

    /// The 28 ws: the one w broadcast.
    fn ws(&self) -> Tensor<3> {
        let w = self.latent.w.val();
        let w = if self.tuning() { w.detach() } else { w };
        w.unsqueeze_dim::<3>(1).repeat_dim(1, 2 * EG3D_WS)
    }

    /// The generator as it stands: the frozen one, or the checkpoint's networks loaded with
    /// the tuned weights in place (so that gradients reach them).
    fn generator(&mut self) -> anyhow::Result<(IdentityNets, OsgDecoder)> {
        if let (false, Some((nets, decoder))) = (self.tuning(), &self.frozen) {
            return Ok((nets.clone(), decoder.clone()));
        }
        self.frozen = None;
        let tuned = match self.tuned.take() {
            Some(tuned) => tuned,
            None => self.start_tuning()?,
        };
        let tracked: HashMap<String, Tensor<1>> = self
            .tuned_keys
            .iter()
            .cloned()
            .zip(tuned.tensors.iter().map(Param::val))
            .collect();
        self.tuned = Some(tuned);
        self.checkpoint.weights.track(tracked);
        let nets = IdentityNets::load(&self.checkpoint, &self.device)?;
        Ok((nets, decoder(&self.checkpoint, &self.device)?))
    }

    /// The tuned parameters start as the checkpoint's weights.
    fn start_tuning(&self) -> anyhow::Result<Tuned> {
        let tensors = self
            .tuned_keys
            .iter()
            .map(|k| {
                let values = self.checkpoint.weights.values(k)?.to_vec();
                let n = values.len();
                Ok(Param::from_tensor(Tensor::from_data(
                    TensorData::new(values, [n]),
                    &self.device,
                )))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Tuned { tensors })
    }

    /// The training view's RGB `[3, N, N]` and the identity it came from.
    fn render(
        &self,
        nets: &IdentityNets,
        decoder: &OsgDecoder,
    ) -> anyhow::Result<(Tensor<3>, Tensor<2>)> {
        let s = &self.scene;
        let identity = nets.forward(self.ws());
        let [c, _, _] = identity.texture.dims();
        let r = s.rasterizer.resolution;
        let (renderings, _) = s.rasterizer.sample(&s.raster, identity.texture);
        let front = renderings
            .clone()
            .slice([0..1, 0..c, 0..r, 0..r])
            .reshape([c, r, r]);
        let static_planes = identity.static_planes;
        let (planes, alphas) =
            s.rasterizer
                .blend(renderings, s.view_alphas.clone(), static_planes.clone());
        let styles = identity.styles.clone().unsqueeze_dim::<3>(0);
        let front = fix_front(&self.mouth, &self.blend, front, s.mouth_box, styles);
        let planes = s
            .rasterizer
            .replace_front(planes, &alphas, front, static_planes)
            .ok_or_else(|| anyhow::anyhow!("the released plane layout has no front slot"))?;
        let rendered = render_reference(
            planes,
            &s.projection,
            decoder,
            &s.camera,
            &s.render,
            Randomness::Deterministic,
            RAY_CHUNK,
        );
        let n = s.render.resolution;
        let rgb = rendered.features.narrow(0, 0, 3).reshape([3, n, n]);
        Ok((rgb, identity.styles))
    }

    /// One Adam step of the current stage.
    pub fn step(&mut self) -> anyhow::Result<StepReport> {
        anyhow::ensure!(
            self.step < self.total_steps(),
            "PTI has run all its {} steps",
            self.total_steps()
        );
        let (nets, decoder) = self.generator()?;
        let (rgb, _) = self.render(&nets, &decoder)?;
        let s = &self.scene;
        let (l1, structure) = photometric(rgb.clone(), s.target.clone(), &s.everywhere);
        let face = masked_l1(rgb.clone(), s.target.clone(), &s.face_mask);
        let loss = l1.clone() + structure.clone() * 0.5 + face;
        let report = StepReport::read(self.step + 1, &loss, l1, structure)?;
        self.last_render = read(rgb.reshape([-1]))?;
        let mut grads = loss.backward();
        if self.tuning() {
            let tuned = self.tuned.take().expect("the generator started tuning");
            let tuned_grads = GradientsParams::from_module(&mut grads, &tuned);
            self.tuned = Some(self.tuned_adam.step(
                self.settings.tuning_learning_rate,
                tuned,
                tuned_grads,
            ));
        } else {
            let latent_grads = GradientsParams::from_module(&mut grads, &self.latent);
            self.latent = self.latent_adam.step(
                self.settings.latent_learning_rate,
                self.latent.clone(),
                latent_grads,
            );
        }
        self.step += 1;
        Ok(report)
    }

    /// The training view as of the last step, or `None` before the first.
    pub fn preview(&self) -> Option<image::RgbImage> {
        let n = self.settings.resolution;
        (self.last_render.len() == 3 * n * n).then(|| rgb_image(&self.last_render, n))
    }

    /// The avatar of the pivot w and the generator as they stand.
    pub fn avatar(&mut self, name: &str) -> anyhow::Result<Avatar> {
        let (nets, _) = self.generator()?;
        let identity = nets.forward(self.ws().detach());
        let mut decoder: Vec<NamedArray> = self.checkpoint.decoder_arrays()?;
        if let Some(tuned) = &self.tuned {
            for (key, _, values) in &mut decoder {
                if let Some(i) = self.tuned_keys.iter().position(|k| k == key) {
                    *values = read(tuned.tensors[i].val())?;
                }
            }
        }
        let mut avatar = generator_avatar(
            &self.checkpoint,
            identity,
            decoder,
            self.rig_ref.clone(),
            name.to_string(),
        )?;
        avatar.source = SourceState {
            params: self.fit.params.clone(),
            camera: self.fit.camera,
        };
        Ok(avatar)
    }
}

/// The checkpoint's decoder (its tracked weights when tuning).
fn decoder(checkpoint: &Next3dCheckpoint, device: &Device) -> anyhow::Result<OsgDecoder> {
    let w = &checkpoint.weights;
    Ok(OsgDecoder {
        w0: w.tensor(
            "decoder.net.0.weight",
            [Some(HIDDEN), Some(FEATURES)],
            device,
        )?,
        b0: w.tensor("decoder.net.0.bias", [Some(HIDDEN)], device)?,
        w1: w.tensor(
            "decoder.net.2.weight",
            [Some(FEATURES + 1), Some(HIDDEN)],
            device,
        )?,
        b1: w.tensor("decoder.net.2.bias", [Some(FEATURES + 1)], device)?,
    })
}

impl Scene {
    fn new(
        gpu: &Gpu,
        rig: &Rig,
        checkpoint: &Next3dCheckpoint,
        fit: &Fit,
        target: &Target,
        settings: &PtiSettings,
        device: &Device,
    ) -> anyhow::Result<Self> {
        let (resolved, _) = fit.params.resolve(rig)?;
        let skinned = skin(rig, &resolved);
        let flat = |points: &[[f64; 3]]| -> Vec<f32> {
            points.iter().flatten().map(|&v| v as f32).collect()
        };
        let (vertices, landmarks) = (flat(&skinned.vertices), flat(&skinned.landmarks));
        // Rasterize once on the plain device: the geometry does not change.
        let plain_device = &gpu.burn;
        let raster_size = checkpoint.config.blend.in_size;
        let layout = PlaneLayout::released();
        let plain = TriplaneRasterizer::new(rig, layout.clone(), raster_size, plain_device);
        let raster = plain.rasterize(Tensor::from_data(
            TensorData::new(vertices.clone(), [vertices.len() / 3, 3]),
            plain_device,
        ));
        let view_alphas = plain.fill(plain.mask_alpha(&raster));
        let mouth_box = read_box(plain.mouth_box(Tensor::from_data(
            TensorData::new(landmarks.clone(), [landmarks.len() / 3, 3]),
            plain_device,
        )))?;
        let projection = PlaneProjection::from_plane_axes(&checkpoint.plane_axes()?)
            .map_err(anyhow::Error::msg)?;
        let (ray_start, ray_end) = fit.camera.ray_bounds();
        let n = target.size;
        let mask = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [n, n]), device);
        Ok(Self {
            rasterizer: TriplaneRasterizer::new(rig, layout, raster_size, device),
            raster: Tensor::from_data(raster.into_data(), device),
            view_alphas: Tensor::from_data(view_alphas.into_data(), device),
            mouth_box,
            projection: projection.tensor(device),
            camera: CameraLabel::from_eg3d(&fit.camera.eg3d_label()),
            render: RenderSettings {
                resolution: n,
                depth_samples: settings.samples,
                importance_samples: settings.samples,
                ray_start,
                ray_end,
                box_warp: 1.0,
            },
            target: Tensor::from_data(TensorData::new(target.rgb.clone(), [3, n, n]), device),
            face_mask: mask(target.face_mask.clone()),
            everywhere: mask(vec![1.0; n * n]),
        })
    }
}
