//! The landmark detector's neutral face on the default rig. MediaPipe's landmark model
//! places its 468 points as its canonical face would have them, and that face is not the
//! rig's neutral one: fitted through the plain embedding, the canonical face itself comes out
//! with mouthPucker 0.65, browInnerUp 0.5, mouthRollUpper 0.33 and cheekPuff 0.24, and so does
//! every portrait, on top of its real expression. The fit therefore aims each embedded point
//! at the canonical face's vertex (aligned to the rig by a similarity) rather than at the
//! rig's own surface: the offset between the two is added to the skinned point, so a face
//! the detector sees as neutral fits at zero expression.

use glam::{DMat3, DQuat, DVec3};

use crate::rig::Rig;
use crate::rig::default_rig::canonical::CanonicalFace;
use crate::rig::params::RigParams;
use crate::rig::skin_cpu::{points_on, skin};

/// Per embedded MediaPipe point, the canonical face's vertex minus the rig's neutral surface
/// point (rig units), after the best similarity of the canonical face onto those points.
pub fn detector_offsets(rig: &Rig) -> anyhow::Result<Vec<[f64; 3]>> {
    let (resolved, _) = RigParams::default().resolve(rig)?;
    let on_rig: Vec<DVec3> = points_on(rig, &rig.mediapipe, &skin(rig, &resolved).vertices)
        .into_iter()
        .map(DVec3::from_array)
        .collect();
    let canonical = CanonicalFace::load();
    anyhow::ensure!(
        canonical.positions.len() >= on_rig.len(),
        "the canonical face has {} vertices for {} landmarks",
        canonical.positions.len(),
        on_rig.len()
    );
    let canonical: Vec<DVec3> = canonical.positions[..on_rig.len()]
        .iter()
        .map(|&p| DVec3::from_array(p))
        .collect();
    let aligned = align_similarity(&canonical, &on_rig);
    Ok(aligned
        .iter()
        .zip(&on_rig)
        .map(|(a, b)| (*a - *b).to_array())
        .collect())
}

/// `from` moved by the rotation, uniform scale and translation that bring it closest to `to`
/// in the least-squares sense (Horn's quaternion method).
pub fn align_similarity(from: &[DVec3], to: &[DVec3]) -> Vec<DVec3> {
    let mean = |p: &[DVec3]| p.iter().copied().sum::<DVec3>() / p.len() as f64;
    let (mean_from, mean_to) = (mean(from), mean(to));
    let a: Vec<DVec3> = from.iter().map(|p| *p - mean_from).collect();
    let b: Vec<DVec3> = to.iter().map(|p| *p - mean_to).collect();
    let rotation = DMat3::from_quat(best_rotation(&a, &b));
    let turned: Vec<DVec3> = a.iter().map(|p| rotation * *p).collect();
    let scale = turned.iter().zip(&b).map(|(p, q)| p.dot(*q)).sum::<f64>()
        / turned.iter().map(|p| p.length_squared()).sum::<f64>();
    turned.iter().map(|p| *p * scale + mean_to).collect()
}

/// The rotation R minimising Σ |R·aᵢ − bᵢ|² for centred point sets: the eigenvector of Horn's
/// 4×4 matrix with the largest eigenvalue, by power iteration on it shifted to be positive.
fn best_rotation(a: &[DVec3], b: &[DVec3]) -> DQuat {
    let mut s = [[0.0f64; 3]; 3];
    for (p, q) in a.iter().zip(b) {
        for (i, pi) in p.to_array().into_iter().enumerate() {
            for (j, qj) in q.to_array().into_iter().enumerate() {
                s[i][j] += pi * qj;
            }
        }
    }
    let [[xx, xy, xz], [yx, yy, yz], [zx, zy, zz]] = s;
    let n = [
        [xx + yy + zz, yz - zy, zx - xz, xy - yx],
        [yz - zy, xx - yy - zz, xy + yx, zx + xz],
        [zx - xz, xy + yx, -xx + yy - zz, yz + zy],
        [xy - yx, zx + xz, yz + zy, -xx - yy + zz],
    ];
    let shift: f64 = n.iter().flatten().map(|v| v.abs()).sum();
    let mut q = [1.0, 0.0, 0.0, 0.0];
    for _ in 0..500 {
        let next: [f64; 4] =
            std::array::from_fn(|i| (0..4).map(|j| n[i][j] * q[j]).sum::<f64>() + shift * q[i]);
        let norm = next.iter().map(|v| v * v).sum::<f64>().sqrt();
        q = next.map(|v| v / norm);
    }
    DQuat::from_xyzw(q[1], q[2], q[3], q[0]).normalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A point set turned, scaled and moved is brought back onto the original.
    #[test]
    fn a_similarity_is_undone() {
        let points: Vec<DVec3> = (0..40)
            .map(|i| {
                let t = i as f64;
                DVec3::new((t * 0.37).sin(), (t * 0.91).cos(), (t * 0.13).sin() * 0.5)
            })
            .collect();
        let turn = DMat3::from_quat(DQuat::from_euler(glam::EulerRot::YXZ, 0.4, -0.3, 0.2));
        let moved: Vec<DVec3> = points
            .iter()
            .map(|p| turn * *p * 1.7 + DVec3::new(0.1, -2.0, 0.5))
            .collect();
        let back = align_similarity(&moved, &points);
        for (p, q) in back.iter().zip(&points) {
            assert!((*p - *q).length() < 1e-9, "{p} vs {q}");
        }
    }
}
