//! The fuzz corpus replayed on stable under `cargo test`: every seed in `fuzz/corpus/<target>/`
//! and every fixed crasher in `fuzz/regressions/<target>/` goes through the same entry as the
//! fuzz target (`neuralhead::fuzzing`), so CI keeps them fixed without nightly. The Python
//! converters' restricted unpicklers are replayed by `fuzz/unpicklers.py --replay`.
//!
//! `cargo test --test fuzz_corpus -- --ignored` writes the seeds again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use neuralhead::app::Settings;
use neuralhead::avatar::RigRef;
use neuralhead::avatar::file as avatar_file;
use neuralhead::avatar::random::random_avatar;
use neuralhead::export::live_link;
use neuralhead::fuzzing::TARGETS;
use neuralhead::nets::weights::Weights;
use neuralhead::rig::sequence::{HeadPose, Sequence};
use neuralhead::rig::{RigParams, default_rig, file as rig_file, synthetic};

fn fuzz_dir(kind: &str, target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn every_seed_and_kept_crasher_is_handled_without_a_panic() {
    let mut failures = Vec::new();
    for (target, entry) in TARGETS {
        let seeds = files(&fuzz_dir("corpus", target));
        assert!(!seeds.is_empty(), "fuzz/corpus/{target} has no seeds");
        let mut accepted = 0;
        for path in seeds.iter().chain(&files(&fuzz_dir("regressions", target))) {
            let data = std::fs::read(path).unwrap();
            match std::panic::catch_unwind(|| entry(&data)) {
                Ok(true) => accepted += 1,
                Ok(false) => {}
                Err(_) => failures.push(path.display().to_string()),
            }
        }
        // A parser that refuses everything would pass the loop above: the seeds hold at least
        // one good file per target.
        assert!(accepted > 0, "{target}: no seed is accepted any more");
    }
    assert!(failures.is_empty(), "panicked on {failures:?}");
}

#[test]
fn the_python_unpicklers_replay_their_kept_inputs() {
    let output = std::process::Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/unpicklers.py"))
        .arg("--replay")
        .output()
        .expect("python3 with numpy is needed (pip install numpy)");
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{said}");
    assert!(said.contains("replayed"), "{said}");
}

/// Small, valid inputs for each target (the fuzzers mutate from these).
#[test]
#[ignore = "writes the seed corpus into fuzz/corpus"]
fn write_seed_corpus() {
    let rig = default_rig::embedded();
    let mut seeds: HashMap<&str, Vec<(&str, Vec<u8>)>> = HashMap::new();
    let avatar = random_avatar(RigRef::default_rig(), 1, 8, 4);
    seeds.insert(
        "avatar_file",
        vec![(
            "random_8_4.safetensors",
            avatar_file::to_bytes(&avatar).unwrap(),
        )],
    );
    let small_rig = synthetic::lat_long_head(1, 8, 8);
    let rig_bytes = rig_file::to_bytes(&small_rig).unwrap();
    rig_file::from_bytes(&rig_bytes, "seed").unwrap();
    seeds.insert("rig_file", vec![("lat_long_8x8.safetensors", rig_bytes)]);
    seeds.insert("weights", vec![("tiny_next3d.safetensors", tiny_weights())]);

    let frames: Vec<RigParams> = (0..3)
        .map(|i| RigParams::default().with_expression("jawOpen", i as f32 / 3.0))
        .collect();
    let sequence = Sequence {
        fps: 30.0,
        frames: frames.clone(),
        head_poses: vec![HeadPose::default(); 3],
        notes: Vec::new(),
    };
    let csv = "time,jawOpen,eyeBlinkLeft,camera_yaw\n0,0,0,0\n0.04,0.5,1,0.1\n".to_string();
    seeds.insert("sequence_csv", vec![("jaw_blink.csv", csv.into_bytes())]);
    let json = serde_json::json!({ "fps": 25, "frames": frames });
    seeds.insert(
        "sequence_json",
        vec![("jaw.json", serde_json::to_vec(&json).unwrap())],
    );
    let (llf, _) = live_link::write(&sequence, &rig);
    seeds.insert("live_link", vec![("jaw.csv", llf.into_bytes())]);
    seeds.insert(
        "params_json",
        vec![("smile.json", serde_json::to_vec(&frames[2]).unwrap())],
    );
    seeds.insert(
        "settings",
        vec![(
            "default.json",
            serde_json::to_vec_pretty(&Settings::default()).unwrap(),
        )],
    );
    let portrait = image::RgbImage::from_fn(64, 80, |x, y| image::Rgb([x as u8 * 3, y as u8, 7]));
    let mut png = Vec::new();
    portrait
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let mut jpeg = Vec::new();
    portrait
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    seeds.insert(
        "portrait",
        vec![("gradient.png", png), ("gradient.jpg", jpeg)],
    );

    for (target, _) in TARGETS {
        let dir = fuzz_dir("corpus", target);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &seeds[target] {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}

/// Just enough of a converted Next3D checkpoint for its configuration to be read.
fn tiny_weights() -> Vec<u8> {
    let weights = Weights::from_arrays(
        "seed",
        [
            (
                "backbone.mapping.fc0.weight".into(),
                vec![4, 6],
                vec![0.5; 24],
            ),
            (
                "backbone.mapping.embed.weight".into(),
                vec![2, 3],
                vec![0.25; 6],
            ),
        ],
    )
    .with_metadata(HashMap::from([(
        "init_kwargs".to_string(),
        r#"{"": {"conv_clamp": 256}, "backbone": {"img_resolution": 32}}"#.to_string(),
    )]));
    let dir = std::env::temp_dir().join(format!("neuralhead-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tiny.safetensors");
    weights.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    bytes
}
