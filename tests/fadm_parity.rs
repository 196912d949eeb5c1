//! Parity of the FADM port with the official implementation on random weights
//! (tests/fixtures/fadm_{agcn,unet,ddim}.safetensors; configurations from their metadata).
//! Criterion, from the fixtures' README: max|ours − ref| ≤ 1e-4 · max|ref| for every stored
//! output and intermediate.

mod common;
#[path = "common/fixture.rs"]
mod fixture;

use std::collections::BTreeSet;

use burn::tensor::Tensor;
use common::gpu;
use fixture::Fixture;
use neuralhead::fadm::condition::{CoarseInputs, ConditionNet, colour_image};
use neuralhead::fadm::model::{Conditioning, PREFIX};
use neuralhead::fadm::refine::update;
use neuralhead::fadm::sampler::{STEPS, SamplerPreset, Schedule};
use neuralhead::fadm::unet::TimeMlp;
use neuralhead::fadm::{Fadm, FadmConfig};
use neuralhead::nets::weights::Weights;

const TOLERANCE: f64 = 1e-4;

fn weights(name: &str) -> Weights {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    Weights::load(path.as_ref()).unwrap()
}

/// `[:, 0:4, 0:8, 0:8]`, the fixtures' documented crop.
fn crop(t: &Tensor<4>) -> Tensor<4> {
    let [b, _, _, _] = t.dims();
    t.clone().slice([0..b, 0..4, 0..8, 0..8])
}

fn steps(fx: &Fixture, name: &str) -> Vec<usize> {
    fx.data(name).iter().map(|&t| t as usize).collect()
}

fn model(fx: &Fixture) -> Fadm {
    let unet = &fx.json("config")["unet"];
    let config = FadmConfig {
        norm_groups: unet["norm_groups"].as_u64().unwrap() as usize,
        image_size: unet["image_size"].as_u64().unwrap() as usize,
    };
    Fadm::from_weights(&weights("fadm_unet.safetensors"), config, &gpu().burn).unwrap()
}

#[test]
fn conditioning_network_matches_reference_part_by_part() {
    let device = &gpu().burn;
    let fx = Fixture::load("fadm_agcn.safetensors");
    let w = weights("fadm_agcn.safetensors");
    let time = TimeMlp::load(&w, &format!("{PREFIX}time_mlp"), device).unwrap();
    let net = ConditionNet::load(&w, &format!("{PREFIX}condition_conv"), device).unwrap();

    let t_emb = time.forward(&steps(&fx, "in/t"), device);
    fx.check("mid/t_emb", t_emb.clone(), TOLERANCE);
    let coarse = fx.input::<4>("in/coarse_frame", device);
    let inputs = CoarseInputs::new(&coarse);
    fx.check("mid/generated", inputs.generated.clone(), 0.0);
    for (i, warping) in inputs.warping.iter().enumerate() {
        fx.check(&format!("mid/warping_{i}"), warping.clone(), 0.0);
    }
    let driving = colour_image(&fx.input::<4>("in/driving_frame", device));
    fx.check("mid/driving", driving.clone(), 0.0);

    let appearance = net.appearance(&inputs, Some(&driving));
    fx.check(
        "mid/pconv_generated_crop",
        crop(&appearance.generated),
        TOLERANCE,
    );
    fx.check(
        "mid/pconv_driving_crop",
        crop(&appearance.driving),
        TOLERANCE,
    );
    for (i, level) in appearance.motion_levels.iter().enumerate() {
        fx.check(
            &format!("mid/pmotion_level{i}_crop"),
            crop(level),
            TOLERANCE,
        );
    }
    let attribute = fx.input::<2>("in/attribute", device);
    let w = net.motion_weights(&t_emb, &attribute);
    fx.check("mid/motion_w", w.clone(), TOLERANCE);
    for i in 0..3 {
        let level = ConditionNet::level_weight(&w, i, 3);
        fx.check(&format!("mid/motion_w_level{i}"), level, TOLERANCE);
    }
    fx.check(
        "mid/fusion_in_crop",
        crop(&net.fusion_input(&appearance, &w)),
        TOLERANCE,
    );
    fx.check(
        "out/cond_image",
        net.guide(&appearance, &t_emb, &attribute),
        TOLERANCE,
    );
    fx.check("out/feature_loss", appearance.feature_loss(), TOLERANCE);
}

