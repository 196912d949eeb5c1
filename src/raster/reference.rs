//! The plain CPU reference of the whole rasterization step, in f64, following the released
//! Next3D code with pytorch3d's rasterizer and OpenCV's flood fill, stage by stage.

use super::views::{self, View};

/// A multi-channel image, channel-major (`[c][row][col]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub data: Vec<f64>,
}

impl Image {
    pub fn zeros(channels: usize, height: usize, width: usize) -> Self {
        Self {
            channels,
            height,
            width,
            data: vec![0.0; channels * height * width],
        }
    }

    #[inline]
    pub fn at(&self, c: usize, row: usize, col: usize) -> f64 {
        self.data[(c * self.height + row) * self.width + col]
    }

    #[inline]
    pub fn at_mut(&mut self, c: usize, row: usize, col: usize) -> &mut f64 {
        &mut self.data[(c * self.height + row) * self.width + col]
    }
}

/// Each face's three texture coordinates in grid_sample's convention, (2u − 1, 1 − 2v)
/// with v pointing up: Next3D's `face_uvcoords`.
pub fn face_uv_corners(rig: &crate::rig::Rig) -> Vec<[[f64; 2]; 3]> {
    rig.uv_faces
        .iter()
        .map(|t| {
            t.map(|i| {
                let [u, v] = rig.uvs[i as usize];
                [2.0 * f64::from(u) - 1.0, 1.0 - 2.0 * f64::from(v)]
            })
        })
        .collect()
}

/// One rasterized view: per pixel the winning face (or none), barycentrics in the reordered
/// vertex order (faces `[0, 2, 1]`), and the interpolated grid_sample coordinates.
#[derive(Debug, Clone)]
pub struct RasterView {
    pub resolution: usize,
    pub face: Vec<Option<u32>>,
    pub bary: Vec<[f64; 3]>,
    /// (u', v') in grid_sample's [−1, 1] convention; (0, 0) where nothing is visible.
    pub uv: Vec<[f64; 2]>,
}

impl RasterView {
    pub fn visible(&self, pixel: usize) -> bool {
        self.face[pixel].is_some()
    }
}

/// pytorch3d's edge function: twice the signed area of (a, b, p).
fn edge(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    (p[0] - a[0]) * (b[1] - a[1]) - (p[1] - a[1]) * (b[0] - a[0])
}

/// The NDC x (or y) of pixel centre `i` along an axis of `n` pixels; +x points left, +y up.
pub fn pixel_centre(i: usize, n: usize) -> f64 {
    1.0 - (2.0 * i as f64 + 1.0) / n as f64
}

