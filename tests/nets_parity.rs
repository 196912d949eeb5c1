//! Parity of the Next3D networks with the official implementation's outputs on random weights
//! (tests/fixtures/next3d_{mapping,synthesis,styleunet,superres}.safetensors). Configurations
//! are read from each fixture's metadata. Criterion, from the fixtures' README:
//! max|ours − ref| ≤ 1e-4 · max|ref| for every stored output and intermediate.

mod common;
#[path = "common/fixture.rs"]
mod fixture;

use std::cell::Cell;

use burn::tensor::{Device, Tensor};
use common::gpu;
use fixture::Fixture;
use neuralhead::nets::NoiseMode;
use neuralhead::nets::mapping::{MappingNetwork, Truncation};
use neuralhead::nets::mouth::{self, MouthBox};
use neuralhead::nets::styleunet::{StyleUNet, StyleUNetConfig};
use neuralhead::nets::superres::SuperResolution;
use neuralhead::nets::synthesis::SynthesisNetwork;
use neuralhead::nets::weights::Weights;

const TOLERANCE: f64 = 1e-4;

fn weights(name: &str) -> Weights {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    Weights::load(path.as_ref()).unwrap()
}

fn input<const D: usize>(fixture: &Fixture, name: &str, device: &Device) -> Tensor<D> {
    fixture.input(name, device)
}

fn check<const D: usize>(fixture: &Fixture, name: &str, ours: Tensor<D>) -> f64 {
    fixture.check(name, ours, TOLERANCE)
}

/// `[:, 0:8, 0:32, 0:32]`, the fixtures' documented crop.
fn crop(t: &Tensor<4>) -> Tensor<4> {
    let [b, _, _, _] = t.dims();
    t.clone().slice([0..b, 0..8, 0..32, 0..32])
}

#[test]
fn mapping_matches_reference_with_each_truncation() {
    let device = &gpu().burn;
    let fx = Fixture::load("next3d_mapping.safetensors");
    let config = fx.json("config");
    let prefix = fx.metadata["weights_prefix"]
        .trim_end_matches('.')
        .to_string();
    let num_ws = config["num_ws"].as_u64().unwrap() as usize;
    let net = MappingNetwork::load(
        &weights("next3d_mapping.safetensors"),
        &prefix,
        num_ws,
        device,
    )
    .unwrap();
    assert_eq!((net.z_dim, net.c_dim), (512, 25));
    let z: Tensor<2> = input(&fx, "in/z", device);
    let c: Tensor<2> = input(&fx, "in/c", device);
    check(
        &fx,
        "out/ws_psi1",
        net.forward(z.clone(), c.clone(), Truncation::NONE),
    );
    for t in config["truncations"].as_array().unwrap() {
        let psi = t[0].as_f64().unwrap();
        let cutoff = t[1].as_u64().map(|c| c as usize);
        let name = match cutoff {
            Some(c) => format!("out/ws_psi{psi}_cutoff{c}"),
            None => format!("out/ws_psi{psi}_cutoffall"),
        };
        let ws = net.forward(z.clone(), c.clone(), Truncation { psi, cutoff });
        check(&fx, &name, ws);
    }
}

#[test]
fn synthesis_matches_reference_block_by_block() {
    let device = &gpu().burn;
    let fx = Fixture::load("next3d_synthesis.safetensors");
    let config = fx.json("config");
    let net = SynthesisNetwork::load(
        &weights("next3d_synthesis.safetensors"),
        config["prefix"].as_str().unwrap(),
        config["img_resolution"].as_u64().unwrap() as usize,
        config["conv_clamp"].as_f64(),
        device,
    )
    .unwrap();
    assert_eq!(net.num_ws(), fx.json("num_ws").as_u64().unwrap() as usize);
    let ws: Tensor<3> = input(&fx, "in/ws", device);
    let mut checked = 0;
    let img = net.forward_traced(ws.clone(), NoiseMode::Const, &mut |name, t| {
        let key = format!("mid/{name}");
        if fx.tensors.contains_key(&key) {
            check(&fx, &key, t.clone());
            checked += 1;
        }
    });
    assert!(
        checked >= 10,
        "only {checked} intermediates matched by name"
    );
    check(&fx, "out/img", img);
    check(&fx, "out/img_noise_none", net.forward(ws, NoiseMode::None));
}

