//! A Next3D generator with random weights at small channel counts, under the official names
//! and with the converter's metadata, so that the whole path (bake, mouth and blending
//! networks, super-resolution) runs end to end without the official checkpoint. Its images
//! are noise, as they should be for random weights.

use rand::{Rng, SeedableRng, rngs::StdRng};
use rand_distr::StandardNormal;

use super::weights::Weights;
use crate::render::decoder::{FEATURES, HIDDEN};

/// Sizes of the random generator (the super-resolution's 256/128 channels and the decoder
/// are fixed by the architecture).
#[derive(Debug, Clone, Copy)]
pub struct RandomGeneratorSpec {
    pub seed: u64,
    pub w_dim: usize,
    /// Channels of every synthesis and encoder layer.
    pub channels: usize,
    /// Texture and static-plane resolution.
    pub resolution: usize,
    /// The StyleUNets' image resolution (the raster resolution they are fed).
    pub unet_resolution: usize,
}

impl Default for RandomGeneratorSpec {
    fn default() -> Self {
        Self {
            seed: 1,
            w_dim: 32,
            channels: 8,
            resolution: 32,
            unet_resolution: 64,
        }
    }
}

/// Named arrays of seeded normal values, for random networks under official names.
pub struct RandomArrays {
    rng: StdRng,
    pub arrays: Vec<(String, Vec<usize>, Vec<f32>)>,
}

impl RandomArrays {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            arrays: Vec::new(),
        }
    }

    /// `offset + scale·N(0, 1)` per element.
    pub fn add(&mut self, name: String, shape: Vec<usize>, scale: f32, offset: f32) {
        let n = shape.iter().product();
        let values = (0..n)
            .map(|_| offset + scale * self.rng.sample::<f32, _>(StandardNormal))
            .collect();
        self.arrays.push((name, shape, values));
    }
}

struct Builder {
    random: RandomArrays,
    w_dim: usize,
}

impl Builder {
    fn add(&mut self, name: String, shape: Vec<usize>, scale: f32, offset: f32) {
        self.random.add(name, shape, scale, offset);
    }

    fn fc(&mut self, p: &str, out: usize, inp: usize, bias: f32) {
        self.add(format!("{p}.weight"), vec![out, inp], 1.0, 0.0);
        self.add(format!("{p}.bias"), vec![out], 0.1, bias);
    }

    fn layer(&mut self, p: &str, inp: usize, out: usize, res: usize) {
        self.fc(&format!("{p}.affine"), inp, self.w_dim, 1.0);
        self.add(format!("{p}.weight"), vec![out, inp, 3, 3], 1.0, 0.0);
        self.add(format!("{p}.bias"), vec![out], 0.1, 0.0);
        self.add(format!("{p}.noise_const"), vec![res, res], 1.0, 0.0);
        self.add(format!("{p}.noise_strength"), vec![], 0.0, 0.1);
    }

    fn block(&mut self, p: &str, inp: usize, out: usize, res: usize, img: usize) {
        if inp == 0 {
            self.add(format!("{p}.const"), vec![out, 4, 4], 1.0, 0.0);
        } else {
            self.layer(&format!("{p}.conv0"), inp, out, res);
        }
        self.layer(&format!("{p}.conv1"), out, out, res);
        self.fc(&format!("{p}.torgb.affine"), out, self.w_dim, 1.0);
        self.add(format!("{p}.torgb.weight"), vec![img, out, 1, 1], 1.0, 0.0);
        self.add(format!("{p}.torgb.bias"), vec![img], 0.1, 0.0);
    }

    fn synthesis(&mut self, p: &str, res: usize, img: usize, ch: usize) {
        for r in super::synthesis::block_resolutions(res) {
            let inp = if r == 4 { 0 } else { ch };
            self.block(&format!("{p}b{r}"), inp, ch, r, img);
        }
    }

    fn conv(&mut self, p: &str, out: usize, inp: usize, k: usize, bias: bool) {
        self.add(format!("{p}.weight"), vec![out, inp, k, k], 1.0, 0.0);
        if bias {
            self.add(format!("{p}.bias"), vec![out], 0.1, 0.0);
        }
    }

