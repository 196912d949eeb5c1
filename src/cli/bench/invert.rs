//! The inversion's default path on the astronaut portrait: face and fit on the CPU, then per
//! N the setup (rasterize and march the fitted geometry once) and ms per optimisation step,
//! with the total a full default run would take, all measured in this run.

use super::Stopwatch;
use crate::gpu::Gpu;
use crate::invert::optimise::{OptimiseSettings, Optimiser};
use crate::invert::run::Prepared;
use crate::rig::default_rig;

const PORTRAIT: &str = "assets/astronaut.png";

pub fn run(gpu: &Gpu, sizes: &[usize], steps: usize) -> anyhow::Result<()> {
    let rig = default_rig::embedded();
    let mut clock = Stopwatch::start();
    let prepared = Prepared::load(std::path::Path::new(PORTRAIT), &rig, Default::default())
        .map_err(|e| anyhow::anyhow!("{e:#} (run the bench from the repository)"))?;
    println!(
        "inversion of {PORTRAIT}: face, landmarks and rig fit {:.0} ms (CPU)",
        clock.lap()
    );
    let unwrapped = prepared.unwrapped(&rig)?;
    println!(
        "the portrait unwrapped into the atlas {:.0} ms (CPU)",
        clock.lap()
    );
    let full = OptimiseSettings::default();
    for &n in sizes {
        let settings = OptimiseSettings {
            resolution: n,
            ..full
        };
        clock.lap();
        let target = prepared.target(n);
        let mut optimiser =
            Optimiser::new(gpu, &rig, &prepared.fit, &target, &unwrapped, settings)?;
        let setup = clock.wait(gpu);
        optimiser.step()?; // compiles the kernels
        let first = clock.wait(gpu);
        let mut loss = 0.0;
        for _ in 0..steps {
            loss = optimiser.step()?.loss;
        }
        let per_step = clock.wait(gpu) / steps as f64;
        println!(
            "N = {n:>3}: setup {setup:.0} ms, first step {first:.0} ms, {per_step:.0} ms per step \
             ({steps} timed, loss {loss:.4}); a {}-step run ≈ {:.1} min",
            full.steps,
            (setup + first + per_step * (full.steps - 1) as f64) / 60e3
        );
    }
    Ok(())
}
