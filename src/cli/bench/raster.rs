//! The rasterization step per frame (four views: raster, sample, mask, fill, merge, blend)
//! on the GPU against the f64 CPU reference, at a 32-channel texture as Next3D's.

use burn::tensor::{Distribution, Tensor, TensorData};

use super::Stopwatch;
use crate::gpu::Gpu;
use crate::raster::gpu::TriplaneRasterizer;
use crate::raster::layout::PlaneLayout;
use crate::raster::reference::{self, Image};
use crate::raster::{blend, views};
use crate::rig::{Rig, default_rig, synthetic};

const CHANNELS: usize = 32;
const TEXTURE: usize = 256;

const STAGES: [&str; 3] = ["raster", "mask+fill", "sample+blend"];

pub fn run(gpu: &Gpu, resolution: usize, frames: usize) -> anyhow::Result<()> {
    println!(
        "Raster step at {resolution}² (4 views, {CHANNELS}-channel {TEXTURE}² texture), ms per frame, per stage."
    );
    println!(
        "{:<18} {:>6} {:>6} {:>12} {:>9} {:>9} {:>8}",
        "mesh", "faces", "frames", "stage", "gpu", "cpu f64", "cpu/gpu"
    );
    let flame_like = synthetic::lat_long_head(0, 70, 72);
    for (name, rig) in [
        ("whole head", default_rig::embedded().as_ref().clone()),
        ("face-mask rig", default_rig::face_mask().as_ref().clone()),
        ("FLAME-sized head", flame_like),
    ] {
        let gpu_ms = time_gpu(gpu, &rig, resolution, frames);
        let cpu_ms = time_cpu(&rig, resolution, frames);
        for (stage, (g, c)) in STAGES
            .iter()
            .chain(&["total"])
            .zip(gpu_ms.iter().zip(&cpu_ms))
        {
            println!(
                "{name:<18} {:>6} {frames:>6} {stage:>12} {g:>9.2} {c:>9.2} {:>8.2}",
                rig.faces.len(),
                c / g
            );
        }
    }
    Ok(())
}

/// The viewer's (fused) path: milliseconds per stage and in total, each stage waited for
/// before the next.
fn time_gpu(gpu: &Gpu, rig: &Rig, n: usize, frames: usize) -> [f64; 4] {
    let rasterizer = TriplaneRasterizer::new(rig, PlaneLayout::consistent(), n, &gpu.burn);
    let vertices: Vec<f32> = rig.template.iter().flatten().copied().collect();
    let vertices = Tensor::<2>::from_data(
        TensorData::new(vertices, [rig.template.len(), 3]),
        &gpu.burn,
    );
    let texture = Tensor::<3>::random(
        [CHANNELS, TEXTURE, TEXTURE],
        Distribution::Uniform(-1.0, 1.0),
        &gpu.burn,
    );
    let static_planes = Tensor::<4>::random(
        [3, CHANNELS, n, n],
        Distribution::Uniform(-1.0, 1.0),
        &gpu.burn,
    );
    let mut ms = [0.0; 4];
    for frame in 0..=frames {
        let mut lap = Stopwatch::start();
        let raster = rasterizer.rasterize(vertices.clone());
        let t0 = lap.wait(gpu);
        let alphas = rasterizer.fill(rasterizer.mask_alpha(&raster));
        let t1 = lap.wait(gpu);
        // With the front view, as for avatars with mouth networks (the reference makes it too).
        drop(rasterizer.sample_blend(
            &raster,
            texture.clone(),
            alphas,
            static_planes.clone(),
            true,
        ));
        let t2 = lap.wait(gpu);
        // Frame 0 compiles the pipelines and is not counted.
        if frame > 0 {
            for (total, t) in ms.iter_mut().zip([t0, t1, t2, t0 + t1 + t2]) {
                *total += t / frames as f64;
            }
        }
    }
    ms
}

fn time_cpu(rig: &Rig, n: usize, frames: usize) -> [f64; 4] {
    let layout = PlaneLayout::consistent();
    let texture = Image {
        channels: CHANNELS,
        height: TEXTURE,
        width: TEXTURE,
        data: (0..CHANNELS * TEXTURE * TEXTURE)
            .map(|i| (i % 7) as f64 / 7.0)
            .collect(),
    };
    let statics = [0, 1, 2].map(|_| Image::zeros(CHANNELS, n, n));
    let points: Vec<[f64; 3]> = rig.template.iter().map(|p| p.map(f64::from)).collect();
    let corners = reference::face_uv_corners(rig);
    let mask = rig.uv_mask.as_ref().map(|m| Image {
        channels: 1,
        height: m.height,
        width: m.width,
        data: m
            .data
            .iter()
            .step_by(m.channels)
            .map(|&x| f64::from(x) / 255.0)
            .collect(),
    });
    let mut ms = [0.0; 4];
    for _ in 0..frames {
        let mut lap = Stopwatch::start();
        let rasters: Vec<_> = layout
            .views
            .iter()
            .map(|view| {
                reference::rasterize(
                    &views::transform(&points, view, views::ORTHO_SCALE),
                    &rig.faces,
                    &corners,
                    n,
                )
            })
            .collect();
        let t0 = lap.lap();
        let alphas: Vec<Vec<f64>> = rasters
            .iter()
            .map(|r| {
                let masked = match &mask {
                    Some(m) => reference::masked_alpha(r, m),
                    None => r
                        .face
                        .iter()
                        .map(|f| f64::from(u8::from(f.is_some())))
                        .collect(),
                };
                reference::fill_mouth(&masked, n)
            })
            .collect();
        let t1 = lap.lap();
        let images: Vec<reference::ViewImages> = rasters
            .into_iter()
            .zip(alphas)
            .map(|(raster, alpha)| {
                let rendering =
                    reference::sample_texture(&raster, &texture, layout.zero_background);
                reference::ViewImages {
                    raster,
                    rendering,
                    alpha_masked: Vec::new(),
                    alpha,
                    landmarks_2d: Vec::new(),
                }
            })
            .collect();
        std::hint::black_box(blend::blend(&layout, &images, &statics));
        let t2 = lap.lap();
        for (total, t) in ms.iter_mut().zip([t0, t1, t2, t0 + t1 + t2]) {
            *total += t / frames as f64;
        }
    }
    ms
}
