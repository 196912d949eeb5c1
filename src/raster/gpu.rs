//! The rasterization step on the GPU: `shaders/raster_triplane.wgsl` and
//! `shaders/mouth_fill.wgsl` as burn ops, and texture sampling, masking, merging and
//! blending as burn tensor ops, which carry gradients to the texture and the static planes.

use burn::backend::wgpu::{CubeBackend, CubeTensor};
use burn::backend::{Backend, Dispatch, backend_extension, tensor::FloatTensor};
use burn::cubecl::CubeCount;
use burn::tensor::ops::GridSampleOptions;
use burn::tensor::{Device, Int, Shape, Tensor, TensorData};

use super::layout::{AlphaRule, PlaneLayout, Source};
use super::views::{ORTHO_SCALE, View, angle2matrix};
use crate::gpu::device_copy::copy_into;
use crate::gpu::kernel::{contiguous, empty_f32, expect_shape, grid_1d, launch};
use crate::gpu::shaders;
use crate::rig::Rig;

/// Workgroups of the fill: one per view, this many invocations each.
const FILL_WORKGROUP: u32 = 256;

#[backend_extension(Cube, Fusion: cfg(feature = "fusion"))]
pub trait RasterOps: Backend {
    /// `[4, 4, R, R]`: per view (u', v', visible, face index or −1).
    #[fusion(shape = raster_shape(resolution), dtype = vertices)]
    fn rasterize_views(
        vertices: FloatTensor<Self>,
        faces: FloatTensor<Self>,
        uv_corners: FloatTensor<Self>,
        views: FloatTensor<Self>,
        resolution: usize,
    ) -> FloatTensor<Self>;

    /// `fill_mouth` on each of the four `[R, R]` alpha images.
    #[fusion(shape = alpha, dtype = alpha)]
    fn fill_mouth(alpha: FloatTensor<Self>) -> FloatTensor<Self>;

    /// The fused sample + merge + blend: one flat buffer holding planes `[3, C, R, R]`,
    /// slot alphas `[3, R, R]` and, if `keep_front`, the unmasked front view `[C, R, R]`.
    #[fusion(shape = fused_shape(raster, texture, keep_front), dtype = texture)]
    fn sample_blend(
        raster: FloatTensor<Self>,
        texture: FloatTensor<Self>,
        view_alphas: FloatTensor<Self>,
        static_planes: FloatTensor<Self>,
        layout: FloatTensor<Self>,
        zero_background: bool,
        keep_front: bool,
    ) -> FloatTensor<Self>;
}

fn fused_shape(raster: &Shape, texture: &Shape, keep_front: &bool) -> Shape {
    let (n, c) = (raster[2], texture[0]);
    Shape::new([fused_images(*keep_front) * c * n * n + 3 * n * n])
}

/// The `[C, R, R]` images of the fused blend: the three planes, and the front view if kept.
fn fused_images(keep_front: bool) -> usize {
    if keep_front { 4 } else { 3 }
}

fn raster_shape(resolution: &usize) -> Shape {
    Shape::new([4, 4, *resolution, *resolution])
}

impl RasterOps for CubeBackend {
    fn sample_blend(
        raster: CubeTensor,
        texture: CubeTensor,
        view_alphas: CubeTensor,
        static_planes: CubeTensor,
        layout: CubeTensor,
        zero_background: bool,
        keep_front: bool,
    ) -> CubeTensor {
        let [raster, texture, view_alphas, static_planes, layout] =
            [raster, texture, view_alphas, static_planes, layout].map(contiguous);
        let n = raster.meta.shape()[2];
        let (c, t) = (texture.meta.shape()[0], texture.meta.shape()[1]);
        expect_shape("raster", &raster, &[4, 4, n, n]);
        expect_shape("texture", &texture, &[c, t, t]);
        expect_shape("view_alphas", &view_alphas, &[4, n, n]);
        expect_shape("static_planes", &static_planes, &[3, c, n, n]);
        expect_shape("layout", &layout, &[3, 13]);
        let out = empty_f32(
            &raster,
            fused_shape(raster.meta.shape(), texture.meta.shape(), &keep_front),
        );
        // The planes start as the static planes (a device-side copy); the kernel writes
        // only the texels the head covers.
        copy_into(&static_planes, &out, 0);
        let images = fused_images(keep_front);
        let kernel = shaders::sample_blend(c, t, n, zero_background, images);
        let count = grid_1d(images * n * n, kernel.workgroup_size);
        launch(
            kernel,
            count,
            &[
                &raster,
                &texture,
                &view_alphas,
                &static_planes,
                &layout,
                &out,
            ],
        );
        out
    }

