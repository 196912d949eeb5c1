//! Driving an avatar with a person's own face: a video's frames decoded by ffmpeg
//! (`video.rs`), the face tracked frame by frame into expression weights, gaze and head pose
//! (`track.rs`), smoothed (`smooth.rs`), and gathered into an expression sequence that the
//! timeline plays and the recorder renders.

pub mod camera;
pub mod openness;
pub mod smooth;
pub mod track;
pub mod video;

use std::path::Path;
use std::time::{Duration, Instant};

use crate::Cancelled;
use crate::invert::face::FaceModels;
use crate::rig::Rig;
use crate::rig::sequence::Sequence;
use camera::LiveFrames;
use track::{TrackSettings, Tracked, Tracker};
use video::{Frames, probe};

/// Frames are tracked at most this large on their long side (640 × 480 keeps tracking fast
/// and holds a face of a normal webcam framing at well over a hundred pixels).
pub const TRACK_SIDE: u32 = 640;

/// A video's motion.
#[derive(Debug, Clone)]
pub struct Motion {
    /// One frame per video frame, at the video's rate, with the head pose as camera moves.
    pub sequence: Sequence,
    /// Frames without a face (they hold the last state).
    pub missed: usize,
    /// Time spent tracking (decoding excluded).
    pub tracking: Duration,
}

/// Tracks every frame of the video at `path` on `rig` (the default head rig).
/// `on_frame(i, total, frame)` is told of each frame (as decoded, at most TRACK_SIDE) and
/// returns false to cancel.
pub fn track_video(
    path: &Path,
    rig: &Rig,
    settings: TrackSettings,
    mut on_frame: impl FnMut(usize, Option<usize>, &image::RgbImage) -> bool,
) -> anyhow::Result<Motion> {
    let info = probe(path)?;
    let mut frames = Frames::open(path, &info, TRACK_SIDE)?;
    let models = FaceModels::shared()?;
    let mut tracker = Tracker::new(models, rig, info.fps, settings);
    let mut sequence = Sequence {
        fps: info.fps,
        ..Default::default()
    };
    let mut tracking = Duration::ZERO;
    while let Some(image) = frames.next_frame()? {
        let started = Instant::now();
        let tracked = tracker.track(&image)?;
        tracking += started.elapsed();
        sequence.frames.push(tracked.params);
        sequence.head_poses.push(tracked.pose);
        if !on_frame(sequence.frames.len() - 1, info.frames, &image) {
            return Err(Cancelled.into());
        }
    }
    let shown = path.display();
    anyhow::ensure!(
        !sequence.frames.is_empty(),
        "{shown} has no frames ffmpeg can decode"
    );
    anyhow::ensure!(
        tracker.missed < sequence.frames.len(),
        "no face was found in any of the {} frames of {shown}: use a video in which a face \
         looks roughly toward the camera",
        sequence.frames.len()
    );
    if tracker.missed > 0 {
        sequence.notes.push(format!(
            "no face in {} of {} frames; the last pose was held there",
            tracker.missed,
            sequence.frames.len()
        ));
    }
    Ok(Motion {
        sequence,
        missed: tracker.missed,
        tracking,
    })
}

/// Tracks a live source (a webcam) until `on_frame(tracked, frame)` returns false or the
/// source ends (its reason as the error). Each step takes the newest frame, so the avatar
/// follows as fast as tracking goes and never falls behind the camera; `fps` is the rate the
/// smoothing assumes.
pub fn track_live(
    mut frames: LiveFrames,
    rig: &Rig,
    settings: TrackSettings,
    fps: f64,
    mut on_frame: impl FnMut(&Tracked, &image::RgbImage) -> bool,
) -> anyhow::Result<()> {
    let models = FaceModels::shared()?;
    let mut tracker = Tracker::new(models, rig, fps, settings);
    loop {
        let image = frames.next_frame().map_err(anyhow::Error::msg)?;
        let tracked = tracker.track(&image)?;
        if !on_frame(&tracked, &image) {
            return Ok(());
        }
    }
}
