//! Fitting the default rig and the camera to a portrait's 468 landmarks (the default rig's
//! first 468 vertices are MediaPipe's landmarks), on the CPU reference rig in f64.
//!
//! Unknowns: the EG3D camera's yaw, pitch and roll (radius, focal and principal point stay
//! EG3D's; the rig's global rotation stays 0), a similarity of the aligned crop (scale and
//! shift, so that the portrait can be re-cropped to EG3D's framing), and the rig's expression
//! weights in [0, 1] (`jawOpen` turns the jaw), alternating with the identity offset field
//! (`identity.rs`). Levenberg–Marquardt on the 2-D reprojection error, with numeric
//! derivatives and a small pull of the expressions toward neutral.

use glam::{DVec3, DVec4};

use super::least_squares::{LeastSquares, central_differences, solve};

use crate::render::camera::{OrbitCamera, rig_to_world};
use crate::rig::params::Identity;
use crate::rig::skin_cpu::skin;
use crate::rig::{Rig, RigKind, RigParams};

/// Pull of each expression weight toward 0 (in units of the normalised image).
const EXPRESSION_PRIOR: f64 = 0.01;
pub(super) const ITERATIONS: usize = 60;
/// Rigid unknowns: yaw, pitch, roll, crop scale, crop shift x, y.
pub(super) const RIGID: usize = 6;
/// Rounds of (identity, then camera and expression).
const IDENTITY_ROUNDS: usize = 2;

/// What the fit found.
#[derive(Debug, Clone)]
pub struct Fit {
    pub camera: OrbitCamera,
    pub params: RigParams,
    /// The rig's projection in crop coordinates is `scale · p + shift` (normalised units).
    pub crop_scale: f64,
    pub crop_shift: [f64; 2],
    /// Mean distance between projected and detected landmarks over the inter-ocular distance.
    pub error: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error(
        "landmark fitting needs a rig with MediaPipe's 468 points or FLAME's 68 embedded on it (this rig is {0:?})"
    )]
    UnsupportedRig(RigKind),
    #[error("{0}")]
    Params(String),
}

/// Fits `rig` to `landmarks`, MediaPipe's 468 points in normalised crop coordinates
/// (0…1, y down). Rigs with an identity basis (the whole-head default rig, FLAME) are fitted
/// through their landmark embedding (`fit_embedded.rs`); the face-mask rig here.
pub fn fit(rig: &Rig, landmarks: &[[f64; 2]]) -> Result<Fit, FitError> {
    match rig.kind {
        _ if rig.shape_basis.count > 0 => return super::fit_embedded::fit(rig, landmarks),
        RigKind::Default if rig.mediapipe.len() == landmarks.len() => {}
        kind => return Err(FitError::UnsupportedRig(kind)),
    }
    let mut problem = Problem {
        rig,
        landmarks,
        names: rig.expression_names.clone(),
        offsets: None,
    };
    let all = RIGID + problem.names.len();
    let mut x = vec![0.0; all];
    x[3] = 1.0;
    // The rigid part first, from neutral; then with the expressions; then the identity takes
    // what they cannot explain. (Fitting the identity first lets it absorb a real jaw opening;
    // this order lets expressions absorb some identity instead — one view cannot tell.)
    x = solve(&problem, x, RIGID, ITERATIONS)?;
    x = solve(&problem, x, all, ITERATIONS)?;
    for _ in 0..IDENTITY_ROUNDS {
        problem.offsets = Some(problem.identity(&x)?);
        x = solve(&problem, x, all, ITERATIONS)?;
    }
    let iod = inter_ocular(landmarks);
    let error = problem
        .landmark_residuals(&x)?
        .iter()
        .map(|r| r[0].hypot(r[1]))
        .sum::<f64>()
        / landmarks.len() as f64
        / iod;
    Ok(Fit {
        camera: problem.camera(&x),
        params: problem.params(&x),
        crop_scale: x[3],
        crop_shift: [x[4], x[5]],
        error,
    })
}

/// Rig-space points seen by `camera`, in normalised image coordinates (0…1, y down): where
/// the camera's rays through those pixels start.
pub fn project(camera: &OrbitCamera, points: &[[f64; 3]]) -> Vec<[f64; 2]> {
    let world_to_camera = camera.cam2world().inverse() * rig_to_world();
    let f = camera.focal();
    points
        .iter()
        .map(|v| {
            let p = world_to_camera * DVec4::from((DVec3::from_array(*v), 1.0));
            [f * p.x / p.z + 0.5, f * p.y / p.z + 0.5]
        })
        .collect()
}

/// The EG3D camera of the rigid unknowns (yaw, pitch, roll first).
pub(super) fn rigid_camera(x: &[f64]) -> OrbitCamera {
    OrbitCamera {
        yaw: x[0],
        pitch: x[1],
        roll: x[2],
        ..Default::default()
    }
}

