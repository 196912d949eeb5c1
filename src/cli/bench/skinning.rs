//! `neuralhead bench`: GPU skinning per frame against the f64 CPU reference, per rig,
//! measured in the same run.

use std::time::Instant;

use super::BenchArgs;
use crate::cli::rig_args::load_rig;
use crate::gpu::Gpu;
use crate::rig::params::{Resolved, RigParams};
use crate::rig::skin_cpu;
use crate::rig::skin_gpu::GpuSkinner;
use crate::rig::{Rig, RigKind};

/// GPU skinning per frame against the f64 reference, for each rig.
pub fn run(gpu: &Gpu, args: &BenchArgs) -> anyhow::Result<()> {
    println!("GPU skinning (vertices + 68 landmarks) against the f64 CPU reference, ms per frame.");
    println!(
        "round trip: upload parameters, dispatch, read back. pipelined: all frames queued, one wait."
    );
    println!(
        "{:<16} {:>8} {:>6} {:>14} {:>13} {:>9} {:>14} {:>13}",
        "rig",
        "vertices",
        "frames",
        "gpu round trip",
        "gpu pipelined",
        "cpu f64",
        "cpu/round trip",
        "cpu/pipelined"
    );
    for name in &args.rigs {
        let rig = load_rig(name)?;
        let frames = varied_params(&rig, args.frames);
        let skinner = GpuSkinner::new(rig.clone(), &frames[0], &gpu.burn);
        // Warm-up compiles the pipeline.
        let _ = skinner.skin(&frames[0]).0.into_data();

        let start = Instant::now();
        for p in &frames {
            // Each frame is read back, as the viewer's mesh overlay and landmark users do.
            let (vertices, landmarks) = skinner.skin(p);
            let _ = (vertices.into_data(), landmarks.into_data());
        }
        let gpu_ms = start.elapsed().as_secs_f64() * 1e3 / frames.len() as f64;

        // Queued back to back with one wait at the end, as the frame pipeline uses them
        // (the rasterizer reads the vertices on the GPU).
        let start = Instant::now();
        let outputs: Vec<_> = frames.iter().map(|p| skinner.skin(p)).collect();
        gpu.sync();
        let pipelined_ms = start.elapsed().as_secs_f64() * 1e3 / frames.len() as f64;
        drop(outputs);

        let start = Instant::now();
        for p in &frames {
            std::hint::black_box(skin_cpu::skin(&rig, p));
        }
        let cpu_ms = start.elapsed().as_secs_f64() * 1e3 / frames.len() as f64;
        println!(
            "{:<16} {:>8} {:>6} {:>14.3} {:>13.3} {:>9.3} {:>14.2} {:>13.2}",
            short(name),
            rig.num_vertices(),
            frames.len(),
            gpu_ms,
            pipelined_ms,
            cpu_ms,
            cpu_ms / gpu_ms,
            cpu_ms / pipelined_ms
        );
    }
    Ok(())
}

/// A sweep of expressions and jaw angles, so no frame repeats the previous one.
fn varied_params(rig: &Rig, count: usize) -> Vec<Resolved> {
    (0..count)
        .map(|i| {
            let t = i as f32 / count as f32;
            let mut params = RigParams {
                jaw: [0.3 * t, 0.0, 0.0],
                ..Default::default()
            };
            params.eyes.left = [0.1 * t, -0.2 * t, 0.0];
            params.eyes.right = params.eyes.left;
            for k in 0..rig.expression_basis.count.min(10) {
                let w = match rig.kind {
                    RigKind::Default => t,
                    RigKind::Flame2020 => 2.0 * t - 1.0,
                };
                params.expression.insert(rig.expression_names[k].clone(), w);
            }
            params
                .resolve(rig)
                .expect("generated parameters are valid")
                .0
        })
        .collect()
}

fn short(name: &str) -> String {
    std::path::Path::new(name)
        .file_name()
        .map_or(name.into(), |n| n.to_string_lossy().into_owned())
}
