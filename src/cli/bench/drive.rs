//! `bench --steps drive`: tracking a face at 640 × 480 as `neuralhead drive` does — the
//! astronaut portrait moving across a webcam-sized frame — in ms per stage and frames per
//! second, measured in this run on the CPU.

use crate::drive::track::{TrackSettings, Tracker};
use crate::invert::face::{FaceModels, portrait};
use crate::rig::default_rig;

const PORTRAIT: &str = "assets/astronaut.png";

pub fn run(frames: usize) -> anyhow::Result<()> {
    let rig = default_rig::embedded();
    let (face, _) = portrait::load(PORTRAIT.as_ref())
        .map_err(|e| anyhow::anyhow!("{e} (run the bench from the repository)"))?;
    let face = image::imageops::resize(&face, 360, 360, image::imageops::FilterType::Triangle);
    let models = FaceModels::shared()?;
    let mut tracker = Tracker::new(models, &rig, 30.0, TrackSettings::default());
    // The first frames fit the identity (the whole fit): timed apart.
    let settle = TrackSettings::default().identity_frames;
    let mut started = std::time::Instant::now();
    for i in 0..frames + settle {
        if i == settle {
            tracker.times = Default::default();
            started = std::time::Instant::now();
        }
        let mut frame = image::RgbImage::from_pixel(640, 480, image::Rgb([90, 100, 110]));
        // A slow sway: the last frame's crop follows it.
        let x = 140 + (40.0 * (i as f64 * 0.2).sin()) as i64;
        image::imageops::replace(&mut frame, &face, x, 60);
        tracker.track(&frame)?;
    }
    let total = started.elapsed().as_secs_f64() * 1e3;
    let t = tracker.times;
    let per = |d: std::time::Duration| d.as_secs_f64() * 1e3 / frames as f64;
    println!(
        "drive tracking at 640×480 ({frames} frames after {settle} identity frames, CPU): \
         landmarks {:.1} | fit {:.1} | detection {:.1} ({} runs) | rest {:.2} ms per frame; \
         {:.1} ms per frame, {:.1} frames/s (target ≥ 15)",
        per(t.landmarks),
        per(t.fit),
        per(t.detect),
        t.detections,
        per(t.other),
        total / frames as f64,
        frames as f64 * 1e3 / total
    );
    anyhow::ensure!(
        tracker.missed == 0,
        "the face was lost in {} frames",
        tracker.missed
    );
    Ok(())
}