    fn rasterize_views(
        vertices: CubeTensor,
        faces: CubeTensor,
        uv_corners: CubeTensor,
        views: CubeTensor,
        resolution: usize,
    ) -> CubeTensor {
        let [vertices, faces, uv_corners, views] =
            [vertices, faces, uv_corners, views].map(contiguous);
        let v = vertices.meta.shape()[0];
        let f = faces.meta.shape()[0];
        expect_shape("vertices", &vertices, &[v, 3]);
        expect_shape("faces", &faces, &[f, 3]);
        expect_shape("uv_corners", &uv_corners, &[f, 3, 2]);
        expect_shape("views", &views, &[4, 12]);
        let pixels = 4 * resolution * resolution;
        let depth = empty_f32(&vertices, Shape::new([pixels]));
        let winner = empty_f32(&vertices, Shape::new([pixels]));
        let raster = empty_f32(&vertices, raster_shape(&resolution));
        for (stage, threads) in [(0, pixels), (1, 4 * f), (2, 4 * f), (3, pixels)] {
            let kernel = shaders::raster_triplane(f, resolution, stage);
            let count = grid_1d(threads, kernel.workgroup_size);
            launch(
                kernel,
                count,
                &[
                    &vertices,
                    &faces,
                    &uv_corners,
                    &views,
                    &depth,
                    &winner,
                    &raster,
                ],
            );
        }
        raster
    }

    fn fill_mouth(alpha: CubeTensor) -> CubeTensor {
        let alpha = contiguous(alpha);
        let shape = alpha.meta.shape().clone();
        let resolution = shape[1];
        expect_shape("alpha", &alpha, &[4, resolution, resolution]);
        let reached = empty_f32(&alpha, shape.clone());
        let filled = empty_f32(&alpha, shape);
        let kernel = shaders::mouth_fill(resolution, FILL_WORKGROUP);
        launch(
            kernel,
            CubeCount::Static(4, 1, 1),
            &[&alpha, &reached, &filled],
        );
        filled
    }
}

/// Rig space to the rasterizer's NDC for one view, as `p·M + b`: the reference's y flip,
/// rotation, shift, scale, its projection's flips and the pytorch3d wrapper's x/y negation.
pub fn view_to_ndc(view: &View, scale: f64) -> ([[f64; 3]; 3], [f64; 3]) {
    let r = angle2matrix(view.angles);
    let pre = [1.0, -1.0, 1.0];
    let post = [-1.0, 1.0, -1.0];
    let m = [0, 1, 2].map(|i| [0, 1, 2].map(|j| pre[i] * r[i][j] * scale * post[j]));
    let b = [0, 1, 2].map(|j| view.shift[j] * scale * post[j] + if j == 2 { 10.0 } else { 0.0 });
    (m, b)
}

