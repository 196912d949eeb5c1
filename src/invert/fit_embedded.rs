//! Fitting a rig with an identity basis to a portrait's landmarks through its landmark
//! embedding (faces and barycentric weights): the whole-head default rig through MediaPipe's
//! 468 points embedded on it, a FLAME rig through DECA's 68 iBUG points (matched with the same
//! 68 of the 468, `IBUG68_VERTICES`).
//!
//! Unknowns: the rigid part as `fit.rs` (yaw, pitch, roll, crop scale and shift); FLAME's
//! jaw opening (the default rig's `jawOpen` turns the jaw itself); the expressions (FLAME's
//! first PCA components, or the default rig's named shapes in [0, 1]); the first identity
//! coefficients with their N(0, 1) prior. Only the landmarks are skinned, on a rig cut down
//! to them (`rig::landmark_rig`); their derivatives come from `rig::jacobian`, the
//! projection's from central differences.

use std::ops::RangeInclusive;

use super::detector_neutral::detector_offsets;
use super::fit::{Fit, FitError, ITERATIONS, RIGID, inter_ocular, project, rigid_camera};
use super::least_squares::{LeastSquares, central_differences, solve};
use crate::rig::default_rig::landmarks::IBUG68_VERTICES;
use crate::rig::jacobian::{Variable, landmark_jacobian};
use crate::rig::landmark_rig::landmark_rig;
use crate::rig::model::{JAW, Landmark, NUM_MEDIAPIPE};
use crate::rig::params::{Identity, Resolved};
use crate::rig::skin_cpu::skin;
use crate::rig::{Rig, RigKind, RigParams};

/// Keeps the L1 prior's residual differentiable at 0.
const SPARSE_EPSILON: f64 = 1e-3;
/// Identity coefficients stay within this many standard deviations.
const SHAPE_RANGE: f64 = 3.0;
/// Yaw, pitch and roll of a portrait (radians, either way): a face seen from the side or
/// beyond has no landmarks to fit.
const ANGLE_RANGE: [f64; 3] = [1.2, 1.0, 1.0];
/// FLAME's jaw opens between 0 and this many radians.
const JAW_RANGE: f64 = 0.5;
/// The jaw line's landmarks are fixed on the mesh while the image's are the silhouette, which
/// slides over the surface as the head turns: they count half.
const CONTOUR_WEIGHT: f64 = 0.5;
/// MediaPipe's face oval (its `FACEMESH_FACE_OVAL` ring), the 468-point fit's contour.
const FACE_OVAL: [usize; 36] = [
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
    148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
];

/// How one family of rigs is fitted.
struct Plan {
    /// Points on the rig, and the detected points (normalised crop units) they should meet.
    points: Vec<Landmark>,
    /// Added to each skinned point: where the detector's neutral face has it (rig units;
    /// `detector_neutral.rs`), zero for FLAME's 68.
    offsets: Vec<[f64; 3]>,
    targets: Vec<[f64; 2]>,
    on_contour: Vec<bool>,
    /// Whether the jaw joint is an unknown of its own (FLAME) or turned by an expression.
    jaw: bool,
    expressions: usize,
    expression_range: RangeInclusive<f64>,
    /// Whether the expressions are named shapes in [0, 1] under an L1 prior.
    sparse_expressions: bool,
    /// Pull of each coefficient toward 0, in normalised image units per unit (expressions)
    /// or per standard deviation (identity).
    expression_prior: f64,
    shapes: usize,
    shape_prior: f64,
}

