//! The whole Next3D path without the official weights: a random generator at small channel
//! counts (official names, converter metadata) is baked into an avatar, whose frames run the
//! mouth and blending networks and the super-resolution. Its images are noise, as they
//! should be for random weights; the tests check shapes, determinism, that the networks take
//! part, and the errors for missing or mismatched files.

mod common;
#[path = "common/python.rs"]
mod python;

use std::path::Path;

use common::gpu;
use neuralhead::avatar::pipeline::FramePipeline;
use neuralhead::avatar::{Avatar, file};
use neuralhead::cli::bake::bake;
use neuralhead::nets::generator::Next3dCheckpoint;
use neuralhead::nets::random::{RandomGeneratorSpec, random_generator};
use neuralhead::rig::{RigParams, default_rig};
use python::workdir;

const RASTER: usize = 64;

fn write_generator(dir: &Path) -> std::path::PathBuf {
    common::write_random_generator(dir, RASTER)
}

fn planes_of(avatar: &Avatar, params: &RigParams) -> Vec<f32> {
    let rig = default_rig::embedded();
    let mut pipeline = FramePipeline::new(gpu(), rig, avatar, RASTER).unwrap();
    pipeline
        .planes(params)
        .unwrap()
        .blended
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

#[test]
fn baked_avatar_is_deterministic_and_runs_the_mouth_networks() {
    let dir = workdir("next3d-bake");
    let path = write_generator(&dir);
    let checkpoint = Next3dCheckpoint::open(&path).unwrap();
    assert_eq!(checkpoint.config.mouth.in_size, RASTER / 4);
    assert_eq!(checkpoint.config.blend.in_size, RASTER);
    assert_eq!(checkpoint.config.sr_clamp, Some(256.0));
    let rig = default_rig::embedded();
    let avatar = bake(gpu(), &checkpoint, &rig, "default", 3, 0.7).unwrap();
    assert_eq!(avatar.texture.shape, [32, 32, 32]);
    assert_eq!(avatar.static_planes.shape, [3, 32, 32, 32]);
    assert_eq!(avatar.styles.as_ref().unwrap().shape, [14, 32]);
    assert!(avatar.texture.data.iter().all(|v| v.is_finite()));
    let again = bake(gpu(), &checkpoint, &rig, "default", 3, 0.7).unwrap();
    assert_eq!(
        avatar.texture, again.texture,
        "a seed bakes the same identity"
    );
    let other = bake(gpu(), &checkpoint, &rig, "default", 4, 0.7).unwrap();
    assert_ne!(
        avatar.texture, other.texture,
        "another seed, another identity"
    );

    // Saved and loaded, the avatar keeps its reference to the checkpoint.
    let saved = dir.join("avatar.safetensors");
    file::save(&avatar, &saved).unwrap();
    let loaded = file::load(&saved).unwrap();
    assert_eq!(loaded.generator, avatar.generator);

    // The mouth and blending networks change the front plane; without them it is the blend.
    let open = RigParams {
        expression: [("jawOpen".to_string(), 0.8)].into(),
        ..Default::default()
    };
    let with_nets = planes_of(&loaded, &open);
    let without = planes_of(
        &Avatar {
            generator: None,
            ..loaded.clone()
        },
        &open,
    );
    assert!(with_nets.iter().all(|v| v.is_finite()));
    let changed = with_nets
        .iter()
        .zip(&without)
        .filter(|(a, b)| (*a - *b).abs() > 1e-4)
        .count();
    assert!(
        changed > 100,
        "the networks changed only {changed} plane values"
    );
    assert_eq!(
        with_nets,
        planes_of(&loaded, &open),
        "frames are deterministic"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn missing_or_mismatched_checkpoint_is_a_clear_error() {
    let dir = workdir("next3d-missing");
    let path = write_generator(&dir);
    let checkpoint = Next3dCheckpoint::open(&path).unwrap();
    let rig = default_rig::embedded();
    let mut avatar = bake(gpu(), &checkpoint, &rig, "default", 1, 0.7).unwrap();

    std::fs::remove_file(&path).unwrap();
    let err = FramePipeline::new(gpu(), rig.clone(), &avatar, RASTER)
        .err()
        .unwrap();
    assert!(
        format!("{err:#}").contains("needs its generator checkpoint"),
        "{err:#}"
    );

    write_generator(&dir);
    avatar.generator.as_mut().unwrap().sha256 = "0".repeat(64);
    let err = FramePipeline::new(gpu(), rig.clone(), &avatar, RASTER)
        .err()
        .unwrap();
    assert!(
        format!("{err:#}").contains("is not the checkpoint"),
        "{err:#}"
    );
    // Checked by hash before anything is parsed: a hostile file under that path is refused
    // for its hash, not read as safetensors.
    std::fs::write(&path, [0xffu8; 64]).unwrap();
    let err = FramePipeline::new(gpu(), rig.clone(), &avatar, RASTER)
        .err()
        .unwrap();
    let message = format!("{err:#}");
    assert!(
        message.contains("is not the checkpoint") && message.contains("nothing was read"),
        "{message}"
    );
    write_generator(&dir);

    // A checkpoint without the mouth network names the tensor it lacks.
    let mut weights = random_generator(&RandomGeneratorSpec::default());
    weights.remove_prefix("mouth_backbone.");
    let err = Next3dCheckpoint::from_weights(weights, &path, String::new())
        .unwrap()
        .mouth_networks(&gpu().burn)
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("mouth_backbone.synthesis."),
        "{err}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn cli_bakes_and_renders_the_super_resolved_image() {
    let dir = workdir("next3d-cli");
    let generator = write_generator(&dir);
    let avatar = dir.join("avatar.safetensors");
    let image = dir.join("sr.png");
    let run = |args: &[&str]| {
        let out = common::neuralhead(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let s = |p: &Path| p.to_str().unwrap().to_string();
    run(&[
        "bake",
        "--checkpoint",
        &s(&generator),
        "--seed",
        "5",
        "--out",
        &s(&avatar),
    ]);
    run(&[
        "render",
        "--avatar",
        &s(&avatar),
        "--view",
        "sr",
        "--neural-size",
        "16",
        "--raster-size",
        "64",
        "--out",
        &s(&image),
    ]);
    let png = image::open(&image).unwrap().to_rgb8();
    assert_eq!(png.dimensions(), (512, 512));
    let first = png.get_pixel(0, 0);
    assert!(
        png.pixels().any(|p| p != first),
        "the super-resolved image is uniform"
    );
    std::fs::remove_dir_all(dir).ok();
}
