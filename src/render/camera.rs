//! EG3D cameras: `c` = cam2world 4×4 (OpenCV axes: x right, y down, z forward) followed by
//! normalised intrinsics 3×3. The orbit keeps the camera on a sphere around the origin
//! looking at (0, 0, 0.2); head pose is this camera, since Next3D's rig never rotates.

use glam::{DMat3, DMat4, DQuat, DVec3};

pub const DEFAULT_RADIUS: f64 = 2.7;
pub const LOOK_AT: DVec3 = DVec3::new(0.0, 0.0, 0.2);
/// EG3D's FFHQ field of view; its focal length is 4.2647.
pub const DEFAULT_FOV_DEGREES: f64 = 18.837;
/// Ray bounds at the default radius are 2.25…3.3; they follow the distance.
const NEAR_BEFORE: f64 = 0.45;
const FAR_AFTER: f64 = 0.6;
/// Rig space (FLAME metres) to the triplane box: Next3D's orthographic scale 5 against a
/// box of width 2 scales by 2.5, and its shift moves the head up by 0.01 (rig units).
pub const RIG_TO_WORLD_SCALE: f64 = 2.5;
pub const RIG_TO_WORLD_SHIFT: DVec3 = DVec3::new(0.0, 0.01, 0.0);

/// The user's view: angles in radians. yaw > 0 moves the camera toward the subject's left,
/// pitch > 0 raises it (looking down on the head), roll turns it about its view axis.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct OrbitCamera {
    pub yaw: f64,
    pub pitch: f64,
    pub roll: f64,
    pub radius: f64,
    pub fov_degrees: f64,
}

impl Default for OrbitCamera {
    fn default() -> Self {
        Self {
            yaw: 0.0,
            pitch: 0.0,
            roll: 0.0,
            radius: DEFAULT_RADIUS,
            fov_degrees: DEFAULT_FOV_DEGREES,
        }
    }
}

impl OrbitCamera {
    /// Where the camera is, as EG3D's `LookAtPoseSampler` places it (θ = π/2 + yaw, φ = π/2 − pitch).
    pub fn origin(&self) -> DVec3 {
        let theta = std::f64::consts::FRAC_PI_2 + self.yaw;
        let phi =
            (std::f64::consts::FRAC_PI_2 - self.pitch).clamp(1e-5, std::f64::consts::PI - 1e-5);
        let r = self.radius;
        DVec3::new(
            r * phi.sin() * (std::f64::consts::PI - theta).cos(),
            r * phi.cos(),
            r * phi.sin() * (std::f64::consts::PI - theta).sin(),
        )
    }

    /// Camera to world with OpenCV axes, as EG3D's `create_cam2world_matrix`, then rolled.
    pub fn cam2world(&self) -> DMat4 {
        let origin = self.origin();
        let forward = (LOOK_AT - origin).normalize();
        let right = -DVec3::Y.cross(forward).normalize();
        let up = forward.cross(right).normalize();
        let rotation = DMat3::from_cols(right, up, forward) * DMat3::from_rotation_z(self.roll);
        DMat4::from_cols(
            rotation.x_axis.extend(0.0),
            rotation.y_axis.extend(0.0),
            rotation.z_axis.extend(0.0),
            origin.extend(1.0),
        )
    }

    /// The head's rotation relative to this camera as axis-angle in rig axes: the rotation
    /// that, seen from the frontal camera, gives this view (head pose is the camera in Next3D,
    /// so orbiting turns the head as DECA would regress it from the image).
    pub fn head_rotation(&self) -> DVec3 {
        let frontal = OrbitCamera {
            yaw: 0.0,
            pitch: 0.0,
            roll: 0.0,
            ..*self
        };
        let rotation =
            DMat3::from_mat4(frontal.cam2world()) * DMat3::from_mat4(self.cam2world()).transpose();
        let (axis, angle) = DQuat::from_mat3(&rotation).to_axis_angle();
        axis * angle
    }

    /// Focal length in units of the image size, as EG3D derives it from the vertical FOV.
    pub fn focal(&self) -> f64 {
        1.0 / (std::f64::consts::SQRT_2 * (self.fov_degrees.to_radians() / 2.0).tan())
    }

