//! The building blocks FADM's U-Net and conditioning network share: convolution, linear,
//! GroupNorm, `Block` (GroupNorm → Swish → conv 3×3), the residual blocks, single-head
//! self-attention and the nearest-neighbour resamplings the reference uses.

use burn::tensor::activation::{silu, softmax};
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor};

use crate::nets::weights::{Weights, WeightsError};

/// GroupNorm's ε (PyTorch's default).
const GROUP_NORM_EPS: f64 = 1e-5;

/// `nn.Conv2d` with bias and "same" padding for odd kernels.
#[derive(Debug, Clone)]
pub struct Conv {
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: usize,
}

impl Conv {
    pub fn load(
        weights: &Weights,
        prefix: &str,
        stride: usize,
        device: &Device,
    ) -> Result<Self, WeightsError> {
        let weight: Tensor<4> = weights.tensor(
            &format!("{prefix}.weight"),
            [None, None, None, None],
            device,
        )?;
        let [out, _, kh, kw] = weight.dims();
        if kh != kw || kh % 2 == 0 {
            return Err(WeightsError::Shape {
                origin: weights.origin().to_string(),
                key: format!("{prefix}.weight"),
                found: weight.dims().to_vec(),
                expected: "a square, odd convolution kernel".to_string(),
            });
        }
        let bias = weights.bias(prefix, out, device)?;
        Ok(Self {
            weight,
            bias,
            stride,
        })
    }

    pub fn in_channels(&self) -> usize {
        self.weight.dims()[1]
    }

    pub fn out_channels(&self) -> usize {
        self.weight.dims()[0]
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let pad = self.weight.dims()[2] / 2;
        let options = ConvOptions::new([self.stride; 2], [pad; 2], [1, 1], 1);
        conv2d(x, self.weight.clone(), self.bias.clone(), options)
    }
}

/// `nn.Linear`.
#[derive(Debug, Clone)]
pub struct Linear {
    /// `[in, out]`, transposed once at load.
    weight: Tensor<2>,
    bias: Tensor<1>,
}

impl Linear {
    pub fn load(weights: &Weights, prefix: &str, device: &Device) -> Result<Self, WeightsError> {
        let weight: Tensor<2> =
            weights.tensor(&format!("{prefix}.weight"), [None, None], device)?;
        let out = weight.dims()[0];
        let bias = weights.tensor(&format!("{prefix}.bias"), [Some(out)], device)?;
        Ok(Self {
            weight: weight.transpose(),
            bias,
        })
    }

    pub fn in_features(&self) -> usize {
        self.weight.dims()[0]
    }

    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        x.matmul(self.weight.clone()) + self.bias.clone().unsqueeze_dim(0)
    }
}

/// `nn.GroupNorm(groups, C)` with its affine parameters.
#[derive(Debug, Clone)]
pub struct GroupNorm {
    groups: usize,
    weight: Tensor<1>,
    bias: Tensor<1>,
}

impl GroupNorm {
    pub fn load(
        weights: &Weights,
        prefix: &str,
        groups: usize,
        device: &Device,
    ) -> Result<Self, WeightsError> {
        let weight: Tensor<1> = weights.tensor(&format!("{prefix}.weight"), [None], device)?;
        let channels = weight.dims()[0];
        if !channels.is_multiple_of(groups) {
            return Err(WeightsError::Shape {
                origin: weights.origin().to_string(),
                key: format!("{prefix}.weight"),
                found: vec![channels],
                expected: format!("a multiple of {groups} GroupNorm groups"),
            });
        }
        let bias = weights.tensor(&format!("{prefix}.bias"), [Some(channels)], device)?;
        Ok(Self {
            groups,
            weight,
            bias,
        })
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let grouped = x.reshape([b, self.groups, (c / self.groups) * h * w]);
        let centred = grouped.clone() - grouped.mean_dim(2);
        let variance = centred.clone().powi_scalar(2).mean_dim(2);
        let normed = (centred / (variance + GROUP_NORM_EPS).sqrt()).reshape([b, c, h, w]);
        normed * self.weight.clone().reshape([1, c, 1, 1]) + self.bias.clone().reshape([1, c, 1, 1])
    }
}

/// `Block`: GroupNorm → Swish → (dropout slot) → conv 3×3; the Sequential's indices 0 and 3.
#[derive(Debug, Clone)]
pub struct Block {
    norm: GroupNorm,
    conv: Conv,
}

