//! The portrait unwrapped into the rig's UV atlas: every texel whose surface point the
//! fitted camera sees takes the portrait's colour there, with a confidence that falls as the
//! surface turns away; texels the portrait cannot show borrow their mirror twin's colour
//! across the face's symmetry, and what is still unknown is diffused from the seen texels of
//! its own UV island (`uv_fill.rs`). An island the portrait never shows keeps the rig's
//! colours (teeth behind closed lips, the mouth socket).
//!
//! This texture moves with the mesh, so an avatar painted with it is the portrait at every
//! expression and view: the inversion starts from it and is held near it.

use glam::{DVec3, DVec4};

use super::fit::Fit;
use super::target::Target;
use super::uv_fill::{Islands, fill_islands};
use crate::avatar::inner_texels::{EyeRegion, inner_texels};
use crate::render::camera::{OrbitCamera, rig_to_world};
use crate::rig::skin_cpu::skin;
use crate::rig::{Rig, RigParams};

/// The atlas the inversion paints (Next3D's neural texture size) and the portrait side it
/// reads for it.
pub const ATLAS_SIZE: usize = 256;
pub const PORTRAIT_SIZE: usize = 512;

/// Below this |cos| between the surface normal and the view ray a texel is not trusted:
/// the portrait stretches it over less than a third of its width.
const GRAZING: f64 = 0.3;
/// Depth slack of the visibility test, in world units (the head is ~0.8 deep).
const DEPTH_SLACK: f64 = 0.01;
/// A mirrored texel counts this much less than a seen one.
const MIRROR_TRUST: f32 = 0.8;
/// The eyes' outlines among the landmark model's 468 points (right eye, left eye), in order
/// around each.
const EYE_CONTOURS: [[usize; 16]; 2] = [
    [
        33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246,
    ],
    [
        263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466,
    ],
];

/// Whether `p` lies inside the closed polygon `points` (crossing number).
fn inside(points: &[[f64; 2]], p: [f64; 2]) -> bool {
    let mut inside = false;
    for (i, a) in points.iter().enumerate() {
        let b = points[(i + 1) % points.len()];
        if (a[1] > p[1]) != (b[1] > p[1])
            && p[0] < a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0])
        {
            inside = !inside;
        }
    }
    inside
}

/// How much the island fill keeps an unseen inner texel's colour-matched rig colour.
const INNER_TRUST: f32 = 0.7;

/// An RGB texture in the atlas, rows top-down (row r at v = 1 − (r + ½)/size), with how much
/// of each texel the portrait showed (1 seen face-on, 0 invented).
#[derive(Debug, Clone)]
pub struct Unwrapped {
    pub size: usize,
    /// 0…1 per channel.
    pub rgb: Vec<[f32; 3]>,
    pub confidence: Vec<f32>,
}

impl Unwrapped {
    pub fn image(&self) -> image::RgbImage {
        image::RgbImage::from_fn(self.size as u32, self.size as u32, |c, r| {
            let p = self.rgb[r as usize * self.size + c as usize];
            image::Rgb(p.map(|x| (x * 255.0).round().clamp(0.0, 255.0) as u8))
        })
    }

    /// The fraction of texels the portrait showed (confidence above one half).
    pub fn seen_fraction(&self) -> f64 {
        let seen = self.confidence.iter().filter(|&&c| c > 0.5).count();
        seen as f64 / self.confidence.len() as f64
    }
}