impl Plan {
    fn new(rig: &Rig, landmarks: &[[f64; 2]]) -> Result<Self, FitError> {
        if landmarks.len() != NUM_MEDIAPIPE {
            return Err(FitError::UnsupportedRig(rig.kind));
        }
        match rig.kind {
            // The default rig: its 468 embedded points, every named shape.
            RigKind::Default if rig.mediapipe.len() == NUM_MEDIAPIPE => Ok(Self {
                points: rig.mediapipe.clone(),
                offsets: detector_offsets(rig).map_err(|e| FitError::Params(format!("{e:#}")))?,
                targets: landmarks.to_vec(),
                on_contour: (0..NUM_MEDIAPIPE).map(|i| FACE_OVAL.contains(&i)).collect(),
                jaw: false,
                expressions: rig.expression_basis.count,
                expression_range: 0.0..=1.0,
                sparse_expressions: true,
                // With the L1 prior and the detector's neutral, the astronaut's smile (0.74) is
                // her strongest weight; under L2 at 0.01 / 0.003 eyeWide, eyeLookUp and
                // browInnerUp beat it and the identity sat at its ±3 bounds.
                expression_prior: 0.03,
                shapes: rig.shape_basis.count,
                shape_prior: 0.01,
            }),
            // FLAME: its 68, the large components (one view cannot tell the rest apart).
            RigKind::Flame2020 if rig.landmarks.len() == IBUG68_VERTICES.len() => Ok(Self {
                points: rig.landmarks.clone(),
                offsets: vec![[0.0; 3]; IBUG68_VERTICES.len()],
                targets: IBUG68_VERTICES
                    .iter()
                    .map(|&v| landmarks[v as usize])
                    .collect(),
                on_contour: (0..IBUG68_VERTICES.len()).map(|i| i < 17).collect(),
                jaw: true,
                expressions: rig.expression_basis.count.min(20),
                expression_range: -3.0..=3.0,
                sparse_expressions: false,
                expression_prior: 0.003,
                shapes: rig.shape_basis.count.min(30),
                shape_prior: 0.003,
            }),
            kind => Err(FitError::UnsupportedRig(kind)),
        }
    }

    fn weight(&self, point: usize) -> f64 {
        if self.on_contour[point] {
            CONTOUR_WEIGHT
        } else {
            1.0
        }
    }
}

/// Fits `rig` to MediaPipe's 468 landmarks (normalised crop coordinates) through its
/// landmark embedding.
pub fn fit(rig: &Rig, landmarks: &[[f64; 2]]) -> Result<Fit, FitError> {
    let plan = Plan::new(rig, landmarks)?;
    let problem = EmbeddedProblem {
        rig: landmark_rig(rig, &plan.points),
        plan,
        identity: None,
    };
    let mut x = vec![0.0; problem.unknowns()];
    x[3] = 1.0;
    x = solve(&problem, x, RIGID, ITERATIONS)?;
    let all = x.len();
    x = solve(&problem, x, all, ITERATIONS)?;
    problem.finish(&x, landmarks)
}

/// Fits the camera and the expressions with the identity held at `identity` (a tracked
/// subject's, fitted once), starting from `previous` (the last frame's fit) when there is
/// one: video tracking, where a few iterations from the last frame suffice.
pub fn fit_expressions(
    rig: &Rig,
    landmarks: &[[f64; 2]],
    identity: &[f32],
    previous: Option<&Fit>,
    iterations: usize,
) -> Result<Fit, FitError> {
    let mut plan = Plan::new(rig, landmarks)?;
    plan.shapes = 0;
    let problem = EmbeddedProblem {
        rig: landmark_rig(rig, &plan.points),
        plan,
        identity: Some(identity.to_vec()),
    };
    let all = problem.unknowns();
    let x = match previous {
        Some(previous) => solve(&problem, problem.unknowns_of(previous), all, iterations)?,
        None => {
            let mut x = vec![0.0; all];
            x[3] = 1.0;
            let x = solve(&problem, x, RIGID, ITERATIONS)?;
            solve(&problem, x, all, ITERATIONS)?
        }
    };
    problem.finish(&x, landmarks)
}

impl EmbeddedProblem {
    /// The fit at solution `x`, with its mean error over the eye distance.
    fn finish(&self, x: &[f64], landmarks: &[[f64; 2]]) -> Result<Fit, FitError> {
        let problem = self;
        let x = x.to_vec();
        let residual = problem.landmark_residual(&x)?;
        let error = residual
            .chunks_exact(2)
            .enumerate()
            .map(|(i, r)| r[0].hypot(r[1]) / problem.plan.weight(i))
            .sum::<f64>()
            / problem.plan.targets.len() as f64
            / inter_ocular(landmarks);
        Ok(Fit {
            camera: rigid_camera(&x),
            params: problem.params(&x),
            crop_scale: x[3],
            crop_shift: [x[4], x[5]],
            error,
        })
    }

    /// The unknowns of an earlier fit of the same rig (a warm start).
    fn unknowns_of(&self, fit: &Fit) -> Vec<f64> {
        let mut x = vec![0.0; self.unknowns()];
        let camera = &fit.camera;
        x[..RIGID].copy_from_slice(&[
            camera.yaw,
            camera.pitch,
            camera.roll,
            fit.crop_scale,
            fit.crop_shift[0],
            fit.crop_shift[1],
        ]);
        if self.plan.jaw {
            x[RIGID] = f64::from(fit.params.jaw[0]);
        }
        let first = self.first_expression();
        for (k, name) in self.rig.expression_names[..self.plan.expressions]
            .iter()
            .enumerate()
        {
            x[first + k] = f64::from(fit.params.expression.get(name).copied().unwrap_or(0.0));
        }
        x
    }
}

