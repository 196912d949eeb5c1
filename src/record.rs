//! Recording an animation frame by frame: the camera orbiting the head, one expression
//! swept there and back, or an expression sequence. Frames go to a numbered PNG sequence
//! and, when ffmpeg is on the PATH, into an MP4 as well. The folder appears only when every
//! frame was written: frames are rendered into a hidden sibling folder that is renamed at
//! the end, or removed when the recording fails or is cancelled.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use crate::Cancelled;
use crate::avatar::pipeline::{FrameOptions, FramePipeline};
use crate::render::camera::OrbitCamera;
use crate::render::modes::{RenderMode, to_image};
use crate::rig::RigParams;
use crate::rig::sequence::Sequence;

/// Videos shorter than this are scaled up (N is often 64: too small to watch).
const MIN_VIDEO_HEIGHT: u32 = 512;

/// What moves during a recording.
#[derive(Debug, Clone)]
pub enum Animation {
    /// The camera turns `degrees` of yaw about the head from the start camera.
    Orbit { degrees: f64 },
    /// One expression parameter goes from `from` to `to` and back.
    Slider { name: String, from: f32, to: f32 },
    /// Every frame of an expression sequence, at its own rate.
    Sequence(Sequence),
}

#[derive(Debug, Clone)]
pub struct Recording {
    pub animation: Animation,
    /// Frames of an orbit or slider sweep (a sequence has its own count).
    pub frames: usize,
    /// Frames per second of the video (a sequence has its own rate).
    pub fps: f64,
    /// The state the animation starts from.
    pub params: RigParams,
    pub camera: OrbitCamera,
    pub options: FrameOptions,
    pub mode: RenderMode,
    /// The folder to create for the frames (it must not exist yet, or be empty).
    pub out_dir: PathBuf,
    /// Also make `recording.mp4` when ffmpeg is available.
    pub video: bool,
}

/// What a finished recording wrote.
#[derive(Debug)]
pub struct Recorded {
    pub dir: PathBuf,
    pub frames: usize,
    /// The MP4, if one was made.
    pub video: Option<PathBuf>,
    /// Why no MP4 was made although one was asked for.
    pub video_note: Option<String>,
}

impl Recording {
    pub fn frame_count(&self) -> usize {
        match &self.animation {
            Animation::Sequence(sequence) => sequence.frames.len(),
            _ => self.frames,
        }
    }

    pub fn frame_rate(&self) -> f64 {
        match &self.animation {
            Animation::Sequence(sequence) => sequence.fps,
            _ => self.fps,
        }
    }

    /// The rig parameters and camera of frame `i`.
    pub fn state(&self, i: usize) -> (RigParams, OrbitCamera) {
        let count = self.frame_count().max(1);
        let t = i as f64 / count as f64;
        match &self.animation {
            Animation::Orbit { degrees } => {
                let camera = OrbitCamera {
                    yaw: self.camera.yaw + (degrees * t).to_radians(),
                    ..self.camera
                };
                (self.params.clone(), camera)
            }
            Animation::Slider { name, from, to } => {
                // A triangle wave: there during the first half, back during the second.
                let phase = 1.0 - (2.0 * t - 1.0).abs();
                let value = from + (to - from) * phase as f32;
                (
                    self.params.clone().with_expression(name, value),
                    self.camera,
                )
            }
            Animation::Sequence(sequence) => {
                let camera = sequence
                    .head_pose(i)
                    .map_or(self.camera, |head| head.on(self.camera));
                (sequence.frames[i].clone(), camera)
            }
        }
    }

    /// Checks what can be checked before any rendering.
    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=10_000).contains(&self.frame_count()),
            "a recording has 1 to 10 000 frames, not {}",
            self.frame_count()
        );
        let fps = self.frame_rate();
        anyhow::ensure!(
            fps.is_finite() && (1.0..=120.0).contains(&fps),
            "the frame rate must be within 1…120 per second, not {fps}"
        );
        if let Animation::Orbit { degrees } = self.animation {
            anyhow::ensure!(degrees.is_finite(), "the orbit's angle must be a number");
        }
        if self.out_dir.exists() {
            let empty = std::fs::read_dir(&self.out_dir)
                .with_context(|| format!("{} is not a readable folder", self.out_dir.display()))?
                .next()
                .is_none();
            anyhow::ensure!(
                empty,
                "{} already exists and is not empty: choose a new folder (nothing was overwritten)",
                self.out_dir.display()
            );
        }
        Ok(())
    }
}

