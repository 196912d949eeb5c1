//! Ray marching with 48 + 48 samples per ray: the fused WGSL kernel against the burn
//! reference path, measured in the same run, with the memory pool's growth; then a whole
//! frame of the benchmarked avatar (skinning to image) with its stages.

use burn::backend::{Backend, Dispatch};

use super::{BenchAvatar, Stopwatch};
use crate::avatar::pipeline::{FrameOptions, FramePipeline, RASTER_RESOLUTION};
use crate::gpu::Gpu;
use crate::render::camera::OrbitCamera;
use crate::render::decoder::FEATURES;
use crate::render::fused::render_fused_hidden;
use crate::render::hidden::hidden_planes;
use crate::render::marcher::Marcher;
use crate::render::rays::CameraLabel;
use crate::render::volume::{Randomness, RenderSettings};
use crate::rig::RigParams;

pub fn run(gpu: &Gpu, bench: &BenchAvatar, sizes: &[usize], frames: usize) -> anyhow::Result<()> {
    let mut pipeline =
        FramePipeline::new(gpu, bench.rig.clone(), &bench.avatar, RASTER_RESOLUTION)?;
    let camera = OrbitCamera {
        yaw: 0.3,
        ..Default::default()
    };
    let base = bench.avatar.source.params.clone();
    let planes = pipeline.planes(&base)?;
    println!(
        "Ray marching, {}, 48 + 48 samples per ray, ms per frame; memory in MiB: the fused\n\
         kernel's buffers (draws, images, hidden planes), and the memory pool's growth during the burn path.",
        bench.label
    );
    println!(
        "{:>5} {:>6} {:>10} {:>10} {:>10} {:>9} {:>9}",
        "N", "frames", "fused", "burn", "burn/fused", "fused MiB", "burn MiB"
    );
    for &n in sizes {
        let measure = |marcher| {
            let options = FrameOptions {
                resolution: n,
                marcher,
                ..Default::default()
            };
            release_unused(gpu);
            let before = reserved_mib(gpu);
            let mut ms = 0.0;
            // Frame 0 compiles the pipelines and is not counted.
            for frame in 0..=frames {
                let mut lap = Stopwatch::start();
                drop(pipeline.march(planes.clone(), &camera, &options));
                let t = lap.wait(gpu);
                if frame > 0 {
                    ms += t / frames as f64;
                }
            }
            (ms, reserved_mib(gpu) - before)
        };
        let (fused, _) = measure(Marcher::Fused);
        let fused_mib = fused_buffers_mib(n, FrameOptions::BASE_SAMPLES * 2, planes.hidden.dims());
        let (burn, burn_mib) = measure(Marcher::Reference);
        println!(
            "{n:>5} {frames:>6} {fused:>10.1} {burn:>10.1} {:>10.1} {fused_mib:>9.1} {burn_mib:>9.1}",
            burn / fused
        );
    }
    println!();
    whole_frame(gpu, &mut pipeline, &base, &bench.label, &camera, frames * 2)?;
    let matmul = mean_ms(gpu, frames * 2, || {
        drop(hidden_planes(planes.blended.clone(), pipeline.decoder()))
    });
    println!("  (the first layer as a matmul over every texel instead, as before: {matmul:.1})");
    let coarse_only = RenderSettings {
        importance_samples: 0,
        ..FrameOptions::default().settings(&camera)
    };
    let label = CameraLabel::from_eg3d(&camera.eg3d_label());
    let coarse = mean_ms(gpu, frames * 2, || {
        drop(render_fused_hidden(
            planes.hidden.clone(),
            pipeline.projection(),
            pipeline.decoder(),
            &label,
            &coarse_only,
            Randomness::Deterministic,
        ))
    });
    println!(
        "  (marching the 48 coarse samples alone, no importance samples: {coarse:.1}; every exact\n   \
         48 + 48 march decodes these densities and as many again)"
    );
    Ok(())
}

/// Mean ms of `run` over `frames` runs after one to warm up (pipeline compilation).
fn mean_ms(gpu: &Gpu, frames: usize, mut run: impl FnMut()) -> f64 {
    run();
    gpu.sync();
    let mut lap = Stopwatch::start();
    for _ in 0..frames {
        run();
    }
    lap.wait(gpu) / frames as f64
}

/// Skinning to image at N = 64 with the fused marcher, by stage; the expression changes
/// every frame, so nothing is served from the plane cache.
fn whole_frame(
    gpu: &Gpu,
    pipeline: &mut FramePipeline,
    base: &RigParams,
    label: &str,
    camera: &OrbitCamera,
    frames: usize,
) -> anyhow::Result<()> {
    let options = FrameOptions::default();
    let mut ms = [0.0; 5];
    for frame in 0..=frames {
        let params = base
            .clone()
            .with_expression("jawOpen", (frame % 5) as f32 / 5.0);
        let mut lap = Stopwatch::start();
        let (raster, landmarks) = pipeline.rasterize(&params)?;
        let t0 = lap.wait(gpu);
        let planes = pipeline.finish_planes(raster, landmarks)?;
        let t1 = lap.wait(gpu);
        let rendered = pipeline.march(planes, camera, &options);
        let t2 = lap.wait(gpu);
        let image = rendered.features.narrow(0, 0, 3).into_data();
        anyhow::ensure!(image.num_elements() == 3 * 64 * 64, "unexpected frame size");
        let t3 = lap.lap();
        if frame > 0 {
            for (total, t) in ms.iter_mut().zip([t0, t1, t2, t3, t0 + t1 + t2 + t3]) {
                *total += t / frames as f64;
            }
        }
    }
    println!(
        "Whole frame, {label}, N = {}, 48 + 48 samples, fused marcher, ms ({frames} frames):",
        options.resolution
    );
    println!(
        "  skinning + rasterization + blend {:.1} | hidden planes {:.1} | marching {:.1} | read back {:.1} | total {:.1}",
        ms[0], ms[1], ms[2], ms[3], ms[4]
    );
    Ok(())
}

/// The fused path allocates only these: its draws `[R, S]` and images `[C + 4, R]`, and
/// (once per expression) the hidden planes.
fn fused_buffers_mib(n: usize, samples: usize, hidden_planes: [usize; 4]) -> f64 {
    let rays = n * n;
    let hidden: usize = hidden_planes.iter().product();
    ((rays * (samples + FEATURES + 4) + hidden) * 4) as f64 / 1048576.0
}

/// Returns the memory pool's unused pages to the device, so that growth can be measured.
fn release_unused(gpu: &Gpu) {
    gpu.sync();
    Dispatch::memory_cleanup(gpu.burn.as_dispatch());
}

/// MiB the device memory pool holds (pages are kept once grown: the peak since the last
/// release).
pub(super) fn reserved_mib(gpu: &Gpu) -> f64 {
    gpu.sync();
    Dispatch::memory_pool_usage(gpu.burn.as_dispatch())
        .map_or(0.0, |u| u.bytes_reserved as f64 / 1048576.0)
}
