//! `neuralhead export`: an avatar as a rigged glTF head and its volume as a PLY mesh; a
//! sequence as a Live Link Face CSV.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;

use super::rig_args::RigArgs;
use crate::avatar::pipeline::{FramePipeline, RASTER_RESOLUTION};
use crate::export::shape::{DEFAULT_RESOLUTION, DEFAULT_THRESHOLD};
use crate::export::{DEFAULT_TEXTURE_SIZE, export_gltf, export_shape};
use crate::gpu::{AdapterChoice, Gpu};
use crate::rig::sequence::Sequence;

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The avatar: a file, or `default` (the embedded one).
    #[arg(default_value = "default")]
    pub avatar: String,
    /// The rig and, for `--shape`, the expression (`--exp jawOpen=0.5`, `--params`); the
    /// avatar's own identity unless the parameters give one.
    #[command(flatten)]
    pub rig: RigArgs,
    /// Write the rigged head as binary glTF (.glb): morph targets named as ARKit does,
    /// joints for neck, jaw and eyes, a colour texture baked from the avatar.
    #[arg(long)]
    pub gltf: Option<PathBuf>,
    /// The baked texture's side in pixels.
    #[arg(long, default_value_t = DEFAULT_TEXTURE_SIZE)]
    pub texture_size: usize,
    /// Write the volume at the given expression as a coloured mesh (.ply, marching cubes).
    #[arg(long)]
    pub shape: Option<PathBuf>,
    /// Density samples per side of the triplane box for `--shape` (EG3D uses 256–512).
    #[arg(long, default_value_t = DEFAULT_RESOLUTION)]
    pub shape_resolution: usize,
    /// The density (σ) at which the surface lies.
    #[arg(long, default_value_t = DEFAULT_THRESHOLD)]
    pub threshold: f32,
    /// A sequence (CSV, JSON or Live Link Face CSV) to write as `--live-link`.
    #[arg(long, requires = "live_link")]
    pub sequence: Option<PathBuf>,
    /// Write `--sequence` in Live Link Face's CSV layout (ARKit's 52 columns).
    #[arg(long, requires = "sequence")]
    pub live_link: Option<PathBuf>,
}

pub fn run(adapter: &AdapterChoice, args: &ExportArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.gltf.is_some() || args.shape.is_some() || args.live_link.is_some(),
        "nothing to export: pass --gltf head.glb, --shape head.ply, or --sequence in.csv --live-link out.csv"
    );
    let rig = args.rig.rig()?;
    if let (Some(input), Some(output)) = (&args.sequence, &args.live_link) {
        let sequence = Sequence::load(input, &rig)?;
        sequence.notes.iter().for_each(|n| eprintln!("note: {n}"));
        let notes = sequence.save_live_link(output, &rig)?;
        notes.iter().for_each(|n| eprintln!("note: {n}"));
        println!(
            "wrote {} ({} frames at {} fps)",
            output.display(),
            sequence.frames.len(),
            sequence.fps
        );
    }
    if args.gltf.is_none() && args.shape.is_none() {
        return Ok(());
    }
    let avatar = super::neural::load_avatar(&args.avatar, &rig, &args.rig.rig)?;
    let mut params = args.rig.params()?;
    if params.identity == Default::default() {
        params.identity = avatar.source.params.identity.clone();
    }
    let gpu = Gpu::new(adapter)?;
    let mut pipeline = FramePipeline::new(&gpu, rig.clone(), &avatar, RASTER_RESOLUTION)?;
    let bar = indicatif::ProgressBar::new(1000).with_style(
        indicatif::ProgressStyle::with_template(
            "{msg:24} {bar:30} {percent:>3}%  elapsed {elapsed}",
        )
        .context("the progress bar template")?,
    );
    let mut progress = |stage: &str, fraction: f32| {
        bar.set_message(stage.to_string());
        bar.set_position((fraction * 1000.0) as u64);
        true
    };
    if let Some(path) = &args.gltf {
        let started = Instant::now();
        let line = export_gltf(
            &mut pipeline,
            &rig,
            &params,
            args.texture_size,
            &avatar.name,
            path,
            &mut progress,
        )?;
        // Printed beside the bar, which draws nothing when stdout is not a terminal.
        bar.suspend(|| println!("{line} in {:.1} s", started.elapsed().as_secs_f64()));
    }
    if let Some(path) = &args.shape {
        let started = Instant::now();
        let line = export_shape(
            &mut pipeline,
            &params,
            args.shape_resolution,
            args.threshold,
            path,
            &mut progress,
        )?;
        // Printed beside the bar, which draws nothing when stdout is not a terminal.
        bar.suspend(|| println!("{line} in {:.1} s", started.elapsed().as_secs_f64()));
    }
    bar.finish_and_clear();
    Ok(())
}
