//! EG3D's SuperresolutionHybrid8XDC as Next3D uses it: the last eg3d w (repeated three
//! times), features and rgb resized to 128² (antialiased bilinear), then two StyleGAN2 blocks
//! (256², 256 channels; 512², 128 channels). conv_clamp 256 applies even in f32 whenever the
//! reference builds the blocks for fp16 (`sr_num_fp16_res > 0`).

use burn::tensor::{Device, Tensor};

use super::NoiseMode;
use super::resize::resize_aa;
use super::synthesis::{SynthesisBlock, Trace};
use super::weights::{Weights, WeightsError};

/// The resolution the blocks start from.
pub const INPUT_RESOLUTION: usize = 128;

#[derive(Debug, Clone)]
pub struct SuperResolution {
    block0: SynthesisBlock,
    block1: SynthesisBlock,
}

impl SuperResolution {
    /// The module under `prefix` (`superresolution.`); `conv_clamp` is 256 for the released
    /// configuration.
    pub fn load(
        weights: &Weights,
        prefix: &str,
        conv_clamp: Option<f64>,
        device: &Device,
    ) -> Result<Self, WeightsError> {
        let block = |name: &str, res: usize| {
            SynthesisBlock::load(weights, &format!("{prefix}{name}"), res, conv_clamp, device)
        };
        Ok(Self {
            block0: block("block0", 2 * INPUT_RESOLUTION)?,
            block1: block("block1", 4 * INPUT_RESOLUTION)?,
        })
    }

    /// rgb `[B, 3, n, n]` and features `[B, C, n, n]`, ws `[B, k, w_dim]` → `[B, 3, 512, 512]`.
    pub fn forward(&self, rgb: Tensor<4>, x: Tensor<4>, ws: Tensor<3>) -> Tensor<4> {
        self.forward_traced(rgb, x, ws, &mut |_, _| {})
    }

    pub fn forward_traced(
        &self,
        rgb: Tensor<4>,
        x: Tensor<4>,
        ws: Tensor<3>,
        trace: Trace,
    ) -> Tensor<4> {
        let [_, count, _] = ws.dims();
        let w = ws.narrow(1, count - 1, 1).repeat_dim(1, 3);
        let x = resize_aa(x, INPUT_RESOLUTION, INPUT_RESOLUTION);
        let rgb = resize_aa(rgb, INPUT_RESOLUTION, INPUT_RESOLUTION);
        trace("x128", &x);
        trace("rgb128", &rgb);
        let (x, rgb) = self
            .block0
            .forward(Some(x), Some(rgb), w.clone(), NoiseMode::None, trace);
        let (_, rgb) = self
            .block1
            .forward(Some(x), Some(rgb), w, NoiseMode::None, trace);
        rgb
    }
}
