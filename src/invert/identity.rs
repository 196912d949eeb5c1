//! The default rig's identity from one view: an offset field on the 468 landmark vertices
//! that closes the remaining 2-D reprojection error, kept small and smooth over the mesh
//! (the depth direction is unobservable from one view, so only the penalties decide it), and
//! extended to the other vertices (mouth interior, eyeballs) from their nearest landmarks.
//!
//! With the camera and expression held, each landmark's projection is linearised in its own
//! offset; the resulting sparse least-squares problem is solved by conjugate gradients.

use glam::{DMat3, DVec3};

use crate::render::camera::{OrbitCamera, RIG_TO_WORLD_SCALE, rig_to_world};
use crate::rig::Rig;

/// Pull of every offset toward zero and of neighbours toward each other (normalised image
/// units squared per rig unit squared).
const SIZE_PENALTY: f64 = 0.5;
const SMOOTH_PENALTY: f64 = 20.0;
const CG_ITERATIONS: usize = 400;
/// Landmarks that carry a non-landmark vertex's offset, and their falloff (rig units).
const NEIGHBOURS: usize = 4;

/// Offsets (rig units) for all of `rig`'s vertices. `residual[i]` is projected − detected
/// landmark i in normalised crop units (already scaled by the crop similarity `scale`),
/// `posed` the skinned landmark vertices.
pub fn offsets(
    rig: &Rig,
    camera: &OrbitCamera,
    scale: f64,
    posed: &[[f64; 3]],
    residual: &[[f64; 2]],
    previous: &[[f64; 3]],
) -> Vec<[f64; 3]> {
    let n = residual.len();
    let jacobians: Vec<[DVec3; 2]> = posed
        .iter()
        .map(|&v| projection_jacobian(camera, scale, DVec3::from_array(v)))
        .collect();
    let edges = landmark_edges(rig, n);
    // Unknowns: the change of each landmark offset, δ (3n).
    let previous: Vec<DVec3> = previous[..n]
        .iter()
        .map(|p| DVec3::from_array(*p))
        .collect();
    let apply = |x: &[DVec3]| -> Vec<DVec3> {
        let mut out: Vec<DVec3> = (0..n)
            .map(|i| {
                let [gx, gy] = jacobians[i];
                gx * gx.dot(x[i]) + gy * gy.dot(x[i]) + x[i] * SIZE_PENALTY
            })
            .collect();
        for &(a, b) in &edges {
            let d = (x[a] - x[b]) * SMOOTH_PENALTY;
            out[a] += d;
            out[b] -= d;
        }
        out
    };
    // Right-hand side: −Jᵀr and the penalties' pull on the previous offsets.
    let mut rhs: Vec<DVec3> = (0..n)
        .map(|i| {
            let [gx, gy] = jacobians[i];
            -(gx * residual[i][0] + gy * residual[i][1]) - previous[i] * SIZE_PENALTY
        })
        .collect();
    for &(a, b) in &edges {
        let d = (previous[a] - previous[b]) * SMOOTH_PENALTY;
        rhs[a] -= d;
        rhs[b] += d;
    }
    let delta = conjugate_gradients(apply, &rhs);
    let landmark_offsets: Vec<DVec3> = previous.iter().zip(&delta).map(|(p, d)| *p + *d).collect();
    extend(rig, &landmark_offsets)
}

/// ∂(crop coordinates)/∂(rig position) for a point, rows x and y.
fn projection_jacobian(camera: &OrbitCamera, scale: f64, rig_point: DVec3) -> [DVec3; 2] {
    let world_to_camera = camera.cam2world().inverse() * rig_to_world();
    let p = world_to_camera.transform_point3(rig_point);
    let rotation = DMat3::from_mat4(camera.cam2world()).transpose() * RIG_TO_WORLD_SCALE;
    let k = scale * camera.focal();
    let dx = DVec3::new(k / p.z, 0.0, -k * p.x / (p.z * p.z));
    let dy = DVec3::new(0.0, k / p.z, -k * p.y / (p.z * p.z));
    // Row vectors times the rotation: (rowᵀ·R) = Rᵀ·row.
    [rotation.transpose() * dx, rotation.transpose() * dy]
}

/// Unique edges of the triangles whose corners are all landmark vertices.
fn landmark_edges(rig: &Rig, n: usize) -> Vec<(usize, usize)> {
    let mut edges: Vec<(usize, usize)> = rig
        .faces
        .iter()
        .filter(|f| f.iter().all(|&v| (v as usize) < n))
        .flat_map(|f| [(f[0], f[1]), (f[1], f[2]), (f[2], f[0])])
        .map(|(a, b)| (a.min(b) as usize, a.max(b) as usize))
        .collect();
    edges.sort_unstable();
    edges.dedup();
    edges
}

/// Landmark offsets for every vertex: the others take the inverse-distance mean of their
/// nearest landmark vertices' offsets (rest positions).
fn extend(rig: &Rig, landmark_offsets: &[DVec3]) -> Vec<[f64; 3]> {
    let n = landmark_offsets.len();
    let rest = |i: usize| DVec3::from_array(rig.template[i].map(f64::from));
    (0..rig.num_vertices())
        .map(|v| {
            if v < n {
                return landmark_offsets[v].to_array();
            }
            let mut nearest: Vec<(f64, usize)> =
                (0..n).map(|l| (rest(v).distance(rest(l)), l)).collect();
            nearest.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (mut sum, mut total) = (DVec3::ZERO, 0.0);
            for &(d, l) in &nearest[..NEIGHBOURS] {
                let w = 1.0 / (d + 1e-4);
                sum += landmark_offsets[l] * w;
                total += w;
            }
            (sum / total).to_array()
        })
        .collect()
}

/// Solves `apply(x) = b` for a symmetric positive definite `apply`.
fn conjugate_gradients(apply: impl Fn(&[DVec3]) -> Vec<DVec3>, b: &[DVec3]) -> Vec<DVec3> {
    let dot = |a: &[DVec3], c: &[DVec3]| a.iter().zip(c).map(|(x, y)| x.dot(*y)).sum::<f64>();
    let mut x = vec![DVec3::ZERO; b.len()];
    let mut r = b.to_vec();
    let mut p = r.clone();
    let mut rr = dot(&r, &r);
    for _ in 0..CG_ITERATIONS {
        if rr < 1e-24 {
            break;
        }
        let ap = apply(&p);
        let alpha = rr / dot(&p, &ap);
        for i in 0..x.len() {
            x[i] += p[i] * alpha;
            r[i] -= ap[i] * alpha;
        }
        let next = dot(&r, &r);
        let beta = next / rr;
        for (pi, ri) in p.iter_mut().zip(&r) {
            *pi = *ri + *pi * beta;
        }
        rr = next;
    }
    x
}