#[test]
fn styleunet_mouth_and_blending_match_reference() {
    let device = &gpu().burn;
    let fx = Fixture::load("next3d_styleunet.safetensors");
    let config = fx.json("config");
    let w = weights("next3d_styleunet.safetensors");
    let common = &config["common"];
    let net = |part: &str| {
        let c = &config[part];
        let size = |v: &serde_json::Value| v.as_u64().unwrap() as usize;
        let cfg = StyleUNetConfig {
            img_resolution: size(&common["img_resolution"]),
            in_size: size(&c["in_size"]),
            final_size: size(&c["final_size"]),
            num_cond_res: size(&c["num_cond_res"]),
            conv_clamp: common["conv_clamp"].as_f64(),
        };
        StyleUNet::load(&w, c["prefix"].as_str().unwrap(), cfg, device).unwrap()
    };
    let (mouth_net, blend_net) = (net("mouth"), net("blend"));
    let num_ws = fx.json("num_ws").as_u64().unwrap() as usize;
    assert_eq!((mouth_net.num_ws(), blend_net.num_ws()), (num_ws, num_ws));

    let front: Tensor<4> = input(&fx, "in/front_raster", device);
    let ws: Tensor<3> = input(&fx, "in/ws", device);
    let size = front.dims()[2];
    let boxes: Vec<[usize; 4]> = fx
        .data("in/mouth_boxes")
        .chunks(4)
        .map(|b| {
            let mouth: MouthBox = [b[0], b[1], b[2], b[3]].map(|v| v as i64);
            mouth::clip(mouth, size).unwrap()
        })
        .collect();
    let cond = mouth::crop_resized(&front, &boxes, mouth_net.config().in_size);
    check(&fx, "mid/mouth_cond", cond.clone());

    let checked = Cell::new(0);
    let tracer = |part: &'static str| {
        let (fx, checked) = (&fx, &checked);
        move |name: &str, t: &Tensor<4>| {
            let key = format!("mid/{part}.{name}");
            if fx.tensors.contains_key(&key) {
                check(fx, &key, t.clone());
                checked.set(checked.get() + 1);
            }
        }
    };
    let patch = mouth_net.forward_traced(cond, ws.clone(), NoiseMode::Const, &mut tracer("mouth"));
    check(&fx, "out/mouth_img", patch.clone());

    let stitched = mouth::paste(front.clone(), patch, &boxes);
    for (b, &[r0, r1, c0, _]) in boxes.iter().enumerate() {
        let c = stitched.dims()[1];
        let pasted = stitched
            .clone()
            .slice([b..b + 1, 0..c, r0..r1, c0..c0 + (r1 - r0)]);
        check(&fx, &format!("mid/mouth_patch_resized_{b}"), pasted);
    }
    let blended = blend_net.forward_traced(stitched, ws, NoiseMode::Const, &mut tracer("blend"));
    check(&fx, "out/blend_img", blended);
    let checked = checked.get();
    assert!(
        checked >= 12,
        "only {checked} intermediates matched by name"
    );
}

#[test]
fn superresolution_matches_reference_through_the_clamp() {
    let device = &gpu().burn;
    let fx = Fixture::load("next3d_superres.safetensors");
    let config = fx.json("config");
    let clamp = (config["sr_num_fp16_res"].as_u64().unwrap() > 0).then_some(256.0);
    let net = SuperResolution::load(
        &weights("next3d_superres.safetensors"),
        fx.metadata["weights_prefix"].as_str(),
        clamp,
        device,
    )
    .unwrap();
    let x: Tensor<4> = input(&fx, "in/x", device);
    let rgb = x.clone().narrow(1, 0, 3);
    let ws: Tensor<3> = input(&fx, "in/ws", device);
    let mut checked = 0;
    let image = net.forward_traced(rgb, x, ws, &mut |name, t| {
        for (key, ours) in [
            (format!("mid/{name}"), t.clone()),
            (format!("mid/{name}_crop"), crop(t)),
        ] {
            if fx.tensors.contains_key(&key) {
                check(&fx, &key, ours);
                checked += 1;
                break;
            }
        }
    });
    check(&fx, "out/image", image);
    assert!(checked >= 6, "only {checked} intermediates matched by name");
}
