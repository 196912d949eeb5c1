//! `neuralhead render --refine`: the frame refined by FADM, headlessly.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use crate::avatar::Avatar;
use crate::fadm::{Fadm, SamplerPreset, frame};
use crate::gpu::Gpu;
use crate::render::camera::OrbitCamera;
use crate::rig::{Rig, RigParams};

/// Where the converted FADM weights are looked for unless told otherwise.
pub const DEFAULT_WEIGHTS: &str = "weights/fadm.safetensors";

#[derive(Args, Debug, Clone)]
pub struct RefineArgs {
    /// Refine the neural frame (`--view rgb` or `sr`) with FADM; writes the model's 256²
    /// output.
    #[arg(long)]
    pub refine: bool,
    /// Converted FADM weights (python3 tools/convert_fadm.py diffusion.pth --out …).
    #[arg(long, default_value = DEFAULT_WEIGHTS)]
    pub fadm: PathBuf,
    /// Sampler: default (DDIM 10 steps), fast (5 steps from the noised render), quality
    /// (DDIM 25), paper (the reference's 100 steps).
    #[arg(long, value_enum, default_value_t = SamplerPreset::Default)]
    pub refine_preset: SamplerPreset,
    /// Noise seed: the same seed refines a frame the same way every time.
    #[arg(long, default_value_t = 0)]
    pub refine_seed: u32,
}

/// Refines `image` (the rendered frame), logging each step.
pub fn refine(
    gpu: &Gpu,
    rig: &Rig,
    avatar: &Avatar,
    params: &RigParams,
    camera: &OrbitCamera,
    image: &image::RgbaImage,
    args: &RefineArgs,
) -> anyhow::Result<image::RgbaImage> {
    let device = &gpu.burn;
    let model = Fadm::open(&args.fadm, device)?;
    let attribute = frame::attribute(rig, &avatar.source, params, camera)?;
    let mut refinement = frame::start(
        &model,
        image,
        attribute,
        args.refine_preset,
        args.refine_seed,
        device,
    );
    let started = Instant::now();
    while refinement.step(&model) {
        gpu.sync();
        log::info!(
            "FADM step {}/{} ({:.1} s)",
            refinement.steps_done(),
            refinement.steps(),
            started.elapsed().as_secs_f64()
        );
    }
    frame::to_image(refinement.estimate())
}
