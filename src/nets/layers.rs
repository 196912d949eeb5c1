//! StyleGAN2's layers with equalised learning rate: fully connected, plain convolution
//! (optionally ×½), modulated convolution (optionally ×2) and ToRGB, each followed by
//! `bias_act` (bias, activation, gain, clamp) as the reference.

use burn::tensor::activation::leaky_relu;
use burn::tensor::module::{conv_transpose2d, conv2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Tensor, TensorData};

use super::NoiseMode;
use super::fir::upfirdn2d;
use super::weights::{Weights, WeightsError};

/// The largest activation piece a layer produces at once: half of lavapipe's 128 MiB binding
/// limit, leaving room for the concatenated result.
const PIECE_BYTES: usize = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    Linear,
    /// Leaky ReLU, slope 0.2.
    Lrelu,
}

impl Activation {
    /// `bias_act`'s default gain: √2 for lrelu, 1 for linear.
    pub fn default_gain(self) -> f64 {
        match self {
            Activation::Linear => 1.0,
            Activation::Lrelu => std::f64::consts::SQRT_2,
        }
    }

    fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Linear => x,
            Activation::Lrelu => leaky_relu(x, 0.2),
        }
    }
}

/// `bias_act` on `[B, C, H, W]`: add the per-channel bias, activate, scale by `gain`, clamp.
pub fn bias_act(
    x: Tensor<4>,
    bias: Option<&Tensor<1>>,
    activation: Activation,
    gain: f64,
    clamp: Option<f64>,
) -> Tensor<4> {
    let x = match bias {
        Some(b) => {
            let c = b.dims()[0];
            x + b.clone().reshape([1, c, 1, 1])
        }
        None => x,
    };
    let x = activation.apply(x);
    let x = if gain != 1.0 { x * gain } else { x };
    match clamp {
        Some(c) => x.clamp(-c, c),
        None => x,
    }
}

/// `FullyConnectedLayer`: y = x·(W·lr/√in)ᵀ + b·lr, then the activation (with its gain).
#[derive(Debug, Clone)]
pub struct FullyConnected {
    weight: Tensor<2>,
    bias: Option<Tensor<1>>,
    activation: Activation,
}

impl FullyConnected {
    pub fn load(
        weights: &Weights,
        prefix: &str,
        lr_multiplier: f64,
        activation: Activation,
        device: &Device,
    ) -> Result<Self, WeightsError> {
        let weight: Tensor<2> =
            weights.tensor(&format!("{prefix}.weight"), [None, None], device)?;
        let [out, inp] = weight.dims();
        let bias = weights
            .bias(prefix, out, device)?
            .map(|b| b * lr_multiplier);
        let gain = lr_multiplier / (inp as f64).sqrt();
        Ok(Self {
            weight: (weight * gain).transpose(),
            bias,
            activation,
        })
    }

    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let y = x.matmul(self.weight.clone());
        let y = match &self.bias {
            Some(b) => y + b.clone().unsqueeze_dim(0),
            None => y,
        };
        match self.activation {
            Activation::Linear => y,
            a => a.apply(y) * a.default_gain(),
        }
    }
}

/// `Conv2dLayer` (the StyleUNet's encoder and fusion layers): a k×k convolution with weight
/// gain 1/√(in·k²), optionally ×½ (FIR then stride 2), then `bias_act`.
#[derive(Debug, Clone)]
pub struct Conv2dLayer {
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    down: usize,
    activation: Activation,
    clamp: Option<f64>,
}

impl Conv2dLayer {
    pub fn load(
        weights: &Weights,
        prefix: &str,
        down: usize,
        activation: Activation,
        clamp: Option<f64>,
        device: &Device,
    ) -> Result<Self, WeightsError> {
        let weight: Tensor<4> = weights.tensor(
            &format!("{prefix}.weight"),
            [None, None, None, None],
            device,
        )?;
        let [out, inp, k, _] = weight.dims();
        let bias = weights.bias(prefix, out, device)?;
        Ok(Self {
            weight: weight * (1.0 / ((inp * k * k) as f64).sqrt()),
            bias,
            down,
            activation,
            clamp,
        })
    }

