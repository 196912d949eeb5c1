//! Next3D's StyleUNet (mouth and blending networks): an encoder of residual blocks turns the
//! condition image into features at in_size/2 … final_size; fusion convolutions inject them
//! into a StyleGAN2 synthesis that starts at 2·final_size. As the reference: encoder blocks run
//! in index order, the feature list is reversed (lowest resolution first), and a block gets a
//! condition only while its input resolution is below `num_cond_res`.

use burn::tensor::{Device, Tensor};

use super::NoiseMode;
use super::fir::downsample2d;
use super::layers::{Activation, Conv2dLayer};
use super::synthesis::{SynthesisBlock, Trace, block_resolutions};
use super::weights::{Weights, WeightsError};

/// The construction arguments the weights do not reveal.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StyleUNetConfig {
    pub img_resolution: usize,
    pub in_size: usize,
    pub final_size: usize,
    pub num_cond_res: usize,
    pub conv_clamp: Option<f64>,
}

#[derive(Debug, Clone)]
struct EncoderBlock {
    downsample: bool,
    fromrgb: Conv2dLayer,
    conv1: Conv2dLayer,
    conv2: Conv2dLayer,
}

impl EncoderBlock {
    /// (the possibly reduced input image, the block's features).
    fn forward(&self, image: Tensor<4>, skip: Option<Tensor<4>>) -> (Tensor<4>, Tensor<4>) {
        let image = if self.downsample {
            downsample2d(image)
        } else {
            image
        };
        let mut out = self.fromrgb.forward(image.clone());
        if let Some(skip) = skip {
            out = out + skip;
        }
        let out = self.conv2.forward(self.conv1.forward(out));
        (image, out)
    }
}

#[derive(Debug, Clone)]
pub struct StyleUNet {
    config: StyleUNetConfig,
    encoder: Vec<EncoderBlock>,
    /// The fusion convolutions that are used (the reference builds one more).
    fusion: Vec<Conv2dLayer>,
    /// The synthesis blocks from 2·final_size up (the lower ones are unused).
    blocks: Vec<SynthesisBlock>,
}

impl StyleUNet {
    pub fn load(
        weights: &Weights,
        prefix: &str,
        config: StyleUNetConfig,
        device: &Device,
    ) -> Result<Self, WeightsError> {
        let clamp = config.conv_clamp;
        let encoder_res: Vec<usize> = std::iter::successors(Some(config.in_size), |r| Some(r / 2))
            .take_while(|r| *r >= config.final_size)
            .collect();
        let encoder = encoder_res[..encoder_res.len() - 1]
            .iter()
            .enumerate()
            .map(|(i, res)| {
                let p = format!("{prefix}encoder.{i}");
                Ok(EncoderBlock {
                    downsample: *res < config.in_size,
                    fromrgb: Conv2dLayer::load(
                        weights,
                        &format!("{p}.fromrgb"),
                        1,
                        Activation::Linear,
                        clamp,
                        device,
                    )?,
                    conv1: Conv2dLayer::load(
                        weights,
                        &format!("{p}.conv1"),
                        1,
                        Activation::Lrelu,
                        clamp,
                        device,
                    )?,
                    conv2: Conv2dLayer::load(
                        weights,
                        &format!("{p}.conv2"),
                        2,
                        Activation::Lrelu,
                        clamp,
                        device,
                    )?,
                })
            })
            .collect::<Result<Vec<_>, WeightsError>>()?;
        let resolutions: Vec<usize> = block_resolutions(config.img_resolution)
            .filter(|r| *r > config.final_size)
            .collect();
        let fusion = (0..resolutions.len())
            .take_while(|i| config.final_size << i < config.num_cond_res)
            .map(|i| {
                let p = format!("{prefix}fusion.{i}");
                Conv2dLayer::load(weights, &p, 1, Activation::Linear, clamp, device)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let blocks = resolutions
            .iter()
            .map(|res| {
                SynthesisBlock::load(weights, &format!("{prefix}b{res}"), *res, clamp, device)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            config,
            encoder,
            fusion,
            blocks,
        })
    }

    pub fn config(&self) -> StyleUNetConfig {
        self.config
    }

    /// The number of ws the reference network takes (all of its blocks, used or not).
    pub fn num_ws(&self) -> usize {
        ws_offset(self.config.img_resolution) + 3
    }

    /// condition `[B, C, in_size, in_size]`, ws `[B, num_ws, w_dim]` → `[B, C', res, res]`.
    pub fn forward(&self, condition: Tensor<4>, ws: Tensor<3>, noise: NoiseMode) -> Tensor<4> {
        self.forward_traced(condition, ws, noise, &mut |_, _| {})
    }

    pub fn forward_traced(
        &self,
        condition: Tensor<4>,
        ws: Tensor<3>,
        noise: NoiseMode,
        trace: Trace,
    ) -> Tensor<4> {
        let (mut image, mut features) = (condition, None);
        let mut conditions = Vec::new();
        for (i, block) in self.encoder.iter().enumerate() {
            let (reduced, out) = block.forward(image, features);
            trace(&format!("encoder.{i}.out"), &out);
            conditions.push(out.clone());
            (image, features) = (reduced, Some(out));
        }
        conditions.reverse();
        let (mut x, mut img): (Option<Tensor<4>>, Option<Tensor<4>>) = (None, None);
        for (i, block) in self.blocks.iter().enumerate() {
            if let Some(fusion) = self.fusion.get(i) {
                let input = match x {
                    None => conditions[i].clone(),
                    Some(x) => Tensor::cat(vec![x, conditions[i].clone()], 1),
                };
                let fused = fusion.forward(input);
                trace(&format!("fusion.{i}.out"), &fused);
                x = Some(fused);
            }
            let block_ws = ws
                .clone()
                .narrow(1, ws_offset(block.resolution), block.num_conv() + 1);
            let (nx, nimg) = block.forward(x, img, block_ws, noise, trace);
            (x, img) = (Some(nx), Some(nimg));
        }
        img.expect("a StyleUNet has synthesis blocks")
    }
}

/// Where block b{res}'s ws start: b4 takes one conv, every later block two.
fn ws_offset(resolution: usize) -> usize {
    match resolution {
        4 => 0,
        r => 2 * r.ilog2() as usize - 5,
    }
}
