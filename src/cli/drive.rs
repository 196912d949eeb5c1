//! `neuralhead drive video.mp4 --out driven/`: the face in a video tracked frame by frame
//! and played on an avatar. Writes `motion.csv` (the sequence: expression weights, gaze and
//! head pose per frame, at the video's rate; the viewer's timeline and `record --sequence`
//! play it), the avatar's PNG frames and `recording.mp4`, and with `--side-by-side` the source
//! and the avatar together. Nothing is left under `--out` unless the whole run succeeds.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use crate::avatar::pipeline::{FrameOptions, FramePipeline, RASTER_RESOLUTION};
use crate::drive::smooth::OneEuroSettings;
use crate::drive::track::{Neutral, TrackSettings};
use crate::drive::track_video;
use crate::gpu::{AdapterChoice, Gpu};
use crate::record::{Animation, Recording, record};
use crate::render::camera::OrbitCamera;
use crate::render::modes::RenderMode;
use crate::rig::{RigKind, RigParams, default_rig};

#[derive(Args, Debug)]
pub struct DriveArgs {
    /// The video with the face that drives (anything ffmpeg reads).
    pub video: PathBuf,
    /// The folder to create for motion.csv, the frames and the MP4 (must not exist, or be
    /// empty).
    #[arg(long)]
    pub out: PathBuf,
    /// The avatar driven: `default`, `painted` or an avatar file of the default rig.
    #[arg(long, default_value = "default")]
    pub avatar: String,
    /// The frame (from 0) that shows the subject's neutral face; expressions are measured
    /// from it. Default: the first frame with a face.
    #[arg(long, conflicts_with = "absolute")]
    pub neutral_frame: Option<usize>,
    /// Use the fitted weights as they are, without a neutral frame.
    #[arg(long)]
    pub absolute: bool,
    /// Smoothing: the One Euro filter's cut-off (Hz) of a still face; lower is smoother.
    #[arg(long, default_value_t = OneEuroSettings::default().min_cutoff)]
    pub min_cutoff: f64,
    /// Smoothing: how fast the cut-off rises with speed; higher follows quick moves closer.
    #[arg(long, default_value_t = OneEuroSettings::default().beta)]
    pub beta: f64,
    /// Only track: write motion.csv, render nothing.
    #[arg(long)]
    pub motion_only: bool,
    /// Also write side_by_side.mp4: the source video beside the avatar.
    #[arg(long)]
    pub side_by_side: bool,
    /// Neural rendering resolution N of the avatar's frames.
    #[arg(long, default_value_t = 128)]
    pub neural_size: usize,
    /// Samples per ray relative to Next3D's 48 + 48 (0.5 … 4).
    #[arg(long, default_value_t = 1.0)]
    pub samples: f64,
}