/// Unwraps `target` (the portrait in the fitted camera's framing, at any size) onto `rig`
/// at the fit's identity and expression, into a `size`² atlas.
pub fn unwrap(rig: &Rig, fit: &Fit, target: &Target, size: usize) -> anyhow::Result<Unwrapped> {
    let view = View::new(rig, &fit.params, &fit.camera, target.size)?;
    let visible = view.visible_surface(rig);
    let portrait = pixels_of(target);
    let albedo = rig_colours(rig, size);
    let islands = Islands::of(rig, size);
    let eyes = EyeRegion::of(rig);
    let eye_openings = EYE_CONTOURS
        .map(|contour| contour.map(|i| target.landmarks[i].map(|c| c * target.size as f64)));
    let in_an_eye_opening =
        |[x, y]: [f64; 2]| eye_openings.iter().any(|contour| inside(contour, [x, y]));
    let mut rgb = albedo.clone();
    let mut confidence = vec![0.0f32; size * size];
    for (texel, face, bary) in islands.texels() {
        let corners = rig.faces[face].map(|v| view.points[v as usize]);
        let point = corners[0] * bary[0] + corners[1] * bary[1] + corners[2] * bary[2];
        let normal = (corners[1] - corners[0]).cross(corners[2] - corners[0]);
        let facing = normal.normalize_or_zero().dot(point.normalize()).abs();
        let [x, y] = view.to_pixel(point);
        if facing < GRAZING || !visible.shows(x, y, point.z) {
            continue;
        }
        // Where the fit puts a lid inside the portrait's eye opening the pixel is the eye's:
        // a lid painted with the iris shows it when it closes.
        let lid: f64 = (0..3)
            .filter(|&k| eyes.lids[rig.faces[face][k] as usize])
            .map(|k| bary[k])
            .sum();
        if lid > 0.5 && in_an_eye_opening([x, y]) {
            continue;
        }
        rgb[texel] = bilinear(&portrait, target.size, x, y);
        confidence[texel] = ((facing - GRAZING) / (1.0 - GRAZING)).sqrt() as f32;
    }
    mirror(rig, &islands, &mut rgb, &mut confidence);
    let fill_weight = inner_from_rig(rig, &islands, &albedo, &mut rgb, &confidence);
    fill_islands(&islands, &mut rgb, &fill_weight);
    Ok(Unwrapped {
        size,
        rgb,
        confidence,
    })
}

/// The mesh at `params` drawn from `camera` at `pixels`² with `texture`'s colours, unlit:
/// per pixel the colour (0…1) of the nearest surface, `None` where the head is not.
pub fn render_textured(
    rig: &Rig,
    params: &RigParams,
    camera: &OrbitCamera,
    texture: &Unwrapped,
    pixels: usize,
) -> anyhow::Result<Vec<Option<[f32; 3]>>> {
    let view = View::new(rig, params, camera, pixels)?;
    let visible = view.visible_surface(rig);
    let size = texture.size as f64;
    Ok(visible
        .surface
        .iter()
        .map(|s| {
            s.map(|(face, bary)| {
                let uvs = rig.uv_faces[face].map(|i| rig.uvs[i as usize]);
                let u = (0..3).map(|k| f64::from(uvs[k][0]) * bary[k]).sum::<f64>();
                let v = (0..3).map(|k| f64::from(uvs[k][1]) * bary[k]).sum::<f64>();
                bilinear(&texture.rgb, texture.size, u * size, (1.0 - v) * size)
            })
        })
        .collect())
}

/// The skinned mesh in a camera's frame, and how its points land on a `pixels`² image.
struct View {
    points: Vec<DVec3>,
    pixels: usize,
    focal: f64,
}

impl View {
    fn new(
        rig: &Rig,
        params: &RigParams,
        camera: &OrbitCamera,
        pixels: usize,
    ) -> anyhow::Result<Self> {
        let (resolved, _) = params.resolve(rig)?;
        let to_camera = camera.cam2world().inverse() * rig_to_world();
        let points = skin(rig, &resolved)
            .vertices
            .iter()
            .map(|v| (to_camera * DVec4::from((DVec3::from_array(*v), 1.0))).truncate())
            .collect();
        Ok(Self {
            points,
            pixels,
            focal: camera.focal(),
        })
    }

    fn to_pixel(&self, p: DVec3) -> [f64; 2] {
        let n = self.pixels as f64;
        [
            (self.focal * p.x / p.z + 0.5) * n,
            (self.focal * p.y / p.z + 0.5) * n,
        ]
    }

    /// The nearest face, its barycentrics and depth at every pixel.
    fn visible_surface(&self, rig: &Rig) -> Visible {
        let n = self.pixels;
        let projected: Vec<[f64; 2]> = self.points.iter().map(|&p| self.to_pixel(p)).collect();
        let mut depth = vec![f64::INFINITY; n * n];
        let mut surface = vec![None; n * n];
        for (f, face) in rig.faces.iter().enumerate() {
            let corners = face.map(|v| projected[v as usize]);
            let depths = face.map(|v| self.points[v as usize].z);
            for_each_pixel(corners, n, |p, bary| {
                let z = depths[0] * bary[0] + depths[1] * bary[1] + depths[2] * bary[2];
                if z < depth[p] {
                    depth[p] = z;
                    surface[p] = Some((f, bary));
                }
            });
        }
        Visible {
            pixels: n,
            depth,
            surface,
        }
    }
}

struct Visible {
    pixels: usize,
    depth: Vec<f64>,
    surface: Vec<Option<(usize, [f64; 3])>>,
}

