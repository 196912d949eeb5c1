//! A converted Next3D checkpoint (tools/convert_next3d.py): its configuration from the
//! converter's metadata, and the networks of each column of the frame pipeline — the identity
//! (mapping, texture and static synthesis), the per-expression mouth and blending networks,
//! and the per-frame super-resolution.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use serde_json::Value;

use super::NoiseMode;
use super::mapping::{MappingNetwork, Truncation};
use super::seed::numpy_randn;
use super::styleunet::{StyleUNet, StyleUNetConfig};
use super::superres::SuperResolution;
use super::synthesis::SynthesisNetwork;
use super::weights::{Weights, WeightsError};
use crate::render::camera::OrbitCamera;

/// The ws of the static triplane and the mouth/blending/SR networks; the rest drive the
/// texture.
pub const EG3D_WS: usize = 14;
/// The scripts' truncation cut-off: only the EG3D ws are truncated.
pub const TRUNCATION_CUTOFF: usize = 14;

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error(
        "{path} is not a converted Next3D checkpoint (its metadata has no `{key}`). Convert next3d_ffhq_512.pkl with tools/convert_next3d.py."
    )]
    Metadata { path: String, key: String },
    #[error(
        "{path} is not the checkpoint this avatar was baked from (its sha256 is {found}, the avatar names {expected}); nothing was read from it"
    )]
    NotTheOne {
        path: String,
        found: String,
        expected: String,
    },
}

/// The construction arguments of the checkpoint's networks.
#[derive(Debug, Clone, PartialEq)]
pub struct Next3dConfig {
    pub z_dim: usize,
    pub texture_resolution: usize,
    pub plane_resolution: usize,
    pub mouth: StyleUNetConfig,
    pub blend: StyleUNetConfig,
    /// 256 when the reference builds the SR blocks for fp16 (it clamps even in f32).
    pub sr_clamp: Option<f64>,
}

pub struct Next3dCheckpoint {
    pub path: PathBuf,
    pub sha256: String,
    pub weights: Weights,
    pub config: Next3dConfig,
}

impl Next3dCheckpoint {
    pub fn open(path: &Path) -> Result<Self, CheckpointError> {
        Self::open_checked(path, None)
    }

    /// Opens the checkpoint at `path`; with `expected_sha256` (an avatar names the checkpoint
    /// it was baked from by path) the file's hash is compared before any of it is parsed.
    pub fn open_checked(
        path: &Path,
        expected_sha256: Option<&str>,
    ) -> Result<Self, CheckpointError> {
        let bytes = std::fs::read(path).map_err(|source| WeightsError::Io {
            origin: path.display().to_string(),
            source,
        })?;
        let sha256 = crate::io::sha256_hex(&bytes);
        if let Some(expected) = expected_sha256
            && expected != sha256
        {
            return Err(CheckpointError::NotTheOne {
                path: path.display().to_string(),
                found: sha256,
                expected: expected.to_string(),
            });
        }
        let weights = Weights::from_bytes(&bytes, &path.display().to_string())?;
        Self::from_weights(weights, path, sha256)
    }

    pub fn from_weights(
        weights: Weights,
        path: &Path,
        sha256: String,
    ) -> Result<Self, CheckpointError> {
        let missing = |key: &str| CheckpointError::Metadata {
            path: path.display().to_string(),
            key: key.to_string(),
        };
        let init: Value = weights
            .metadata()
            .get("init_kwargs")
            .and_then(|t| serde_json::from_str(t).ok())
            .ok_or_else(|| missing("init_kwargs"))?;
        let size = |v: &Value, default: usize| v.as_u64().map_or(default, |v| v as usize);
        let top = &init[""];
        // Synthesis conv_clamp is None unless the backbones were built with fp16 layers.
        let clamp = top["conv_clamp"].as_f64();
        // Defaults: the released construction (spec/next3d.md §1.1).
        let unet = |key: &str, in_size: usize, final_size: usize| {
            let k = &init[key];
            StyleUNetConfig {
                img_resolution: size(&k["img_resolution"], 256),
                in_size: size(&k["in_size"], in_size),
                final_size: size(&k["final_size"], final_size),
                num_cond_res: size(&k["num_cond_res"], in_size),
                conv_clamp: clamp,
            }
        };
        let config = Next3dConfig {
            z_dim: weights.shape("backbone.mapping.fc0.weight")?[1]
                - weights.shape("backbone.mapping.embed.weight")?[0],
            texture_resolution: size(&init["texture_backbone"]["img_resolution"], 256),
            plane_resolution: size(&init["backbone"]["img_resolution"], 256),
            mouth: unet("mouth_backbone", 64, 4),
            blend: unet("neural_blending", 256, 32),
            sr_clamp: (size(&top["sr_num_fp16_res"], 0) > 0).then_some(256.0),
        };
        Ok(Self {
            path: path.to_path_buf(),
            sha256,
            weights,
            config,
        })
    }

