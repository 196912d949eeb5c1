//! tools/convert_flame.py on a synthetic model with FLAME 2020's pickle structure, then the
//! Rust loader and the f64 skinning reference against FLAME's lbs computed in numpy.

#[path = "common/python.rs"]
mod python;

use std::path::Path;
use std::process::Command;

use python::{malicious_pickle, python, tool, workdir};

use neuralhead::rig::{RigKind, RigParams, file, skin_cpu};

fn convert(dir: &Path, extra: &[&str]) -> std::process::Output {
    let d = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let mut args = vec![
        tool("convert_flame.py"),
        d("generic_model.pkl"),
        "--template".into(),
        d("head_template.obj"),
        "--landmarks".into(),
        d("landmark_embedding.npy"),
        "--out".into(),
        d("flame.safetensors"),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    python(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn converted_flame_skins_like_flame() {
    let dir = workdir("flame");
    let out = python(&[
        &format!(
            "{}/tests/fixtures/make_synthetic_flame.py",
            env!("CARGO_MANIFEST_DIR")
        ),
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mask = dir.join("uv_face_eye_mask.png");
    let out = convert(
        &dir,
        &[
            "--n-shape",
            "20",
            "--n-expr",
            "10",
            "--mask",
            mask.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let rig = file::load(&dir.join("flame.safetensors")).unwrap();
    assert_eq!(rig.kind, RigKind::Flame2020);
    assert_eq!(
        (
            rig.num_vertices(),
            rig.shape_basis.count,
            rig.expression_basis.count
        ),
        (40, 20, 10)
    );
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let floats = |key: &str| -> Vec<f32> {
        expected[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect()
    };
    let three = |key: &str| -> [f32; 3] { floats(key).try_into().unwrap() };
    let mut params = RigParams {
        identity: neuralhead::rig::Identity::Coefficients(floats("shape")),
        jaw: three("jaw"),
        neck: three("neck"),
        ..Default::default()
    };
    params.eyes.left = three("eye_left");
    params.eyes.right = three("eye_right");
    for (i, w) in floats("expression").into_iter().enumerate() {
        params.expression.insert(i.to_string(), w);
    }
    let (resolved, _) = params.resolve(&rig).unwrap();
    let skinned = skin_cpu::skin(&rig, &resolved);
    let mut worst = 0.0f64;
    for (key, ours) in [
        ("vertices", &skinned.vertices),
        ("landmarks", &skinned.landmarks),
    ] {
        for (a, b) in ours.iter().zip(expected[key].as_array().unwrap()) {
            for k in 0..3 {
                worst = worst.max((a[k] - b[k].as_f64().unwrap()).abs());
            }
        }
    }
    // The rig file stores f32; FLAME's numpy lbs ran in f64.
    eprintln!("max |ours − numpy lbs| = {worst:.2e}");
    assert!(worst < 2e-6, "skinning differs from FLAME's lbs by {worst}");
    let mask = rig.uv_mask.expect("mask converted");
    assert_eq!((mask.width, mask.height), (256, 256));
    let row: Vec<u8> = expected["mask_row0"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u8)
        .collect();
    assert_eq!(mask.data[0], row[0]);
    assert_eq!(mask.data[32], row[1], "nearest resize keeps 8×8 cells");

    // The converted file drives the headless render like the default rig does.
    let png = dir.join("frame.png");
    let rig_path = dir.join("flame.safetensors");
    let out = Command::new(env!("CARGO_BIN_EXE_neuralhead"))
        .args([
            "render", "--size", "64", "--exp", "3=1.5", "--jaw", "0.2", "--rig",
        ])
        .arg(&rig_path)
        .arg("--out")
        .arg(&png)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(image::open(&png).unwrap().width(), 64);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn converter_executes_nothing_from_the_pickle() {
    let dir = workdir("malicious");
    let marker = dir.join("pwned");
    std::fs::write(dir.join("generic_model.pkl"), malicious_pickle(&marker)).unwrap();
    std::fs::write(dir.join("head_template.obj"), "").unwrap();
    std::fs::write(dir.join("landmark_embedding.npy"), "").unwrap();
    let out = convert(&dir, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("does not load"), "{stderr}");
    assert!(
        !marker.exists(),
        "the converter executed code from the pickle"
    );
    std::fs::remove_dir_all(dir).ok();
}
