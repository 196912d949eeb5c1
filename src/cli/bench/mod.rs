//! `neuralhead bench`: each pipeline step on the GPU against its CPU reference, measured in
//! the same run, printed as milliseconds per frame and ratios.

mod raster;
mod skinning;

use clap::Args;

use crate::gpu::{AdapterChoice, Gpu};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Frames timed per path for skinning (after warm-up); the raster step uses a tenth.
    #[arg(long, default_value_t = 50)]
    pub frames: usize,
    /// Rigs to time skinning on: `default`, `synthetic-flame` (FLAME 2020's sizes, random
    /// contents) and/or rig files such as your converted FLAME.
    #[arg(long = "rig", default_values_t = vec!["default".to_string(), super::rig_args::SYNTHETIC_FLAME.to_string()])]
    pub rigs: Vec<String>,
    /// Raster resolution for the raster step.
    #[arg(long, default_value_t = 256)]
    pub resolution: usize,
}

pub fn run(adapter: &AdapterChoice, args: &BenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.frames > 0, "--frames must be at least 1");
    anyhow::ensure!(
        (16..=1024).contains(&args.resolution),
        "--resolution must be within 16…1024"
    );
    let gpu = Gpu::new(adapter)?;
    println!("adapter: {}\n", gpu.describe());
    skinning::run(&gpu, args)?;
    println!();
    raster::run(&gpu, args.resolution, (args.frames / 10).max(2))
}
