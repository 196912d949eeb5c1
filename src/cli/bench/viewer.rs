//! Frames per second the viewer's render thread delivers (`--avatar`, the default avatar unless
//! told otherwise): while the camera
//! orbits and while an expression slider moves (both on the preview path the viewer uses
//! while a button is held), and the full frame once the hand rests. Each frame is what the
//! render thread does: planes when the expression changed, march, read back, colour map.

use super::{BenchAvatar, Stopwatch};
use crate::avatar::pipeline::{FrameOptions, FramePipeline, RASTER_RESOLUTION, read_frame};
use crate::gpu::Gpu;
use crate::render::camera::OrbitCamera;
use crate::render::modes::{RenderMode, to_image};

pub fn run(gpu: &Gpu, bench: &BenchAvatar, sizes: &[usize], frames: usize) -> anyhow::Result<()> {
    let mut pipeline =
        FramePipeline::new(gpu, bench.rig.clone(), &bench.avatar, RASTER_RESOLUTION)?;
    println!(
        "Viewer frames per second, {} (preview = N/2, ×0.5 samples while dragging).",
        bench.label
    );
    println!(
        "{:>5} {:>6} {:>14} {:>14} {:>16} {:>22}",
        "N", "frames", "orbit fps", "slider fps", "full frame ms", "rest → full frame ms"
    );
    for &n in sizes {
        let full = FrameOptions {
            resolution: n,
            ..Default::default()
        };
        let preview = full.preview();
        let mut camera = OrbitCamera::default();
        // The avatar's own identity and expression; sliders move from there.
        let params = bench.avatar.source.params.clone();
        // Orbit: the camera turns every frame, the planes stay cached.
        let orbit = time_frames(gpu, frames, |i| {
            camera.yaw = 0.05 * i as f64;
            frame(&mut pipeline, &params, &camera, &preview)
        })?;
        // Slider: jawOpen moves every frame, so the planes are rebuilt each time.
        let slider = time_frames(gpu, frames, |i| {
            let params = params
                .clone()
                .with_expression("jawOpen", (i % 10) as f32 / 10.0);
            frame(&mut pipeline, &params, &camera, &preview)
        })?;
        // The hand rests: one full frame of a new expression.
        let rest = time_frames(gpu, frames.min(8), |i| {
            let params = params
                .clone()
                .with_expression("mouthSmile_L", 0.1 + i as f32 / 10.0);
            frame(&mut pipeline, &params, &camera, &full)
        })?;
        // The viewer waits REST after the hand lets go, then renders the full frame.
        let settled = crate::app::REST.as_secs_f64() * 1e3 + rest;
        println!(
            "{n:>5} {frames:>6} {:>14.2} {:>14.2} {rest:>16.0} {settled:>22.0}",
            1e3 / orbit,
            1e3 / slider
        );
    }
    Ok(())
}

/// One viewer frame: planes (cached per expression), march, read back, colour map.
fn frame(
    pipeline: &mut FramePipeline,
    params: &crate::rig::RigParams,
    camera: &OrbitCamera,
    options: &FrameOptions,
) -> anyhow::Result<()> {
    let planes = pipeline.planes_for(params, options)?;
    let frame = read_frame(pipeline.march(planes, camera, options), options.resolution)?;
    drop(to_image(&frame, RenderMode::Rgb));
    Ok(())
}

/// Mean milliseconds per frame over `frames` frames after one warm-up frame.
fn time_frames(
    gpu: &Gpu,
    frames: usize,
    mut render: impl FnMut(usize) -> anyhow::Result<()>,
) -> anyhow::Result<f64> {
    render(0)?;
    let mut lap = Stopwatch::start();
    for i in 1..=frames {
        render(i)?;
    }
    Ok(lap.wait(gpu) / frames as f64)
}