struct EmbeddedProblem {
    /// The rig cut down to the plan's points (its `landmarks`).
    rig: Rig,
    plan: Plan,
    /// The identity coefficients when they are held, not fitted (`plan.shapes` is then 0).
    identity: Option<Vec<f32>>,
}

impl EmbeddedProblem {
    /// After the rigid unknowns: the jaw (when it is one), the expressions, the identity.
    fn first_expression(&self) -> usize {
        RIGID + usize::from(self.plan.jaw)
    }

    fn first_shape(&self) -> usize {
        self.first_expression() + self.plan.expressions
    }

    fn unknowns(&self) -> usize {
        self.first_shape() + self.plan.shapes
    }

    fn params(&self, x: &[f64]) -> RigParams {
        let expressions = &x[self.first_expression()..self.first_shape()];
        let identity = match &self.identity {
            Some(held) => held.clone(),
            None => x[self.first_shape()..].iter().map(|&v| v as f32).collect(),
        };
        RigParams {
            identity: Identity::Coefficients(identity),
            expression: self
                .rig
                .expression_names
                .iter()
                .zip(expressions)
                .filter(|(_, w)| **w != 0.0)
                .map(|(name, &w)| (name.clone(), w as f32))
                .collect(),
            jaw: [if self.plan.jaw { x[RIGID] as f32 } else { 0.0 }, 0.0, 0.0],
            ..Default::default()
        }
    }

    fn landmarks_3d(&self, x: &[f64]) -> Result<(Vec<[f64; 3]>, Resolved), FitError> {
        let (resolved, _) = self
            .params(x)
            .resolve(&self.rig)
            .map_err(|e| FitError::Params(e.to_string()))?;
        let mut points = skin(&self.rig, &resolved).landmarks;
        for (p, d) in points.iter_mut().zip(&self.plan.offsets) {
            *p = std::array::from_fn(|a| p[a] + d[a]);
        }
        Ok((points, resolved))
    }

    /// Weighted projected − detected landmarks (x, y per point) for given 3-D landmarks.
    fn residual_at(&self, x: &[f64], points: &[[f64; 3]]) -> Vec<f64> {
        let projected = project(&rigid_camera(x), points);
        projected
            .iter()
            .zip(&self.plan.targets)
            .enumerate()
            .flat_map(|(i, ([u, v], t))| {
                let w = self.plan.weight(i);
                [w * (x[3] * u + x[4] - t[0]), w * (x[3] * v + x[5] - t[1])]
            })
            .collect()
    }

    fn landmark_residual(&self, x: &[f64]) -> Result<Vec<f64>, FitError> {
        let (points, _) = self.landmarks_3d(x)?;
        Ok(self.residual_at(x, &points))
    }

    /// The non-rigid unknowns in order.
    fn variables(&self) -> Vec<Variable> {
        let jaw = self.plan.jaw.then_some(Variable::JointRotation(JAW, 0));
        jaw.into_iter()
            .chain((0..self.plan.expressions).map(Variable::Expression))
            .chain((0..self.plan.shapes).map(Variable::Shape))
            .collect()
    }

    /// Whether unknown `i` is a named shape in [0, 1], whose prior is L1.
    fn sparse(&self, i: usize) -> bool {
        self.plan.sparse_expressions && (self.first_expression()..self.first_shape()).contains(&i)
    }

    /// The prior's residual for unknown `i` at value `v`: p·v (a Gaussian prior), or for the
    /// named shapes p·√(v + ε), whose square grows linearly — an L1 prior, which explains a
    /// movement by one shape rather than spreading it over every correlated one (under L2
    /// a smile also raised cheekPuff, eyeWide and mouthStretch).
    fn prior_residual(&self, i: usize, v: f64) -> f64 {
        if self.sparse(i) {
            self.prior(i) * (v.max(0.0) + SPARSE_EPSILON).sqrt()
        } else {
            self.prior(i) * v
        }
    }

    fn prior_derivative(&self, i: usize, v: f64) -> f64 {
        if self.sparse(i) {
            self.prior(i) / (2.0 * (v.max(0.0) + SPARSE_EPSILON).sqrt())
        } else {
            self.prior(i)
        }
    }

    /// The prior's weight on unknown `i` (0 for the rigid part and the jaw).
    fn prior(&self, i: usize) -> f64 {
        if i >= self.first_shape() {
            self.plan.shape_prior
        } else if i >= self.first_expression() {
            self.plan.expression_prior
        } else {
            0.0
        }
    }
}