/// Rasterizes view-space vertices (from [`views::transform`]) as the reference does:
/// the wrapper negates x and y and reorders faces to `[0, 2, 1]`; pytorch3d then culls faces
/// whose area is negative, skips zero-area faces, takes pixels whose three barycentrics are
/// all positive and whose interpolated z is ≥ 0, and keeps the nearest (first on ties).
/// `uv_corners` holds each face's three (u', v') in the original corner order.
pub fn rasterize(
    view_vertices: &[[f64; 3]],
    faces: &[[u32; 3]],
    uv_corners: &[[[f64; 2]; 3]],
    resolution: usize,
) -> RasterView {
    let n = resolution;
    let mut depth = vec![f64::INFINITY; n * n];
    let mut out = RasterView {
        resolution: n,
        face: vec![None; n * n],
        bary: vec![[0.0; 3]; n * n],
        uv: vec![[0.0; 2]; n * n],
    };
    for (f, face) in faces.iter().enumerate() {
        let [v0, v1, v2] = [face[0], face[2], face[1]].map(|i| {
            let p = view_vertices[i as usize];
            [-p[0], -p[1], p[2]]
        });
        let area = edge([v2[0], v2[1]], [v0[0], v0[1]], [v1[0], v1[1]]);
        if area.abs() < 1e-8 || area < 0.0 {
            continue;
        }
        // Pixels whose centres can fall inside: NDC decreases with the index.
        let (xmin, xmax) = (v0[0].min(v1[0]).min(v2[0]), v0[0].max(v1[0]).max(v2[0]));
        let (ymin, ymax) = (v0[1].min(v1[1]).min(v2[1]), v0[1].max(v1[1]).max(v2[1]));
        // Indices whose centres lie in [lo, hi], clamped to the image (possibly none).
        let index_range = |lo: f64, hi: f64| {
            let first = (((1.0 - hi) * n as f64 - 1.0) / 2.0).floor().max(0.0) as usize;
            let end = (((1.0 - lo) * n as f64 - 1.0) / 2.0)
                .ceil()
                .clamp(-1.0, n as f64 - 1.0)
                + 1.0;
            first..(end as usize).max(first)
        };
        for row in index_range(ymin, ymax) {
            let y = pixel_centre(row, n);
            for col in index_range(xmin, xmax) {
                let p = [pixel_centre(col, n), y];
                let w = [
                    edge(p, [v1[0], v1[1]], [v2[0], v2[1]]) / area,
                    edge(p, [v2[0], v2[1]], [v0[0], v0[1]]) / area,
                    edge(p, [v0[0], v0[1]], [v1[0], v1[1]]) / area,
                ];
                if w.iter().any(|&x| x <= 0.0) {
                    continue;
                }
                let z = w[0] * v0[2] + w[1] * v1[2] + w[2] * v2[2];
                let pixel = row * n + col;
                if z < 0.0 || z >= depth[pixel] {
                    continue;
                }
                depth[pixel] = z;
                out.face[pixel] = Some(f as u32);
                out.bary[pixel] = w;
                let corners = [uv_corners[f][0], uv_corners[f][2], uv_corners[f][1]];
                out.uv[pixel] = [0, 1].map(|a| (0..3).map(|k| w[k] * corners[k][a]).sum());
            }
        }
    }
    out
}

/// grid_sample at one point: bilinear, zeros padding, align_corners = false.
pub fn grid_sample(image: &Image, u: f64, v: f64, out: &mut [f64]) {
    let x = ((u + 1.0) * image.width as f64 - 1.0) / 2.0;
    let y = ((v + 1.0) * image.height as f64 - 1.0) / 2.0;
    let (x0, y0) = (x.floor(), y.floor());
    out.fill(0.0);
    for (dx, dy) in [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)] {
        let (xi, yi) = (x0 + dx, y0 + dy);
        if xi < 0.0 || yi < 0.0 || xi >= image.width as f64 || yi >= image.height as f64 {
            continue;
        }
        let w = (1.0 - (x - xi).abs()) * (1.0 - (y - yi).abs());
        for (c, o) in out.iter_mut().enumerate() {
            *o += w * image.at(c, yi as usize, xi as usize);
        }
    }
}

/// Samples `texture` at every pixel's (u', v'). Background pixels have (0, 0) and so take
/// the texture centre, as in the reference, unless `zero_background` is set.
pub fn sample_texture(raster: &RasterView, texture: &Image, zero_background: bool) -> Image {
    let n = raster.resolution;
    let mut out = Image::zeros(texture.channels, n, n);
    let mut value = vec![0.0; texture.channels];
    for pixel in 0..n * n {
        if zero_background && !raster.visible(pixel) {
            continue;
        }
        grid_sample(
            texture,
            raster.uv[pixel][0],
            raster.uv[pixel][1],
            &mut value,
        );
        for (c, &x) in value.iter().enumerate() {
            out.data[c * n * n + pixel] = x;
        }
    }
    out
}

/// `grid_sample(uv_face_mask, uv) · visible`.
pub fn masked_alpha(raster: &RasterView, mask: &Image) -> Vec<f64> {
    let mut value = [0.0];
    (0..raster.resolution * raster.resolution)
        .map(|pixel| {
            if !raster.visible(pixel) {
                return 0.0;
            }
            grid_sample(mask, raster.uv[pixel][0], raster.uv[pixel][1], &mut value);
            value[0]
        })
        .collect()
}

