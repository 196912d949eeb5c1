//! `neuralhead invert portrait.jpg --out me.safetensors`: one-shot inversion of a portrait
//! into an avatar, with a progress bar (step, loss, time left). By default the avatar lives
//! on the default rig and its arrays are optimised directly; with `--checkpoint` and
//! `--flame-rig` it is made by pivotal tuning of a Next3D generator on FLAME.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use crate::avatar::RigRef;
use crate::avatar::file::{self, Precision};
use crate::gpu::{AdapterChoice, Gpu};
use crate::invert::face::FaceChoice;
use crate::invert::optimise::OptimiseSettings;
use crate::invert::pti::PtiSettings;
use crate::invert::run::{Method, Prepared, avatar_name, invert};
use crate::nets::generator::Next3dCheckpoint;
use crate::rig::{RigKind, default_rig};

#[derive(Args, Debug)]
pub struct InvertArgs {
    /// The portrait (PNG or JPEG) with a face looking roughly toward the camera.
    pub portrait: PathBuf,
    /// Which face, where the portrait has several: 1 is the largest, 2 the next, …
    #[arg(long, value_name = "N", conflicts_with = "face_box")]
    pub face: Option<usize>,
    /// The face inside this box, in the portrait's pixels (for a face the detectors miss).
    #[arg(long, value_name = "X0,Y0,X1,Y1", value_delimiter = ',', num_args = 4)]
    pub face_box: Option<Vec<f32>>,
    /// The avatar file to write (only once the inversion succeeds; written atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Optimisation steps (the direct path; PTI has --latent-steps and --tuning-steps).
    #[arg(long, default_value_t = OptimiseSettings::default().steps)]
    pub steps: usize,
    /// PTI: a Next3D checkpoint converted with tools/convert_next3d.py (needs --flame-rig).
    #[arg(long, requires = "flame_rig")]
    pub checkpoint: Option<PathBuf>,
    /// PTI: the FLAME rig file (tools/convert_flame.py) the checkpoint's textures live on.
    #[arg(long, requires = "checkpoint")]
    pub flame_rig: Option<PathBuf>,
    /// PTI: steps finding the latent w (the generator frozen).
    #[arg(long, default_value_t = PtiSettings::default().latent_steps)]
    pub latent_steps: usize,
    /// PTI: Adam's step size for w.
    #[arg(long, default_value_t = PtiSettings::default().latent_learning_rate)]
    pub latent_lr: f64,
    /// PTI: steps fine-tuning the generator around w.
    #[arg(long, default_value_t = PtiSettings::default().tuning_steps)]
    pub tuning_steps: usize,
    /// PTI: Adam's step size for the generator's weights.
    #[arg(long, default_value_t = PtiSettings::default().tuning_learning_rate)]
    pub tuning_lr: f64,
    /// Neural rendering resolution N of the optimisation.
    #[arg(long, default_value_t = OptimiseSettings::default().resolution)]
    pub resolution: usize,
    /// Samples per ray while optimising (direct path: 8 groups of the frozen march; PTI:
    /// coarse and importance samples each, 48).
    #[arg(long)]
    pub samples: Option<usize>,
    /// Adam's learning rate for the texture and the static planes.
    #[arg(long, default_value_t = OptimiseSettings::default().learning_rate)]
    pub learning_rate: f64,
    /// Side of the static triplane stored in the avatar (uniform, so small).
    #[arg(long, default_value_t = OptimiseSettings::default().static_size)]
    pub static_size: usize,
    /// Storage of the texture and planes (f16 halves the file).
    #[arg(long, value_enum, default_value_t = Precision::F32)]
    pub precision: Precision,
    /// Also write the target (the portrait in the fitted framing) and the final training-view
    /// render side by side to this PNG.
    #[arg(long)]
    pub compare: Option<PathBuf>,
}

/// `--face N` (counted from 1) or `--face-box`, else the largest face.
fn face_choice(args: &InvertArgs) -> anyhow::Result<FaceChoice> {
    Ok(match (args.face, &args.face_box) {
        (Some(0), _) => anyhow::bail!("--face counts from 1 (the largest face)"),
        (Some(n), _) => FaceChoice::Index(n - 1),
        (None, Some(b)) => FaceChoice::Drawn([b[0], b[1], b[2], b[3]]),
        (None, None) => FaceChoice::Largest,
    })
}