    /// The identity column for a seed: ws from `np.random.RandomState(seed).randn(1, z)` and
    /// the frontal conditioning camera, then the texture (`[32, T, T]`) and the static
    /// triplane (`[3, 32, P, P]`).
    pub fn identity(&self, seed: u32, psi: f64, device: &Device) -> Result<Identity, WeightsError> {
        let mapping = MappingNetwork::load(&self.weights, "backbone.mapping", 2 * EG3D_WS, device)?;
        let z: Vec<f32> = numpy_randn(seed, self.config.z_dim)
            .into_iter()
            .map(|v| v as f32)
            .collect();
        let z = Tensor::<2>::from_data(TensorData::new(z, [1, self.config.z_dim]), device);
        let label = OrbitCamera::default().eg3d_label().to_vec();
        let c = Tensor::<2>::from_data(TensorData::new(label, [1, 25]), device);
        let truncation = Truncation {
            psi,
            cutoff: Some(TRUNCATION_CUTOFF),
        };
        let ws = mapping.forward(z, c, truncation);
        self.synthesize(ws, device)
    }

    /// The texture and static planes for given ws `[1, 28, w]`.
    pub fn synthesize(&self, ws: Tensor<3>, device: &Device) -> Result<Identity, WeightsError> {
        Ok(IdentityNets::load(self, device)?.forward(ws))
    }

    /// The mouth and blending networks (run when the expression changes).
    pub fn mouth_networks(&self, device: &Device) -> Result<(StyleUNet, StyleUNet), WeightsError> {
        let c = &self.config;
        Ok((
            StyleUNet::load(&self.weights, "mouth_backbone.synthesis.", c.mouth, device)?,
            StyleUNet::load(&self.weights, "neural_blending.synthesis.", c.blend, device)?,
        ))
    }

    pub fn superresolution(&self, device: &Device) -> Result<SuperResolution, WeightsError> {
        SuperResolution::load(
            &self.weights,
            "superresolution.",
            self.config.sr_clamp,
            device,
        )
    }

    /// `decoder.net.*` and `renderer.plane_axes`, as the avatar stores them.
    pub fn decoder_arrays(&self) -> Result<Vec<NamedArray>, WeightsError> {
        [
            "decoder.net.0.weight",
            "decoder.net.0.bias",
            "decoder.net.2.weight",
            "decoder.net.2.bias",
        ]
        .iter()
        .map(|k| {
            Ok((
                k.to_string(),
                self.weights.shape(k)?.to_vec(),
                self.weights.values(k)?.to_vec(),
            ))
        })
        .collect()
    }

    pub fn plane_axes(&self) -> Result<Vec<f32>, WeightsError> {
        Ok(self.weights.values("renderer.plane_axes")?.to_vec())
    }
}

/// A tensor's name, shape and values.
pub type NamedArray = (String, Vec<usize>, Vec<f32>);

/// The identity column's networks: the texture and the static-plane synthesis.
#[derive(Clone)]
pub struct IdentityNets {
    texture: SynthesisNetwork,
    planes: SynthesisNetwork,
}

impl IdentityNets {
    pub fn load(checkpoint: &Next3dCheckpoint, device: &Device) -> Result<Self, WeightsError> {
        let load = |prefix: &str, resolution: usize| {
            SynthesisNetwork::load(&checkpoint.weights, prefix, resolution, None, device)
        };
        Ok(Self {
            texture: load(
                "texture_backbone.synthesis.",
                checkpoint.config.texture_resolution,
            )?,
            planes: load("backbone.synthesis.", checkpoint.config.plane_resolution)?,
        })
    }

    /// The texture (from the last 14 ws) and the static planes (from the first 14) for ws
    /// `[1, 28, w]`.
    pub fn forward(&self, ws: Tensor<3>) -> Identity {
        let [_, _, w_dim] = ws.dims();
        let eg3d_ws = ws.clone().narrow(1, 0, EG3D_WS);
        let texture = self
            .texture
            .forward(ws.narrow(1, EG3D_WS, EG3D_WS), NoiseMode::Const);
        let planes = self.planes.forward(eg3d_ws.clone(), NoiseMode::Const);
        let [_, c3, p, _] = planes.dims();
        let [_, c, t, _] = texture.dims();
        Identity {
            styles: eg3d_ws.reshape([EG3D_WS, w_dim]),
            texture: texture.reshape([c, t, t]),
            static_planes: planes.reshape([3, c3 / 3, p, p]),
        }
    }
}

/// The identity column's output.
pub struct Identity {
    /// The EG3D ws `[14, w]` that the mouth, blending and SR networks take.
    pub styles: Tensor<2>,
    pub texture: Tensor<3>,
    pub static_planes: Tensor<4>,
}
