//! The jaw: ICT's `jawOpen` already turns the lower teeth and tongue (rigidly, about a hinge
//! along x). The rig takes that turn out of the shape and gives it to the jaw joint, so that
//! `jawOpen` (which drives the joint) and `--jaw` open the same mouth, and nothing turns twice.

use super::source::Shape;
use crate::rig::default_rig::surface::{V3, add, dot, sub};

/// A rotation about an axis parallel to x (ICT units): +angle opens the mouth.
#[derive(Debug, Clone, Copy)]
pub struct Hinge {
    /// Where the axis meets the plane x = 0, as (y, z).
    pub pivot: [f64; 2],
    pub angle: f64,
}

impl Hinge {
    /// `point` turned by `fraction` of the hinge's angle.
    pub fn turn(&self, point: V3, fraction: f64) -> V3 {
        let (s, c) = (self.angle * fraction).sin_cos();
        let (y, z) = (point[1] - self.pivot[0], point[2] - self.pivot[1]);
        [
            point[0],
            self.pivot[0] + c * y - s * z,
            self.pivot[1] + s * y + c * z,
        ]
    }

    /// The rigid turn in the (y, z) plane that best carries `rest` onto `moved` (2-D
    /// Procrustes): the angle from the centred cross and dot products, the pivot as the
    /// fixed point of the turn.
    pub fn fit(rest: &[V3], moved: &[V3]) -> Self {
        let n = rest.len() as f64;
        let centroid = |ps: &[V3]| {
            let s = ps.iter().fold([0.0; 2], |s, p| [s[0] + p[1], s[1] + p[2]]);
            [s[0] / n, s[1] / n]
        };
        let (m, m2) = (centroid(rest), centroid(moved));
        let (mut cross, mut along) = (0.0, 0.0);
        for (p, q) in rest.iter().zip(moved) {
            let a = [p[1] - m[0], p[2] - m[1]];
            let b = [q[1] - m2[0], q[2] - m2[1]];
            cross += a[0] * b[1] - a[1] * b[0];
            along += a[0] * b[0] + a[1] * b[1];
        }
        let angle = cross.atan2(along);
        let (s, c) = angle.sin_cos();
        // m2 = R m + (I − R) p  ⇒  p = (I − R)⁻¹ (m2 − R m).
        let rm = [c * m[0] - s * m[1], s * m[0] + c * m[1]];
        let b = [m2[0] - rm[0], m2[1] - rm[1]];
        let (a11, a12, a21, a22) = (1.0 - c, s, -s, 1.0 - c);
        let det = a11 * a22 - a12 * a21;
        Self {
            pivot: [
                (a22 * b[0] - a12 * b[1]) / det,
                (a11 * b[1] - a21 * b[0]) / det,
            ],
            angle,
        }
    }
}

/// Per-vertex jaw weights that explain `jaw_open` as the hinge's turn (least squares along
/// the turn's own displacement, clamped to [0, 1]), and the corrective that remains: the
/// rest-pose offset which, turned by linear blend skinning with that weight, lands exactly
/// on ICT's jawOpen = 1 shape.
pub fn split(neutral: &[V3], jaw_open: &Shape, hinge: &Hinge) -> (Vec<f64>, Vec<(u32, V3)>) {
    let mut weights = vec![0.0; neutral.len()];
    let mut corrective = Vec::with_capacity(jaw_open.moves.len());
    for &(v, d) in &jaw_open.moves {
        let p = neutral[v as usize];
        let turn = sub(hinge.turn(p, 1.0), p);
        let w = if dot(turn, turn) > 1e-12 {
            (dot(d, turn) / dot(turn, turn)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        weights[v as usize] = w;
        // Skinning maps p + c to p_rel ↦ ((1 − w) I + w R) p_rel; invert that 2-D map.
        let target = add(p, d);
        let (s, c) = hinge.angle.sin_cos();
        let (m11, m12, m21, m22) = (1.0 - w + w * c, -w * s, w * s, 1.0 - w + w * c);
        let det = m11 * m22 - m12 * m21;
        let (ty, tz) = (target[1] - hinge.pivot[0], target[2] - hinge.pivot[1]);
        let rest = [
            target[0],
            hinge.pivot[0] + (m22 * ty - m12 * tz) / det,
            hinge.pivot[1] + (m11 * tz - m21 * ty) / det,
        ];
        corrective.push((v, sub(rest, p)));
    }
    (weights, corrective)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_turn_is_recovered_and_split_exactly() {
        let truth = Hinge {
            pivot: [-0.55, 1.82],
            angle: 0.442,
        };
        let rest: Vec<V3> = (0..40)
            .map(|i| {
                [
                    i as f64 * 0.1,
                    -3.0 - (i % 7) as f64 * 0.4,
                    4.0 + (i % 5) as f64,
                ]
            })
            .collect();
        let moved: Vec<V3> = rest.iter().map(|&p| truth.turn(p, 1.0)).collect();
        let fitted = Hinge::fit(&rest, &moved);
        assert!((fitted.angle - truth.angle).abs() < 1e-12);
        assert!((fitted.pivot[0] - truth.pivot[0]).abs() < 1e-9);
        assert!((fitted.pivot[1] - truth.pivot[1]).abs() < 1e-9);

        // Half-turned points with a twist: the weight and the corrective reproduce them.
        let shape = Shape {
            name: "jawOpen".into(),
            moves: rest
                .iter()
                .enumerate()
                .map(|(i, &p)| {
                    let q = truth.turn(p, 0.5);
                    (
                        i as u32,
                        [q[0] - p[0] + 0.01, q[1] - p[1], q[2] - p[2] + 0.02],
                    )
                })
                .collect(),
        };
        let (weights, corrective) = split(&rest, &shape, &fitted);
        for ((v, c), &(_, d)) in corrective.iter().zip(&shape.moves) {
            let p = rest[*v as usize];
            let w = weights[*v as usize];
            let shaped = add(p, *c);
            // Linear blend skinning: (1 − w) at rest, w turned with the jaw.
            let skinned = add(shaped, sub(fitted.turn(shaped, 1.0), shaped).map(|x| w * x));
            let want = add(p, d);
            assert!(
                sub(skinned, want).iter().all(|e| e.abs() < 1e-9),
                "{skinned:?} {want:?}"
            );
        }
    }
}
