//! MediaPipe's 468 landmarks embedded on the head's surface, so the 468-point detector
//! drives this rig. The canonical face is registered to the head non-rigidly: a similarity
//! (Umeyama) on the landmarks both meshes name (iBUG 17–67: brows, nose, eyes, lips), then a
//! 3-D thin-plate spline through those landmarks' residuals; each warped point is then
//! projected onto the nearest face triangle (face index + barycentric weights).

use glam::{DMat3, DVec3};

use crate::rig::default_rig::surface::V3;
use crate::rig::model::Landmark;

/// iBUG landmarks used as controls: the jaw line (0–16) is a silhouette, drawn differently
/// by MediaPipe's mesh and ICT's, so it is left to the spline.
pub const CONTROLS: std::ops::Range<usize> = 17..68;
/// Smoothing of the spline (metres): small, so controls are met to well under a millimetre.
const STIFFNESS: f64 = 1e-6;

/// A warp from the canonical face's space into the head's.
pub struct Warp {
    scale: f64,
    rotation: DMat3,
    translation: DVec3,
    centres: Vec<DVec3>,
    /// Spline weights per centre, then the affine part's 4 rows.
    coefficients: Vec<DVec3>,
}

impl Warp {
    /// Fits the warp carrying `from` onto `to` (pairs of corresponding points).
    pub fn fit(from: &[V3], to: &[V3]) -> Self {
        let (scale, rotation, translation) = similarity(from, to);
        let moved: Vec<DVec3> = from
            .iter()
            .map(|&p| scale * (rotation * DVec3::from_array(p)) + translation)
            .collect();
        let n = moved.len();
        // [K + λI  P; Pᵀ 0] [w; a] = [residual; 0], K_ij = |c_i − c_j| (3-D biharmonic).
        let size = n + 4;
        let mut system = vec![vec![0.0; size]; size];
        for i in 0..n {
            for j in 0..n {
                system[i][j] = moved[i].distance(moved[j]) + if i == j { STIFFNESS } else { 0.0 };
            }
            let row = [1.0, moved[i].x, moved[i].y, moved[i].z];
            for (k, &x) in row.iter().enumerate() {
                system[i][n + k] = x;
                system[n + k][i] = x;
            }
        }
        let rhs: Vec<DVec3> = (0..size)
            .map(|i| {
                if i < n {
                    DVec3::from_array(to[i]) - moved[i]
                } else {
                    DVec3::ZERO
                }
            })
            .collect();
        Self {
            scale,
            rotation,
            translation,
            centres: moved,
            coefficients: solve(system, rhs),
        }
    }

    /// The similarity part alone (what a rigid-plus-scale registration would give).
    pub fn similarity(from: &[V3], to: &[V3]) -> Self {
        let (scale, rotation, translation) = similarity(from, to);
        Self {
            scale,
            rotation,
            translation,
            centres: Vec::new(),
            coefficients: vec![DVec3::ZERO; 4],
        }
    }

    pub fn apply(&self, p: V3) -> V3 {
        let q = self.scale * (self.rotation * DVec3::from_array(p)) + self.translation;
        let n = self.centres.len();
        let mut offset = self.coefficients[n]
            + self.coefficients[n + 1] * q.x
            + self.coefficients[n + 2] * q.y
            + self.coefficients[n + 3] * q.z;
        for (c, w) in self.centres.iter().zip(&self.coefficients) {
            offset += *w * q.distance(*c);
        }
        (q + offset).to_array()
    }
}

/// Embeds `points` on the nearest of `triangles` (indices into `vertices`), returning each
/// point as a face index (into `faces`, through `triangle_ids`) and barycentric weights.
pub fn project(
    points: &[V3],
    vertices: &[V3],
    faces: &[[u32; 3]],
    triangle_ids: &[usize],
) -> Vec<Landmark> {
    points
        .iter()
        .map(|&p| {
            let p = DVec3::from_array(p);
            let (face, bary, _) = triangle_ids
                .iter()
                .map(|&f| {
                    let [a, b, c] = faces[f].map(|v| DVec3::from_array(vertices[v as usize]));
                    let (bary, at) = closest_on_triangle(p, a, b, c);
                    (f, bary, at.distance_squared(p))
                })
                .min_by(|x, y| x.2.total_cmp(&y.2))
                .expect("the head has face triangles");
            Landmark {
                face: face as u32,
                bary: bary.map(|b| b as f32),
            }
        })
        .collect()
}

/// The scale, rotation and translation that best carry `from` onto `to` (Umeyama).
fn similarity(from: &[V3], to: &[V3]) -> (f64, DMat3, DVec3) {
    let n = from.len() as f64;
    let (a, b): (Vec<DVec3>, Vec<DVec3>) = from
        .iter()
        .zip(to)
        .map(|(&p, &q)| (DVec3::from_array(p), DVec3::from_array(q)))
        .unzip();
    let (ma, mb) = (a.iter().sum::<DVec3>() / n, b.iter().sum::<DVec3>() / n);
    let mut cov = DMat3::ZERO;
    let mut var = 0.0;
    for (p, q) in a.iter().zip(&b) {
        let (p, q) = (*p - ma, *q - mb);
        cov += DMat3::from_cols(q * p.x, q * p.y, q * p.z);
        var += p.length_squared();
    }
    let rotation = nearest_rotation(cov / n);
    // The scale that best matches the rotated spread.
    let mut along = 0.0;
    for (p, q) in a.iter().zip(&b) {
        along += (rotation * (*p - ma)).dot(*q - mb);
    }
    let scale = along / var;
    (scale, rotation, mb - scale * (rotation * ma))
}

