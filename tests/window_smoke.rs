//! The real window under Xvfb: it opens on the shared device, draws the first full frame, and the
//! screenshot it takes of itself shows the face in the viewport.

use std::process::Command;

#[test]
fn window_opens_and_draws_the_avatar() {
    let shot = std::env::temp_dir().join(format!("neuralhead-window-{}.png", std::process::id()));
    let runtime = std::env::temp_dir();
    let out = Command::new("xvfb-run")
        .args([
            "-a",
            "-s",
            "-screen 0 1280x1024x24",
            env!("CARGO_BIN_EXE_neuralhead"),
            "view",
            "--screenshot",
        ])
        .arg(&shot)
        .env("XDG_RUNTIME_DIR", &runtime)
        .output()
        .expect("xvfb-run is needed for the window test (apt install xvfb)");
    assert!(
        out.status.success(),
        "the window failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let image = image::open(&shot)
        .expect("the window saved its screenshot")
        .to_rgb8();
    assert!(
        image.width() >= 800 && image.height() >= 600,
        "{}×{}",
        image.width(),
        image.height()
    );
    // Skin-coloured pixels (the face) fill a good part of the viewport, right of the panel.
    let skin = image
        .pixels()
        .filter(|p| p[0] > 120 && p[0] > p[2] + 30 && p[1] > 80)
        .count();
    let share = skin as f64 / (image.width() * image.height()) as f64;
    assert!(
        share > 0.1,
        "only {:.1}% of the window shows the face",
        share * 100.0
    );
    std::fs::remove_file(shot).ok();
}