impl LeastSquares for EmbeddedProblem {
    /// The landmark residual, then each coefficient's prior.
    fn residual(&self, x: &[f64]) -> Result<Vec<f64>, FitError> {
        let mut r = self.landmark_residual(x)?;
        let start = self.first_expression();
        r.extend((start..x.len()).map(|i| self.prior_residual(i, x[i])));
        Ok(r)
    }

    fn jacobian(&self, x: &[f64], active: usize) -> Result<Vec<Vec<f64>>, FitError> {
        let (points, resolved) = self.landmarks_3d(x)?;
        let start = self.first_expression();
        let priors = x.len() - start;
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
        let moved = landmark_jacobian(&self.rig, &resolved, &self.variables()[..active - RIGID]);
        let projection = projection_jacobians(x, &points);
        for (k, d) in moved.iter().enumerate() {
            let unknown = RIGID + k;
            let mut column: Vec<f64> = d
                .iter()
                .zip(&projection)
                .enumerate()
                .flat_map(|(i, (dp, jp))| {
                    let w = self.plan.weight(i) * x[3];
                    jp.map(|row| w * (row[0] * dp[0] + row[1] * dp[1] + row[2] * dp[2]))
                })
                .collect();
            column.extend((start..x.len()).map(|p| {
                if p == unknown {
                    self.prior_derivative(p, x[p])
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
        if self.plan.jaw {
            x[RIGID] = x[RIGID].clamp(0.0, JAW_RANGE);
        }
        let range = &self.plan.expression_range;
        let (first_shape, first_expression) = (self.first_shape(), self.first_expression());
        for w in &mut x[first_expression..first_shape] {
            *w = w.clamp(*range.start(), *range.end());
        }
        for c in &mut x[first_shape..] {
            *c = c.clamp(-SHAPE_RANGE, SHAPE_RANGE);
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

    /// The 468 landmarks `rig` shows under `truth` (the rigid unknowns, then `params`): the
    /// embedded points projected, the rest left at the image centre except the eye corners
    /// (they set the error's scale).
    fn synthetic_landmarks(rig: &Rig, truth: &[f64], params: &RigParams) -> Vec<[f64; 2]> {
        let mut landmarks = vec![[0.5, 0.5]; NUM_MEDIAPIPE];
        landmarks[33] = [0.3, 0.4];
        landmarks[263] = [0.7, 0.4];
        let plan = Plan::new(rig, &landmarks).unwrap();
        let cut = landmark_rig(rig, &plan.points);
        let (resolved, _) = params.resolve(&cut).unwrap();
        let mut points = skin(&cut, &resolved).landmarks;
        for (p, d) in points.iter_mut().zip(&plan.offsets) {
            *p = std::array::from_fn(|a| p[a] + d[a]);
        }
        let projected = project(&rigid_camera(truth), &points);
        let place = |p: &[f64; 2]| [truth[3] * p[0] + truth[4], truth[3] * p[1] + truth[5]];
        if plan.jaw {
            for (&v, p) in IBUG68_VERTICES.iter().zip(&projected) {
                landmarks[v as usize] = place(p);
            }
        } else {
            landmarks = projected.iter().map(place).collect();
        }
        landmarks
    }

    /// The fit meets the landmarks (2e-3 of the eye distance) and finds the true yaw and pitch
    /// (within 0.02 rad).
    fn assert_close_fit(found: &Fit, truth: &[f64]) {
        assert!(found.error < 2e-3, "error {}", found.error);
        assert!(
            (found.camera.yaw - truth[0]).abs() < 0.02,
            "{:?}",
            found.camera
        );
        assert!(
            (found.camera.pitch - truth[1]).abs() < 0.02,
            "{:?}",
            found.camera
        );
    }

    /// Landmarks made by a FLAME-sized rig from a known camera, jaw, expression and shape are
    /// fitted back.
    #[test]
    fn recovers_a_synthetic_flame_pose_expression_and_shape() {
        let rig = flame_sized(7, 600);
        let truth = [0.2, -0.1, 0.05, 1.05, 0.02, -0.01];
        let mut shape = vec![0.0; 30];
        shape[0] = -0.8;
        let params = RigParams {
            identity: Identity::Coefficients(shape),
            jaw: [0.2, 0.0, 0.0],
            ..Default::default()
        }
        .with_expression("0", 1.0);
        let found = fit(&rig, &synthetic_landmarks(&rig, &truth, &params)).unwrap();
        eprintln!("{:?} error {}", found.camera, found.error);
        assert_close_fit(&found, &truth);
        assert!(
            (found.params.jaw[0] - 0.2).abs() < 0.05,
            "jaw {:?}",
            found.params.jaw
        );
    }

    /// The whole-head default rig through its 468 embedded points: a turned, smiling,
    /// blinking, open-mouthed face of another identity is fitted back, the jaw through
    /// jawOpen's own turn.
    #[test]
    fn recovers_a_synthetic_head_rig_pose_expression_and_identity() {
        let rig = crate::rig::default_rig::head::embedded();
        let truth = [0.25, -0.1, 0.05, 1.05, -0.02, 0.01];
        let identity: Vec<f32> = (0..rig.shape_basis.count)
            .map(|k| 0.8 * ((k * 7919 % 13) as f32 / 6.0 - 1.0))
            .collect();
        let expression = [("jawOpen", 0.5), ("mouthSmile_L", 0.6), ("eyeBlink_R", 0.8)];
        let params = expression.iter().fold(
            RigParams {
                identity: Identity::Coefficients(identity),
                ..Default::default()
            },
            |p, (name, w)| p.with_expression(name, *w),
        );
        let started = std::time::Instant::now();
        let found = fit(&rig, &synthetic_landmarks(&rig, &truth, &params)).unwrap();
        eprintln!(
            "{:?} error {} in {:?}\n{:?}",
            found.camera,
            found.error,
            started.elapsed(),
            found.params.expression
        );
        assert_close_fit(&found, &truth);
        for (name, w) in expression {
            let got = found.params.expression.get(name).copied().unwrap_or(0.0);
            assert!((got - w).abs() < 0.1, "{name}: {got}, truth {w}");
        }
    }

    /// MediaPipe's canonical face — what its landmark model reports for a neutral face — fits
    /// at neutral: no expression weight above 0.05 (through the plain embedding: mouthPucker
    /// 0.65, browInnerUp 0.5, mouthRollUpper 0.33, cheekPuff 0.24).
    #[test]
    fn the_detectors_neutral_face_fits_at_neutral() {
        let rig = crate::rig::default_rig::head::embedded();
        let canonical = crate::rig::default_rig::canonical::CanonicalFace::load();
        let camera = crate::render::camera::OrbitCamera::default();
        let landmarks = project(&camera, &canonical.positions[..NUM_MEDIAPIPE]);
        let found = fit(&rig, &landmarks).unwrap();
        let mut strongest: Vec<_> = found.params.expression.iter().collect();
        strongest.sort_by(|a, b| b.1.total_cmp(a.1));
        eprintln!(
            "error {:.4}; strongest {:?}",
            found.error,
            &strongest[..strongest.len().min(5)]
        );
        for (name, w) in strongest {
            assert!(*w < 0.05, "{name} {w}");
        }
    }

    /// Video tracking's fit: the identity held, warm-started from the last frame's fit (here
    /// the neutral face), a few iterations find an opened jaw and a blink.
    #[test]
    fn tracking_recovers_the_jaw_and_a_blink_from_the_last_frame() {
        let rig = crate::rig::default_rig::head::embedded();
        let identity: Vec<f32> = (0..rig.shape_basis.count)
            .map(|k| 0.5 * ((k * 7919 % 13) as f32 / 6.0 - 1.0))
            .collect();
        let with = |params: RigParams| RigParams {
            identity: Identity::Coefficients(identity.clone()),
            ..params
        };
        let truth = [0.1, -0.05, 0.0, 1.0, 0.0, 0.0];
        let neutral = synthetic_landmarks(&rig, &truth, &with(RigParams::default()));
        let start = fit_expressions(&rig, &neutral, &identity, None, ITERATIONS).unwrap();
        let moved = with(RigParams::default())
            .with_expression("jawOpen", 0.6)
            .with_expression("eyeBlink_L", 1.0);
        let landmarks = synthetic_landmarks(&rig, &truth, &moved);
        let found = fit_expressions(&rig, &landmarks, &identity, Some(&start), 5).unwrap();
        let weight = |name: &str| found.params.expression.get(name).copied().unwrap_or(0.0);
        eprintln!("error {:.4}; {:?}", found.error, found.params.expression);
        assert!(
            (weight("jawOpen") - 0.6).abs() < 0.1,
            "jawOpen {}",
            weight("jawOpen")
        );
        assert!(
            weight("eyeBlink_L") > 0.8,
            "eyeBlink_L {}",
            weight("eyeBlink_L")
        );
    }
}
