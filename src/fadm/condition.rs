//! The Attribute-Guided Conditioning Network (`condition_conv`): an appearance encoder on the
//! blocky colour image, a motion MLP on the 56-d attribute and the time embedding, per-level
//! motion features from the point-sampled coarse frames weighted with α = 0.3, and a fusion
//! ResNet that makes the 3-channel guide image the U-Net sees before `x_t`.

use burn::tensor::Tensor;
use burn::tensor::activation::{relu, sigmoid, silu};
use burn::tensor::{Device, TensorData};

use super::blocks::{Block, Conv, Linear, ResnetBlock, nearest_upscale, point_downscale};
use crate::nets::resize::resize_aa;
use crate::nets::weights::{Weights, WeightsError};

/// The motion weights' shift α.
const ALPHA: f64 = 0.3;
/// The colour image is the coarse frame point-sampled at 1/8 and replicated back.
const COLOUR_FACTOR: usize = 8;
/// Point-sampling factors of the motion levels, coarsest first (K + 1 = 3 levels).
pub const LEVEL_FACTORS: [usize; 3] = [8, 4, 2];

/// What the network sees of a coarse frame `[B, 3, S, S]` in [0, 1].
#[derive(Debug, Clone)]
pub struct CoarseInputs {
    /// `nearest(nearest(d → S/8) → S)`: the blocky colour image.
    pub generated: Tensor<4>,
    /// The coarse frame point-sampled at S/8, S/4, S/2.
    pub warping: Vec<Tensor<4>>,
}

impl CoarseInputs {
    pub fn new(coarse: &Tensor<4>) -> Self {
        Self {
            generated: colour_image(coarse),
            warping: LEVEL_FACTORS
                .iter()
                .map(|&k| point_downscale(coarse.clone(), k))
                .collect(),
        }
    }
}

pub fn colour_image(frame: &Tensor<4>) -> Tensor<4> {
    nearest_upscale(point_downscale(frame.clone(), COLOUR_FACTOR), COLOUR_FACTOR)
}

/// The parts that do not depend on the step: both appearance codes and every level's motion
/// feature (before its weight).
#[derive(Debug, Clone)]
pub struct Appearance {
    pub generated: Tensor<4>,
    pub driving: Tensor<4>,
    pub motion_levels: Vec<Tensor<4>>,
}

impl Appearance {
    /// `mean|P_conv(generated) − P_conv(driving)|`, 0 at inference.
    pub fn feature_loss(&self) -> Tensor<1> {
        (self.generated.clone() - self.driving.clone()).abs().mean()
    }
}

#[derive(Debug, Clone)]
pub struct ConditionNet {
    colour_in: Conv,
    colour_blocks: [ResnetBlock; 2],
    motion_in: Conv,
    motion_block: Block,
    time_fc: Linear,
    motion_fc1: Linear,
    motion_fc2: Linear,
    fusion_blocks: [ResnetBlock; 3],
    fusion_out: Conv,
}

impl ConditionNet {
    /// `prefix` is `…condition_conv`. GroupNorm counts are fixed by the reference: 16 in the
    /// appearance encoder and the motion CNN, 32 in the fusion ResNet.
    pub fn load(weights: &Weights, prefix: &str, device: &Device) -> Result<Self, WeightsError> {
        let resnet = |name: String, groups| ResnetBlock::load(weights, &name, groups, device);
        Ok(Self {
            colour_in: Conv::load(weights, &format!("{prefix}.pre_conv_color.0"), 1, device)?,
            colour_blocks: [
                resnet(format!("{prefix}.pre_conv_color.2"), 16)?,
                resnet(format!("{prefix}.pre_conv_color.4"), 16)?,
            ],
            motion_in: Conv::load(weights, &format!("{prefix}.deal_cond.block1"), 1, device)?,
            motion_block: Block::load(weights, &format!("{prefix}.deal_cond.block2"), 16, device)?,
            time_fc: Linear::load(weights, &format!("{prefix}.motion_cond.time_mlp.1"), device)?,
            motion_fc1: Linear::load(
                weights,
                &format!("{prefix}.motion_cond.condition.1"),
                device,
            )?,
            motion_fc2: Linear::load(
                weights,
                &format!("{prefix}.motion_cond.condition.3"),
                device,
            )?,
            fusion_blocks: [
                resnet(format!("{prefix}.resnet.0"), 32)?,
                resnet(format!("{prefix}.resnet.2"), 32)?,
                resnet(format!("{prefix}.resnet.4"), 32)?,
            ],
            fusion_out: Conv::load(weights, &format!("{prefix}.resnet.6"), 1, device)?,
        })
    }

