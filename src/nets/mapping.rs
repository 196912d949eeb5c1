//! StyleGAN2's mapping network as Next3D uses it: z and the 25-value camera label → ws,
//! broadcast to `num_ws`, with truncation toward `w_avg` on the first `cutoff` ws only (the
//! scripts' cutoff 14 leaves the texture ws 14–27 untruncated).

use burn::tensor::{Device, Tensor};

use super::layers::{Activation, FullyConnected};
use super::weights::{Weights, WeightsError};

/// The mapping layers' learning-rate multiplier (their weights are stored ×1/0.01).
pub const LR_MULTIPLIER: f64 = 0.01;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Truncation {
    pub psi: f64,
    /// How many leading ws are truncated; `None` = all.
    pub cutoff: Option<usize>,
}

impl Truncation {
    pub const NONE: Self = Self {
        psi: 1.0,
        cutoff: None,
    };
}

#[derive(Debug, Clone)]
pub struct MappingNetwork {
    embed: Option<FullyConnected>,
    layers: Vec<FullyConnected>,
    w_avg: Tensor<1>,
    pub z_dim: usize,
    pub c_dim: usize,
    pub num_ws: usize,
}

impl MappingNetwork {
    /// The network under `prefix` (e.g. `backbone.mapping`), with as many `fc{i}` layers as
    /// the checkpoint holds.
    pub fn load(
        weights: &Weights,
        prefix: &str,
        num_ws: usize,
        device: &Device,
    ) -> Result<Self, WeightsError> {
        let embed_key = format!("{prefix}.embed");
        let (embed, c_dim, embed_dim) = if weights.contains(&format!("{embed_key}.weight")) {
            // Loading checks the rank; the shape is then [embed_features, c_dim].
            let fc = FullyConnected::load(weights, &embed_key, 1.0, Activation::Linear, device)?;
            let shape = weights.shape(&format!("{embed_key}.weight"))?;
            let (embed_dim, c_dim) = (shape[0], shape[1]);
            (Some(fc), c_dim, embed_dim)
        } else {
            (None, 0, 0)
        };
        let z_dim = weights.shape(&format!("{prefix}.fc0.weight"))?[1] - embed_dim;
        let layers = (0..)
            .map(|i| format!("{prefix}.fc{i}"))
            .take_while(|p| weights.contains(&format!("{p}.weight")))
            .map(|p| FullyConnected::load(weights, &p, LR_MULTIPLIER, Activation::Lrelu, device))
            .collect::<Result<Vec<_>, _>>()?;
        let w_avg = weights.tensor(&format!("{prefix}.w_avg"), [None], device)?;
        Ok(Self {
            embed,
            layers,
            w_avg,
            z_dim,
            c_dim,
            num_ws,
        })
    }

    /// z `[B, z_dim]`, c `[B, c_dim]` → ws `[B, num_ws, w_dim]`.
    pub fn forward(&self, z: Tensor<2>, c: Tensor<2>, truncation: Truncation) -> Tensor<3> {
        let mut x = normalize_2nd_moment(z);
        if let Some(embed) = &self.embed {
            let y = normalize_2nd_moment(embed.forward(c));
            x = Tensor::cat(vec![x, y], 1);
        }
        for layer in &self.layers {
            x = layer.forward(x);
        }
        let w_dim = x.dims()[1];
        let ws = x.unsqueeze_dim::<3>(1).repeat_dim(1, self.num_ws);
        let cutoff = truncation.cutoff.unwrap_or(self.num_ws).min(self.num_ws);
        if truncation.psi == 1.0 || cutoff == 0 {
            return ws;
        }
        let avg = self.w_avg.clone().reshape([1, 1, w_dim]);
        let head = ws.clone().narrow(1, 0, cutoff);
        let head = avg.clone() + (head - avg) * truncation.psi;
        if cutoff == self.num_ws {
            return head;
        }
        let tail = ws.narrow(1, cutoff, self.num_ws - cutoff);
        Tensor::cat(vec![head, tail], 1)
    }
}

/// x · rsqrt(mean(x², dim 1) + 1e-8).
pub fn normalize_2nd_moment(x: Tensor<2>) -> Tensor<2> {
    let scale = (x.clone().square().mean_dim(1) + 1e-8).sqrt().recip();
    x * scale
}