#[test]
fn unet_matches_reference_layer_by_layer() {
    let device = &gpu().burn;
    let fx = Fixture::load("fadm_unet.safetensors");
    let model = model(&fx);
    // Every intermediate the fixture holds is compared, whatever the depth it was made with.
    let mut unchecked: BTreeSet<String> = fx
        .tensors
        .keys()
        .filter(|k| k.starts_with("mid/"))
        .cloned()
        .collect();
    let mut compared = |name: &str| assert!(unchecked.remove(name), "{name} compared twice");
    let t = steps(&fx, "in/t");
    fx.check("mid/t_emb", model.time.forward(&t, device), TOLERANCE);
    compared("mid/t_emb");
    let inputs = CoarseInputs::new(&fx.input::<4>("in/coarse_frame", device));
    fx.check("mid/generated", inputs.generated.clone(), 0.0);
    compared("mid/generated");
    for (i, warping) in inputs.warping.iter().enumerate() {
        let name = format!("mid/warping_{i}");
        fx.check(&name, warping.clone(), 0.0);
        compared(&name);
    }
    let conditioning = model.condition(
        &fx.input("in/coarse_frame", device),
        fx.input("in/attribute", device),
    );
    // At inference `driving` is `generated`, so the colour loss is exactly 0, as stored.
    assert_eq!(fx.data("mid/color_loss"), [0.0]);
    compared("mid/color_loss");
    let loss: f32 = conditioning.appearance.feature_loss().into_scalar();
    assert_eq!(loss, 0.0);
    let eps = model.eps_traced(
        fx.input("in/x_t", device),
        &t,
        &conditioning,
        &mut |name, x| {
            let full = format!("mid/{name}");
            let cropped = format!("mid/{name}.out_crop");
            if fx.tensors.contains_key(&full) {
                fx.check(&full, x.clone(), TOLERANCE);
                compared(&full);
            } else if fx.tensors.contains_key(&cropped) {
                fx.check(&cropped, crop(x), TOLERANCE);
                compared(&cropped);
            }
        },
    );
    assert!(
        unchecked.is_empty(),
        "intermediates in the fixture that the U-Net never produced: {unchecked:?}"
    );
    fx.check("out/eps", eps, TOLERANCE);
}

#[test]
fn schedule_buffers_match_the_linear_schedule() {
    let stored = Schedule::from_weights(&weights("fadm_ddim.safetensors"));
    let computed = Schedule::linear(STEPS);
    let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-6);
    assert!(close(&stored.alphas_cumprod, &computed.alphas_cumprod));
    assert!(close(
        &stored.alphas_cumprod_prev,
        &computed.alphas_cumprod_prev
    ));
    assert!(close(&stored.ddim_c1, &computed.ddim_c1));
}

/// The reference sampler (DDIM η = 1, fixed noise) for three steps at each end of the
/// schedule: first the update alone on the stored ε, then with our U-Net's ε.
#[test]
fn reference_sampler_steps_match() {
    let device = &gpu().burn;
    let fx = Fixture::load("fadm_ddim.safetensors");
    let model = model(&Fixture::load("fadm_unet.safetensors"));
    let schedule = Schedule::from_weights(&weights("fadm_ddim.safetensors"));
    let plan = SamplerPreset::Paper.plan(&schedule);
    let coarse = fx.input::<4>("in/coarse_frame", device);
    fx.check("mid/generated", colour_image(&coarse), 0.0);
    let conditioning: Conditioning = model.condition(&coarse, fx.input("in/attribute", device));
    for (part, start, ts) in [
        ("head", "in/x_head_start", [99, 98, 97]),
        ("tail", "in/x_tail_start", [2, 1, 0]),
    ] {
        let mut x = fx.input::<4>(start, device);
        for t in ts {
            let step = plan.steps.iter().find(|s| s.t == t).unwrap();
            let noise = fx.input::<4>(&format!("rng/noise_list_{t}"), device);
            let stored_eps = fx.input::<4>(&format!("mid/{part}_step{t}_eps"), device);
            let after = format!("out/{part}_x_after_step{t}");
            let (from_stored, _) = update(x.clone(), stored_eps, step, Some(noise.clone()));
            fx.check(&after, from_stored, TOLERANCE);

            let eps = model.eps(x.clone(), &[t], &conditioning);
            fx.check(&format!("mid/{part}_step{t}_eps"), eps.clone(), TOLERANCE);
            x = update(x, eps, step, Some(noise)).0;
            fx.check(&after, x.clone(), TOLERANCE);
        }
    }
}

/// The random model built by the reference's construction rules at the fixture's
/// configuration has exactly the fixture's tensors and shapes.
#[test]
fn random_model_has_the_reference_state_dict_layout() {
    use neuralhead::fadm::random::{RandomFadmSpec, random_fadm};
    let fx = Fixture::load("fadm_unet.safetensors");
    let unet = &fx.json("config")["unet"];
    let list = |v: &serde_json::Value| -> Vec<usize> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect()
    };
    let spec = RandomFadmSpec {
        seed: 3,
        inner_channel: unet["inner_channel"].as_u64().unwrap() as usize,
        channel_mults: list(&unet["channel_mults"]),
        res_blocks: unet["res_blocks"].as_u64().unwrap() as usize,
        attn_res: list(&unet["attn_res"]),
        image_size: unet["image_size"].as_u64().unwrap() as usize,
        norm_groups: unet["norm_groups"].as_u64().unwrap() as usize,
    };
    let random = random_fadm(&spec);
    let reference = weights("fadm_unet.safetensors");
    let layout = |w: &Weights, keep: &dyn Fn(&str) -> bool| {
        let mut names: Vec<(String, Vec<usize>)> = w
            .names()
            .filter(|n| keep(n))
            .map(|n| (n.to_string(), w.shape(n).unwrap().to_vec()))
            .collect();
        names.sort();
        names
    };
    let network = |n: &str| n.starts_with(PREFIX);
    assert_eq!(layout(&random, &network), layout(&reference, &network));
    assert_eq!(FadmConfig::from_metadata(&random).image_size, 64);
}
