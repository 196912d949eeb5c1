//! A colour texture for the rig's atlas baked from the avatar itself, so the exported head
//! looks as the viewer shows it (inverted avatars: the portrait as the inversion fitted it;
//! baked and random avatars: what their networks paint there). Each texel is rendered: a
//! short ray along the surface's normal into the head through the texel's point, its samples
//! composited as the ray marcher composites them (softplus(σ − 1), front to back). The colour
//! at the surface point alone is not what a view shows: opacity builds up over centimetres
//! inside the hull, where the planes' features differ.

use super::field::Field;
use super::gltf::smooth_normals;
use crate::invert::uv_fill::{Islands, fill_islands};
use crate::render::camera::RIG_TO_WORLD_SCALE;
use crate::rig::Rig;

/// Each texel's ray: from 1 cm outside the surface to 4 cm inside it (rig metres), in this
/// many samples.
const OUTSIDE: f64 = 0.01;
const INSIDE: f64 = 0.04;
const SAMPLES: usize = 16;
/// A ray that gathers less opacity than this keeps the colour at the surface point.
const MIN_OPACITY: f32 = 0.05;

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
    let normals = smooth_normals(vertices, &rig.faces);
    let at = |values: &[[f64; 3]], face: usize, bary: [f64; 3]| -> [f64; 3] {
        let corners = rig.faces[face].map(|v| values[v as usize]);
        std::array::from_fn(|a| (0..3).map(|k| corners[k][a] * bary[k]).sum::<f64>())
    };
    let step = (OUTSIDE + INSIDE) / (SAMPLES - 1) as f64;
    let mut texels = Vec::new();
    let mut points = Vec::new();
    for (texel, face, bary) in islands.texels() {
        let (p, n) = (at(vertices, face, bary), at(&normals, face, bary));
        let length = n.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
        texels.push(texel);
        for k in 0..SAMPLES {
            let t = OUTSIDE - step * k as f64;
            points.push(std::array::from_fn(|a| (p[a] + n[a] / length * t) as f32));
        }
    }
    let samples = field.sample(&points, progress)?;
    let delta = (step * RIG_TO_WORLD_SCALE) as f32;
    let colours = samples
        .density
        .chunks_exact(SAMPLES)
        .zip(samples.colour.chunks_exact(SAMPLES))
        .map(|(sigma, colour)| composite(sigma, colour, delta));
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

/// The marcher's compositing of one ray's samples `delta` apart (world units), normalised by
/// the opacity gathered; the sample nearest the surface where the ray stays transparent.
fn composite(sigma: &[f32], colour: &[[f32; 3]], delta: f32) -> [f32; 3] {
    let softplus = |x: f32| x.max(0.0) + (-x.abs()).exp().ln_1p();
    let mut transmittance = 1.0f32;
    let mut sum = [0.0f32; 3];
    for (s, c) in sigma.iter().zip(colour) {
        let alpha = 1.0 - (-softplus(s - 1.0) * delta).exp();
        let weight = transmittance * alpha;
        for a in 0..3 {
            sum[a] += weight * c[a];
        }
        transmittance *= 1.0 - alpha;
    }
    let opacity = 1.0 - transmittance;
    if opacity < MIN_OPACITY {
        // The surface point itself: OUTSIDE / step samples in.
        return colour
            [((OUTSIDE / (OUTSIDE + INSIDE)) * (colour.len() - 1) as f64).round() as usize];
    }
    sum.map(|x| x / opacity)
}
