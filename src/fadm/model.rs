//! The FADM refinement network as the reference's `DiffusionGenerator`: time MLP, conditioning
//! network and U-Net under `diffusion.denoise_fn.*`, plus the schedule buffers `diffusion.*`.

use std::path::Path;

use burn::tensor::{Device, Tensor};

use super::condition::{Appearance, CoarseInputs, ConditionNet};
use super::sampler::Schedule;
use super::unet::{TimeMlp, Trace, UNet};
use crate::nets::weights::{Weights, WeightsError};

pub const PREFIX: &str = "diffusion.denoise_fn.";
/// The reference's working resolution and GroupNorm count.
pub const IMAGE_SIZE: usize = 256;
pub const NORM_GROUPS: usize = 32;

/// What the state dict does not say: read from the `config` metadata that the converter
/// writes (and the fixtures carry), `{"unet": {"norm_groups": 32, "image_size": 256}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FadmConfig {
    pub norm_groups: usize,
    pub image_size: usize,
}

impl Default for FadmConfig {
    fn default() -> Self {
        Self {
            norm_groups: NORM_GROUPS,
            image_size: IMAGE_SIZE,
        }
    }
}

impl FadmConfig {
    pub fn from_metadata(weights: &Weights) -> Self {
        let unet = weights
            .metadata()
            .get("config")
            .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
            .map(|c| c["unet"].clone())
            .unwrap_or_default();
        let field =
            |name: &str, default: usize| unet[name].as_u64().map_or(default, |v| v as usize);
        Self {
            norm_groups: field("norm_groups", NORM_GROUPS),
            image_size: field("image_size", IMAGE_SIZE),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FadmError {
    #[error(
        "No FADM weights at {0}. Download the official diffusion.pth yourself and convert it: \
         python3 tools/convert_fadm.py diffusion.pth --out {0}"
    )]
    NotFound(String),
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error("{origin}: {reason}")]
    Mismatch { origin: String, reason: String },
}

/// The conditioning of one frame: the step-independent appearance parts and the attribute.
#[derive(Debug, Clone)]
pub struct Conditioning {
    pub appearance: Appearance,
    pub attribute: Tensor<2>,
}

#[derive(Debug, Clone)]
pub struct Fadm {
    pub time: TimeMlp,
    pub condition: ConditionNet,
    pub unet: UNet,
    pub schedule: Schedule,
    pub config: FadmConfig,
}

impl Fadm {
    pub fn open(path: &Path, device: &Device) -> Result<Self, FadmError> {
        if !path.exists() {
            return Err(FadmError::NotFound(path.display().to_string()));
        }
        let weights = Weights::load(path)?;
        Self::from_weights(&weights, FadmConfig::from_metadata(&weights), device)
    }

    pub fn from_weights(
        weights: &Weights,
        config: FadmConfig,
        device: &Device,
    ) -> Result<Self, FadmError> {
        let model = Self {
            time: TimeMlp::load(weights, &format!("{PREFIX}time_mlp"), device)?,
            condition: ConditionNet::load(weights, &format!("{PREFIX}condition_conv"), device)?,
            unet: UNet::load(weights, PREFIX, config.norm_groups, device)?,
            schedule: Schedule::from_weights(weights),
            config,
        };
        if model.unet.in_channels() != 6 {
            return Err(FadmError::Mismatch {
                origin: weights.origin().to_string(),
                reason: format!(
                    "the U-Net takes {} input channels; FADM's takes 6 (guide image + noisy image)",
                    model.unet.in_channels()
                ),
            });
        }
        if !config.image_size.is_multiple_of(8) {
            return Err(FadmError::Mismatch {
                origin: weights.origin().to_string(),
                reason: format!("image size {} is not a multiple of 8", config.image_size),
            });
        }
        Ok(model)
    }

    /// Conditioning for coarse frames `[B, 3, S, S]` in [0, 1] and attributes `[B, 56]`.
    pub fn condition(&self, coarse: &Tensor<4>, attribute: Tensor<2>) -> Conditioning {
        let inputs = CoarseInputs::new(coarse);
        Conditioning {
            appearance: self.condition.appearance(&inputs, None),
            attribute,
        }
    }

    /// ε for the noisy images `x_t` at integer steps `t` (one per batch entry).
    pub fn eps(&self, x_t: Tensor<4>, t: &[usize], conditioning: &Conditioning) -> Tensor<4> {
        self.eps_traced(x_t, t, conditioning, &mut |_, _| {})
    }

    pub fn eps_traced(
        &self,
        x_t: Tensor<4>,
        t: &[usize],
        conditioning: &Conditioning,
        trace: Trace,
    ) -> Tensor<4> {
        let time = self.time.forward(t, &x_t.device());
        let guide = self
            .condition
            .guide(&conditioning.appearance, &time, &conditioning.attribute);
        trace("cond_image", &guide);
        self.unet
            .forward_traced(Tensor::cat(vec![guide, x_t], 1), &time, trace)
    }
}
