//! `neuralhead render --view planes`: the rasterization step made visible. Writes the three
//! blended planes (first three channels as colour) above their alphas, one PNG.

use burn::tensor::{Tensor, TensorData};

use crate::gpu::Gpu;
use crate::raster::gpu::TriplaneRasterizer;
use crate::raster::layout::PlaneLayout;
use crate::rig::Rig;

/// Value of the static planes where no raster lands, so alpha = 0 shows as dark grey.
const STATIC_GREY: f32 = 0.15;
const CHECKER_SQUARES: usize = 16;

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default)]
pub enum LayoutChoice {
    /// Each view in the plane whose axes match it (this project's avatars).
    #[default]
    Consistent,
    /// As the released Next3D code: front, side, top into slots 0, 1, 2.
    Released,
    /// Raster features in the front plane only.
    FrontOnly,
}

impl LayoutChoice {
    pub fn layout(self) -> PlaneLayout {
        match self {
            Self::Consistent => PlaneLayout::consistent(),
            Self::Released => PlaneLayout::released(),
            Self::FrontOnly => PlaneLayout::front_only(),
        }
    }
}

/// The rig's colour texture (or a UV checker) stands in for a neural texture: its three
/// channels are the first three features.
fn colour_texture(rig: &Rig, gpu: &Gpu) -> Tensor<3> {
    let (size, data) = match &rig.albedo {
        Some(img) if img.channels == 3 && img.width == img.height => {
            let n = img.width;
            let planar: Vec<f32> = (0..3)
                .flat_map(|c| (0..n * n).map(move |p| (c, p)))
                .map(|(c, p)| f32::from(img.data[p * 3 + c]) / 255.0)
                .collect();
            (n, planar)
        }
        _ => {
            let n = 256;
            let cell = n / CHECKER_SQUARES;
            let planar: Vec<f32> = (0..3)
                .flat_map(|c| (0..n * n).map(move |p| (c, p)))
                .map(|(c, p)| {
                    let odd = ((p / n) / cell + (p % n) / cell) % 2 == 1;
                    [0.9, 0.6, 0.3][c] * if odd { 1.0 } else { 0.55 }
                })
                .collect();
            (n, planar)
        }
    };
    Tensor::from_data(TensorData::new(data, [3, size, size]), &gpu.burn)
}

/// Rasterizes the skinned `vertices` and lays the planes and alphas out in one image.
pub fn render(
    gpu: &Gpu,
    rig: &Rig,
    vertices: Tensor<2>,
    layout: PlaneLayout,
    resolution: usize,
) -> anyhow::Result<image::RgbaImage> {
    let n = resolution;
    let axes = layout.plane_axes;
    let rasterizer = TriplaneRasterizer::new(rig, layout, n, &gpu.burn);
    let static_planes = Tensor::<4>::full([3, 3, n, n], STATIC_GREY, &gpu.burn);
    let out = rasterizer.forward(vertices, colour_texture(rig, gpu), static_planes);
    let read = |t: Tensor<4>| {
        t.into_data()
            .try_to_vec::<f32>()
            .map_err(|e| anyhow::anyhow!("reading planes back: {e:?}"))
    };
    let planes = read(out.planes)?;
    let alphas = read(out.alphas.unsqueeze_dim(1))?;
    let mut image = image::RgbaImage::new(3 * n as u32, 2 * n as u32);
    for slot in 0..3 {
        for row in 0..n {
            // Rows run along the plane's second axis; show y (up) upright.
            let shown = if axes[slot][1] == 1 { n - 1 - row } else { row };
            for col in 0..n {
                let at = |c: usize| planes[((slot * 3 + c) * n + row) * n + col];
                let rgb = [at(0), at(1), at(2)].map(|x| (x.clamp(0.0, 1.0) * 255.0).round() as u8);
                let a = (alphas[(slot * n + row) * n + col].clamp(0.0, 1.0) * 255.0).round() as u8;
                let (x, y) = ((slot * n + col) as u32, shown as u32);
                image.put_pixel(x, y, image::Rgba([rgb[0], rgb[1], rgb[2], 255]));
                image.put_pixel(x, y + n as u32, image::Rgba([a, a, a, 255]));
            }
        }
    }
    Ok(image)
}
