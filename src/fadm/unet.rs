//! FADM's ε-predicting U-Net (SR3 style): `cat(guide, x_t)` → conv → down path (residual
//! blocks with additive time bias, attention where the reference puts it, stride-2 convs) →
//! two middle blocks → up path that pops one skip per residual block → GN → Swish → conv.
//! The layer list is read from the checkpoint's keys, so every width and depth loads.

use burn::tensor::activation::silu;
use burn::tensor::{Device, Tensor, TensorData};

use super::blocks::{Block, Conv, Linear, ResnetBlock, SelfAttention, nearest_upscale};
use crate::nets::weights::{Weights, WeightsError};

/// Called with each traced layer's name (`downs.3`, `mid.0`, `ups.10`) and output.
pub type Trace<'a> = &'a mut dyn FnMut(&str, &Tensor<4>);

/// The sinusoidal embedding of the integer step followed by Linear → Swish → Linear.
#[derive(Debug, Clone)]
pub struct TimeMlp {
    inv_freq: Vec<f32>,
    fc1: Linear,
    fc2: Linear,
}

impl TimeMlp {
    pub fn load(weights: &Weights, prefix: &str, device: &Device) -> Result<Self, WeightsError> {
        let fc1 = Linear::load(weights, &format!("{prefix}.1"), device)?;
        let dim = fc1.in_features();
        let key = format!("{prefix}.0.inv_freq");
        let inv_freq = if weights.contains(&key) {
            weights.values(&key)?.to_vec()
        } else {
            sinusoid_frequencies(dim)
        };
        if inv_freq.len() * 2 != dim {
            return Err(WeightsError::Shape {
                origin: weights.origin().to_string(),
                key,
                found: vec![inv_freq.len()],
                expected: format!("[{}] (half the time embedding)", dim / 2),
            });
        }
        Ok(Self {
            inv_freq,
            fc1,
            fc2: Linear::load(weights, &format!("{prefix}.3"), device)?,
        })
    }

    /// `sin(t·f_k)` for every k, then `cos(t·f_k)`; products in f32 as the reference.
    pub fn sinusoid(&self, steps: &[usize]) -> Vec<f32> {
        let mut out = Vec::with_capacity(steps.len() * self.inv_freq.len() * 2);
        for &t in steps {
            let phases: Vec<f32> = self.inv_freq.iter().map(|f| t as f32 * f).collect();
            out.extend(phases.iter().map(|p| p.sin()));
            out.extend(phases.iter().map(|p| p.cos()));
        }
        out
    }

    pub fn forward(&self, steps: &[usize], device: &Device) -> Tensor<2> {
        let dim = self.inv_freq.len() * 2;
        let embedding = TensorData::new(self.sinusoid(steps), [steps.len(), dim]);
        let x = Tensor::<2>::from_data(embedding, device);
        self.fc2.forward(silu(self.fc1.forward(x)))
    }
}

/// `inv_freq[k] = exp(2k·(−ln 10000 / dim))`, in f32 as the reference's buffer.
pub fn sinusoid_frequencies(dim: usize) -> Vec<f32> {
    (0..dim / 2)
        .map(|k| ((2 * k) as f32 * (-(10000f32.ln()) / dim as f32)).exp())
        .collect()
}

#[derive(Debug, Clone)]
enum Layer {
    Conv(Conv),
    Residual(Box<ResnetBlock>, Option<Box<SelfAttention>>),
    Down(Conv),
    Up(Conv),
}

