//! `neuralhead invert portrait.jpg --out me.safetensors`: one-shot inversion of a portrait
//! into an avatar of the default rig, with a progress bar (step, loss, time left).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use crate::avatar::file::{self, Precision};
use crate::gpu::{AdapterChoice, Gpu};
use crate::invert::optimise::OptimiseSettings;
use crate::invert::run::{Prepared, avatar_name, invert};
use crate::rig::default_rig;

#[derive(Args, Debug)]
pub struct InvertArgs {
    /// The portrait (PNG or JPEG) with one face looking roughly toward the camera.
    pub portrait: PathBuf,
    /// The avatar file to write (only once the inversion succeeds; written atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Optimisation steps.
    #[arg(long, default_value_t = OptimiseSettings::default().steps)]
    pub steps: usize,
    /// Neural rendering resolution N of the optimisation.
    #[arg(long, default_value_t = OptimiseSettings::default().resolution)]
    pub resolution: usize,
    /// Coarse and importance samples per ray while optimising.
    #[arg(long, default_value_t = OptimiseSettings::default().samples)]
    pub samples: usize,
    /// Adam's learning rate for the texture and the static planes.
    #[arg(long, default_value_t = OptimiseSettings::default().learning_rate)]
    pub learning_rate: f64,
    /// Side of the static triplane stored in the avatar.
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

pub fn run(adapter: &AdapterChoice, args: &InvertArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.steps > 0, "--steps must be at least 1");
    anyhow::ensure!(
        (16..=512).contains(&args.resolution),
        "--resolution must be between 16 and 512"
    );
    let rig = default_rig::embedded();
    let prepared = Prepared::load(&args.portrait, &rig)
        .with_context(|| format!("inverting {}", args.portrait.display()))?;
    if prepared.faces_found > 1 {
        eprintln!("{} faces found; using the largest.", prepared.faces_found);
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
    let settings = OptimiseSettings {
        resolution: args.resolution,
        steps: args.steps,
        samples: args.samples,
        learning_rate: args.learning_rate,
        static_size: args.static_size,
        ..Default::default()
    };
    let bar = indicatif::ProgressBar::new(args.steps as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} step {pos}/{len}  {msg}  elapsed {elapsed}  left {eta}",
        )
        .context("the progress bar template")?,
    );
    let started = Instant::now();
    let mut last_render = None;
    let name = avatar_name(&args.portrait);
    let avatar = invert(&gpu, &rig, &prepared, settings, &name, |progress| {
        let r = progress.report;
        let status = format!(
            "loss {:.4} (L1 {:.4}, 1−SSIM {:.4})",
            r.loss, r.l1, r.structure
        );
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
        args.steps,
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
