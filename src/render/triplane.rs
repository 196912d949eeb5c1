//! Sampling the three feature planes at 3D points (EG3D's `sample_from_planes`).

use burn::tensor::ops::GridSampleOptions;
use burn::tensor::{Device, Tensor, TensorData};

/// How each plane maps a point to its (u, v): `uv = (2/box_warp)·p · Q_k`, with `Q_k` the
/// first two columns of the inverse of the checkpoint's `plane_axes[k]` — or, for this
/// project's layouts, the plane's two world axes.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaneProjection {
    /// `[plane][xyz][uv]`.
    pub q: [[[f64; 2]; 3]; 3],
}

impl PlaneProjection {
    /// Each plane samples world axes (a, b).
    pub fn from_axes(axes: [[usize; 2]; 3]) -> Self {
        let mut q = [[[0.0; 2]; 3]; 3];
        for (k, [a, b]) in axes.iter().enumerate() {
            q[k][*a][0] = 1.0;
            q[k][*b][1] = 1.0;
        }
        Self { q }
    }

    /// From EG3D's `plane_axes` (`[3, 3, 3]`, row-major): `coords @ inv(P_k)[:, :2]`.
    pub fn from_plane_axes(p: &[f32]) -> Result<Self, String> {
        if p.len() != 27 {
            return Err(format!(
                "plane_axes holds {} values, expected 3×3×3",
                p.len()
            ));
        }
        let mut q = [[[0.0; 2]; 3]; 3];
        for (k, plane) in q.iter_mut().enumerate() {
            let m = glam::DMat3::from_cols_slice(
                &p[k * 9..k * 9 + 9]
                    .iter()
                    .map(|&x| f64::from(x))
                    .collect::<Vec<_>>(),
            )
            .transpose();
            if m.determinant().abs() < 1e-9 {
                return Err(format!("plane_axes[{k}] is singular"));
            }
            let inv = m.inverse();
            for (r, row) in plane.iter_mut().enumerate() {
                // inv(P)[r][c] for c in 0..2, glam is column-major.
                *row = [inv.col(0)[r], inv.col(1)[r]];
            }
        }
        Ok(Self { q })
    }

    pub fn tensor(&self, device: &Device) -> Tensor<3> {
        let flat: Vec<f32> = self
            .q
            .iter()
            .flatten()
            .flatten()
            .map(|&x| x as f32)
            .collect();
        Tensor::from_data(TensorData::new(flat, [3, 3, 2]), device)
    }
}

/// Features of `planes` (`[3, C, H, W]`) at `points` (`[M, 3]`): `[3, M, C]`. Bilinear,
/// zeros padding, align_corners = false; differentiable in the planes.
pub fn sample_planes(
    planes: Tensor<4>,
    projection: &Tensor<3>,
    points: Tensor<2>,
    box_warp: f64,
) -> Tensor<3> {
    let [m, _] = points.dims();
    let [_, c, h, w] = planes.dims();
    let coords = points * (2.0 / box_warp);
    // One grid_sample per plane (batch 1): the batched form's gradient did not match finite
    // differences on burn 0.22.1's autodiff (tests/render_reference.rs).
    let per_plane: Vec<Tensor<3>> = (0..3)
        .map(|k| {
            let q = projection.clone().narrow(0, k, 1).reshape([3, 2]);
            let grid = coords.clone().matmul(q).reshape([1, 1, m, 2]);
            planes
                .clone()
                .narrow(0, k, 1)
                .reshape([1, c, h, w])
                .grid_sample_2d(grid, GridSampleOptions::default())
                .reshape([1, c, m])
                .swap_dims(1, 2)
        })
        .collect();
    Tensor::cat(per_plane, 0)
}