    fn styleunet(&mut self, p: &str, res: usize, in_size: usize, final_size: usize, ch: usize) {
        self.synthesis(p, res, FEATURES, ch);
        let encoder: Vec<usize> = std::iter::successors(Some(in_size), |r| Some(r / 2))
            .take_while(|r| *r >= final_size)
            .collect();
        for i in 0..encoder.len() - 1 {
            self.conv(&format!("{p}encoder.{i}.fromrgb"), ch, FEATURES, 1, false);
            self.conv(&format!("{p}encoder.{i}.conv1"), ch, ch, 3, true);
            self.conv(&format!("{p}encoder.{i}.conv2"), ch, ch, 3, true);
        }
        for (i, r) in encoder.iter().rev().enumerate() {
            let inp = if *r > final_size { 2 * ch } else { ch };
            self.conv(&format!("{p}fusion.{i}"), ch, inp, 3, true);
        }
    }
}

/// The weights and metadata of a random generator.
pub fn random_generator(spec: &RandomGeneratorSpec) -> Weights {
    let mut b = Builder {
        random: RandomArrays::new(spec.seed),
        w_dim: spec.w_dim,
    };
    let (w, ch) = (spec.w_dim, spec.channels);
    b.fc("backbone.mapping.embed", w, 25, 0.0);
    b.fc("backbone.mapping.fc0", w, 2 * w, 0.0);
    b.fc("backbone.mapping.fc1", w, w, 0.0);
    b.add("backbone.mapping.w_avg".into(), vec![w], 0.5, 0.0);
    b.synthesis("texture_backbone.synthesis.", spec.resolution, FEATURES, ch);
    b.synthesis("backbone.synthesis.", spec.resolution, 3 * FEATURES, ch);
    let u = spec.unet_resolution;
    b.styleunet("mouth_backbone.synthesis.", u, u / 4, 4, ch);
    b.styleunet("neural_blending.synthesis.", u, u, u / 8, ch);
    b.block("superresolution.block0", FEATURES, 256, 256, 3);
    b.block("superresolution.block1", 256, 128, 512, 3);
    b.add(
        "decoder.net.0.weight".into(),
        vec![HIDDEN, FEATURES],
        1.0,
        0.0,
    );
    b.add("decoder.net.0.bias".into(), vec![HIDDEN], 0.3, 0.0);
    b.add(
        "decoder.net.2.weight".into(),
        vec![FEATURES + 1, HIDDEN],
        1.0,
        0.0,
    );
    b.add("decoder.net.2.bias".into(), vec![FEATURES + 1], 0.3, 0.0);
    let axes = crate::avatar::plane_axes_for([[0, 1], [0, 2], [2, 1]]);
    b.random
        .arrays
        .push(("renderer.plane_axes".into(), vec![3, 3, 3], axes));
    let unet = |in_size: usize, final_size: usize| {
        serde_json::json!({"img_resolution": u, "img_channels": FEATURES, "in_size": in_size,
            "final_size": final_size, "num_cond_res": in_size, "cond_channels": FEATURES})
    };
    let init_kwargs = serde_json::json!({
        "": {"z_dim": w, "c_dim": 25, "w_dim": w, "img_resolution": 512, "sr_num_fp16_res": 4},
        "texture_backbone": {"img_resolution": spec.resolution, "img_channels": FEATURES},
        "backbone": {"img_resolution": spec.resolution, "img_channels": 3 * FEATURES, "mapping_ws": 28},
        "mouth_backbone": unet(u / 4, 4),
        "neural_blending": unet(u, u / 8),
    });
    let rendering = serde_json::json!({"superresolution_noise_mode": "none", "sr_antialias": true,
        "ray_start": 2.25, "ray_end": 3.3, "box_warp": 1, "depth_resolution": 48,
        "depth_resolution_importance": 48, "c_scale": 1.0});
    let metadata = [
        ("format", "neuralhead-next3d".to_string()),
        ("version", "1".to_string()),
        ("init_kwargs", init_kwargs.to_string()),
        ("rendering_kwargs", rendering.to_string()),
        ("neural_rendering_resolution", "64".to_string()),
    ];
    Weights::from_arrays("random test generator", b.random.arrays).with_metadata(
        metadata
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}
