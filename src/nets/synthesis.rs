//! StyleGAN2's synthesis network ('skip' architecture): blocks b4 … b{res}, each conv0 (×2),
//! conv1 and ToRGB, the image path up-sampled and summed. Block k reads
//! `ws[w_idx .. w_idx + num_conv + num_torgb]` and advances `w_idx` by `num_conv` only, as the
//! reference does, so neighbouring blocks share a w.

use burn::tensor::{Device, Tensor};

use super::NoiseMode;
use super::fir::upsample2d;
use super::layers::{SynthesisLayer, ToRgb};
use super::weights::{Weights, WeightsError};

/// A recorder for named intermediate activations (tests compare them with the reference's).
pub type Trace<'a> = &'a mut dyn FnMut(&str, &Tensor<4>);

#[derive(Debug, Clone)]
pub struct SynthesisBlock {
    pub resolution: usize,
    /// The block's own name (`b16`, `block0`), for traces.
    name: String,
    /// The learned constant input (first block only), `[1, C, 4, 4]`.
    constant: Option<Tensor<4>>,
    conv0: Option<SynthesisLayer>,
    conv1: SynthesisLayer,
    torgb: ToRgb,
}

impl SynthesisBlock {
    /// The block stored under `path` (`backbone.synthesis.b16`); it starts from the constant
    /// when the checkpoint has `const` for it.
    pub fn load(
        weights: &Weights,
        path: &str,
        resolution: usize,
        clamp: Option<f64>,
        device: &Device,
    ) -> Result<Self, WeightsError> {
        let p = path;
        let name = path.rsplit('.').next().unwrap_or(path).to_string();
        let const_key = format!("{p}.const");
        let constant = if weights.contains(&const_key) {
            let c: Tensor<3> = weights.tensor(&const_key, [None, Some(4), Some(4)], device)?;
            Some(c.unsqueeze_dim(0))
        } else {
            None
        };
        let conv0 = match constant {
            Some(_) => None,
            None => Some(SynthesisLayer::load(
                weights,
                &format!("{p}.conv0"),
                2,
                clamp,
                device,
            )?),
        };
        Ok(Self {
            resolution,
            name,
            constant,
            conv0,
            conv1: SynthesisLayer::load(weights, &format!("{p}.conv1"), 1, clamp, device)?,
            torgb: ToRgb::load(weights, &format!("{p}.torgb"), clamp, device)?,
        })
    }

    pub fn num_conv(&self) -> usize {
        1 + usize::from(self.conv0.is_some())
    }

    pub fn out_channels(&self) -> usize {
        self.conv1.out_channels()
    }

    /// (features, image) from the previous block's; `ws` is `[B, num_conv + 1, w_dim]`.
    pub fn forward(
        &self,
        x: Option<Tensor<4>>,
        img: Option<Tensor<4>>,
        ws: Tensor<3>,
        noise: NoiseMode,
        trace: Trace,
    ) -> (Tensor<4>, Tensor<4>) {
        let [batch, count, w_dim] = ws.dims();
        let w = |i: usize| ws.clone().narrow(1, i, 1).reshape([batch, w_dim]);
        let name = &self.name;
        let x = match (&self.constant, &self.conv0, x) {
            (Some(c), _, _) => self
                .conv1
                .forward(c.clone().repeat_dim(0, batch), w(0), noise),
            (None, Some(conv0), Some(x)) => {
                let x = conv0.forward(x, w(0), noise);
                trace(&format!("{name}.conv0.out"), &x);
                self.conv1.forward(x, w(1), noise)
            }
            (None, _, None) => panic!("block {name} needs the previous block's features"),
            (None, None, Some(_)) => unreachable!("a block without const has conv0"),
        };
        trace(&format!("{name}.conv1.out"), &x);
        let y = self.torgb.forward(x.clone(), w(count - 1));
        trace(&format!("{name}.torgb.out"), &y);
        let img = match img {
            Some(img) => upsample2d(img) + y,
            None => y,
        };
        trace(&format!("{name}.img"), &img);
        (x, img)
    }
}

/// Splits ws among blocks as the reference's `split_ws`.
pub fn split_ws(ws: &Tensor<3>, blocks: &[SynthesisBlock]) -> Vec<Tensor<3>> {
    let mut w_idx = 0;
    blocks
        .iter()
        .map(|b| {
            let part = ws.clone().narrow(1, w_idx, b.num_conv() + 1);
            w_idx += b.num_conv();
            part
        })
        .collect()
}

/// The number of ws a run of blocks consumes (the last block's ToRGB takes one more).
pub fn num_ws(blocks: &[SynthesisBlock]) -> usize {
    blocks.iter().map(SynthesisBlock::num_conv).sum::<usize>() + 1
}

/// The StyleGAN2 `SynthesisNetwork` under `prefix` (e.g. `backbone.synthesis.`).
#[derive(Debug, Clone)]
pub struct SynthesisNetwork {
    pub blocks: Vec<SynthesisBlock>,
}

impl SynthesisNetwork {
    pub fn load(
        weights: &Weights,
        prefix: &str,
        img_resolution: usize,
        clamp: Option<f64>,
        device: &Device,
    ) -> Result<Self, WeightsError> {
        let blocks = block_resolutions(img_resolution)
            .map(|res| {
                SynthesisBlock::load(weights, &format!("{prefix}b{res}"), res, clamp, device)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { blocks })
    }

    pub fn num_ws(&self) -> usize {
        num_ws(&self.blocks)
    }

    /// ws `[B, num_ws, w_dim]` → image `[B, img_channels, res, res]`.
    pub fn forward(&self, ws: Tensor<3>, noise: NoiseMode) -> Tensor<4> {
        self.forward_traced(ws, noise, &mut |_, _| {})
    }

    pub fn forward_traced(&self, ws: Tensor<3>, noise: NoiseMode, trace: Trace) -> Tensor<4> {
        let (mut x, mut img) = (None, None);
        for (block, block_ws) in self.blocks.iter().zip(split_ws(&ws, &self.blocks)) {
            let (nx, nimg) = block.forward(x, img, block_ws, noise, trace);
            (x, img) = (Some(nx), Some(nimg));
        }
        img.expect("a synthesis network has blocks")
    }
}

/// 4, 8, …, `img_resolution`.
pub fn block_resolutions(img_resolution: usize) -> impl Iterator<Item = usize> {
    (2..=img_resolution.ilog2()).map(|i| 1usize << i)
}
