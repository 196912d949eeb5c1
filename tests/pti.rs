//! Pivotal tuning inversion with a Next3D generator, without the official weights: a random
//! generator at small channel counts is inverted toward the astronaut portrait. Checks that
//! both stages lower the loss, that the latent stage moves only w and the tuning stage only the
//! generator, that the avatar renders, and the command line's PTI path on a FLAME-sized rig.

mod common;
#[path = "common/python.rs"]
mod python;

use common::neuralhead;
use neuralhead::avatar::pipeline::{FrameOptions, FramePipeline};
use neuralhead::avatar::{RigRef, file};
use neuralhead::invert::face::FaceModels;
use neuralhead::invert::pti::{Pti, PtiSettings};
use neuralhead::invert::run::Prepared;
use neuralhead::nets::generator::Next3dCheckpoint;
use neuralhead::nets::random::{RandomGeneratorSpec, random_generator};
use neuralhead::render::camera::OrbitCamera;
use neuralhead::rig::{default_rig, synthetic};
use python::workdir;

/// The random generator's StyleUNets take rasters of this size.
const RASTER: usize = 64;
const N: usize = 32;

fn generator(dir: &std::path::Path) -> std::path::PathBuf {
    common::write_random_generator(dir, RASTER)
}

#[test]
fn both_stages_lower_the_loss_and_the_avatar_renders() {
    let gpu = common::gpu();
    let dir = workdir("pti");
    let path = generator(&dir);
    let rig = default_rig::embedded();
    let image = image::open("assets/astronaut.png").unwrap().to_rgb8();
    let prepared = Prepared::new(image, &rig, &FaceModels::embedded().unwrap()).unwrap();
    let settings = PtiSettings {
        resolution: N,
        samples: 12,
        latent_steps: 4,
        // Random weights: a larger step than PTI's 5e-3 shows the trend in four steps.
        latent_learning_rate: 0.05,
        tuning_steps: 4,
        tuning_learning_rate: 3e-3,
    };
    let checkpoint = Next3dCheckpoint::open(&path).unwrap();
    let untuned = checkpoint.decoder_arrays().unwrap();
    let mut pti = Pti::new(
        gpu,
        &rig,
        checkpoint,
        &prepared.fit,
        &prepared.target(N),
        RigRef::default_rig(),
        settings,
    )
    .unwrap();
    assert!(pti.preview().is_none());
    let mut losses = Vec::new();
    for step in 0..settings.total_steps() {
        let stage = pti.stage();
        assert_eq!(stage == "finding w", step < settings.latent_steps);
        let report = pti.step().unwrap();
        eprintln!("{stage}: {report:?}");
        assert!(report.loss.is_finite());
        losses.push(report.loss);
        if step + 1 == settings.latent_steps {
            // Only w moved: the generator's weights are the checkpoint's.
            let avatar = pti.avatar("pivot").unwrap();
            let decoder: Vec<Vec<f32>> =
                avatar.decoder.iter().map(|(_, a)| a.data.clone()).collect();
            let untuned: Vec<Vec<f32>> = untuned.iter().map(|(_, _, v)| v.clone()).collect();
            assert_eq!(
                decoder, untuned,
                "the latent stage leaves the generator alone"
            );
        }
    }
    let (latent, tuning) = losses.split_at(settings.latent_steps);
    assert!(
        latent.last() < latent.first(),
        "finding w lowers the loss: {latent:?}"
    );
    assert!(
        tuning.last() < tuning.first(),
        "tuning lowers the loss further: {tuning:?}"
    );
    assert!(pti.step().is_err(), "no steps beyond the total");
    assert_eq!(pti.preview().unwrap().dimensions(), (N as u32, N as u32));

    let avatar = pti.avatar("astronaut").unwrap();
    let tuned_decoder: Vec<&[f32]> = avatar.decoder.iter().map(|(_, a)| &a.data[..]).collect();
    let moved = tuned_decoder
        .iter()
        .zip(&untuned)
        .any(|(t, (_, _, u))| t.iter().zip(u).any(|(a, b)| a != b));
    assert!(moved, "tuning changed the decoder");
    assert_eq!(avatar.styles.as_ref().unwrap().shape, [14, 32]);
    assert_eq!(avatar.source.camera, prepared.fit.camera);
    // Saved, loaded and rendered at the portrait's expression with its networks.
    let saved = dir.join("astronaut.safetensors");
    file::save(&avatar, &saved).unwrap();
    let loaded = file::load(&saved).unwrap();
    let mut pipeline = FramePipeline::new(gpu, rig, &loaded, RASTER).unwrap();
    let options = FrameOptions {
        resolution: N,
        ..Default::default()
    };
    let frame = pipeline
        .render(&loaded.source.params, &OrbitCamera::default(), &options)
        .unwrap();
    assert!(frame.features.iter().all(|v| v.is_finite()));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn command_line_inverts_by_pivotal_tuning_on_a_flame_rig() {
    let dir = workdir("pti-cli");
    let checkpoint = generator(&dir);
    // FLAME's structure with random contents: the fit and PTI run; the face is noise.
    let rig_path = dir.join("flame.safetensors");
    neuralhead::rig::file::save(&synthetic::flame_sized(3, 800), &rig_path).unwrap();
    let out = dir.join("me.safetensors");
    let s = |p: &std::path::Path| p.display().to_string();
    let run = |extra: &[&str]| {
        let mut args = vec!["invert", "assets/astronaut.png"];
        args.extend_from_slice(extra);
        neuralhead(&args)
    };
    let (ckpt, rig, out_s) = (s(&checkpoint), s(&rig_path), s(&out));
    let result = run(&[
        "--checkpoint",
        &ckpt,
        "--flame-rig",
        &rig,
        "--out",
        &out_s,
        "--resolution",
        "16",
        "--samples",
        "6",
        "--latent-steps",
        "2",
        "--tuning-steps",
        "1",
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    assert!(
        stderr.contains("finding w") && stderr.contains("tuning the generator"),
        "{stderr}"
    );
    let avatar = file::load(&out).unwrap();
    let sha = neuralhead::io::sha256_hex(&std::fs::read(&rig_path).unwrap());
    assert_eq!(avatar.rig, RigRef::Flame { sha256: sha });
    assert_eq!(
        avatar.generator.unwrap().sha256,
        neuralhead::io::sha256_hex(&std::fs::read(&checkpoint).unwrap())
    );
    assert_ne!(
        avatar.source.params.identity,
        Default::default(),
        "the shape was fitted"
    );

    // Half the pair, or a rig that is not FLAME: clear errors, nothing written.
    let other = dir.join("other.safetensors");
    let other_s = s(&other);
    let half = run(&["--checkpoint", &ckpt, "--out", &other_s]);
    assert!(!half.status.success());
    assert!(String::from_utf8_lossy(&half.stderr).contains("--flame-rig"));
    let default_rig_file = dir.join("default-rig.safetensors");
    neuralhead::rig::file::save(&default_rig::embedded(), &default_rig_file).unwrap();
    let wrong = run(&[
        "--checkpoint",
        &ckpt,
        "--flame-rig",
        &s(&default_rig_file),
        "--out",
        &other_s,
    ]);
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(!wrong.status.success());
    assert!(stderr.contains("is not a FLAME rig"), "{stderr}");
    assert!(!other.exists());
    std::fs::remove_dir_all(dir).ok();
}

/// The tuning stage's gradients: networks loaded from tracked weights pass gradients through
/// the load-time scaling (equalised learning rate) to the raw weights. Checked against central
/// differences on a texture-synthesis weight, with a random projection of the texture as the
/// loss.
#[test]
fn tracked_weights_get_the_gradients_of_central_differences() {
    use burn::tensor::{Distribution, Tensor, TensorData};
    use neuralhead::nets::generator::IdentityNets;
    use std::collections::HashMap;

    let gpu = common::gpu();
    let spec = RandomGeneratorSpec {
        unet_resolution: RASTER,
        ..Default::default()
    };
    let weights = random_generator(&spec);
    let mut checkpoint =
        Next3dCheckpoint::from_weights(weights, std::path::Path::new("random"), String::new())
            .unwrap();
    let key = checkpoint
        .weights
        .keys()
        .find(|k| k.starts_with("texture_backbone.synthesis.") && k.ends_with("conv1.weight"))
        .unwrap()
        .to_string();
    let values = checkpoint.weights.values(&key).unwrap().to_vec();
    let n = values.len();
    let plain = &gpu.burn;
    let device = plain.clone().autodiff();
    let w_avg: Tensor<1> = checkpoint
        .weights
        .tensor("backbone.mapping.w_avg", [None], plain)
        .unwrap();
    let w_dim = w_avg.dims()[0];
    let ws = |device: &burn::tensor::Device| {
        Tensor::<3>::from_data(
            w_avg
                .clone()
                .reshape([1, 1, w_dim])
                .repeat_dim(1, 28)
                .into_data(),
            device,
        )
    };
    let texture_shape = IdentityNets::load(&checkpoint, plain)
        .unwrap()
        .forward(ws(plain))
        .texture
        .dims();
    let projection = Tensor::<3>::random(texture_shape, Distribution::Normal(0.0, 1.0), plain);
    let loss = |checkpoint: &Next3dCheckpoint, device: &burn::tensor::Device| {
        let texture = IdentityNets::load(checkpoint, device)
            .unwrap()
            .forward(ws(device))
            .texture;
        (texture * Tensor::from_data(projection.clone().into_data(), device)).sum()
    };

    let tracked =
        Tensor::<1>::from_data(TensorData::new(values.clone(), [n]), &device).require_grad();
    checkpoint
        .weights
        .track(HashMap::from([(key.clone(), tracked.clone())]));
    let grads = loss(&checkpoint, &device).backward();
    let gradient: Vec<f32> = tracked
        .grad(&grads)
        .unwrap()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();

    let h = 1e-2;
    let scale = gradient.iter().fold(0.0f32, |m, g| m.max(g.abs()));
    for i in [0, n / 3, n - 1] {
        let at = |delta: f32| {
            let mut moved = values.clone();
            moved[i] += delta;
            let moved = Tensor::<1>::from_data(TensorData::new(moved, [n]), plain);
            let mut checkpoint = Next3dCheckpoint::from_weights(
                checkpoint.weights.clone(),
                std::path::Path::new("random"),
                String::new(),
            )
            .unwrap();
            checkpoint
                .weights
                .track(HashMap::from([(key.clone(), moved)]));
            loss(&checkpoint, plain).into_scalar::<f32>()
        };
        let numeric = (at(h) - at(-h)) / (2.0 * h);
        eprintln!("{key}[{i}]: autodiff {} numeric {numeric}", gradient[i]);
        assert!(
            (gradient[i] - numeric).abs() <= 2e-2 * scale,
            "{key}[{i}]: autodiff {} vs central differences {numeric} (largest |g| {scale})",
            gradient[i]
        );
    }
}