/// The layout as the fused kernel reads it: per slot two raster and two alpha sources as
/// (view or −1, flip u, flip v), then the alpha rule. Layouts never use more sources.
fn encode_layout(layout: &PlaneLayout) -> Vec<f32> {
    let source = |s: Option<&Source>| match s {
        Some(s) => [
            s.view as f32,
            f32::from(u8::from(s.flip_u)),
            f32::from(u8::from(s.flip_v)),
        ],
        None => [-1.0, 0.0, 0.0],
    };
    layout
        .slots
        .iter()
        .flat_map(|slot| {
            assert!(
                slot.rasters.len() <= 2 && slot.alphas.len() <= 2,
                "a slot takes at most two views"
            );
            let rule = match slot.alpha_rule {
                AlphaRule::Fractional => 0.0,
                AlphaRule::Binarized => 1.0,
            };
            (0..2)
                .flat_map(|k| source(slot.rasters.get(k)))
                .chain((0..2).flat_map(|k| source(slot.alphas.get(k))))
                .chain([rule])
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The reference's first view, [0, 0, 0]: the front.
const FRONT_VIEW: usize = 0;

/// A view's image `[C, rows, columns]` turned as its slot wants it: v flips rows, u columns.
fn orient(image: Tensor<3>, s: &Source) -> Tensor<3> {
    let image = if s.flip_v { image.flip([1]) } else { image };
    if s.flip_u { image.flip([2]) } else { image }
}

/// Everything one frame's rasterization step produces.
pub struct TriplaneRaster {
    /// `[3, C, R, R]`: α·raster + (1 − α)·static, per slot of the layout.
    pub planes: Tensor<4>,
    /// `[3, R, R]`: each slot's alpha.
    pub alphas: Tensor<3>,
    /// `[C, R, R]`: the unmasked front view (the mouth crop and blending networks read it);
    /// the fused path leaves it out unless asked.
    pub front: Option<Tensor<3>>,
    /// `[4, 4, R, R]`: per view (u', v', visible, face).
    pub raster: Tensor<4>,
    /// `[4, R, R]`: per view, the filled alpha.
    pub view_alphas: Tensor<3>,
}

/// A rig's rasterization inputs on the GPU, for one layout and resolution.
pub struct TriplaneRasterizer {
    pub layout: PlaneLayout,
    pub resolution: usize,
    device: Device,
    faces: Tensor<2>,
    uv_corners: Tensor<3>,
    mask: Option<Tensor<4>>,
    views: Tensor<2>,
    /// Front view, rig space → `lm2d` (the reference's landmark coordinates).
    front_landmarks: (Tensor<2>, Tensor<1>),
}

impl TriplaneRasterizer {
    pub fn new(rig: &Rig, layout: PlaneLayout, resolution: usize, device: &Device) -> Self {
        let f = rig.faces.len();
        let faces: Vec<f32> = rig.faces.iter().flatten().map(|&i| i as f32).collect();
        let uv_corners: Vec<f32> = super::reference::face_uv_corners(rig)
            .iter()
            .flatten()
            .flatten()
            .map(|&x| x as f32)
            .collect();
        let views: Vec<f32> = layout
            .views
            .iter()
            .flat_map(|view| {
                let (m, b) = view_to_ndc(view, ORTHO_SCALE);
                m.into_iter()
                    .flatten()
                    .chain(b)
                    .map(|x| x as f32)
                    .collect::<Vec<_>>()
            })
            .collect();
        let mask = rig.uv_mask.as_ref().map(|img| {
            let data: Vec<f32> = img
                .data
                .iter()
                .step_by(img.channels)
                .map(|&x| f32::from(x) / 255.0)
                .collect();
            Tensor::<4>::from_data(TensorData::new(data, [1, 1, img.height, img.width]), device)
        });
        // lm2d = (t0, −t1) of the view transform = −(NDC x, NDC y).
        let (m, b) = view_to_ndc(&layout.views[0], ORTHO_SCALE);
        let m2: Vec<f32> = m
            .iter()
            .flat_map(|row| [-row[0] as f32, -row[1] as f32])
            .collect();
        let b2 = vec![-b[0] as f32, -b[1] as f32];
        Self {
            resolution,
            device: device.clone(),
            faces: Tensor::from_data(TensorData::new(faces, [f, 3]), device),
            uv_corners: Tensor::from_data(TensorData::new(uv_corners, [f, 3, 2]), device),
            mask,
            views: Tensor::from_data(TensorData::new(views, [4, 12]), device),
            front_landmarks: (
                Tensor::from_data(TensorData::new(m2, [3, 2]), device),
                Tensor::from_data(TensorData::new(b2, [2]), device),
            ),
            layout,
        }
    }

    /// Uses this face/eye mask (`[1, 1, H, W]`, row 0 at v = 1) instead of the rig's.
    pub fn with_mask(mut self, mask: Tensor<4>) -> Self {
        self.mask = Some(mask);
        self
    }

    /// The four views' rasters, `[4, 4, R, R]` (u', v', visible, face index or −1).
    pub fn rasterize(&self, vertices: Tensor<2>) -> Tensor<4> {
        Tensor::from_dispatch(<Dispatch as RasterOps>::rasterize_views(
            vertices.into_dispatch(),
            self.faces.clone().into_dispatch(),
            self.uv_corners.clone().into_dispatch(),
            self.views.clone().into_dispatch(),
            self.resolution,
        ))
    }

    /// Samples `texture` (`[C, T, T]`) and the face/eye mask through each view's UVs:
    /// renderings `[4, C, R, R]` and masked alphas `[4, R, R]`. Differentiable in the texture.
    pub fn sample(&self, raster: &Tensor<4>, texture: Tensor<3>) -> (Tensor<4>, Tensor<3>) {
        let n = self.resolution;
        let [c, t, _] = texture.dims();
        let grid = raster
            .clone()
            .slice([0..4, 0..2, 0..n, 0..n])
            .permute([0, 2, 3, 1])
            .reshape([1, 4 * n, n, 2]);
        let visible = raster
            .clone()
            .slice([0..4, 2..3, 0..n, 0..n])
            .reshape([4, n, n]);
        let sampled = texture
            .reshape([1, c, t, t])
            .grid_sample_2d(grid.clone(), GridSampleOptions::default())
            .reshape([c, 4, n, n])
            .swap_dims(0, 1);
        let renderings = if self.layout.zero_background {
            sampled * visible.clone().reshape([4, 1, n, n])
        } else {
            sampled
        };
        let alpha = match &self.mask {
            Some(mask) => {
                mask.clone()
                    .grid_sample_2d(grid, GridSampleOptions::default())
                    .reshape([4, n, n])
                    * visible
            }
            None => visible,
        };
        (renderings, alpha)
    }

    /// The mouth fill on each view's alpha (not differentiable, as in the reference).
    pub fn fill(&self, alpha: Tensor<3>) -> Tensor<3> {
        Tensor::from_dispatch(<Dispatch as RasterOps>::fill_mouth(alpha.into_dispatch()))
    }

    /// Merges the views into the layout's slots and blends with the static planes
    /// (`[3, C, H, W]`, resampled to the raster resolution if they differ): planes
    /// `[3, C, R, R]` and slot alphas `[3, R, R]`.
    pub fn blend(
        &self,
        renderings: Tensor<4>,
        alphas: Tensor<3>,
        static_planes: Tensor<4>,
    ) -> (Tensor<4>, Tensor<3>) {
        let n = self.resolution;
        let [_, c, _, _] = renderings.dims();
        let static_planes = self.resample(static_planes);
        let mut planes = Vec::new();
        let mut slot_alphas = Vec::new();
        for (k, slot) in self.layout.slots.iter().enumerate() {
            let mut raster = Tensor::<3>::zeros([c, n, n], &self.device);
            for s in &slot.rasters {
                raster = raster
                    + orient(
                        renderings
                            .clone()
                            .slice([s.view..s.view + 1, 0..c, 0..n, 0..n])
                            .reshape([c, n, n]),
                        s,
                    );
            }
            let mut alpha = Tensor::<3>::zeros([1, n, n], &self.device);
            for s in &slot.alphas {
                let a = orient(alphas.clone().slice([s.view..s.view + 1, 0..n, 0..n]), s);
                let a = match slot.alpha_rule {
                    AlphaRule::Fractional => a,
                    AlphaRule::Binarized => a.not_equal_elem(0.0).float(),
                };
                alpha = alpha.max_pair(a);
            }
            let alpha = alpha.detach();
            let static_plane = static_planes
                .clone()
                .slice([k..k + 1, 0..c, 0..n, 0..n])
                .reshape([c, n, n]);
            planes.push(alpha.clone() * raster + (alpha.clone().neg() + 1.0) * static_plane);
            slot_alphas.push(alpha);
        }
        (Tensor::stack(planes, 0), Tensor::cat(slot_alphas, 0))
    }

    /// Re-blends the slot that holds the front view alone with a new front raster `[C, R, R]`
    /// (the blending network's output): α·front + (1 − α)·static there, the other slots as
    /// they are. `None` when no slot holds the front view alone.
    pub fn replace_front(
        &self,
        planes: Tensor<4>,
        alphas: &Tensor<3>,
        front: Tensor<3>,
        static_planes: Tensor<4>,
    ) -> Option<Tensor<4>> {
        let (k, source) =
            self.layout.slots.iter().enumerate().find_map(|(k, slot)| {
                match slot.rasters.as_slice() {
                    [s] if s.view == FRONT_VIEW => Some((k, s)),
                    _ => None,
                }
            })?;
        let n = self.resolution;
        let [c, _, _] = front.dims();
        let static_plane = self
            .resample(static_planes)
            .slice([k..k + 1, 0..c, 0..n, 0..n])
            .reshape([c, n, n]);
        let alpha = alphas.clone().slice([k..k + 1, 0..n, 0..n]);
        let plane = alpha.clone() * orient(front, source) + (alpha.neg() + 1.0) * static_plane;
        Some(planes.slice_assign([k..k + 1, 0..c, 0..n, 0..n], plane.reshape([1, c, n, n])))
    }

    /// The skinned landmarks (`[68, 3]`) in the front view: the reference's `lm2d`, `[68, 2]`.
    pub fn front_landmarks_2d(&self, landmarks: Tensor<2>) -> Tensor<2> {
        let (m, b) = &self.front_landmarks;
        landmarks.matmul(m.clone()) + b.clone().reshape([1, 2])
    }

    /// The square mouth box in the reference's 256-pixel frame, from the skinned landmarks
    /// (`[68, 3]`), as `[row0, row1, col0, col1]`, scaled to the raster resolution.
    pub fn mouth_box(&self, landmarks: Tensor<2>) -> Tensor<1, Int> {
        let px = self.front_landmarks_2d(landmarks) * 128.0 + 128.0;
        let lips = px.clone().slice([48..60, 0..2]);
        let extent = lips.clone().max_dim(0) - lips.min_dim(0);
        // int(max(extent)·1.2) // 2, then int(centre ± half); all positive, so floor = trunc.
        let side = (extent.max() * 1.2).floor();
        let half = (side / 2.0).floor();
        let centre = (px.clone().slice([48..49, 0..2]) + px.slice([54..55, 0..2])) / 2.0;
        let centre = centre.reshape([2]);
        let (cx, cy) = (centre.clone().narrow(0, 0, 1), centre.narrow(0, 1, 1));
        let corners = Tensor::cat(
            vec![
                cy.clone() - half.clone(),
                cy + half.clone(),
                cx.clone() - half.clone(),
                cx + half,
            ],
            0,
        );
        (corners.int() * self.resolution as i64).div_scalar(256)
    }

    /// Bilinear resampling (align_corners = false) of `[3, C, H, W]` planes to the raster
    /// resolution, through grid_sample so that gradients reach the planes on any backend.
    pub fn resample(&self, planes: Tensor<4>) -> Tensor<4> {
        let n = self.resolution;
        let [_, c, h, w] = planes.dims();
        if (h, w) == (n, n) {
            return planes;
        }
        let centres: Vec<f32> = (0..n)
            .map(|i| (2.0 * i as f32 + 1.0) / n as f32 - 1.0)
            .collect();
        let grid: Vec<f32> = (0..n)
            .flat_map(|r| (0..n).flat_map(move |c| [c, r]))
            .map(|i| centres[i])
            .collect();
        let grid = Tensor::<4>::from_data(TensorData::new(grid, [1, n, n, 2]), &self.device);
        // One plane at a time: batched grid_sample's gradient is wrong on burn 0.22.1.
        let planes: Vec<Tensor<4>> = (0..3)
            .map(|k| {
                planes
                    .clone()
                    .narrow(0, k, 1)
                    .reshape([1, c, h, w])
                    .grid_sample_2d(grid.clone(), GridSampleOptions::default())
            })
            .collect();
        Tensor::cat(planes, 0)
    }

    /// The face/eye mask sampled through each view's UVs, times visibility: `[4, R, R]`.
    pub fn mask_alpha(&self, raster: &Tensor<4>) -> Tensor<3> {
        let n = self.resolution;
        let visible = raster
            .clone()
            .slice([0..4, 2..3, 0..n, 0..n])
            .reshape([4, n, n]);
        match &self.mask {
            Some(mask) => {
                let grid = raster
                    .clone()
                    .slice([0..4, 0..2, 0..n, 0..n])
                    .permute([0, 2, 3, 1])
                    .reshape([1, 4 * n, n, 2]);
                mask.clone()
                    .grid_sample_2d(grid, GridSampleOptions::default())
                    .reshape([4, n, n])
                    * visible
            }
            None => visible,
        }
    }

    /// The fused sample + merge + blend for a rasterized frame: planes, slot alphas and, if
    /// `keep_front`, the front view.
    pub fn sample_blend(
        &self,
        raster: &Tensor<4>,
        texture: Tensor<3>,
        view_alphas: Tensor<3>,
        static_planes: Tensor<4>,
        keep_front: bool,
    ) -> (Tensor<4>, Tensor<3>, Option<Tensor<3>>) {
        let n = self.resolution;
        let [c, _, _] = texture.dims();
        let static_planes = self.resample(static_planes);
        let layout = Tensor::<2>::from_data(
            TensorData::new(encode_layout(&self.layout), [3, 13]),
            &self.device,
        );
        let out = Tensor::<1>::from_dispatch(<Dispatch as RasterOps>::sample_blend(
            raster.clone().into_dispatch(),
            texture.into_dispatch(),
            view_alphas.into_dispatch(),
            static_planes.into_dispatch(),
            layout.into_dispatch(),
            self.layout.zero_background,
            keep_front,
        ));
        let (planes_len, alphas_len) = (3 * c * n * n, 3 * n * n);
        (
            out.clone().narrow(0, 0, planes_len).reshape([3, c, n, n]),
            out.clone()
                .narrow(0, planes_len, alphas_len)
                .reshape([3, n, n]),
            keep_front.then(|| {
                out.narrow(0, planes_len + alphas_len, c * n * n)
                    .reshape([c, n, n])
            }),
        )
    }

    /// The viewer's path for one frame: the same result as [`Self::forward`] with the texture
    /// sampling, merge and blend fused into one kernel (not differentiable). The front view
    /// (a quarter of the kernel's work) only if `keep_front`: only the mouth networks read it.
    pub fn forward_fused(
        &self,
        vertices: Tensor<2>,
        texture: Tensor<3>,
        static_planes: Tensor<4>,
        keep_front: bool,
    ) -> TriplaneRaster {
        let raster = self.rasterize(vertices);
        let view_alphas = self.fill(self.mask_alpha(&raster));
        let (planes, alphas, front) = self.sample_blend(
            &raster,
            texture,
            view_alphas.clone(),
            static_planes,
            keep_front,
        );
        TriplaneRaster {
            planes,
            alphas,
            front,
            raster,
            view_alphas,
        }
    }

    /// The whole step for one frame.
    pub fn forward(
        &self,
        vertices: Tensor<2>,
        texture: Tensor<3>,
        static_planes: Tensor<4>,
    ) -> TriplaneRaster {
        let raster = self.rasterize(vertices);
        let (renderings, masked) = self.sample(&raster, texture);
        let view_alphas = self.fill(masked);
        let n = self.resolution;
        let [_, c, _, _] = renderings.dims();
        let front = renderings
            .clone()
            .slice([0..1, 0..c, 0..n, 0..n])
            .reshape([c, n, n]);
        let (planes, alphas) = self.blend(renderings, view_alphas.clone(), static_planes);
        TriplaneRaster {
            planes,
            alphas,
            front: Some(front),
            raster,
            view_alphas,
        }
    }
}
