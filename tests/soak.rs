//! CI's short soak: `neuralhead bench --steps soak` with a short period drives the viewer's
//! own render thread with random requests (sliders, camera, views, sizes, samples, avatar
//! switches, cancelled frames) and holds memory growth after the warm-up to ≤ 5 % and the late
//! frame rate to within 20 % of the early one. The full soak (10 000 frames) is a bench run;
//! its figures are in the README's Reliability section.

use std::process::Command;

/// Short enough for CI on two cores; the warm-up covers both avatars twice.
const PERIOD: usize = 40;
const WARM_UP: usize = 4 * PERIOD;
const FRAMES: usize = WARM_UP + 6 * PERIOD;

#[test]
fn a_short_soak_keeps_memory_and_frame_rate() {
    let output = Command::new(env!("CARGO_BIN_EXE_neuralhead"))
        .args(["bench", "--steps", "soak", "--avatar", "default"])
        .args(["--frames", &FRAMES.to_string()])
        .args(["--soak-warmup", &WARM_UP.to_string()])
        .args(["--soak-period", &PERIOD.to_string()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the soak failed its limits");
    // A row per two periods after the header, and the verdict.
    let rows = stdout
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|w| w.parse::<usize>().is_ok())
        })
        .count();
    assert_eq!(rows, FRAMES / (2 * PERIOD));
    assert!(stdout.contains("soak: within the limits"));
}
