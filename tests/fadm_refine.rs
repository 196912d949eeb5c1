//! FADM refinement end to end with a small random-weight model (the fadm_unet fixture: the
//! reference's architecture at reduced width, 64² images): step-by-step sampling with every
//! preset, seeded determinism, attributes from the rig and camera, and `render --refine`.

mod common;

use common::{gpu, to_vec};
use neuralhead::avatar::SourceState;
use neuralhead::fadm::{Fadm, SamplerPreset, frame};
use neuralhead::render::camera::OrbitCamera;
use neuralhead::rig::attributes::EXPRESSION_DIMS;
use neuralhead::rig::{RigParams, default_rig};

fn weights_path() -> String {
    format!(
        "{}/tests/fixtures/fadm_unet.safetensors",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn model() -> Fadm {
    Fadm::open(weights_path().as_ref(), &gpu().burn).unwrap()
}

/// A smooth, non-uniform test frame.
fn coarse_image(size: u32) -> image::RgbaImage {
    image::RgbaImage::from_fn(size, size, |x, y| {
        let (u, v) = (x as f32 / size as f32, y as f32 / size as f32);
        image::Rgba([
            (255.0 * u) as u8,
            (255.0 * v) as u8,
            (255.0 * (1.0 - u * v)) as u8,
            255,
        ])
    })
}

fn refine(model: &Fadm, attribute: [f32; 56], preset: SamplerPreset, seed: u32) -> Vec<f64> {
    let device = &gpu().burn;
    let mut refinement = frame::start(model, &coarse_image(96), attribute, preset, seed, device);
    let mut previous = to_vec(refinement.estimate());
    while refinement.step(model) {
        let estimate = to_vec(refinement.estimate());
        assert!(
            estimate.iter().all(|v| (0.0..=1.0).contains(v)),
            "{preset:?}: clamped estimate"
        );
        assert_ne!(
            estimate,
            previous,
            "{preset:?}: step {} changed nothing",
            refinement.steps_done()
        );
        previous = estimate;
    }
    assert!(refinement.is_finished());
    previous
}

#[test]
fn refinement_is_seeded_and_follows_the_attribute() {
    let model = model();
    assert_eq!(model.config.image_size, 64);
    let attribute = [0.1f32; 56];
    let fast = refine(&model, attribute, SamplerPreset::Fast, 7);
    assert_eq!(fast.len(), 3 * 64 * 64);
    assert_eq!(
        fast,
        refine(&model, attribute, SamplerPreset::Fast, 7),
        "same seed, same frame"
    );
    assert_ne!(
        fast,
        refine(&model, attribute, SamplerPreset::Fast, 8),
        "the seed matters"
    );
    let mut moved = attribute;
    moved[EXPRESSION_DIMS + 3] = 0.4;
    assert_ne!(
        fast,
        refine(&model, moved, SamplerPreset::Fast, 7),
        "the attribute matters"
    );
    let default = refine(&model, attribute, SamplerPreset::Default, 7);
    assert_ne!(fast, default);
}

#[test]
fn every_preset_runs_its_planned_steps() {
    let model = model();
    for (preset, steps) in [
        (SamplerPreset::Default, 10),
        (SamplerPreset::Fast, 5),
        (SamplerPreset::Quality, 25),
        (SamplerPreset::Paper, 100),
    ] {
        let r = frame::start(&model, &coarse_image(64), [0.0; 56], preset, 1, &gpu().burn);
        assert_eq!(r.steps(), steps, "{preset:?}");
    }
}

#[test]
fn attribute_is_source_minus_current_with_the_camera_as_head_pose() {
    let rig = default_rig::embedded();
    let source = SourceState::default();
    let neutral = frame::attribute(
        &rig,
        &source,
        &RigParams::default(),
        &OrbitCamera::default(),
    )
    .unwrap();
    assert!(neutral.iter().all(|&a| a == 0.0));
    let open = RigParams::default().with_expression("jawOpen", 1.0);
    let turned = OrbitCamera {
        yaw: 0.25,
        ..Default::default()
    };
    let a = frame::attribute(&rig, &source, &open, &turned).unwrap();
    assert!(
        a[..EXPRESSION_DIMS].iter().all(|&x| x == 0.0),
        "the default rig has no FLAME expression"
    );
    // The view turns by its forward axis' angle (the orbit looks at (0, 0, 0.2)).
    let view_turn = (0.25f64.sin() * 2.7).atan2(0.25f64.cos() * 2.7 - 0.2) as f32;
    assert!(
        (a[EXPRESSION_DIMS + 1] - view_turn).abs() < 1e-6,
        "head yaw: {}",
        a[EXPRESSION_DIMS + 1]
    );
    assert!(
        a[EXPRESSION_DIMS + 3] < -0.1,
        "jaw opened from the source: {}",
        a[EXPRESSION_DIMS + 3]
    );
}

use common::neuralhead;

#[test]
fn render_refine_writes_the_refined_frame() {
    let dir = std::env::temp_dir().join(format!("neuralhead-refine-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plain = dir.join("plain.png");
    let refined = dir.join("refined.png");
    let base = [
        "render",
        "--view",
        "rgb",
        "--neural-size",
        "32",
        "--samples",
        "0.5",
    ];
    let run = |out: &std::path::Path, extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend(["--out", out.to_str().unwrap()]);
        args.extend(extra);
        let result = neuralhead(&args);
        assert!(
            result.status.success(),
            "{}",
            String::from_utf8_lossy(&result.stderr)
        );
        image::open(out).unwrap().to_rgb8()
    };
    let coarse = run(&plain, &[]);
    let weights = weights_path();
    let out = run(
        &refined,
        &["--refine", "--fadm", &weights, "--refine-preset", "fast"],
    );
    assert_eq!(out.dimensions(), (64, 64), "the model's size");
    assert_eq!(coarse.dimensions(), (32, 32));
    let first = out.get_pixel(0, 0);
    assert!(out.pixels().any(|p| p != first), "a uniform image");

    let missing = neuralhead(
        &[
            &base[..],
            &[
                "--out",
                refined.to_str().unwrap(),
                "--refine",
                "--fadm",
                "no/such.safetensors",
            ],
        ]
        .concat(),
    );
    let message = String::from_utf8_lossy(&missing.stderr);
    assert!(!missing.status.success());
    assert!(message.contains("tools/convert_fadm.py"), "{message}");
    assert!(!message.contains("panicked"), "{message}");

    let wrong_view = neuralhead(&[
        "render",
        "--view",
        "depth",
        "--refine",
        "--out",
        refined.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&wrong_view.stderr).contains("--view rgb or --view sr"));
    std::fs::remove_dir_all(dir).ok();
}
