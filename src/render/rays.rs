//! EG3D's ray sampler: one ray per pixel centre of an N×N image, row-major.

use glam::{DMat3, DMat4, DVec3, DVec4};

/// A camera as EG3D labels it: cam2world (OpenCV axes) and normalised intrinsics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameraLabel {
    pub cam2world: DMat4,
    pub intrinsics: DMat3,
}

impl CameraLabel {
    /// From the 25 numbers `c`: cam2world row-major, then intrinsics row-major.
    pub fn from_eg3d(c: &[f32; 25]) -> Self {
        let m: Vec<f64> = c.iter().map(|&x| f64::from(x)).collect();
        Self {
            cam2world: DMat4::from_cols_slice(&m[..16]).transpose(),
            intrinsics: DMat3::from_cols_slice(&m[16..25]).transpose(),
        }
    }

    /// Ray origins and unit directions, `[N·N]` each, pixel (i, j) at index i·N + j, with
    /// x = (j + 0.5)/N and y = (i + 0.5)/N lifted through the intrinsics (skew included).
    pub fn rays(&self, resolution: usize) -> (Vec<[f32; 3]>, Vec<[f32; 3]>) {
        let k = self.intrinsics;
        let (fx, fy, cx, cy, skew) = (k.x_axis.x, k.y_axis.y, k.z_axis.x, k.z_axis.y, k.y_axis.x);
        let origin = self.cam2world.w_axis.truncate();
        let n = resolution as f64;
        let mut origins = Vec::with_capacity(resolution * resolution);
        let mut directions = Vec::with_capacity(resolution * resolution);
        for i in 0..resolution {
            for j in 0..resolution {
                let (x, y) = ((j as f64 + 0.5) / n, (i as f64 + 0.5) / n);
                let x_lift = (x - cx + cy * skew / fy - skew * y / fy) / fx;
                let y_lift = (y - cy) / fy;
                let world = self.cam2world * DVec4::new(x_lift, y_lift, 1.0, 1.0);
                let d: DVec3 = (world.truncate() - origin).normalize();
                origins.push(origin.as_vec3().to_array());
                directions.push(d.as_vec3().to_array());
            }
        }
        (origins, directions)
    }
}