pub fn run(adapter: &AdapterChoice, args: &InvertArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (16..=512).contains(&args.resolution),
        "--resolution must be between 16 and 512"
    );
    let (rig, rig_file) = match &args.flame_rig {
        Some(path) => {
            let rig = crate::rig::file::load(path)
                .with_context(|| format!("the FLAME rig {}", path.display()))?;
            anyhow::ensure!(
                rig.kind == RigKind::Flame2020,
                "{} is not a FLAME rig; convert yours with tools/convert_flame.py",
                path.display()
            );
            (Arc::new(rig), Some(path))
        }
        None => (default_rig::embedded(), None),
    };
    let prepared = Prepared::load(&args.portrait, &rig, face_choice(args)?)
        .with_context(|| format!("inverting {}", args.portrait.display()))?;
    if prepared.faces_found > 1 && args.face.is_none() && args.face_box.is_none() {
        eprintln!(
            "{} faces found; using the largest (--face N picks another, 1 being the largest).",
            prepared.faces_found
        );
    }
    let camera = &prepared.fit.camera;
    eprintln!(
        "fitted: yaw {:.1}°, pitch {:.1}°, roll {:.1}°, landmark error {:.1}% of the eye distance",
        camera.yaw.to_degrees(),
        camera.pitch.to_degrees(),
        camera.roll.to_degrees(),
        prepared.fit.error * 100.0
    );
    let gpu = Gpu::new(adapter)?;
    let method = method(args, rig_file)?;
    let pti = matches!(method, Method::Pivotal { .. });
    let total_steps = match &method {
        Method::Direct(s) => s.steps,
        Method::Pivotal { settings, .. } => settings.total_steps(),
    };
    let bar = indicatif::ProgressBar::new(total_steps as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} step {pos}/{len}  {msg}  elapsed {elapsed}  left {eta}",
        )
        .context("the progress bar template")?,
    );
    let started = Instant::now();
    let mut last_render = None;
    let name = avatar_name(&args.portrait);
    let avatar = invert(&gpu, &rig, &prepared, method, &name, |progress| {
        let r = progress.report;
        let status = format!(
            "{}: loss {:.4} (L1 {:.4}, 1−SSIM {:.4})",
            progress.stage, r.loss, r.l1, r.structure
        );
        if pti && gpu.is_cpu() && r.step == 1 {
            bar.suspend(|| eprintln!("{}", cpu_estimate(progress.elapsed, total_steps)));
        }
        // Without a terminal the bar is hidden: log a line per tenth of the run instead.
        if bar.is_hidden() && (r.step % (progress.total_steps / 10).max(1) == 0 || r.step == 1) {
            eprintln!(
                "step {}/{}  {status}  {:.1} s/step, {:.0} s left",
                r.step,
                progress.total_steps,
                progress.elapsed.as_secs_f64() / r.step as f64,
                progress.time_left().as_secs_f64()
            );
        }
        bar.set_position(r.step as u64);
        bar.set_message(status);
        if r.step == progress.total_steps {
            last_render = progress.optimiser.preview();
        }
        true
    })?;
    bar.finish();
    file::save_as(&avatar, &args.out, args.precision)?;
    eprintln!(
        "wrote {} after {} steps in {:.1} s",
        args.out.display(),
        total_steps,
        started.elapsed().as_secs_f64()
    );
    if let (Some(path), Some(render)) = (&args.compare, last_render) {
        let target = prepared.target(args.resolution).image();
        let n = args.resolution as u32;
        let mut both = image::RgbImage::new(2 * n, n);
        image::imageops::replace(&mut both, &target, 0, 0);
        image::imageops::replace(&mut both, &render, i64::from(n), 0);
        // Small renders are shown at 256 px or more, pixels kept sharp.
        let scale = (256 / n).max(1);
        let both = image::imageops::resize(
            &both,
            both.width() * scale,
            both.height() * scale,
            image::imageops::FilterType::Nearest,
        );
        super::render::save_png(&both, path)?;
    }
    Ok(())
}

/// The direct path, or PTI when a checkpoint and a FLAME rig are given.
fn method(args: &InvertArgs, rig_file: Option<&PathBuf>) -> anyhow::Result<Method> {
    let (Some(checkpoint), Some(rig_file)) = (&args.checkpoint, rig_file) else {
        anyhow::ensure!(args.steps > 0, "--steps must be at least 1");
        let defaults = OptimiseSettings::default();
        return Ok(Method::Direct(OptimiseSettings {
            resolution: args.resolution,
            steps: args.steps,
            samples: args.samples.unwrap_or(defaults.samples),
            learning_rate: args.learning_rate,
            static_size: args.static_size,
            ..defaults
        }));
    };
    let settings = PtiSettings {
        resolution: args.resolution,
        samples: args.samples.unwrap_or(PtiSettings::default().samples),
        latent_steps: args.latent_steps,
        latent_learning_rate: args.latent_lr,
        tuning_steps: args.tuning_steps,
        tuning_learning_rate: args.tuning_lr,
    };
    anyhow::ensure!(
        settings.total_steps() > 0,
        "--latent-steps and --tuning-steps are both 0: nothing to do"
    );
    anyhow::ensure!(settings.samples >= 2, "--samples must be at least 2");
    Ok(Method::Pivotal {
        checkpoint: Box::new(Next3dCheckpoint::open(checkpoint)?),
        rig: RigRef::Flame {
            sha256: super::neural::file_sha256(rig_file)?,
        },
        settings,
    })
}

/// PTI is meant for a GPU: after the first step on a CPU adapter, how long the whole run will
/// take and how to make it shorter.
fn cpu_estimate(first_step: std::time::Duration, total_steps: usize) -> String {
    let per_step = first_step.as_secs_f64();
    let minutes = per_step * total_steps as f64 / 60.0;
    let total = if minutes < 90.0 {
        format!("{minutes:.0} min")
    } else {
        format!("{:.1} h", minutes / 60.0)
    };
    // Steps that fit in about a quarter of an hour, split as PTI's 450 : 350.
    let budget = ((900.0 / per_step.max(1e-3)) as usize).max(2);
    let latent = (budget * 9 / 16).max(1);
    format!(
        "PTI is meant for a GPU: on this CPU adapter a step takes {per_step:.1} s, so {total_steps} \
         steps take about {total}. For a rough avatar in about 15 minutes, stop (Ctrl-C) and \
         run again with --latent-steps {latent} --tuning-steps {}.",
        budget - latent
    )
}