pub fn run(adapter: &AdapterChoice, args: &DriveArgs) -> anyhow::Result<()> {
    super::render::check_neural_args(args.neural_size, args.samples)?;
    anyhow::ensure!(
        args.min_cutoff > 0.0 && args.beta >= 0.0,
        "--min-cutoff must be above 0 and --beta at least 0"
    );
    let rig = default_rig::embedded();
    anyhow::ensure!(
        rig.kind == RigKind::Default,
        "driving needs the default head rig"
    );
    // The avatar is checked before minutes of tracking.
    let avatar = (!args.motion_only)
        .then(|| super::neural::load_avatar(&args.avatar, &rig, "default"))
        .transpose()
        .context("the avatar to drive (drive works with avatars of the default rig)")?;
    check_out_dir(&args.out)?;
    let settings = TrackSettings {
        smoothing: OneEuroSettings {
            min_cutoff: args.min_cutoff,
            beta: args.beta,
            ..Default::default()
        },
        neutral: match (args.absolute, args.neutral_frame) {
            (true, _) => Neutral::Absolute,
            (false, Some(n)) => Neutral::Frame(n),
            (false, None) => Neutral::First,
        },
        ..Default::default()
    };
    let bar = progress_bar("tracking")?;
    let started = Instant::now();
    let motion = track_video(&args.video, &rig, settings, |i, total, _| {
        if let Some(total) = total {
            bar.set_length(total as u64);
        }
        bar.set_position(i as u64 + 1);
        true
    })
    .with_context(|| format!("tracking {}", args.video.display()))?;
    bar.finish_and_clear();
    let count = motion.sequence.frames.len();
    eprintln!(
        "tracked {count} frames in {:.1} s ({:.1} frames/s tracking, decoding included: {:.1}); \
         no face in {}",
        started.elapsed().as_secs_f64(),
        count as f64 / motion.tracking.as_secs_f64().max(1e-9),
        count as f64 / started.elapsed().as_secs_f64().max(1e-9),
        motion.missed
    );
    let mut sequence = motion.sequence;
    let Some(avatar) = avatar else {
        std::fs::create_dir_all(&args.out)
            .with_context(|| format!("cannot create {}", args.out.display()))?;
        let path = args.out.join("motion.csv");
        sequence.save_csv(&path, &rig)?;
        println!("wrote {}", path.display());
        return Ok(());
    };
    // The avatar keeps its own identity; the motion brings everything else.
    let start = avatar.source.params.clone();
    for frame in &mut sequence.frames {
        frame.identity = start.identity.clone();
    }
    let recording = Recording {
        animation: Animation::Sequence(sequence.clone()),
        frames: count,
        fps: sequence.fps,
        params: RigParams {
            identity: start.identity.clone(),
            ..Default::default()
        },
        camera: OrbitCamera::default(),
        options: FrameOptions {
            resolution: args.neural_size,
            samples_scale: args.samples,
            ..Default::default()
        },
        mode: RenderMode::Rgb,
        out_dir: args.out.clone(),
        video: true,
    };
    let gpu = Gpu::new(adapter)?;
    let mut pipeline = FramePipeline::new(&gpu, rig.clone(), &avatar, RASTER_RESOLUTION)?;
    let bar = progress_bar("rendering")?;
    bar.set_length(count as u64);
    let recorded = record(&mut pipeline, &recording, |i, _, _| {
        bar.set_position(i as u64 + 1);
        true
    })?;
    bar.finish_and_clear();
    let motion_path = args.out.join("motion.csv");
    sequence.save_csv(&motion_path, &rig)?;
    println!(
        "wrote {} and {} frames to {}",
        motion_path.display(),
        recorded.frames,
        recorded.dir.display()
    );
    match (&recorded.video, &recorded.video_note) {
        (Some(video), _) => {
            println!("wrote {}", video.display());
            if args.side_by_side {
                let both = args.out.join("side_by_side.mp4");
                side_by_side(&args.video, video, &both)?;
                println!("wrote {}", both.display());
            }
        }
        (None, Some(note)) => eprintln!("{note}"),
        (None, None) => {}
    }
    Ok(())
}

/// Refuses a non-empty `--out` before any tracking (the recorder checks again).
fn check_out_dir(out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        let empty = std::fs::read_dir(out)
            .with_context(|| format!("{} is not a readable folder", out.display()))?
            .next()
            .is_none();
        anyhow::ensure!(
            empty,
            "{} already exists and is not empty: choose a new folder (nothing was overwritten)",
            out.display()
        );
    }
    Ok(())
}

fn progress_bar(stage: &str) -> anyhow::Result<indicatif::ProgressBar> {
    Ok(indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{stage} {{bar:30}} frame {{pos}}/{{len}}  elapsed {{elapsed}}  left {{eta}}"
        ))
        .context("the progress bar template")?,
    ))
}

/// The source and the avatar side by side at the avatar's height (written atomically).
fn side_by_side(source: &Path, avatar: &Path, out: &Path) -> anyhow::Result<()> {
    let temp = out.with_extension("partial.mp4");
    let output = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-i"])
        .arg(source)
        .arg("-i")
        .arg(avatar)
        .args([
            "-filter_complex",
            "[1:v]setsar=1[b];[0:v][b]scale2ref=-2:ih[a][b2];[a]setsar=1[a2];[a2][b2]hstack=shortest=1",
            "-an",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(&temp)
        .output()
        .context("running ffmpeg for the side-by-side video")?;
    if !output.status.success() {
        let _ = std::fs::remove_file(&temp);
        anyhow::bail!(
            "ffmpeg could not put the videos side by side: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    std::fs::rename(&temp, out).with_context(|| format!("cannot write {}", out.display()))
}
