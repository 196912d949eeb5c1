//! Fitting a FLAME rig and the camera to a portrait's landmarks. FLAME has no MediaPipe
//! vertices; its landmark embedding (DECA's 68 iBUG points as faces and barycentric weights,
//! stored by tools/convert_flame.py) is matched with the same 68 points of the 468
//! (`IBUG68_VERTICES`, the default rig's choice of MediaPipe vertices).
//!
//! Unknowns: the rigid part as `fit.rs` (yaw, pitch, roll, crop scale and shift), the jaw's
//! opening, and the first `EXPRESSIONS` expression and `SHAPES` shape coefficients, each
//! pulled toward 0. The rig part's derivatives come from `rig::jacobian`; the projection's
//! from central differences.

use super::fit::{Fit, FitError, ITERATIONS, RIGID, inter_ocular, project, rigid_camera};
use super::least_squares::{LeastSquares, central_differences, solve};
use crate::rig::default_rig::landmarks::IBUG68_VERTICES;
use crate::rig::jacobian::{Variable, landmark_jacobian};
use crate::rig::model::JAW;
use crate::rig::params::Identity;
use crate::rig::skin_cpu::skin;
use crate::rig::{Rig, RigParams};

/// Coefficients fitted: the large components; one view cannot tell the rest apart.
const EXPRESSIONS: usize = 20;
const SHAPES: usize = 30;
/// Pull of each coefficient (in standard deviations) toward 0, in normalised image units.
const COEFFICIENT_PRIOR: f64 = 0.003;
/// Coefficients stay within this many standard deviations.
const COEFFICIENT_RANGE: f64 = 3.0;
/// Yaw, pitch and roll of a portrait (radians, either way): a face seen from the side or
/// beyond has no landmarks to fit.
const ANGLE_RANGE: [f64; 3] = [1.2, 1.0, 1.0];
/// The jaw opens between 0 and this many radians.
const JAW_RANGE: f64 = 0.5;
/// FLAME's jaw-line landmarks are fixed on the mesh while the image's are the silhouette: they
/// count half.
const CONTOUR_WEIGHT: f64 = 0.5;
const CONTOUR: std::ops::Range<usize> = 0..17;

/// Fits a FLAME rig to MediaPipe's 468 landmarks (normalised crop coordinates).
pub fn fit(rig: &Rig, landmarks: &[[f64; 2]]) -> Result<Fit, FitError> {
    if landmarks.len() < 468 || rig.landmarks.len() != IBUG68_VERTICES.len() {
        return Err(FitError::UnsupportedRig(rig.kind));
    }
    let problem = FlameProblem {
        rig,
        targets: IBUG68_VERTICES
            .iter()
            .map(|&v| landmarks[v as usize])
            .collect(),
        expressions: EXPRESSIONS.min(rig.expression_basis.count),
        shapes: SHAPES.min(rig.shape_basis.count),
    };
    let mut x = vec![0.0; RIGID + 1 + problem.expressions + problem.shapes];
    x[3] = 1.0;
    x = solve(&problem, x, RIGID, ITERATIONS)?;
    let all = x.len();
    x = solve(&problem, x, all, ITERATIONS)?;
    let residual = problem.landmark_residual(&x)?;
    let error = residual
        .chunks_exact(2)
        .map(|r| r[0].hypot(r[1]))
        .sum::<f64>()
        / problem.targets.len() as f64
        / inter_ocular(landmarks);
    Ok(Fit {
        camera: rigid_camera(&x),
        params: problem.params(&x),
        crop_scale: x[3],
        crop_shift: [x[4], x[5]],
        error,
    })
}

struct FlameProblem<'a> {
    rig: &'a Rig,
    /// The 68 detected points the rig's landmarks should land on.
    targets: Vec<[f64; 2]>,
    expressions: usize,
    shapes: usize,
}

impl FlameProblem<'_> {
    /// Unknown `RIGID` is the jaw; then the expressions; then the shape coefficients.
    fn params(&self, x: &[f64]) -> RigParams {
        let expressions = &x[RIGID + 1..RIGID + 1 + self.expressions];
        let shapes = &x[RIGID + 1 + self.expressions..];
        RigParams {
            identity: Identity::Coefficients(shapes.iter().map(|&v| v as f32).collect()),
            expression: self
                .rig
                .expression_names
                .iter()
                .zip(expressions)
                .filter(|(_, w)| **w != 0.0)
                .map(|(name, &w)| (name.clone(), w as f32))
                .collect(),
            jaw: [x[RIGID] as f32, 0.0, 0.0],
            ..Default::default()
        }
    }

    fn landmarks_3d(
        &self,
        x: &[f64],
    ) -> Result<(Vec<[f64; 3]>, crate::rig::params::Resolved), FitError> {
        let (resolved, _) = self
            .params(x)
            .resolve(self.rig)
            .map_err(|e| FitError::Params(e.to_string()))?;
        Ok((skin(self.rig, &resolved).landmarks, resolved))
    }

    fn weight(landmark: usize) -> f64 {
        if CONTOUR.contains(&landmark) {
            CONTOUR_WEIGHT
        } else {
            1.0
        }
    }

    /// Weighted projected − detected landmarks (x, y per point) for given 3-D landmarks.
    fn residual_at(&self, x: &[f64], points: &[[f64; 3]]) -> Vec<f64> {
        let projected = project(&rigid_camera(x), points);
        projected
            .iter()
            .zip(&self.targets)
            .enumerate()
            .flat_map(|(i, ([u, v], t))| {
                let w = Self::weight(i);
                [w * (x[3] * u + x[4] - t[0]), w * (x[3] * v + x[5] - t[1])]
            })
            .collect()
    }

    fn landmark_residual(&self, x: &[f64]) -> Result<Vec<f64>, FitError> {
        let (points, _) = self.landmarks_3d(x)?;
        Ok(self.residual_at(x, &points))
    }

    fn variables(&self) -> Vec<Variable> {
        std::iter::once(Variable::JointRotation(JAW, 0))
            .chain((0..self.expressions).map(Variable::Expression))
            .chain((0..self.shapes).map(Variable::Shape))
            .collect()
    }
}

