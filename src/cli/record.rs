//! `neuralhead record --orbit 360 --out turn/`: an animation rendered to a PNG sequence and,
//! when ffmpeg is on the PATH, an MP4 (see `crate::record`).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::render::ViewArgs;
use super::rig_args::RigArgs;
use crate::avatar::pipeline::{FrameOptions, FramePipeline, RASTER_RESOLUTION};
use crate::gpu::{AdapterChoice, Gpu};
use crate::record::{Animation, Recording, record};
use crate::render::modes::RenderMode;
use crate::rig::sequence::Sequence;

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("animation").required(true).args(["orbit", "slider", "sequence"])))]
pub struct RecordArgs {
    #[command(flatten)]
    pub rig: RigArgs,
    #[command(flatten)]
    pub camera: ViewArgs,
    /// Turn the camera this many degrees of yaw about the head (360: a full turn).
    #[arg(long, allow_hyphen_values = true)]
    pub orbit: Option<f64>,
    /// Sweep one expression there and back: `NAME` (0 → 1), or `NAME=FROM..TO`.
    #[arg(long)]
    pub slider: Option<String>,
    /// Play an expression sequence (CSV or JSON of per-frame rig parameters).
    #[arg(long)]
    pub sequence: Option<PathBuf>,
    /// Frames of an orbit or a sweep.
    #[arg(long, default_value_t = 60)]
    pub frames: usize,
    /// Frames per second of the video (a sequence keeps its own).
    #[arg(long, default_value_t = 30.0)]
    pub fps: f64,
    /// The folder to create for the frames (it must not exist, or be empty).
    #[arg(long)]
    pub out: PathBuf,
    /// Only the PNG frames, no MP4.
    #[arg(long)]
    pub no_video: bool,
    /// The avatar: a file, `default`, `painted` or `random` (as for `render`).
    #[arg(long, default_value = "default")]
    pub avatar: String,
    /// Neural rendering resolution N.
    #[arg(long, default_value_t = 64)]
    pub neural_size: usize,
    /// Samples per ray relative to Next3D's 48 + 48 (0.5 … 4).
    #[arg(long, default_value_t = 1.0)]
    pub samples: f64,
    /// What each frame shows.
    #[arg(long, value_enum, default_value_t = RecordView::Rgb)]
    pub view: RecordView,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordView {
    Rgb,
    Depth,
    Opacity,
}

pub fn run(adapter: &AdapterChoice, args: &RecordArgs) -> anyhow::Result<()> {
    super::render::check_neural_args(args.neural_size, args.samples)?;
    let rig = args.rig.rig()?;
    let params = args.rig.params()?;
    let animation = if let Some(degrees) = args.orbit {
        Animation::Orbit { degrees }
    } else if let Some(slider) = &args.slider {
        parse_slider(slider)?
    } else {
        let path = args.sequence.as_ref().context("choose an animation")?;
        Animation::Sequence(
            Sequence::load(path, &rig)
                .with_context(|| format!("reading the sequence {}", path.display()))?,
        )
    };
    if let Animation::Slider { name, .. } = &animation {
        // An unknown name fails here, with the list of valid ones, before any rendering.
        params.clone().with_expression(name, 0.0).resolve(&rig)?;
    }
    let recording = Recording {
        animation,
        frames: args.frames,
        fps: args.fps,
        params,
        camera: args.camera.camera()?,
        options: FrameOptions {
            resolution: args.neural_size,
            samples_scale: args.samples,
            ..Default::default()
        },
        mode: match args.view {
            RecordView::Rgb => RenderMode::Rgb,
            RecordView::Depth => RenderMode::Depth,
            RecordView::Opacity => RenderMode::Opacity,
        },
        out_dir: args.out.clone(),
        video: !args.no_video,
    };
    let avatar = super::neural::load_avatar(&args.avatar, &rig, &args.rig.rig)?;
    let gpu = Gpu::new(adapter)?;
    let mut pipeline = FramePipeline::new(&gpu, rig, &avatar, RASTER_RESOLUTION)?;
    let bar = indicatif::ProgressBar::new(recording.frame_count() as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} frame {pos}/{len}  elapsed {elapsed}  left {eta}",
        )
        .context("the progress bar template")?,
    );
    let recorded = record(&mut pipeline, &recording, |i, _, _| {
        bar.set_position(i as u64 + 1);
        true
    })?;
    bar.finish_and_clear();
    println!(
        "wrote {} frames to {} ({})",
        recorded.frames,
        recorded.dir.display(),
        gpu.describe()
    );
    if let Some(video) = &recorded.video {
        println!("wrote {}", video.display());
    }
    if let Some(note) = &recorded.video_note {
        eprintln!("{note}");
    }
    Ok(())
}

/// `NAME` or `NAME=FROM..TO`.
fn parse_slider(text: &str) -> anyhow::Result<Animation> {
    let (name, range) = match text.split_once('=') {
        Some((name, range)) => (name, Some(range)),
        None => (text, None),
    };
    let (from, to) = match range {
        None => (0.0, 1.0),
        Some(range) => {
            let (a, b) = range.split_once("..").with_context(|| {
                format!("--slider {text}: write NAME=FROM..TO, e.g. jawOpen=0..0.8")
            })?;
            let number = |s: &str| {
                s.trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .with_context(|| format!("--slider {text}: `{s}` is not a number"))
            };
            (number(a)?, number(b)?)
        }
    };
    anyhow::ensure!(!name.trim().is_empty(), "--slider needs an expression name");
    Ok(Animation::Slider {
        name: name.trim().to_string(),
        from,
        to,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slider_arguments_parse() {
        let Animation::Slider { name, from, to } = parse_slider("jawOpen=0.2..0.8").unwrap() else {
            panic!("a slider");
        };
        assert_eq!((name.as_str(), from, to), ("jawOpen", 0.2, 0.8));
        let Animation::Slider { from, to, .. } = parse_slider("jawOpen").unwrap() else {
            panic!("a slider");
        };
        assert_eq!((from, to), (0.0, 1.0));
        assert!(parse_slider("jawOpen=0.2").is_err());
        assert!(parse_slider("jawOpen=a..1").is_err());
        assert!(parse_slider("=0..1").is_err());
    }
}
