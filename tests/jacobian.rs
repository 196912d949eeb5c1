//! The landmark Jacobian against central differences of the f64 reference.

mod common;

use neuralhead::rig::jacobian::{Variable, landmark_jacobian};
use neuralhead::rig::{Rig, RigParams, default_rig, skin_cpu};
use rand::Rng;

fn finite_difference(rig: &Rig, params: &RigParams, variable: Variable) -> Vec<[f64; 3]> {
    let (p, _) = params.resolve(rig).unwrap();
    let h = 1e-5;
    let at = |s: f64| {
        let mut q = p.clone();
        match variable {
            Variable::Shape(k) => q.shape[k] += s,
            Variable::Expression(k) => {
                q.expression[k] += s;
                for d in rig
                    .drivers
                    .iter()
                    .filter(|d| rig.expression_index(&d.expression) == Some(k))
                {
                    for a in 0..3 {
                        q.joints[2][a] += s * f64::from(d.axis_angle[a]);
                    }
                }
            }
            Variable::JointRotation(j, a) => q.joints[j][a] += s,
        }
        skin_cpu::skin(rig, &q).landmarks
    };
    let (plus, minus) = (at(h), at(-h));
    plus.iter()
        .zip(&minus)
        .map(|(a, b)| [0, 1, 2].map(|i| (a[i] - b[i]) / (2.0 * h)))
        .collect()
}

fn check(rig: &Rig, params: &RigParams, variables: &[Variable]) {
    let (p, _) = params.resolve(rig).unwrap();
    let jacobian = landmark_jacobian(rig, &p, variables);
    for (&variable, analytic) in variables.iter().zip(&jacobian) {
        let numeric = finite_difference(rig, params, variable);
        let scale = numeric.iter().flatten().fold(0.0f64, |m, x| m.max(x.abs()));
        let error = analytic
            .iter()
            .zip(&numeric)
            .flat_map(|(a, b)| (0..3).map(move |i| (a[i] - b[i]).abs()))
            .fold(0.0, f64::max);
        assert!(
            scale > 0.0 || variable == Variable::Shape(0),
            "{variable:?} moves no landmark"
        );
        assert!(
            error <= 1e-6 * scale.max(1e-3),
            "{variable:?}: |analytic − numeric| = {error:e} (scale {scale:e})"
        );
    }
}

#[test]
fn jacobian_matches_finite_differences_on_a_flame_sized_rig() {
    let mut rng = common::rng("jacobian flame-like");
    let rig = common::random_flame_like_rig(&mut rng);
    let mut params = RigParams {
        jaw: [0.2, 0.05, -0.1],
        neck: [0.1, -0.2, 0.05],
        ..Default::default()
    };
    params.identity = neuralhead::rig::Identity::Coefficients(
        (0..100).map(|_| rng.random_range(-1.0..1.0)).collect(),
    );
    for k in 0..50 {
        params
            .expression
            .insert(k.to_string(), rng.random_range(-1.0..1.0));
    }
    check(
        &rig,
        &params,
        &[
            Variable::Shape(3),
            Variable::Shape(70),
            Variable::Expression(0),
            Variable::Expression(49),
            Variable::JointRotation(2, 0),
            Variable::JointRotation(1, 1),
        ],
    );
}

#[test]
fn jacobian_matches_finite_differences_on_the_default_rig() {
    let rig = default_rig::embedded();
    let params = RigParams {
        jaw: [0.1, 0.0, 0.0],
        ..Default::default()
    }
    .with_expression("mouthSmile_L", 0.4)
    .with_expression("jawOpen", 0.3);
    let jaw_open = rig.expression_index("jawOpen").unwrap();
    let smile = rig.expression_index("mouthSmile_L").unwrap();
    check(
        &rig,
        &params,
        &[
            Variable::Expression(jaw_open),
            Variable::Expression(smile),
            Variable::JointRotation(2, 0),
        ],
    );
}