    /// P_conv: conv 7×7 → ReLU → ResnetBlock → ReLU → ResnetBlock → Swish, at full size.
    pub fn appearance_code(&self, image: Tensor<4>) -> Tensor<4> {
        let x = relu(self.colour_in.forward(image));
        let x = relu(self.colour_blocks[0].forward(x, None));
        silu(self.colour_blocks[1].forward(x, None))
    }

    /// P_motion for one level: bilinear (half-pixel) up to the appearance code's size, conv
    /// 3×3, Block, plus 0.4 · the driving appearance code.
    pub fn motion_feature(&self, warping: Tensor<4>, driving_code: &Tensor<4>) -> Tensor<4> {
        let [_, _, h, w] = driving_code.dims();
        let up = resize_aa(warping, h, w);
        self.motion_block.forward(self.motion_in.forward(up)) + driving_code.clone() * 0.4
    }

    /// The step-independent parts; `driving` is `None` at inference (it equals `generated`).
    pub fn appearance(&self, inputs: &CoarseInputs, driving: Option<&Tensor<4>>) -> Appearance {
        let generated = self.appearance_code(inputs.generated.clone());
        let driving = match driving {
            Some(d) => self.appearance_code(d.clone()),
            None => generated.clone(),
        };
        let motion_levels = inputs
            .warping
            .iter()
            .map(|w| self.motion_feature(w.clone(), &driving))
            .collect();
        Appearance {
            generated,
            driving,
            motion_levels,
        }
    }

    /// f_θ: `sigmoid(fc2(relu(fc1(swish(cat(attr, fc_t(swish(t_emb))))))))
    /// + 0.4 · adaptive_max_pool(attr → 16)`.
    pub fn motion_weights(&self, time: &Tensor<2>, attribute: &Tensor<2>) -> Tensor<2> {
        let t = self.time_fc.forward(silu(time.clone()));
        let x = silu(Tensor::cat(vec![attribute.clone(), t], 1));
        let x = sigmoid(self.motion_fc2.forward(relu(self.motion_fc1.forward(x))));
        let bins = x.dims()[1];
        x + adaptive_max_pool(attribute, bins) * 0.4
    }

    /// `w_i = (K−i)/K · exp(w − α) + i/K · exp(α − w)`, level 0 the coarsest.
    pub fn level_weight(w: &Tensor<2>, level: usize, levels: usize) -> Tensor<2> {
        let k = (levels - 1) as f64;
        let i = level as f64;
        (w.clone() - ALPHA).exp() * ((k - i) / k) + (w.clone().neg() + ALPHA).exp() * (i / k)
    }

    /// The fusion input `cat(Σ_i P_motion_i·w_i, P_conv(generated) + 0.2·P_conv(driving))`.
    pub fn fusion_input(&self, appearance: &Appearance, w: &Tensor<2>) -> Tensor<4> {
        let levels = appearance.motion_levels.len();
        let motion = appearance
            .motion_levels
            .iter()
            .enumerate()
            .map(|(i, feature)| {
                let [b, c] = w.dims();
                feature.clone() * Self::level_weight(w, i, levels).reshape([b, c, 1, 1])
            })
            .reduce(|a, b| a + b)
            .expect("three motion levels");
        let colour = appearance.generated.clone() + appearance.driving.clone() * 0.2;
        Tensor::cat(vec![motion, colour], 1)
    }

    /// The guide image c in (0, 1): 3 × [ResnetBlock → ReLU] → conv 7×7 → sigmoid.
    pub fn guide(
        &self,
        appearance: &Appearance,
        time: &Tensor<2>,
        attribute: &Tensor<2>,
    ) -> Tensor<4> {
        let w = self.motion_weights(time, attribute);
        let mut x = self.fusion_input(appearance, &w);
        for block in &self.fusion_blocks {
            x = relu(block.forward(x, None));
        }
        sigmoid(self.fusion_out.forward(x))
    }
}

/// `adaptive_max_pool1d(attr, bins)`: window i is `[⌊i·n/bins⌋, ⌈(i+1)·n/bins⌉)`.
pub fn adaptive_max_pool(attribute: &Tensor<2>, bins: usize) -> Tensor<2> {
    let [b, n] = attribute.dims();
    let windows: Vec<Tensor<2>> = (0..bins)
        .map(|i| {
            let (start, end) = pool_window(i, n, bins);
            attribute.clone().slice([0..b, start..end]).max_dim(1)
        })
        .collect();
    Tensor::cat(windows, 1)
}

pub fn pool_window(i: usize, n: usize, bins: usize) -> (usize, usize) {
    (i * n / bins, ((i + 1) * n).div_ceil(bins))
}

/// A `[B, 56]` attribute tensor.
pub fn attribute_tensor(rows: &[[f32; 56]], device: &Device) -> Tensor<2> {
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    Tensor::from_data(TensorData::new(flat, [rows.len(), 56]), device)
}