/// Renders every frame of `recording` with `pipeline`. `on_frame(i, count, image)` is told
/// of each frame and returns false to cancel (then nothing stays on disk).
pub fn record(
    pipeline: &mut FramePipeline,
    recording: &Recording,
    mut on_frame: impl FnMut(usize, usize, &image::RgbaImage) -> bool,
) -> anyhow::Result<Recorded> {
    recording.validate()?;
    let count = recording.frame_count();
    let partial = partial_dir(&recording.out_dir);
    std::fs::create_dir_all(&partial)
        .with_context(|| format!("cannot create the folder {}", partial.display()))?;
    let result = (|| -> anyhow::Result<(u32, Option<Result<(), String>>)> {
        let mut height = 0;
        for i in 0..count {
            let (params, camera) = recording.state(i);
            let frame = pipeline.render(&params, &camera, &recording.options)?;
            let image = to_image(&frame, recording.mode);
            height = image.height();
            crate::cli::render::save_png(&image, &partial.join(frame_name(i)))?;
            if !on_frame(i, count, &image) {
                return Err(Cancelled.into());
            }
        }
        let video = recording
            .video
            .then(|| encode_video(&partial, recording.frame_rate(), height));
        Ok((height, video))
    })();
    let video = match result {
        Ok((_, video)) => video,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    if recording.out_dir.exists() {
        // Checked empty by `validate`; rename cannot replace a folder on every platform.
        let _ = std::fs::remove_dir(&recording.out_dir);
    }
    std::fs::rename(&partial, &recording.out_dir).with_context(|| {
        format!(
            "cannot move the frames from {} to {}",
            partial.display(),
            recording.out_dir.display()
        )
    })?;
    let (video, video_note) = match video {
        Some(Ok(())) => (Some(recording.out_dir.join(VIDEO_NAME)), None),
        Some(Err(note)) => (None, Some(note)),
        None => (None, None),
    };
    Ok(Recorded {
        dir: recording.out_dir.clone(),
        frames: count,
        video,
        video_note,
    })
}

const VIDEO_NAME: &str = "recording.mp4";

pub fn frame_name(i: usize) -> String {
    format!("frame_{i:05}.png")
}

/// A hidden sibling of `dir` for the frames while they are being written.
fn partial_dir(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map_or("recording".into(), |n| n.to_string_lossy().into_owned());
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    parent.join(format!(".{name}.{}.partial", std::process::id()))
}

/// Whether `ffmpeg` runs from the PATH.
pub fn ffmpeg_available() -> bool {
    Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// H.264 MP4 of the frames in `dir` (scaled up to at least 512 rows, even sides for
/// yuv420p); an error says why there is none.
fn encode_video(dir: &Path, fps: f64, height: u32) -> Result<(), String> {
    if !ffmpeg_available() {
        return Err(
            "ffmpeg is not on the PATH, so only the PNG frames were written; \
                    install ffmpeg for an MP4"
                .into(),
        );
    }
    let rows = height.max(MIN_VIDEO_HEIGHT).next_multiple_of(2);
    let temp = dir.join(format!(".{VIDEO_NAME}.partial"));
    let output = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-framerate"])
        .arg(format!("{fps}"))
        .arg("-i")
        .arg(dir.join("frame_%05d.png"))
        .args(["-vf"])
        .arg(format!("scale=-2:{rows}:flags=lanczos"))
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mp4"])
        .arg(&temp)
        .output()
        .map_err(|e| format!("ffmpeg did not start: {e}"))?;
    if !output.status.success() {
        let _ = std::fs::remove_file(&temp);
        return Err(format!(
            "ffmpeg failed, so only the PNG frames were written: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    std::fs::rename(&temp, dir.join(VIDEO_NAME)).map_err(|e| format!("cannot name the MP4: {e}"))
}