    /// Normalised intrinsics: focal and principal point in units of the image size.
    pub fn intrinsics(&self) -> DMat3 {
        let f = self.focal();
        DMat3::from_cols(
            DVec3::new(f, 0.0, 0.0),
            DVec3::new(0.0, f, 0.0),
            DVec3::new(0.5, 0.5, 1.0),
        )
    }

    /// EG3D's 25-number camera label: cam2world row-major, then the intrinsics row-major.
    pub fn eg3d_label(&self) -> [f32; 25] {
        let mut c = [0.0f32; 25];
        let m = self.cam2world().transpose().to_cols_array();
        let k = self.intrinsics().transpose().to_cols_array();
        for (dst, src) in c.iter_mut().zip(m.iter().chain(k.iter())) {
            *dst = *src as f32;
        }
        c
    }

    /// Near and far ray bounds: 2.25…3.3 at radius 2.7, moving with the radius.
    pub fn ray_bounds(&self) -> (f64, f64) {
        (self.radius - NEAR_BEFORE, self.radius + FAR_AFTER)
    }

    /// World to clip space for rasterising meshes with wgpu (depth 0…1 between the planes).
    pub fn view_projection(&self, near: f64, far: f64) -> DMat4 {
        let k = self.intrinsics();
        let (fx, fy, cx, cy) = (k.x_axis.x, k.y_axis.y, k.z_axis.x, k.z_axis.y);
        let a = far / (far - near);
        // OpenCV camera (y down, z forward) to wgpu clip space (y up, w = depth).
        let projection = DMat4::from_cols_array_2d(&[
            [2.0 * fx, 0.0, 0.0, 0.0],
            [0.0, -2.0 * fy, 0.0, 0.0],
            [2.0 * cx - 1.0, -(2.0 * cy - 1.0), a, 1.0],
            [0.0, 0.0, -a * near, 0.0],
        ]);
        projection * self.cam2world().inverse()
    }
}

/// Rig space to world (triplane) space.
pub fn rig_to_world() -> DMat4 {
    DMat4::from_scale(DVec3::splat(RIG_TO_WORLD_SCALE))
        * DMat4::from_translation(RIG_TO_WORLD_SHIFT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_rotation_is_the_orbit_seen_from_the_frontal_camera() {
        let frontal = OrbitCamera::default();
        assert!(frontal.head_rotation().length() < 1e-12);
        let turned = OrbitCamera {
            yaw: 0.3,
            ..frontal
        };
        let r = turned.head_rotation();
        // The camera circles the vertical axis while looking at (0, 0, 0.2), so the view turns
        // by the angle of its forward axis, and the head the other way about the same axis.
        let forward = (0.3f64.sin() * 2.7).atan2(0.3f64.cos() * 2.7 - LOOK_AT.z);
        assert!(
            (r.y + forward).abs() < 1e-9 && r.x.abs() < 1e-9 && r.z.abs() < 1e-9,
            "{r}"
        );
        let rolled = OrbitCamera {
            roll: 0.2,
            ..frontal
        };
        assert!((rolled.head_rotation().length() - 0.2).abs() < 1e-9);
    }

    #[test]
    fn default_camera_matches_eg3d() {
        let cam = OrbitCamera::default();
        assert!((cam.focal() - 4.2647).abs() < 2e-3, "focal {}", cam.focal());
        let origin = cam.origin();
        assert!((origin - DVec3::new(0.0, 0.0, 2.7)).length() < 1e-9);
        // Looking toward −z, x to the right, y down.
        let m = cam.cam2world();
        assert!((m.z_axis.truncate() - (LOOK_AT - origin).normalize()).length() < 1e-12);
        assert!((m.x_axis.truncate() - DVec3::X).length() < 1e-12);
        assert!(m.y_axis.y < -0.99);
        assert_eq!(cam.ray_bounds(), (2.25, 3.3000000000000003));
    }

    #[test]
    fn look_at_point_projects_to_the_principal_point() {
        for (yaw, pitch, roll) in [(0.3, -0.2, 0.1), (-0.7, 0.4, -0.5)] {
            let cam = OrbitCamera {
                yaw,
                pitch,
                roll,
                ..Default::default()
            };
            assert!((cam.origin().length() - DEFAULT_RADIUS).abs() < 1e-12);
            let clip = cam.view_projection(0.5, 6.0) * LOOK_AT.extend(1.0);
            assert!((clip.x / clip.w).abs() < 1e-9 && (clip.y / clip.w).abs() < 1e-9);
        }
    }
}