/// The reference's `fill_mouth` (OpenCV flood fill from pixel (0, 0), fixed range
/// [v00, v00 + 254] on alpha·255 in float32, 4-connected): pixels reached keep their alpha,
/// all others become 1. This closes the mouth gap and the eyes.
pub fn fill_mouth(alpha: &[f64], resolution: usize) -> Vec<f64> {
    let n = resolution;
    let value: Vec<f32> = alpha.iter().map(|&a| a as f32 * 255.0).collect();
    let (low, high) = (value[0], value[0] + 254.0);
    let mut reached = vec![false; n * n];
    let mut stack = vec![0usize];
    reached[0] = true;
    while let Some(p) = stack.pop() {
        let (row, col) = (p / n, p % n);
        let neighbours = [
            (row > 0).then(|| p - n),
            (row + 1 < n).then(|| p + n),
            (col > 0).then(|| p - 1),
            (col + 1 < n).then(|| p + 1),
        ];
        for q in neighbours.into_iter().flatten() {
            if !reached[q] && (low..=high).contains(&value[q]) {
                reached[q] = true;
                stack.push(q);
            }
        }
    }
    alpha
        .iter()
        .zip(&reached)
        .map(|(&a, &r)| if r { a } else { 1.0 })
        .collect()
}

/// Next3D's mouth box from the front view's landmarks (`gen_mouth_mask`): in its hard-coded
/// 256-pixel frame (lm·128 + 128), square, integer-truncated. `[row0, row1, col0, col1]`.
pub fn mouth_box_256(front_landmarks_2d: &[[f64; 2]]) -> [i64; 4] {
    let px: Vec<[f64; 2]> = front_landmarks_2d
        .iter()
        .map(|p| p.map(|x| x * 128.0 + 128.0))
        .collect();
    let lips = &px[48..60];
    let extent = |a: usize| {
        let (lo, hi) = lips
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p[a]), hi.max(p[a]))
            });
        hi - lo
    };
    let side = (extent(0).max(extent(1)) * 1.2) as i64;
    let half = (side / 2) as f64;
    let (cx, cy) = ((px[48][0] + px[54][0]) / 2.0, (px[48][1] + px[54][1]) / 2.0);
    [
        (cy - half) as i64,
        (cy + half) as i64,
        (cx - half) as i64,
        (cx + half) as i64,
    ]
}

/// The mouth box at raster resolution `resolution` (DESIGN.md: scale the 256-frame box).
pub fn mouth_box(front_landmarks_2d: &[[f64; 2]], resolution: usize) -> [i64; 4] {
    mouth_box_256(front_landmarks_2d).map(|x| x * resolution as i64 / 256)
}

/// The rasterized views of one mesh, with everything the triplane blend needs.
pub struct ViewImages {
    pub raster: RasterView,
    pub rendering: Image,
    pub alpha_masked: Vec<f64>,
    pub alpha: Vec<f64>,
    pub landmarks_2d: Vec<[f64; 2]>,
}

/// Rasterizes, samples, masks and fills every view.
#[allow(clippy::too_many_arguments)]
pub fn render_views(
    vertices: &[[f64; 3]],
    landmarks: &[[f64; 3]],
    faces: &[[u32; 3]],
    uv_corners: &[[[f64; 2]; 3]],
    texture: &Image,
    mask: Option<&Image>,
    views: &[View],
    scale: f64,
    resolution: usize,
    zero_background: bool,
) -> Vec<ViewImages> {
    views
        .iter()
        .map(|view| {
            let projected = views::transform(vertices, view, scale);
            let raster = rasterize(&projected, faces, uv_corners, resolution);
            let rendering = sample_texture(&raster, texture, zero_background);
            // Without a face/eye mask every visible pixel takes the raster.
            let alpha_masked = match mask {
                Some(mask) => masked_alpha(&raster, mask),
                None => raster
                    .face
                    .iter()
                    .map(|f| f64::from(u8::from(f.is_some())))
                    .collect(),
            };
            let alpha = fill_mouth(&alpha_masked, resolution);
            let landmarks_2d = views::transform(landmarks, view, scale)
                .iter()
                .map(|p| [p[0], p[1]])
                .collect();
            ViewImages {
                raster,
                rendering,
                alpha_masked,
                alpha,
                landmarks_2d,
            }
        })
        .collect()
}
