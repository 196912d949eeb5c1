//! `neuralhead render` end to end on the default rig, and its errors on bad input.

use std::process::Command;

fn neuralhead(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_neuralhead"))
        .args(args)
        .output()
        .unwrap()
}

fn render(out: &std::path::Path, extra: &[&str]) -> image::RgbImage {
    let mut args = vec!["render", "--size", "128", "--out", out.to_str().unwrap()];
    args.extend(extra);
    let result = neuralhead(&args);
    assert!(
        result.status.success(),
        "render failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    image::open(out).unwrap().to_rgb8()
}

/// Mean absolute difference over a window of the two images (0–255).
fn difference(
    a: &image::RgbImage,
    b: &image::RgbImage,
    x: std::ops::Range<u32>,
    y: std::ops::Range<u32>,
) -> f64 {
    let mut sum = 0.0;
    let mut n = 0.0;
    for j in y {
        for i in x.clone() {
            for c in 0..3 {
                sum += (f64::from(a.get_pixel(i, j)[c]) - f64::from(b.get_pixel(i, j)[c])).abs();
                n += 1.0;
            }
        }
    }
    sum / n
}

#[test]
fn expressions_change_the_right_regions() {
    let dir = std::env::temp_dir().join(format!("neuralhead-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let neutral = render(&dir.join("neutral.png"), &[]);
    let jaw = render(&dir.join("jaw.png"), &["--exp", "jawOpen=1"]);
    let blink = render(
        &dir.join("blink.png"),
        &["--exp", "eyeBlink_L=1", "--exp", "eyeBlink_R=1"],
    );
    // The face fills the middle; the mouth sits in the lower part, the eyes above the middle.
    let (mouth_rows, eye_rows) = (72..100, 44..62);
    let mouth_change = difference(&neutral, &jaw, 40..88, mouth_rows.clone());
    let eyes_by_jaw = difference(&neutral, &jaw, 30..98, eye_rows.clone());
    let eye_change = difference(&neutral, &blink, 30..98, eye_rows);
    let mouth_by_blink = difference(&neutral, &blink, 40..88, mouth_rows);
    eprintln!(
        "jaw: mouth {mouth_change:.1}, eyes {eyes_by_jaw:.1}; blink: eyes {eye_change:.1}, mouth {mouth_by_blink:.1}"
    );
    assert!(
        mouth_change > 5.0 * eyes_by_jaw.max(0.5),
        "jawOpen should change the mouth, not the eyes"
    );
    assert!(
        eye_change > 5.0 * mouth_by_blink.max(0.5),
        "blinking should change the eyes, not the mouth"
    );
    // Background in the corner, face in the centre.
    assert!(neutral.get_pixel(2, 2)[0] < 40 && neutral.get_pixel(64, 64)[0] > 80);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn planes_view_shows_the_rasterized_triplanes_and_alphas() {
    let out = std::env::temp_dir().join(format!("neuralhead-planes-{}.png", std::process::id()));
    for layout in ["consistent", "released", "front-only"] {
        let image = render(
            &out,
            &[
                "--view",
                "planes",
                "--raster-size",
                "64",
                "--layout",
                layout,
            ],
        );
        assert_eq!(
            image.dimensions(),
            (192, 128),
            "three planes above their alphas"
        );
        // The front plane's alpha is 1 over the face (centre) and 0 in the corner.
        assert_eq!(
            image.get_pixel(32, 64 + 32)[0],
            255,
            "{layout}: front alpha at the face"
        );
        assert_eq!(
            image.get_pixel(1, 64 + 1)[0],
            0,
            "{layout}: front alpha in the corner"
        );
        let side_alpha: u32 = (0..64)
            .flat_map(|y| (64..128).map(move |x| (x, 64 + y)))
            .map(|(x, y)| u32::from(image.get_pixel(x, y)[0]))
            .sum();
        assert_eq!(
            side_alpha == 0,
            layout == "front-only",
            "{layout}: side plane alpha"
        );
    }
    std::fs::remove_file(out).ok();
}

#[test]
fn neural_views_render_the_painted_test_avatar() {
    let out = std::env::temp_dir().join(format!("neuralhead-neural-{}.png", std::process::id()));
    let small = ["--neural-size", "24", "--samples", "0.5"];
    let rgb = render(&out, &[&["--view", "rgb"][..], &small].concat());
    assert_eq!(rgb.dimensions(), (24, 24));
    // The head is in front of the camera: skin in the middle, empty corners.
    let centre = rgb.get_pixel(12, 12);
    assert!(
        centre[0] > 120 && centre[0] > centre[2],
        "centre {centre:?} is not skin"
    );
    assert!(
        rgb.get_pixel(0, 0)[0] < 30,
        "corner {:?} is not empty",
        rgb.get_pixel(0, 0)
    );
    let opacity = render(&out, &[&["--view", "opacity"][..], &small].concat());
    assert!(opacity.get_pixel(12, 12)[0] > 200 && opacity.get_pixel(0, 0)[0] < 30);
    for view in ["depth", "features"] {
        render(&out, &[&["--view", view][..], &small].concat());
    }
    render(
        &out,
        &[&["--view", "rgb", "--avatar", "random"][..], &small].concat(),
    );
    // A rig file is not an avatar.
    let bad = neuralhead(&[
        "render",
        "--view",
        "rgb",
        "--avatar",
        "assets/default_rig.safetensors",
        "--out",
        "/tmp/x.png",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not an avatar file"));
    std::fs::remove_file(out).ok();
}

#[test]
fn params_files_drive_the_render() {
    let dir = std::env::temp_dir().join(format!("neuralhead-params-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let params = dir.join("smile.json");
    std::fs::write(&params, r#"{"expression": {"mouthSmile_L": 1, "mouthSmile_R": 1}, "eyes": {"left": [0, 0.3, 0], "right": [0, 0.3, 0]}}"#).unwrap();
    let from_file = render(
        &dir.join("file.png"),
        &["--params", params.to_str().unwrap()],
    );
    let from_flags = render(
        &dir.join("flags.png"),
        &[
            "--exp",
            "mouthSmile_L=1",
            "--exp",
            "mouthSmile_R=1",
            "--eyes",
            "0,0.3,0",
        ],
    );
    assert_eq!(
        from_file, from_flags,
        "a params file and the same flags render the same frame"
    );

    std::fs::write(&params, r#"{"expression": {"mouthSmile_L": "wide"}}"#).unwrap();
    let out = neuralhead(&[
        "render",
        "--params",
        params.to_str().unwrap(),
        "--out",
        "/tmp/x.png",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("not a valid RigParams JSON file"),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_input_is_a_message_not_a_panic() {
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "render",
                "--rig",
                "/nonexistent.safetensors",
                "--out",
                "/tmp/x.png",
            ],
            "cannot read the rig file",
        ),
        (
            &["render", "--exp", "grin=1", "--out", "/tmp/x.png"],
            "has no expression `grin`",
        ),
        (
            &["render", "--exp", "jawOpen", "--out", "/tmp/x.png"],
            "expected NAME=VALUE",
        ),
        (
            &["render", "--size", "100000", "--out", "/tmp/x.png"],
            "--size",
        ),
    ];
    for (args, message) in cases {
        let out = neuralhead(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains(message),
            "{args:?}: expected `{message}` in: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    }
}
