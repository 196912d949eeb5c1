//! The rasterization step per frame (four views: raster, sample, mask, fill, merge, blend)
//! on the GPU against the f64 CPU reference, at a 32-channel texture as Next3D's.

use std::time::Instant;

use burn::tensor::{Distribution, Tensor, TensorData};

use crate::gpu::Gpu;
use crate::raster::gpu::TriplaneRasterizer;
use crate::raster::layout::PlaneLayout;
use crate::raster::reference::{self, Image};
use crate::raster::{blend, views};
use crate::rig::{Rig, default_rig, synthetic};

const CHANNELS: usize = 32;
const TEXTURE: usize = 256;

pub fn run(gpu: &Gpu, resolution: usize, frames: usize) -> anyhow::Result<()> {
    println!(
        "Raster step at {resolution}² (4 views, {CHANNELS}-channel {TEXTURE}² texture), ms per frame."
    );
    println!(
        "{:<22} {:>6} {:>7} {:>9} {:>9} {:>8}",
        "mesh", "faces", "frames", "gpu", "cpu f64", "cpu/gpu"
    );
    let flame_like = synthetic::lat_long_head(0, 70, 72);
    for (name, rig) in [
        ("default rig", default_rig::embedded().as_ref().clone()),
        ("FLAME-sized head", flame_like),
    ] {
        let (gpu_ms, cpu_ms) = time(gpu, &rig, resolution, frames);
        println!(
            "{name:<22} {:>6} {frames:>7} {gpu_ms:>9.2} {cpu_ms:>9.2} {:>8.2}",
            rig.faces.len(),
            cpu_ms / gpu_ms
        );
    }
    Ok(())
}

fn time(gpu: &Gpu, rig: &Rig, n: usize, frames: usize) -> (f64, f64) {
    let layout = PlaneLayout::consistent();
    let rasterizer = TriplaneRasterizer::new(rig, layout.clone(), n, &gpu.burn);
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
    let frame = || {
        let out = rasterizer.forward(vertices.clone(), texture.clone(), static_planes.clone());
        gpu.sync();
        out
    };
    drop(frame()); // compiles the pipelines
    let start = Instant::now();
    for _ in 0..frames {
        drop(frame());
    }
    let gpu_ms = start.elapsed().as_secs_f64() * 1e3 / frames as f64;

    let texture = Image {
        channels: CHANNELS,
        height: TEXTURE,
        width: TEXTURE,
        data: to_f64(texture.into_data()),
    };
    let statics = [0, 1, 2].map(|_| Image::zeros(CHANNELS, n, n));
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
    let points: Vec<[f64; 3]> = rig.template.iter().map(|p| p.map(f64::from)).collect();
    let corners = reference::face_uv_corners(rig);
    let start = Instant::now();
    for _ in 0..frames {
        let images = reference::render_views(
            &points,
            &[],
            &rig.faces,
            &corners,
            &texture,
            mask.as_ref(),
            &layout.views,
            views::ORTHO_SCALE,
            n,
            layout.zero_background,
        );
        std::hint::black_box(blend::blend(&layout, &images, &statics));
    }
    let cpu_ms = start.elapsed().as_secs_f64() * 1e3 / frames as f64;
    (gpu_ms, cpu_ms)
}

fn to_f64(data: TensorData) -> Vec<f64> {
    data.try_to_vec::<f32>()
        .unwrap_or_default()
        .into_iter()
        .map(f64::from)
        .collect()
}