impl Block {
    pub fn load(
        weights: &Weights,
        prefix: &str,
        groups: usize,
        device: &Device,
    ) -> Result<Self, WeightsError> {
        Ok(Self {
            norm: GroupNorm::load(weights, &format!("{prefix}.block.0"), groups, device)?,
            conv: Conv::load(weights, &format!("{prefix}.block.3"), 1, device)?,
        })
    }

    pub fn out_channels(&self) -> usize {
        self.conv.out_channels()
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.conv.forward(silu(self.norm.forward(x)))
    }
}

/// `ResnetBlock`: two Blocks, an optional additive time bias between them
/// (`mlp = Swish → Linear`), and a 1×1 residual convolution when the width changes.
#[derive(Debug, Clone)]
pub struct ResnetBlock {
    block1: Block,
    time: Option<Linear>,
    block2: Block,
    residual: Option<Conv>,
}

impl ResnetBlock {
    pub fn load(
        weights: &Weights,
        prefix: &str,
        groups: usize,
        device: &Device,
    ) -> Result<Self, WeightsError> {
        let time_key = format!("{prefix}.mlp.1");
        let residual_key = format!("{prefix}.res_conv");
        Ok(Self {
            block1: Block::load(weights, &format!("{prefix}.block1"), groups, device)?,
            time: if weights.contains(&format!("{time_key}.weight")) {
                Some(Linear::load(weights, &time_key, device)?)
            } else {
                None
            },
            block2: Block::load(weights, &format!("{prefix}.block2"), groups, device)?,
            residual: if weights.contains(&format!("{residual_key}.weight")) {
                Some(Conv::load(weights, &residual_key, 1, device)?)
            } else {
                None
            },
        })
    }

    pub fn out_channels(&self) -> usize {
        self.block2.out_channels()
    }

    /// `time` is the U-Net's time embedding `[B, D]`; blocks without a time MLP ignore it.
    pub fn forward(&self, x: Tensor<4>, time: Option<&Tensor<2>>) -> Tensor<4> {
        let mut h = self.block1.forward(x.clone());
        if let (Some(mlp), Some(t)) = (&self.time, time) {
            let [b, c, _, _] = h.dims();
            h = h + mlp.forward(silu(t.clone())).reshape([b, c, 1, 1]);
        }
        let h = self.block2.forward(h);
        match &self.residual {
            Some(conv) => h + conv.forward(x),
            None => h + x,
        }
    }
}

/// Single-head self-attention over all positions, scaled by 1/√C, added to its input.
#[derive(Debug, Clone)]
pub struct SelfAttention {
    norm: GroupNorm,
    qkv: Conv,
    out: Conv,
}

impl SelfAttention {
    pub fn load(
        weights: &Weights,
        prefix: &str,
        groups: usize,
        device: &Device,
    ) -> Result<Self, WeightsError> {
        Ok(Self {
            norm: GroupNorm::load(weights, &format!("{prefix}.norm"), groups, device)?,
            qkv: Conv::load(weights, &format!("{prefix}.qkv"), 1, device)?,
            out: Conv::load(weights, &format!("{prefix}.out"), 1, device)?,
        })
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let qkv = self.qkv.forward(self.norm.forward(x.clone()));
        let part = |i: usize| qkv.clone().narrow(1, i * c, c).reshape([b, c, h * w]);
        let (q, k, v) = (part(0), part(1), part(2));
        // [B, query, key], normalised over the keys.
        let attention = softmax(q.swap_dims(1, 2).matmul(k) / (c as f64).sqrt(), 2);
        let mixed = v.matmul(attention.swap_dims(1, 2)).reshape([b, c, h, w]);
        self.out.forward(mixed) + x
    }
}

/// `F.interpolate(x, scale_factor=k)` with the default nearest mode: every pixel k×k times.
pub fn nearest_upscale(x: Tensor<4>, k: usize) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c, h, 1, w, 1])
        .repeat_dim(3, k)
        .repeat_dim(5, k)
        .reshape([b, c, h * k, w * k])
}

/// `F.interpolate(x, size=S/k)` with the default nearest mode on an integer factor: the point
/// samples `[k·i, k·j]` (not an average).
pub fn point_downscale(x: Tensor<4>, k: usize) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c, h / k, k, w / k, k])
        .slice([0..b, 0..c, 0..h / k, 0..1, 0..w / k, 0..1])
        .reshape([b, c, h / k, w / k])
}