impl Visible {
    /// Whether a point at depth `z` projecting to pixel coordinates (x, y) is in view.
    fn shows(&self, x: f64, y: f64, z: f64) -> bool {
        let n = self.pixels as f64;
        if !(0.0..n).contains(&x) || !(0.0..n).contains(&y) {
            return false;
        }
        z <= self.depth[y as usize * self.pixels + x as usize] + DEPTH_SLACK
    }
}

/// Calls `f(pixel index, barycentrics)` for every pixel centre of a `size`² grid inside the
/// triangle `corners` (pixel units, either winding).
pub(crate) fn for_each_pixel(
    corners: [[f64; 2]; 3],
    size: usize,
    mut f: impl FnMut(usize, [f64; 3]),
) {
    let [a, b, c] = corners;
    let area = (b[0] - a[0]) * (c[1] - a[1]) - (c[0] - a[0]) * (b[1] - a[1]);
    if area.abs() < 1e-12 {
        return;
    }
    let range = |axis: usize| {
        let low = corners
            .iter()
            .map(|p| p[axis])
            .fold(f64::INFINITY, f64::min);
        let high = corners
            .iter()
            .map(|p| p[axis])
            .fold(f64::NEG_INFINITY, f64::max);
        let first = (low - 0.5).ceil().max(0.0) as usize;
        let last = ((high - 0.5).floor().min(size as f64 - 1.0)).max(-1.0);
        (first, last)
    };
    let ((x0, x1), (y0, y1)) = (range(0), range(1));
    if x1 < 0.0 || y1 < 0.0 {
        return;
    }
    for row in y0..=y1 as usize {
        for col in x0..=x1 as usize {
            let (x, y) = (col as f64 + 0.5, row as f64 + 0.5);
            let wa = ((b[0] - x) * (c[1] - y) - (c[0] - x) * (b[1] - y)) / area;
            let wb = ((c[0] - x) * (a[1] - y) - (a[0] - x) * (c[1] - y)) / area;
            let wc = 1.0 - wa - wb;
            if wa >= 0.0 && wb >= 0.0 && wc >= 0.0 {
                f(row * size + col, [wa, wb, wc]);
            }
        }
    }
}

/// The target's RGB as 0…1 pixels.
fn pixels_of(target: &Target) -> Vec<[f32; 3]> {
    let plane = target.size * target.size;
    (0..plane)
        .map(|p| std::array::from_fn(|c| (target.rgb[c * plane + p] + 1.0) / 2.0))
        .collect()
}

/// Bilinear lookup in a `size`² RGB image at pixel coordinates (x, y), centres at +½, edges
/// clamped.
fn bilinear(image: &[[f32; 3]], size: usize, x: f64, y: f64) -> [f32; 3] {
    let clamp = |v: f64| v.clamp(0.0, (size - 1) as f64);
    let (x, y) = (clamp(x - 0.5), clamp(y - 0.5));
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(size - 1), (y0 + 1).min(size - 1));
    let (fx, fy) = ((x - x0 as f64) as f32, (y - y0 as f64) as f32);
    std::array::from_fn(|c| {
        let at = |r: usize, col: usize| image[r * size + col][c];
        let top = at(y0, x0) * (1.0 - fx) + at(y0, x1) * fx;
        let bottom = at(y1, x0) * (1.0 - fx) + at(y1, x1) * fx;
        top * (1.0 - fy) + bottom * fy
    })
}

/// The rig's own colours at `size`² (mid grey without a colour texture).
fn rig_colours(rig: &Rig, size: usize) -> Vec<[f32; 3]> {
    match &rig.albedo {
        Some(img) if img.channels == 3 && img.width == size && img.height == size => img
            .data
            .chunks_exact(3)
            .map(|c| [c[0], c[1], c[2]].map(|x| f32::from(x) / 255.0))
            .collect(),
        _ => vec![[0.6; 3]; size * size],
    }
}