impl LeastSquares for FlameProblem<'_> {
    /// The landmark residual, then each coefficient's prior.
    fn residual(&self, x: &[f64]) -> Result<Vec<f64>, FitError> {
        let mut r = self.landmark_residual(x)?;
        r.extend(x[RIGID + 1..].iter().map(|c| COEFFICIENT_PRIOR * c));
        Ok(r)
    }

    fn jacobian(&self, x: &[f64], active: usize) -> Result<Vec<Vec<f64>>, FitError> {
        let (points, resolved) = self.landmarks_3d(x)?;
        let priors = x.len() - (RIGID + 1);
        // The rigid unknowns move the projection only.
        let mut columns = central_differences(
            |x| {
                let mut r = self.residual_at(x, &points);
                r.extend(std::iter::repeat_n(0.0, priors));
                Ok(r)
            },
            x,
            active.min(RIGID),
        )?;
        if active <= RIGID {
            return Ok(columns);
        }
        let moved = landmark_jacobian(self.rig, &resolved, &self.variables()[..active - RIGID]);
        let projection = projection_jacobians(x, &points);
        for (k, d) in moved.iter().enumerate() {
            let mut column: Vec<f64> = d
                .iter()
                .zip(&projection)
                .enumerate()
                .flat_map(|(i, (dp, jp))| {
                    let w = Self::weight(i) * x[3];
                    jp.map(|row| w * (row[0] * dp[0] + row[1] * dp[1] + row[2] * dp[2]))
                })
                .collect();
            column.extend((0..priors).map(|p| {
                // The jaw (k = 0) has no prior; coefficient k has the prior row k − 1.
                if k > 0 && p == k - 1 {
                    COEFFICIENT_PRIOR
                } else {
                    0.0
                }
            }));
            columns.push(column);
        }
        Ok(columns)
    }

    fn clamp(&self, x: &mut [f64]) {
        for (angle, limit) in x.iter_mut().zip(ANGLE_RANGE) {
            *angle = angle.clamp(-limit, limit);
        }
        x[RIGID] = x[RIGID].clamp(0.0, JAW_RANGE);
        for c in &mut x[RIGID + 1..] {
            *c = c.clamp(-COEFFICIENT_RANGE, COEFFICIENT_RANGE);
        }
    }
}

/// ∂(normalised image point)/∂(rig-space point) for each landmark: 2×3 by central differences.
fn projection_jacobians(x: &[f64], points: &[[f64; 3]]) -> Vec<[[f64; 3]; 2]> {
    const H: f64 = 1e-6;
    let camera = rigid_camera(x);
    points
        .iter()
        .map(|p| {
            let mut jacobian = [[0.0; 3]; 2];
            for axis in 0..3 {
                let (mut plus, mut minus) = (*p, *p);
                plus[axis] += H;
                minus[axis] -= H;
                let moved = project(&camera, &[plus, minus]);
                for row in 0..2 {
                    jacobian[row][axis] = (moved[0][row] - moved[1][row]) / (2.0 * H);
                }
            }
            jacobian
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rig::synthetic::flame_sized;

    /// Landmarks made by a FLAME-sized rig from a known camera, jaw, expression and shape are
    /// fitted back.
    #[test]
    fn recovers_a_synthetic_flame_pose_expression_and_shape() {
        let rig = flame_sized(7, 600);
        let truth_problem = FlameProblem {
            rig: &rig,
            targets: vec![[0.0; 2]; 68],
            expressions: EXPRESSIONS,
            shapes: SHAPES,
        };
        let mut truth = vec![0.0; RIGID + 1 + EXPRESSIONS + SHAPES];
        truth[..RIGID].copy_from_slice(&[0.2, -0.1, 0.05, 1.05, 0.02, -0.01]);
        truth[RIGID] = 0.2;
        truth[RIGID + 1] = 1.0;
        truth[RIGID + 1 + EXPRESSIONS] = -0.8;
        // Against targets at the origin, the (unweighted) residual is the projection itself.
        let points = truth_problem.landmarks_3d(&truth).unwrap().0;
        let projected = project(&rigid_camera(&truth), &points);
        let mut landmarks = vec![[0.5, 0.5]; 468];
        landmarks[33] = [0.3, 0.4];
        landmarks[263] = [0.7, 0.4];
        for (&v, p) in IBUG68_VERTICES.iter().zip(&projected) {
            landmarks[v as usize] = [truth[3] * p[0] + truth[4], truth[3] * p[1] + truth[5]];
        }
        let found = fit(&rig, &landmarks).unwrap();
        eprintln!("{:?} error {}", found.camera, found.error);
        assert!(found.error < 2e-3, "error {}", found.error);
        assert!((found.camera.yaw - 0.2).abs() < 0.02, "{:?}", found.camera);
        assert!(
            (found.camera.pitch + 0.1).abs() < 0.02,
            "{:?}",
            found.camera
        );
        assert!(
            (found.params.jaw[0] - 0.2).abs() < 0.05,
            "jaw {:?}",
            found.params.jaw
        );
    }
}
