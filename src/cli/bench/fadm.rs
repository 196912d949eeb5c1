//! FADM refinement at the official width with random weights: conditioning, ms per
//! denoising step, and whole refinements with the default (10-step) and fast (5-step)
//! presets, all measured in this run.

use burn::tensor::{Tensor, TensorData};

use super::Stopwatch;
use crate::fadm::random::{RandomFadmSpec, parameter_count, random_fadm};
use crate::fadm::{Fadm, FadmConfig, Refinement, SamplerPreset};
use crate::gpu::Gpu;

pub fn run(gpu: &Gpu, args: &super::BenchArgs) -> anyhow::Result<()> {
    let (width, size, steps) = (args.fadm_width, args.fadm_size, args.fadm_steps);
    let device = &gpu.burn;
    let spec = RandomFadmSpec {
        inner_channel: width,
        image_size: size,
        ..RandomFadmSpec::official()
    };
    let mut clock = Stopwatch::start();
    let weights = random_fadm(&spec);
    let config = FadmConfig::from_metadata(&weights);
    let model = Fadm::from_weights(&weights, config, device)?;
    let load = clock.wait(gpu);
    println!(
        "FADM refinement, random weights, width {width} ({} parameters), {size}² images; load {:.0} ms",
        parameter_count(&weights),
        load
    );
    let coarse = Tensor::<4>::from_data(
        TensorData::new(
            (0..3 * size * size)
                .map(|i| (i % 251) as f32 / 250.0)
                .collect::<Vec<f32>>(),
            [1, 3, size, size],
        ),
        device,
    );
    let attribute = [0.05f32; 56];

    clock.wait(gpu);
    let mut refinement =
        Refinement::new(&model, coarse.clone(), attribute, SamplerPreset::Paper, 0);
    let conditioning = clock.wait(gpu);
    // The first step compiles the kernels; it is reported on its own.
    refinement.step(&model);
    let first = clock.wait(gpu);
    let mut per_step = Vec::with_capacity(steps);
    for _ in 0..steps {
        refinement.step(&model);
        per_step.push(clock.wait(gpu));
    }
    let mean = per_step.iter().sum::<f64>() / per_step.len().max(1) as f64;
    println!(
        "  conditioning (appearance codes, motion features) {conditioning:.0} ms; first step (with kernel compilation) {first:.0} ms"
    );
    println!("  ms per denoising step (U-Net + conditioning, mean of {steps}): {mean:.0}");
    println!(
        "{:>28} {:>6} {:>12} {:>12}",
        "preset", "steps", "total ms", "ms/step"
    );
    for &preset in &args.fadm_presets {
        clock.wait(gpu);
        let mut refinement = Refinement::new(&model, coarse.clone(), attribute, preset, 0);
        while refinement.step(&model) {}
        let _ = refinement.estimate().into_data();
        let total = clock.wait(gpu);
        let n = refinement.steps();
        println!(
            "{:>28} {:>6} {:>12.0} {:>12.0}",
            preset.label(),
            n,
            total,
            total / n as f64
        );
    }
    println!(
        "  the reference's 100-step sampler would take ≈ {:.0} s here",
        mean * 100.0 / 1e3
    );
    Ok(())
}