/// Texels no raster view sees at rest (the eyeball under the lids, the inner lips, teeth)
/// that the portrait did not show either take the rig's colour, brought to the portrait's
/// brightness by the ratio of the two over the island's seen texels, rather than the seen texels'
/// blur: looking aside shows white sclera, not the iris smeared. Returns the weights the
/// island fill keeps colours by: the confidence, and INNER_TRUST on those texels.
fn inner_from_rig(
    rig: &Rig,
    islands: &Islands,
    albedo: &[[f32; 3]],
    rgb: &mut [[f32; 3]],
    confidence: &[f32],
) -> Vec<f32> {
    let size = islands.size;
    let inner = inner_texels(rig, size);
    let mut sums = vec![([0.0f64; 3], [0.0f64; 3]); islands.count()];
    for texel in 0..size * size {
        if let (Some(k), true) = (islands.island(texel), confidence[texel] > 0.0) {
            for c in 0..3 {
                sums[k].0[c] += f64::from(rgb[texel][c]);
                sums[k].1[c] += f64::from(albedo[texel][c]);
            }
        }
    }
    let mut weight = confidence.to_vec();
    for texel in 0..size * size {
        let Some(k) = islands.island(texel) else {
            continue;
        };
        if confidence[texel] > 0.0 || inner[texel] <= 0.5 {
            continue;
        }
        let (seen, rig_seen) = sums[k];
        let (seen, rig_seen) = (seen.iter().sum::<f64>(), rig_seen.iter().sum::<f64>());
        // One gain for all channels: the portrait's light, not its hue, on the rig's colours.
        let gain = if rig_seen > 1e-6 {
            (seen / rig_seen).clamp(0.4, 1.25) as f32
        } else {
            1.0
        };
        for c in 0..3 {
            rgb[texel][c] = (albedo[texel][c] * gain).min(1.0);
        }
        weight[texel] = INNER_TRUST;
    }
    weight
}

/// Texels the portrait saw less well than their mirror twins (the point at −x on the
/// template) take the twin's colour.
fn mirror(rig: &Rig, islands: &Islands, rgb: &mut [[f32; 3]], confidence: &mut [f32]) {
    let twins = mirror_vertices(&rig.template);
    let vertex_uv = vertex_uvs(rig);
    let size = islands.size;
    let (seen_rgb, seen_confidence) = (rgb.to_vec(), confidence.to_vec());
    for (texel, face, bary) in islands.texels() {
        let uvs = rig.faces[face].map(|v| vertex_uv[twins[v as usize]]);
        // Twins across a UV seam do not interpolate.
        let spread = (0..3).any(|i| {
            let (p, q) = (uvs[i], uvs[(i + 1) % 3]);
            (p[0] - q[0]).abs() + (p[1] - q[1]).abs() > 0.05
        });
        if spread {
            continue;
        }
        let u = (0..3).map(|i| f64::from(uvs[i][0]) * bary[i]).sum::<f64>();
        let v = (0..3).map(|i| f64::from(uvs[i][1]) * bary[i]).sum::<f64>();
        let col = ((u * size as f64) as usize).min(size - 1);
        let row = (((1.0 - v) * size as f64) as usize).min(size - 1);
        let twin = row * size + col;
        let borrowed = seen_confidence[twin] * MIRROR_TRUST;
        if borrowed > confidence[texel] {
            rgb[texel] = seen_rgb[twin];
            confidence[texel] = borrowed;
        }
    }
}

/// For each template vertex, the vertex nearest its mirror image (x → −x).
fn mirror_vertices(template: &[[f32; 3]]) -> Vec<usize> {
    const CELL: f32 = 0.01;
    let key = |p: [f32; 3]| p.map(|x| (x / CELL).floor() as i32);
    let mut grid: std::collections::HashMap<[i32; 3], Vec<usize>> = Default::default();
    for (i, &p) in template.iter().enumerate() {
        grid.entry(key(p)).or_default().push(i);
    }
    template
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let m = [-p[0], p[1], p[2]];
            let k = key(m);
            let mut best = (f32::INFINITY, i);
            for d in 0..27 {
                let cell = [k[0] + d % 3 - 1, k[1] + d / 3 % 3 - 1, k[2] + d / 9 - 1];
                for &j in grid.get(&cell).into_iter().flatten() {
                    let q = template[j];
                    let dist = (0..3).map(|a| (q[a] - m[a]).powi(2)).sum::<f32>();
                    if dist < best.0 {
                        best = (dist, j);
                    }
                }
            }
            best.1
        })
        .collect()
}

/// One texture coordinate per vertex (the first face corner that names it).
fn vertex_uvs(rig: &Rig) -> Vec<[f32; 2]> {
    let mut uv = vec![[0.0; 2]; rig.num_vertices()];
    for (face, uv_face) in rig.faces.iter().zip(&rig.uv_faces).rev() {
        for k in 0..3 {
            uv[face[k] as usize] = rig.uvs[uv_face[k] as usize];
        }
    }
    uv
}
