//! A FADM model with random weights under the official state-dict names, built by the
//! reference's construction rules (channel multipliers, residual blocks per level, attention
//! resolutions), so that the official width can be benchmarked and any width tested without
//! the official weights. Its refinements are noise, as they should be.

use super::model::PREFIX;
use super::sampler::{STEPS, Schedule};
use super::unet::sinusoid_frequencies;
use crate::nets::random::RandomArrays;
use crate::nets::weights::Weights;

#[derive(Debug, Clone, PartialEq)]
pub struct RandomFadmSpec {
    pub seed: u64,
    pub inner_channel: usize,
    pub channel_mults: Vec<usize>,
    pub res_blocks: usize,
    pub attn_res: Vec<usize>,
    pub image_size: usize,
    pub norm_groups: usize,
}

impl RandomFadmSpec {
    /// The released model: 64 channels, multipliers (1, 2, 4, 4, 8, 8), 3 blocks per level,
    /// attention at 16², 256² images.
    pub fn official() -> Self {
        Self {
            seed: 1,
            inner_channel: 64,
            channel_mults: vec![1, 2, 4, 4, 8, 8],
            res_blocks: 3,
            attn_res: vec![16],
            image_size: 256,
            norm_groups: 32,
        }
    }
}

struct Builder {
    random: RandomArrays,
    time_dim: usize,
}

impl Builder {
    fn add(&mut self, name: String, shape: Vec<usize>, scale: f32, offset: f32) {
        self.random.add(name, shape, scale, offset);
    }

    /// Weights scaled by 1/√fan-in so that activations stay of order one.
    fn conv(&mut self, p: &str, inp: usize, out: usize, k: usize, bias: bool) {
        let scale = 1.0 / ((inp * k * k) as f32).sqrt();
        self.add(format!("{p}.weight"), vec![out, inp, k, k], scale, 0.0);
        if bias {
            self.add(format!("{p}.bias"), vec![out], 0.1, 0.0);
        }
    }

    fn linear(&mut self, p: &str, inp: usize, out: usize) {
        self.add(
            format!("{p}.weight"),
            vec![out, inp],
            1.0 / (inp as f32).sqrt(),
            0.0,
        );
        self.add(format!("{p}.bias"), vec![out], 0.1, 0.0);
    }

    fn group_norm(&mut self, p: &str, channels: usize) {
        self.add(format!("{p}.weight"), vec![channels], 0.1, 1.0);
        self.add(format!("{p}.bias"), vec![channels], 0.1, 0.0);
    }

    fn block(&mut self, p: &str, inp: usize, out: usize) {
        self.group_norm(&format!("{p}.block.0"), inp);
        self.conv(&format!("{p}.block.3"), inp, out, 3, true);
    }

    fn resnet(&mut self, p: &str, inp: usize, out: usize, time: bool) {
        if time {
            self.linear(&format!("{p}.mlp.1"), self.time_dim, out);
        }
        self.block(&format!("{p}.block1"), inp, out);
        self.block(&format!("{p}.block2"), out, out);
        if inp != out {
            self.conv(&format!("{p}.res_conv"), inp, out, 1, true);
        }
    }

    fn unet_block(&mut self, p: &str, inp: usize, out: usize, attention: bool) {
        self.resnet(&format!("{p}.res_block"), inp, out, true);
        if attention {
            self.group_norm(&format!("{p}.attn.norm"), out);
            self.conv(&format!("{p}.attn.qkv"), out, 3 * out, 1, false);
            self.conv(&format!("{p}.attn.out"), out, out, 1, true);
        }
    }

    fn condition_net(&mut self, p: &str) {
        let (half, inner) = (16, 32);
        self.conv(&format!("{p}.pre_conv_color.0"), 3, half, 7, true);
        self.resnet(&format!("{p}.pre_conv_color.2"), half, half, false);
        self.resnet(&format!("{p}.pre_conv_color.4"), half, half, false);
        self.conv(&format!("{p}.deal_cond.block1"), 3, half, 3, true);
        self.block(&format!("{p}.deal_cond.block2"), half, half);
        self.linear(&format!("{p}.motion_cond.time_mlp.1"), self.time_dim, half);
        self.linear(&format!("{p}.motion_cond.condition.1"), 56 + half, half);
        self.linear(&format!("{p}.motion_cond.condition.3"), half, half);
        for i in [0, 2, 4] {
            self.resnet(&format!("{p}.resnet.{i}"), inner, inner, false);
        }
        self.conv(&format!("{p}.resnet.6"), inner, 3, 7, true);
    }
}

