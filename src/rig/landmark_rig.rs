//! A rig cut down to the points a fit looks at: the vertices under a set of landmarks, plus
//! one proxy vertex per joint that carries the whole mesh's joint regression. Joints are
//! linear in the blendshape coefficients (`J = R·(T + S·β + E·ψ)`), so folding `R` into the
//! proxies' template and bases regresses the same joints from a few hundred vertices instead
//! of the whole head. Skinning it (`skin_cpu::skin`) gives the same landmarks as skinning the
//! full rig, and `jacobian::landmark_jacobian` differentiates them at the same small cost.
//!
//! Identity must be given as shape coefficients: an offset field addresses the full mesh.

use std::collections::BTreeMap;

use super::model::{Basis, Landmark, NUM_JOINTS, Rig};

/// `rig` restricted to `points`, which become the cut rig's `landmarks` in the same order.
pub fn landmark_rig(rig: &Rig, points: &[Landmark]) -> Rig {
    let corners: Vec<[u32; 3]> = points.iter().map(|l| rig.faces[l.face as usize]).collect();
    // Old vertex index → new index, in ascending order of the old one.
    let kept: BTreeMap<u32, u32> = {
        let mut vertices: Vec<u32> = corners.iter().flatten().copied().collect();
        vertices.sort_unstable();
        vertices.dedup();
        vertices
            .into_iter()
            .enumerate()
            .map(|(new, old)| (old, new as u32))
            .collect()
    };
    let old: Vec<usize> = kept.keys().map(|&v| v as usize).collect();
    let proxies = old.len();
    let joints = rig.num_joints();
    let regressor_row =
        |j: usize| &rig.joint_regressor[j * rig.num_vertices()..][..rig.num_vertices()];

    let mut template: Vec<[f32; 3]> = old.iter().map(|&v| rig.template[v]).collect();
    template.extend((0..joints).map(|j| {
        let mut joint = [0.0f64; 3];
        for (v, &w) in regressor_row(j)
            .iter()
            .enumerate()
            .filter(|(_, w)| **w != 0.0)
        {
            for (out, &x) in joint.iter_mut().zip(&rig.template[v]) {
                *out += f64::from(w) * f64::from(x);
            }
        }
        joint.map(|x| x as f32)
    }));

    let mut joint_regressor = vec![0.0; joints * (proxies + joints)];
    for j in 0..joints {
        joint_regressor[j * (proxies + joints) + proxies + j] = 1.0;
    }
    let mut skin_weights: Vec<f32> = old
        .iter()
        .flat_map(|&v| {
            rig.skin_weights[v * joints..(v + 1) * joints]
                .iter()
                .copied()
        })
        .collect();
    // The proxies are never skinned into a landmark; any valid weights do.
    for j in 0..joints {
        skin_weights.extend((0..joints).map(|k| if k == j { 1.0 } else { 0.0 }));
    }
    let faces: Vec<[u32; 3]> = corners.iter().map(|c| c.map(|v| kept[&v])).collect();
    let landmarks = points
        .iter()
        .enumerate()
        .map(|(i, l)| Landmark {
            face: i as u32,
            bary: l.bary,
        })
        .collect();
    Rig {
        kind: rig.kind,
        source: format!("{} (cut to {} landmarks)", rig.source, points.len()),
        template,
        shape_basis: restrict(&rig.shape_basis, &old, Some(rig)),
        expression_basis: restrict(&rig.expression_basis, &old, Some(rig)),
        // Pose correctives act after the joints are regressed: the proxies carry none.
        pose_basis: restrict(&rig.pose_basis, &old, None),
        expression_names: rig.expression_names.clone(),
        joint_regressor,
        parents: rig.parents.clone(),
        skin_weights,
        faces,
        uv_faces: Vec::new(),
        uvs: Vec::new(),
        landmarks,
        mediapipe: Vec::new(),
        drivers: rig.drivers.clone(),
        uv_mask: None,
        albedo: None,
    }
}

/// The rows of `basis` for the `old` vertices, then one row per joint: the regression of the
/// whole basis (`regressed_from`), or zeros.
fn restrict(basis: &Basis, old: &[usize], regressed_from: Option<&Rig>) -> Basis {
    let k = basis.count;
    if k == 0 {
        return Basis::empty();
    }
    let mut data: Vec<f32> = old
        .iter()
        .flat_map(|&v| basis.data[v * 3 * k..(v + 1) * 3 * k].iter().copied())
        .collect();
    for j in 0..NUM_JOINTS {
        let mut row = vec![0.0f64; 3 * k];
        if let Some(rig) = regressed_from {
            let weights = &rig.joint_regressor[j * rig.num_vertices()..][..rig.num_vertices()];
            for (v, &w) in weights.iter().enumerate().filter(|(_, w)| **w != 0.0) {
                for (out, &b) in row.iter_mut().zip(&basis.data[v * 3 * k..(v + 1) * 3 * k]) {
                    *out += f64::from(w) * f64::from(b);
                }
            }
        }
        data.extend(row.iter().map(|&x| x as f32));
    }
    Basis { count: k, data }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng, rngs::StdRng};

    use super::*;
    use crate::rig::params::Resolved;
    use crate::rig::skin_cpu::skin;
    use crate::rig::synthetic::flame_sized;

    /// The cut rig's landmarks are the full rig's, under random shape, expression and pose.
    #[test]
    fn skins_the_same_landmarks_as_the_full_rig() {
        let rig = flame_sized(3, 900);
        let cut = landmark_rig(&rig, &rig.landmarks);
        assert!(cut.num_vertices() < rig.num_vertices());
        let rng = &mut StdRng::seed_from_u64(11);
        let mut random = || rng.random_range(-1.0..1.0);
        let resolved = Resolved {
            shape: (0..rig.shape_basis.count).map(|_| random()).collect(),
            expression: (0..rig.expression_basis.count).map(|_| random()).collect(),
            joints: [[0.0; 3]; NUM_JOINTS].map(|j: [f64; 3]| j.map(|_| 0.3 * random())),
            offsets: None,
        };
        let full = skin(&rig, &resolved).landmarks;
        let fast = skin(&cut, &resolved).landmarks;
        let worst = full
            .iter()
            .zip(&fast)
            .flat_map(|(a, b)| (0..3).map(move |i| (a[i] - b[i]).abs()))
            .fold(0.0, f64::max);
        assert!(worst < 1e-6, "landmarks differ by {worst}");
    }
}