/// The distance between the outer eye corners of MediaPipe's 468 landmarks.
pub(super) fn inter_ocular(landmarks: &[[f64; 2]]) -> f64 {
    distance(landmarks[33], landmarks[263])
}

fn distance(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

struct Problem<'a> {
    rig: &'a Rig,
    landmarks: &'a [[f64; 2]],
    names: Vec<String>,
    /// The identity offset field, once estimated.
    offsets: Option<Vec<[f64; 3]>>,
}

impl Problem<'_> {
    fn camera(&self, x: &[f64]) -> OrbitCamera {
        rigid_camera(x)
    }

    fn params(&self, x: &[f64]) -> RigParams {
        let mut params = RigParams::default();
        if let Some(offsets) = &self.offsets {
            params.identity =
                Identity::Offsets(offsets.iter().map(|o| o.map(|v| v as f32)).collect());
        }
        for (name, &w) in self.names.iter().zip(&x[RIGID..]) {
            if w != 0.0 {
                params = params.with_expression(name, w as f32);
            }
        }
        params
    }

    fn skinned(&self, x: &[f64]) -> Result<Vec<[f64; 3]>, FitError> {
        let (resolved, _) = self
            .params(x)
            .resolve(self.rig)
            .map_err(|e| FitError::Params(e.to_string()))?;
        Ok(skin(self.rig, &resolved).vertices)
    }

    /// The identity offsets that close the current residual.
    fn identity(&self, x: &[f64]) -> Result<Vec<[f64; 3]>, FitError> {
        let n = self.landmarks.len();
        let residual = self.landmark_residuals(x)?;
        let previous = self
            .offsets
            .clone()
            .unwrap_or_else(|| vec![[0.0; 3]; self.rig.num_vertices()]);
        let posed = self.skinned(x)?;
        Ok(super::identity::offsets(
            self.rig,
            &self.camera(x),
            x[3],
            &posed[..n],
            &residual,
            &previous,
        ))
    }

    /// Projected − detected landmark per point, without the prior terms.
    fn landmark_residuals(&self, x: &[f64]) -> Result<Vec<[f64; 2]>, FitError> {
        let r = self.residual(x)?;
        Ok(r[..2 * self.landmarks.len()]
            .chunks_exact(2)
            .map(|r| [r[0], r[1]])
            .collect())
    }

    /// Projected − detected landmark per point (x, y), then the expression prior terms.
    fn residual(&self, x: &[f64]) -> Result<Vec<f64>, FitError> {
        let vertices = self.skinned(x)?;
        let projected = project(&self.camera(x), &vertices[..self.landmarks.len()]);
        let mut r = Vec::with_capacity(2 * self.landmarks.len() + self.names.len());
        for ([u, w], l) in projected.iter().zip(self.landmarks) {
            r.push(x[3] * u + x[4] - l[0]);
            r.push(x[3] * w + x[5] - l[1]);
        }
        r.extend(x[RIGID..].iter().map(|w| EXPRESSION_PRIOR * w));
        Ok(r)
    }
}

impl LeastSquares for Problem<'_> {
    fn residual(&self, x: &[f64]) -> Result<Vec<f64>, FitError> {
        Problem::residual(self, x)
    }

    fn jacobian(&self, x: &[f64], active: usize) -> Result<Vec<Vec<f64>>, FitError> {
        central_differences(|x| Problem::residual(self, x), x, active)
    }

    /// Expressions stay in [0, 1].
    fn clamp(&self, x: &mut [f64]) {
        for w in &mut x[RIGID..] {
            *w = w.clamp(0.0, 1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Landmarks made by the rig itself from a known camera and expression are fitted back.
    #[test]
    fn recovers_a_synthetic_pose_and_expression() {
        let rig = crate::rig::default_rig::face_mask();
        let names = rig.expression_names.clone();
        let truth: Vec<f64> = {
            let mut x = vec![0.15, -0.1, 0.05, 1.1, -0.03, 0.02];
            x.extend(names.iter().map(|n| if n == "jawOpen" { 0.6 } else { 0.0 }));
            x
        };
        // Against landmarks at the origin, the residual is the projection itself.
        let origin = vec![[0.0; 2]; 468];
        let projected = Problem {
            rig: &rig,
            landmarks: &origin,
            names,
            offsets: None,
        }
        .landmark_residuals(&truth)
        .unwrap();
        let found = fit(&rig, &projected).unwrap();
        eprintln!("{:?} {:?}", found.camera, found.params.expression);
        assert!(found.error < 1e-3, "error {}", found.error);
        assert!((found.camera.yaw - 0.15).abs() < 0.01 && (found.camera.pitch + 0.1).abs() < 0.01);
        let jaw = found
            .params
            .expression
            .get("jawOpen")
            .copied()
            .unwrap_or(0.0);
        assert!((jaw - 0.6).abs() < 0.05, "jawOpen {jaw}");
    }
}