/// The rotation nearest a matrix (its polar factor), by Newton's iteration
/// X ← (X + X⁻ᵀ)/2, which converges for any non-singular start.
fn nearest_rotation(m: DMat3) -> DMat3 {
    let mut x = m;
    for _ in 0..50 {
        x = (x + x.inverse().transpose()) * 0.5;
    }
    if x.determinant() < 0.0 { -x } else { x }
}

/// Gaussian elimination with partial pivoting, three right-hand sides at once.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<DVec3>) -> Vec<DVec3> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .expect("rows");
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in 0..n {
            if row != col && a[row][col] != 0.0 {
                let f = a[row][col] / a[col][col];
                let pivot_row = a[col].clone();
                for (x, p) in a[row].iter_mut().zip(&pivot_row).skip(col) {
                    *x -= f * p;
                }
                let bc = b[col];
                b[row] -= bc * f;
            }
        }
    }
    (0..n).map(|i| b[i] / a[i][i]).collect()
}

/// The point of triangle abc nearest p, as barycentric weights and the point (Ericson,
/// Real-Time Collision Detection §5.1.5).
fn closest_on_triangle(p: DVec3, a: DVec3, b: DVec3, c: DVec3) -> ([f64; 3], DVec3) {
    let (ab, ac, ap) = (b - a, c - a, p - a);
    let (d1, d2) = (ab.dot(ap), ac.dot(ap));
    if d1 <= 0.0 && d2 <= 0.0 {
        return ([1.0, 0.0, 0.0], a);
    }
    let bp = p - b;
    let (d3, d4) = (ab.dot(bp), ac.dot(bp));
    if d3 >= 0.0 && d4 <= d3 {
        return ([0.0, 1.0, 0.0], b);
    }
    let vc = d1 * d4 - d3 * d2;
    if vc <= 0.0 && d1 >= 0.0 && d3 <= 0.0 {
        let v = d1 / (d1 - d3);
        return ([1.0 - v, v, 0.0], a + ab * v);
    }
    let cp = p - c;
    let (d5, d6) = (ab.dot(cp), ac.dot(cp));
    if d6 >= 0.0 && d5 <= d6 {
        return ([0.0, 0.0, 1.0], c);
    }
    let vb = d5 * d2 - d1 * d6;
    if vb <= 0.0 && d2 >= 0.0 && d6 <= 0.0 {
        let w = d2 / (d2 - d6);
        return ([1.0 - w, 0.0, w], a + ac * w);
    }
    let va = d3 * d6 - d5 * d4;
    if va <= 0.0 && (d4 - d3) >= 0.0 && (d5 - d6) >= 0.0 {
        let w = (d4 - d3) / ((d4 - d3) + (d5 - d6));
        return ([0.0, 1.0 - w, w], b + (c - b) * w);
    }
    let denom = 1.0 / (va + vb + vc);
    let (v, w) = (vb * denom, vc * denom);
    ([1.0 - v - w, v, w], a + ab * v + ac * w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_similarity_with_a_bend_is_followed_at_the_controls_and_between_them() {
        let from: Vec<V3> = (0..40)
            .map(|i| {
                let t = i as f64;
                [
                    (t * 0.7).sin() * 0.05,
                    (t * 0.3).cos() * 0.05,
                    (t * 1.3).sin() * 0.02,
                ]
            })
            .collect();
        let bend = |p: V3| {
            let q = [1.1 * p[1] + 0.01, -1.1 * p[0], 1.1 * p[2] + 0.2];
            [q[0], q[1], q[2] + 3.0 * q[0] * q[0]]
        };
        let to: Vec<V3> = from.iter().map(|&p| bend(p)).collect();
        let warp = Warp::fit(&from[..30], &to[..30]);
        let rigid = Warp::similarity(&from[..30], &to[..30]);
        // Mean distance to the truth over a range of points.
        let error = |w: &Warp, range: std::ops::Range<usize>| {
            let n = range.len() as f64;
            range
                .map(|i| {
                    let p = w.apply(from[i]);
                    (0..3)
                        .map(|k| (p[k] - to[i][k]).powi(2))
                        .sum::<f64>()
                        .sqrt()
                })
                .sum::<f64>()
                / n
        };
        assert!(
            error(&warp, 0..30) < 1e-4,
            "controls: {}",
            error(&warp, 0..30)
        );
        let (held, rigid_held) = (error(&warp, 30..40), error(&rigid, 30..40));
        assert!(
            held < 0.5 * rigid_held,
            "held out: {held} vs similarity {rigid_held}"
        );
    }

    #[test]
    fn the_closest_point_is_found_inside_on_edges_and_at_corners() {
        let (a, b, c) = (DVec3::ZERO, DVec3::X, DVec3::Y);
        let (bary, at) = closest_on_triangle(DVec3::new(0.2, 0.3, 1.0), a, b, c);
        assert!(at.distance(DVec3::new(0.2, 0.3, 0.0)) < 1e-12 && (bary[1] - 0.2).abs() < 1e-12);
        let (_, at) = closest_on_triangle(DVec3::new(2.0, -1.0, 0.0), a, b, c);
        assert!(at.distance(b) < 1e-12);
        let (bary, _) = closest_on_triangle(DVec3::new(1.0, 1.0, 0.0), a, b, c);
        assert!((bary[1] - 0.5).abs() < 1e-12 && (bary[2] - 0.5).abs() < 1e-12);
    }
}
