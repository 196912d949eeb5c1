//! A colour texture for the rig's atlas baked from the avatar itself: each texel takes the
//! colour the avatar's field has at that texel's point on the mesh, so the exported head
//! looks as the viewer shows it (inverted avatars: the portrait as the inversion fitted it;
//! baked and random avatars: what their networks paint there).

use super::field::Field;
use crate::invert::uv_fill::{Islands, fill_islands};
use crate::rig::Rig;

/// The baked atlas, `size`² (row 0 at v = 1, as the rig's UV images), from the mesh
/// `vertices` (rig space) the texture is laid on.
pub fn bake(
    field: &Field,
    rig: &Rig,
    vertices: &[[f64; 3]],
    size: usize,
    progress: &mut dyn FnMut(f32) -> bool,
) -> anyhow::Result<image::RgbImage> {
    let islands = Islands::of(rig, size);
    let (texels, points): (Vec<usize>, Vec<[f32; 3]>) = islands
        .texels()
        .map(|(texel, face, bary)| {
            let corners = rig.faces[face].map(|v| vertices[v as usize]);
            let point = std::array::from_fn(|a| {
                (0..3).map(|k| corners[k][a] * bary[k]).sum::<f64>() as f32
            });
            (texel, point)
        })
        .unzip();
    let colours = field.sample(&points, progress)?.colour;
    let mut rgb = vec![[0.0f32; 3]; size * size];
    let mut known = vec![0.0f32; size * size];
    for (&texel, colour) in texels.iter().zip(colours) {
        rgb[texel] = colour;
        known[texel] = 1.0;
    }
    // Texels between islands take their neighbours' colours, so that filtering at an
    // island's edge does not bleed black in.
    fill_islands(&islands, &mut rgb, &known);
    Ok(image::RgbImage::from_fn(
        size as u32,
        size as u32,
        |x, y| {
            let c = rgb[y as usize * size + x as usize];
            image::Rgb(c.map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8))
        },
    ))
}
