//! Derivatives of the 68 landmarks for fitting a rig to detected landmarks (inversion).
//!
//! With the joint rotations held, a landmark is linear in the blendshape coefficients:
//! `∂x/∂c = Σ_j w_j (R_j · b + τ_j(∂J/∂c))`, where `b` is the coefficient's blendshape at
//! that vertex and `τ_j` the (linear) change of joint j's translation when the regressed
//! joints move by `∂J/∂c`. Rotation parameters (and expressions that drive a joint) are
//! differentiated numerically in f64, which is exact to ~1e-9 here.

use super::model::{Basis, NUM_JOINTS, Rig};
use super::params::Resolved;
use super::rotation::rodrigues;
use super::skin_cpu::{joint_transforms, regress_joints, skin};

/// One fitted quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variable {
    Shape(usize),
    Expression(usize),
    /// Axis `1` of joint `0`'s axis-angle.
    JointRotation(usize, usize),
}

const STEP: f64 = 1e-6;

/// `result[i][l]` = ∂(landmark l)/∂(variables[i]), in rig units per unit of the variable.
pub fn landmark_jacobian(rig: &Rig, p: &Resolved, variables: &[Variable]) -> Vec<Vec<[f64; 3]>> {
    let rotations = p.joints.map(rodrigues);
    let landmark_vertices = rig.landmark_vertices();
    variables
        .iter()
        .map(|&variable| match variable {
            Variable::Shape(k) => linear(rig, &rotations, &landmark_vertices, &rig.shape_basis, k),
            Variable::Expression(k) => {
                let mut d = linear(
                    rig,
                    &rotations,
                    &landmark_vertices,
                    &rig.expression_basis,
                    k,
                );
                // Expressions that also turn a joint (the default rig's jawOpen).
                if rig
                    .drivers
                    .iter()
                    .any(|drv| rig.expression_index(&drv.expression) == Some(k))
                {
                    let turned = numeric(rig, p, |q, h| {
                        for drv in rig
                            .drivers
                            .iter()
                            .filter(|d| rig.expression_index(&d.expression) == Some(k))
                        {
                            let j = super::model::JOINT_NAMES
                                .iter()
                                .position(|n| *n == drv.joint)
                                .unwrap_or(0);
                            for a in 0..3 {
                                q.joints[j][a] += h * f64::from(drv.axis_angle[a]);
                            }
                        }
                    });
                    for (a, b) in d.iter_mut().zip(turned) {
                        *a = [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
                    }
                }
                d
            }
            Variable::JointRotation(j, axis) => numeric(rig, p, |q, h| q.joints[j][axis] += h),
        })
        .collect()
}

/// The analytic derivative for one blendshape column, rotations held.
fn linear(
    rig: &Rig,
    rotations: &[[[f64; 3]; 3]; NUM_JOINTS],
    landmarks: &[([u32; 3], [f32; 3])],
    basis: &Basis,
    k: usize,
) -> Vec<[f64; 3]> {
    let column: Vec<[f64; 3]> = (0..rig.num_vertices())
        .map(|v| [0, 1, 2].map(|a| f64::from(basis.at(v, a, k))))
        .collect();
    let d_joints = regress_joints(rig, &column);
    // Translations are linear in the joints for fixed rotations: τ_j(∂J).
    let d_transforms = joint_transforms(rig, rotations, &d_joints);
    let global: Vec<[[f64; 3]; 3]> = {
        // The rotation part of each A_j does not depend on the joints.
        let a = joint_transforms(rig, rotations, &[[0.0; 3]; NUM_JOINTS]);
        a.iter()
            .map(|m| [0, 1, 2].map(|i| [m[i][0], m[i][1], m[i][2]]))
            .collect()
    };
    let j = rig.num_joints();
    let vertex_derivative = |v: usize| -> [f64; 3] {
        let mut d = [0.0; 3];
        for joint in 0..j {
            let w = f64::from(rig.skin_weights[v * j + joint]);
            if w == 0.0 {
                continue;
            }
            for (r, out) in d.iter_mut().enumerate() {
                let rotated: f64 = (0..3).map(|c| global[joint][r][c] * column[v][c]).sum();
                *out += w * (rotated + d_transforms[joint][r][3]);
            }
        }
        d
    };
    landmarks
        .iter()
        .map(|(ids, bary)| {
            let mut d = [0.0; 3];
            for (&v, &b) in ids.iter().zip(bary) {
                let dv = vertex_derivative(v as usize);
                for a in 0..3 {
                    d[a] += f64::from(b) * dv[a];
                }
            }
            d
        })
        .collect()
}

/// Central differences of the landmarks under a parameter change `nudge(params, h)`.
fn numeric(rig: &Rig, p: &Resolved, nudge: impl Fn(&mut Resolved, f64)) -> Vec<[f64; 3]> {
    let at = |h: f64| {
        let mut q = p.clone();
        nudge(&mut q, h);
        skin(rig, &q).landmarks
    };
    let (plus, minus) = (at(STEP), at(-STEP));
    plus.iter()
        .zip(&minus)
        .map(|(a, b)| [0, 1, 2].map(|i| (a[i] - b[i]) / (2.0 * STEP)))
        .collect()
}