pub fn random_fadm(spec: &RandomFadmSpec) -> Weights {
    let inner = spec.inner_channel;
    let mut b = Builder {
        random: RandomArrays::new(spec.seed),
        time_dim: inner,
    };
    let p = PREFIX;
    b.random.arrays.push((
        format!("{p}time_mlp.0.inv_freq"),
        vec![inner / 2],
        sinusoid_frequencies(inner),
    ));
    b.linear(&format!("{p}time_mlp.1"), inner, 4 * inner);
    b.linear(&format!("{p}time_mlp.3"), 4 * inner, inner);
    b.condition_net(&format!("{p}condition_conv"));

    b.conv(&format!("{p}downs.0"), 6, inner, 3, true);
    let (mut skips, mut channels, mut res) = (vec![inner], inner, spec.image_size);
    let mut index = 1;
    let levels = spec.channel_mults.len();
    for (level, mult) in spec.channel_mults.iter().enumerate() {
        let out = inner * mult;
        for _ in 0..spec.res_blocks {
            b.unet_block(
                &format!("{p}downs.{index}"),
                channels,
                out,
                spec.attn_res.contains(&res),
            );
            (channels, index) = (out, index + 1);
            skips.push(out);
        }
        if level + 1 < levels {
            b.conv(
                &format!("{p}downs.{index}.conv"),
                channels,
                channels,
                3,
                true,
            );
            skips.push(channels);
            (index, res) = (index + 1, res / 2);
        }
    }
    b.unet_block(&format!("{p}mid.0"), channels, channels, true);
    b.unet_block(&format!("{p}mid.1"), channels, channels, false);
    index = 0;
    for (level, mult) in spec.channel_mults.iter().enumerate().rev() {
        let out = inner * mult;
        for _ in 0..=spec.res_blocks {
            let skip = skips.pop().expect("one skip per up block");
            let attention = spec.attn_res.contains(&res);
            b.unet_block(&format!("{p}ups.{index}"), channels + skip, out, attention);
            (channels, index) = (out, index + 1);
        }
        if level > 0 {
            b.conv(&format!("{p}ups.{index}.conv"), channels, channels, 3, true);
            (index, res) = (index + 1, res * 2);
        }
    }
    b.block(&format!("{p}final_conv"), channels, 3);

    let schedule = Schedule::linear(STEPS);
    for (name, values) in [
        ("alphas_cumprod", &schedule.alphas_cumprod),
        ("alphas_cumprod_prev", &schedule.alphas_cumprod_prev),
        ("ddim_c1", &schedule.ddim_c1),
    ] {
        let values = values.iter().map(|&v| v as f32).collect();
        b.random
            .arrays
            .push((format!("diffusion.{name}"), vec![STEPS], values));
    }
    let config = serde_json::json!({
        "unet": {"norm_groups": spec.norm_groups, "image_size": spec.image_size}
    });
    Weights::from_arrays("random FADM", b.random.arrays)
        .with_metadata([("config".to_string(), config.to_string())].into())
}

/// Learnable parameters (the schedule and `inv_freq` are buffers).
pub fn parameter_count(weights: &Weights) -> usize {
    weights
        .names()
        .filter(|n| n.starts_with(PREFIX) && !n.ends_with("inv_freq"))
        .map(|n| weights.shape(n).map_or(0, |s| s.iter().product()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's count for the released model: 141,257,027 (U-Net) + 77,635 (AGCN).
    #[test]
    fn official_spec_has_the_reference_parameter_count() {
        let weights = random_fadm(&RandomFadmSpec::official());
        assert_eq!(parameter_count(&weights), 141_334_662);
    }
}
