//! Driving closed loop, no person needed: a known motion of the default avatar — a jawOpen
//! sweep, two blinks, a smile and a yaw sweep of ±25° — is recorded with the project's own
//! recorder into an MP4, `neuralhead drive` tracks it, and the recovered tracks follow the
//! true ones (Pearson ≥ 0.9 each, yaw within 3° on average). Bad videos say what is wrong.

mod common;

use std::f64::consts::PI;
use std::path::{Path, PathBuf};
use std::process::Command;

use neuralhead::rig::sequence::{HeadPose, Sequence};
use neuralhead::rig::{RigParams, default_rig};

const FPS: f64 = 25.0;

fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("neuralhead-drive-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `common::neuralhead`'s outcome and everything it printed.
fn neuralhead(args: &[&str]) -> (bool, String) {
    let output = common::neuralhead(args);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

/// The true motion: `frames` frames, the first eight neutral (the tracker's neutral).
struct Truth {
    jaw: Vec<f64>,
    blink: Vec<f64>,
    smile: Vec<f64>,
    yaw: Vec<f64>,
}

impl Truth {
    fn new(frames: usize) -> Self {
        let k = |i: usize| i.saturating_sub(8) as f64;
        let n = frames as f64 - 8.0;
        let bump = |x: f64, from: f64, to: f64| {
            if (from..to).contains(&x) {
                (PI * (x - from) / (to - from)).sin().powi(2)
            } else {
                0.0
            }
        };
        Self {
            jaw: (0..frames)
                .map(|i| 0.7 * bump(k(i), 0.0, 0.6 * n))
                .collect(),
            blink: (0..frames)
                .map(|i| {
                    let x = k(i) / n;
                    f64::from(u8::from(
                        (0.2..0.26).contains(&x) || (0.7..0.76).contains(&x),
                    ))
                })
                .collect(),
            smile: (0..frames).map(|i| 0.8 * bump(k(i), 0.35 * n, n)).collect(),
            yaw: (0..frames)
                .map(|i| 25f64.to_radians() * (2.0 * PI * k(i) / n).sin())
                .collect(),
        }
    }

    fn sequence(&self) -> Sequence {
        let frames = (0..self.jaw.len())
            .map(|i| {
                [
                    ("jawOpen", self.jaw[i]),
                    ("eyeBlink_L", self.blink[i]),
                    ("eyeBlink_R", self.blink[i]),
                    ("mouthSmile_L", self.smile[i]),
                    ("mouthSmile_R", self.smile[i]),
                ]
                .iter()
                .fold(RigParams::default(), |p, (name, w)| {
                    p.with_expression(name, *w as f32)
                })
            })
            .collect();
        let head_poses = self
            .yaw
            .iter()
            .map(|&yaw| HeadPose {
                yaw,
                ..Default::default()
            })
            .collect();
        Sequence {
            fps: FPS,
            frames,
            head_poses,
            notes: Vec::new(),
        }
    }
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// One recovered track of the driven motion.
fn track(motion: &Sequence, name: &str) -> Vec<f64> {
    motion
        .frames
        .iter()
        .map(|p| f64::from(p.expression.get(name).copied().unwrap_or(0.0)))
        .collect()
}

fn record_video(dir: &Path, truth: &Truth) -> PathBuf {
    let rig = default_rig::embedded();
    let motion = dir.join("truth.csv");
    truth.sequence().save_csv(&motion, &rig).unwrap();
    let out = dir.join("recorded");
    let (ok, text) = neuralhead(&[
        "record",
        "--sequence",
        motion.to_str().unwrap(),
        "--neural-size",
        "128",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    out.join("recording.mp4")
}

/// Not yet met (issue 20), so not run by default. On the default avatar at N = 128 (the same
/// loop with the release binary): before the lids and jaw were read from the landmarks'
/// openness (`drive/openness.rs`, 2026-12-04) smile 0.986, yaw 0.989 (2.83°), jawOpen
/// −0.438, eyeBlink 0.196; with it and the lids' faster filter (2026-12-05) smile 0.975,
/// yaw 0.989 (2.30°), jawOpen 0.864, eyeBlink 0.924. Recorded at N = 256 instead: jawOpen
/// 0.951 but eyeBlink 0.885. The landmark model reads a quarter of the jaw's gap and a third
/// of a blink on these renders (issue 19's mouth and eyes); the fit recovers both from the
/// rig's own landmarks. Run it with `cargo test --test drive -- --ignored`.
#[test]
#[ignore = "issue 20: jawOpen and eyeBlink are not yet recovered from the default avatar's renders"]
fn a_recorded_motion_is_recovered_by_driving() {
    let _serial = common::one_heavy_test_at_a_time();
    let dir = workdir("loop");
    let truth = Truth::new(100);
    let video = record_video(&dir, &truth);
    let out = dir.join("driven");
    let (ok, text) = neuralhead(&[
        "drive",
        video.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--motion-only",
    ]);
    eprintln!("{text}");
    assert!(ok, "{text}");
    let rig = default_rig::embedded();
    let motion = Sequence::load(&out.join("motion.csv"), &rig).unwrap();
    assert_eq!(motion.frames.len(), truth.jaw.len());
    assert!((motion.fps - FPS).abs() < 0.01, "fps {}", motion.fps);
    let mean = |a: &[f64], b: &[f64]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x + y) / 2.0)
            .collect::<Vec<_>>()
    };
    let yaw: Vec<f64> = motion.head_poses.iter().map(|p| p.yaw).collect();
    let recovered = [
        ("jawOpen", track(&motion, "jawOpen"), &truth.jaw),
        (
            "eyeBlink",
            mean(&track(&motion, "eyeBlink_L"), &track(&motion, "eyeBlink_R")),
            &truth.blink,
        ),
        (
            "mouthSmile",
            mean(
                &track(&motion, "mouthSmile_L"),
                &track(&motion, "mouthSmile_R"),
            ),
            &truth.smile,
        ),
        ("yaw", yaw.clone(), &truth.yaw),
    ];
    let yaw_error = yaw
        .iter()
        .zip(&truth.yaw)
        .map(|(a, b)| (a - b).abs().to_degrees())
        .sum::<f64>()
        / yaw.len() as f64;
    let mut failed = Vec::new();
    for (name, got, want) in &recovered {
        let r = pearson(got, want);
        eprintln!("{name}: Pearson {r:.3}");
        if r.is_nan() || r < 0.9 {
            failed.push(format!("{name} {r:.3}"));
        }
    }
    eprintln!("yaw: mean error {yaw_error:.2}°");
    assert!(failed.is_empty(), "tracks below 0.9: {failed:?}");
    assert!(yaw_error <= 3.0, "yaw off by {yaw_error:.2}° on average");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn videos_without_a_face_or_not_videos_say_so() {
    let dir = workdir("bad");
    // A blue video of 10 frames.
    let blank = dir.join("blank.mp4");
    let made = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-f", "lavfi", "-i"])
        .arg("color=c=blue:s=320x240:d=0.4:r=25")
        .args(["-pix_fmt", "yuv420p"])
        .arg(&blank)
        .status()
        .unwrap();
    assert!(made.success());
    let out = dir.join("out");
    let (ok, text) = neuralhead(&[
        "drive",
        blank.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        !ok && text.contains("no face was found in any of the 10 frames"),
        "{text}"
    );
    assert!(!out.exists(), "nothing is left behind");

    // Text, and a video cut short, are refused with ffmpeg's reason.
    let text_file = dir.join("notes.mp4");
    std::fs::write(&text_file, b"not a video at all").unwrap();
    let (ok, text) = neuralhead(&[
        "drive",
        text_file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        !ok && text.contains("is not a video ffmpeg can read"),
        "{text}"
    );
    let bytes = std::fs::read(&blank).unwrap();
    let truncated = dir.join("truncated.mp4");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let (ok, text) = neuralhead(&[
        "drive",
        truncated.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("is not a video ffmpeg can read") || text.contains("no face was found"),
        "{text}"
    );
    assert!(!out.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn frames_without_the_face_hold_the_last_state_and_are_counted() {
    use neuralhead::drive::track::{TrackSettings, Tracker};
    use neuralhead::invert::face::{FaceModels, portrait};
    let rig = default_rig::embedded();
    let (face, _) = portrait::load("assets/astronaut.png".as_ref()).unwrap();
    let models = FaceModels::shared().unwrap();
    let mut tracker = Tracker::new(models, &rig, FPS, TrackSettings::default());
    let seen = tracker.track(&face).unwrap();
    let away = image::RgbImage::from_pixel(512, 512, image::Rgb([30, 30, 30]));
    let held = tracker.track(&away).unwrap();
    assert!(seen.found && !held.found);
    assert_eq!((held.params, held.pose), (seen.params, seen.pose));
    let back = tracker.track(&face).unwrap();
    assert!(back.found, "the face is found again once it is back");
    assert_eq!(tracker.missed, 1);
    assert!(
        tracker.identity().is_none(),
        "two frames with a face are not yet the three the identity is fitted over"
    );
}
