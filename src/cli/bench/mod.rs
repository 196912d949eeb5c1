//! `neuralhead bench`: each pipeline step on the GPU against its CPU reference, measured in
//! the same run, printed as milliseconds per frame and ratios.

mod drive;
mod fadm;
mod invert;
mod raster;
mod render;
mod skinning;
mod soak;
mod viewer;

use std::time::Instant;

use clap::{Args, ValueEnum};

use crate::gpu::{AdapterChoice, Gpu};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Frames timed per path for skinning (after warm-up); the raster step uses a tenth.
    #[arg(long, default_value_t = 50)]
    pub frames: usize,
    /// Rigs to time skinning on: `default` (the whole head), `face-mask`, `synthetic-flame`
    /// (FLAME 2020's sizes, random contents) and/or rig files such as your converted FLAME.
    #[arg(long = "rig", default_values_t = vec!["default".to_string(), super::rig_args::FACE_MASK.to_string(), super::rig_args::SYNTHETIC_FLAME.to_string()])]
    pub rigs: Vec<String>,
    /// The avatar the render and viewer steps draw: `default`, `painted`, `random` or a file.
    #[arg(long, default_value = "default")]
    pub avatar: String,
    /// The rig that avatar lives on (`default`, `face-mask` or a rig file).
    #[arg(long, default_value = "default")]
    pub avatar_rig: String,
    /// Raster resolution for the raster step.
    #[arg(long, default_value_t = 256)]
    pub resolution: usize,
    /// Which steps to time (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Step::Skinning, Step::Raster, Step::Render, Step::Viewer])]
    pub steps: Vec<Step>,
    /// Neural rendering resolutions for the render step.
    #[arg(long, value_delimiter = ',', default_values_t = [64, 128, 256])]
    pub neural_sizes: Vec<usize>,
    /// Full-frame resolutions for the viewer step.
    #[arg(long, value_delimiter = ',', default_values_t = [64, 128])]
    pub viewer_sizes: Vec<usize>,
    /// Optimisation resolutions N for the invert step.
    #[arg(long, value_delimiter = ',', default_values_t = [64, 128])]
    pub invert_sizes: Vec<usize>,
    /// Optimisation steps timed per N in the invert step (after the first).
    #[arg(long, default_value_t = 5)]
    pub invert_steps: usize,
    /// U-Net width (inner channels) for the fadm step; the official model has 64.
    #[arg(long, default_value_t = 64)]
    pub fadm_width: usize,
    /// Image side for the fadm step; the official model works at 256.
    #[arg(long, default_value_t = 256)]
    pub fadm_size: usize,
    /// Denoising steps timed one by one in the fadm step (after the first).
    #[arg(long, default_value_t = 2)]
    pub fadm_steps: usize,
    /// Frames of the soak step that warm up before its growth is measured (a multiple of
    /// `--soak-period`, at least two periods).
    #[arg(long, default_value_t = 2 * soak::PERIOD)]
    pub soak_warmup: usize,
    /// Frames after which the soak's random requests repeat (a row of the table every two
    /// periods); a short soak (CI's) uses a short period.
    #[arg(long, default_value_t = soak::PERIOD)]
    pub soak_period: usize,
    /// Sampler presets the fadm step runs whole.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [crate::fadm::SamplerPreset::Default, crate::fadm::SamplerPreset::Fast])]
    pub fadm_presets: Vec<crate::fadm::SamplerPreset>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Rig skinning, GPU against the f64 CPU reference.
    Skinning,
    /// Texture rasterization into the triplanes, GPU against the f64 CPU reference.
    Raster,
    /// Ray marching, fused WGSL against the burn path, and a whole default-avatar frame.
    Render,
    /// The viewer's frames per second while orbiting and while moving a slider.
    Viewer,
    /// The inversion's optimisation on the astronaut portrait: ms per step at each of
    /// `--invert-sizes`. Minutes on a CPU device, so not in the default list.
    Invert,
    /// Tracking a face at 640 × 480 for `neuralhead drive`: ms per stage and frames/s over
    /// `--frames` frames (CPU).
    Drive,
    /// FADM refinement at the official width (random weights): ms per step and per preset.
    /// Minutes on a CPU device, so not in the default list.
    Fadm,
    /// `--frames` random requests to the viewer's render thread, memory and frame rate every
    /// two `--soak-period`s (500 frames), held to ≤ 5 % growth after `--soak-warmup` and
    /// ≤ 20 % slowdown. Long, so not in the default list (`--steps soak --frames 10000`).
    Soak,
}