    pub fn out_channels(&self) -> usize {
        self.weight.dims()[0]
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let k = self.weight.dims()[2];
        let x = if self.down > 1 {
            // conv2d_resample's down path: FIR with padding 1 + (k − 1)/2 … then a strided
            // valid convolution.
            let p = 1 + k / 2;
            let x = upfirdn2d(x, 1, 1, [p, p, p, p], 1.0);
            conv2d(x, self.weight.clone(), None, conv_options(self.down, 0))
        } else {
            conv2d(x, self.weight.clone(), None, conv_options(1, k / 2))
        };
        bias_act(
            x,
            self.bias.as_ref(),
            self.activation,
            self.activation.default_gain(),
            self.clamp,
        )
    }
}

fn conv_options(stride: usize, padding: usize) -> ConvOptions<2> {
    ConvOptions::new([stride, stride], [padding, padding], [1, 1], 1)
}

/// `modulated_conv2d`: per sample, the weights scaled by the styles (and demodulated), then a
/// convolution — ×2 as a stride-2 transposed convolution followed by the FIR (padding 1,
/// gain 4), as `conv2d_resample` does. Samples run one after the other (the reference's
/// grouped convolution computes the same thing).
pub fn modulated_conv2d(
    x: Tensor<4>,
    weight: &Tensor<4>,
    styles: Tensor<2>,
    demodulate: bool,
    up: usize,
) -> Tensor<4> {
    let [batch, _, _, _] = x.dims();
    let [out, inp, k, _] = weight.dims();
    let samples = (0..batch)
        .map(|b| {
            let s = styles.clone().narrow(0, b, 1).reshape([1, inp, 1, 1]);
            let mut w = weight.clone() * s;
            if demodulate {
                let d = (w.clone().square().sum_dim(3).sum_dim(2).sum_dim(1) + 1e-8)
                    .sqrt()
                    .recip();
                w = w * d.reshape([out, 1, 1, 1]);
            }
            let xb = x.clone().narrow(0, b, 1);
            if up > 1 {
                let options = ConvTransposeOptions::new([up, up], [0, 0], [0, 0], [1, 1], 1);
                let y = conv_transpose2d(xb, w.swap_dims(0, 1), None, options);
                upfirdn2d(y, 1, 1, [1, 1, 1, 1], (up * up) as f64)
            } else {
                conv2d(xb, w, None, conv_options(1, k / 2))
            }
        })
        .collect::<Vec<_>>();
    Tensor::cat(samples, 0)
}

/// The parts every modulated layer has: the style affine (`{prefix}.affine`), the
/// convolution weight and the bias.
fn load_modulated(
    weights: &Weights,
    prefix: &str,
    device: &Device,
) -> Result<(FullyConnected, Tensor<4>, Tensor<1>), WeightsError> {
    let affine = FullyConnected::load(
        weights,
        &format!("{prefix}.affine"),
        1.0,
        Activation::Linear,
        device,
    )?;
    let weight: Tensor<4> = weights.tensor(
        &format!("{prefix}.weight"),
        [None, None, None, None],
        device,
    )?;
    let out = weight.dims()[0];
    let bias = weights.tensor(&format!("{prefix}.bias"), [Some(out)], device)?;
    Ok((affine, weight, bias))
}

/// `SynthesisLayer`: style = affine(w), modulated 3×3 convolution with demodulation
/// (optionally ×2), constant noise × strength, bias, lrelu·√2, clamp.
#[derive(Debug, Clone)]
pub struct SynthesisLayer {
    affine: FullyConnected,
    weight: Tensor<4>,
    bias: Tensor<1>,
    /// `noise_const · noise_strength`, `[1, 1, res, res]`.
    noise: Option<Tensor<4>>,
    up: usize,
    clamp: Option<f64>,
}