impl Layer {
    fn forward(&self, x: Tensor<4>, time: &Tensor<2>) -> Tensor<4> {
        match self {
            Layer::Conv(conv) | Layer::Down(conv) => conv.forward(x),
            Layer::Up(conv) => conv.forward(nearest_upscale(x, 2)),
            Layer::Residual(block, attention) => {
                let x = block.forward(x, Some(time));
                match attention {
                    Some(a) => a.forward(x),
                    None => x,
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct UNet {
    downs: Vec<Layer>,
    mid: Vec<Layer>,
    ups: Vec<Layer>,
    final_block: Block,
}

impl UNet {
    /// `prefix` ends with a dot (`diffusion.denoise_fn.`); `groups` is the GroupNorm count
    /// (32 in the reference; not recoverable from the weights).
    pub fn load(
        weights: &Weights,
        prefix: &str,
        groups: usize,
        device: &Device,
    ) -> Result<Self, WeightsError> {
        let input = Conv::load(weights, &format!("{prefix}downs.0"), 1, device)?;
        let mut downs = vec![Layer::Conv(input)];
        downs.extend(load_layers(
            weights,
            &format!("{prefix}downs"),
            1,
            groups,
            device,
        )?);
        let mid = load_layers(weights, &format!("{prefix}mid"), 0, groups, device)?;
        let ups = load_layers(weights, &format!("{prefix}ups"), 0, groups, device)?;
        let unet = Self {
            downs,
            mid,
            ups,
            final_block: Block::load(weights, &format!("{prefix}final_conv"), groups, device)?,
        };
        let residual_ups = unet
            .ups
            .iter()
            .filter(|l| matches!(l, Layer::Residual(..)))
            .count();
        if unet.mid.len() != 2 || residual_ups != unet.downs.len() {
            return Err(WeightsError::Missing {
                origin: weights.origin().to_string(),
                key: format!(
                    "{prefix}ups.*: {} skips but {residual_ups} up blocks, {} middle blocks",
                    unet.downs.len(),
                    unet.mid.len()
                ),
            });
        }
        Ok(unet)
    }

    /// The number of input channels (guide image + noisy image).
    pub fn in_channels(&self) -> usize {
        match &self.downs[0] {
            Layer::Conv(conv) => conv.in_channels(),
            _ => unreachable!("the first layer is the input convolution"),
        }
    }

    /// ε for `x` = `cat(guide, x_t)` and the time embedding `[B, D]`.
    pub fn forward(&self, x: Tensor<4>, time: &Tensor<2>) -> Tensor<4> {
        self.forward_traced(x, time, &mut |_, _| {})
    }

    pub fn forward_traced(&self, x: Tensor<4>, time: &Tensor<2>, trace: Trace) -> Tensor<4> {
        let mut skips = Vec::with_capacity(self.downs.len());
        let mut x = x;
        for (i, layer) in self.downs.iter().enumerate() {
            x = layer.forward(x, time);
            trace(&format!("downs.{i}"), &x);
            skips.push(x.clone());
        }
        for (i, layer) in self.mid.iter().enumerate() {
            x = layer.forward(x, time);
            trace(&format!("mid.{i}"), &x);
        }
        for (i, layer) in self.ups.iter().enumerate() {
            if matches!(layer, Layer::Residual(..)) {
                let skip = skips.pop().expect("load() checked one skip per up block");
                x = Tensor::cat(vec![x, skip], 1);
            }
            x = layer.forward(x, time);
            trace(&format!("ups.{i}"), &x);
        }
        self.final_block.forward(x)
    }
}

/// `{list}.{first}`, `{list}.{first+1}`, … until an index has no weights: residual blocks
/// (with attention when present), or the list's resampling convolution.
fn load_layers(
    weights: &Weights,
    list: &str,
    first: usize,
    groups: usize,
    device: &Device,
) -> Result<Vec<Layer>, WeightsError> {
    let mut layers = Vec::new();
    for i in first.. {
        let prefix = format!("{list}.{i}");
        let layer = if weights.contains(&format!("{prefix}.res_block.block1.block.3.weight")) {
            let block = ResnetBlock::load(weights, &format!("{prefix}.res_block"), groups, device)?;
            let attention = if weights.contains(&format!("{prefix}.attn.qkv.weight")) {
                let attention =
                    SelfAttention::load(weights, &format!("{prefix}.attn"), groups, device)?;
                Some(Box::new(attention))
            } else {
                None
            };
            Layer::Residual(Box::new(block), attention)
        } else if weights.contains(&format!("{prefix}.conv.weight")) {
            let down = list.ends_with("downs");
            let conv = Conv::load(
                weights,
                &format!("{prefix}.conv"),
                if down { 2 } else { 1 },
                device,
            )?;
            if down {
                Layer::Down(conv)
            } else {
                Layer::Up(conv)
            }
        } else {
            break;
        };
        layers.push(layer);
    }
    Ok(layers)
}