pub fn run(adapter: &AdapterChoice, args: &BenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.frames > 0, "--frames must be at least 1");
    anyhow::ensure!(
        (16..=1024).contains(&args.resolution),
        "--resolution must be within 16…1024"
    );
    anyhow::ensure!(
        args.neural_sizes
            .iter()
            .chain(&args.viewer_sizes)
            .all(|n| (4..=512).contains(n)),
        "--neural-sizes and --viewer-sizes must be within 4…512"
    );
    anyhow::ensure!(
        args.fadm_width >= 32 && args.fadm_width.is_multiple_of(32),
        "--fadm-width must be a multiple of 32 (GroupNorm uses 32 groups)"
    );
    anyhow::ensure!(
        args.fadm_size >= 32 && args.fadm_size.is_power_of_two(),
        "--fadm-size must be a power of two, at least 32 (five halvings)"
    );
    let gpu = Gpu::new(adapter)?;
    println!("adapter: {}", gpu.describe());
    let slow_frames = (args.frames / 10).max(2);
    // Loaded once, for the steps that draw it.
    let drawn = args
        .steps
        .iter()
        .any(|s| matches!(s, Step::Render | Step::Viewer | Step::Soak));
    let avatar = drawn.then(|| bench_avatar(args)).transpose()?;
    let avatar = || {
        avatar
            .as_ref()
            .expect("loaded for the render and viewer steps")
    };
    for step in &args.steps {
        println!();
        match step {
            Step::Skinning => skinning::run(&gpu, args)?,
            Step::Raster => raster::run(&gpu, args.resolution, slow_frames)?,
            Step::Render => render::run(&gpu, avatar(), &args.neural_sizes, slow_frames)?,
            Step::Viewer => viewer::run(&gpu, avatar(), &args.viewer_sizes, slow_frames)?,
            Step::Fadm => fadm::run(&gpu, args)?,
            Step::Invert => invert::run(&gpu, &args.invert_sizes, args.invert_steps.max(1))?,
            Step::Drive => drive::run(args.frames)?,
            Step::Soak => soak::run(
                &gpu,
                avatar(),
                &soak::SoakLength {
                    frames: args.frames,
                    warm_up: args.soak_warmup,
                    period: args.soak_period,
                },
            )?,
        }
    }
    Ok(())
}

/// The rig and avatar `--avatar` and `--avatar-rig` name, and a label for the tables.
fn bench_avatar(args: &BenchArgs) -> anyhow::Result<BenchAvatar> {
    let rig = super::rig_args::load_rig(&args.avatar_rig)?;
    let avatar = super::neural::load_avatar(&args.avatar, &rig, &args.avatar_rig)?;
    Ok(BenchAvatar {
        label: format!("{} avatar", args.avatar),
        rig,
        avatar,
    })
}

struct BenchAvatar {
    label: String,
    rig: std::sync::Arc<crate::rig::Rig>,
    avatar: crate::avatar::Avatar,
}

/// Wall-clock laps, waiting for the GPU where asked.
struct Stopwatch(Instant);

impl Stopwatch {
    fn start() -> Self {
        Self(Instant::now())
    }

    fn lap(&mut self) -> f64 {
        let now = Instant::now();
        let ms = (now - self.0).as_secs_f64() * 1e3;
        self.0 = now;
        ms
    }

    /// Waits for the GPU, then laps.
    fn wait(&mut self, gpu: &Gpu) -> f64 {
        gpu.sync();
        self.lap()
    }
}