impl SynthesisLayer {
    pub fn load(
        weights: &Weights,
        prefix: &str,
        up: usize,
        clamp: Option<f64>,
        device: &Device,
    ) -> Result<Self, WeightsError> {
        let (affine, weight, bias) = load_modulated(weights, prefix, device)?;
        let noise_key = format!("{prefix}.noise_const");
        let noise = if weights.contains(&noise_key) {
            let shape = weights.shape(&noise_key)?.to_vec();
            let strength = weights.values(&format!("{prefix}.noise_strength"))?;
            let strength = *strength.first().ok_or_else(|| WeightsError::Shape {
                origin: weights.origin().to_string(),
                key: format!("{prefix}.noise_strength"),
                found: vec![0],
                expected: "a scalar".into(),
            })?;
            let values: Vec<f32> = weights
                .values(&noise_key)?
                .iter()
                .map(|v| v * strength)
                .collect();
            let [h, w] = [shape[0], shape[shape.len() - 1]];
            Some(Tensor::from_data(
                TensorData::new(values, [1, 1, h, w]),
                device,
            ))
        } else {
            None
        };
        Ok(Self {
            affine,
            weight,
            bias,
            noise,
            up,
            clamp,
        })
    }

    pub fn out_channels(&self) -> usize {
        self.weight.dims()[0]
    }

    /// Large layers (the super-resolution's 512² × 128) run in groups of output channels so
    /// that no intermediate exceeds `PIECE_BYTES`: every output channel is independent.
    pub fn forward(&self, x: Tensor<4>, w: Tensor<2>, noise_mode: NoiseMode) -> Tensor<4> {
        let styles = self.affine.forward(w);
        let [batch, _, height, _] = x.dims();
        let out = self.out_channels();
        // The widest intermediate: the transposed convolution's output padded for the FIR.
        let side = height * self.up + 3;
        let group = (PIECE_BYTES / (4 * batch * side * side)).clamp(1, out);
        let gain = Activation::Lrelu.default_gain();
        let pieces = (0..out)
            .step_by(group)
            .map(|first| {
                let n = group.min(out - first);
                let weight = self.weight.clone().narrow(0, first, n);
                let mut y = modulated_conv2d(x.clone(), &weight, styles.clone(), true, self.up);
                if let (NoiseMode::Const, Some(noise)) = (noise_mode, &self.noise) {
                    y = y + noise.clone();
                }
                let bias = self.bias.clone().narrow(0, first, n);
                bias_act(y, Some(&bias), Activation::Lrelu, gain, self.clamp)
            })
            .collect::<Vec<_>>();
        Tensor::cat(pieces, 1)
    }
}

/// `ToRGBLayer`: style = affine(w)/√in, 1×1 modulated convolution without demodulation,
/// bias, clamp.
#[derive(Debug, Clone)]
pub struct ToRgb {
    affine: FullyConnected,
    weight: Tensor<4>,
    bias: Tensor<1>,
    clamp: Option<f64>,
}

impl ToRgb {
    pub fn load(
        weights: &Weights,
        prefix: &str,
        clamp: Option<f64>,
        device: &Device,
    ) -> Result<Self, WeightsError> {
        let (affine, weight, bias) = load_modulated(weights, prefix, device)?;
        Ok(Self {
            affine,
            weight,
            bias,
            clamp,
        })
    }

    pub fn forward(&self, x: Tensor<4>, w: Tensor<2>) -> Tensor<4> {
        let [_, inp, k, _] = self.weight.dims();
        let styles = self.affine.forward(w) * (1.0 / ((inp * k * k) as f64).sqrt());
        let x = modulated_conv2d(x, &self.weight, styles, false, 1);
        bias_act(x, Some(&self.bias), Activation::Linear, 1.0, self.clamp)
    }
}
