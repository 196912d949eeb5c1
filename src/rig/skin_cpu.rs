//! The plain reference: FLAME's linear blend skinning in f64, step by step as `lbs.py`.
//! The WGSL kernel is tested against it; landmark fitting builds on its pieces.

use super::model::{Basis, Landmark, NUM_JOINTS, Rig};
use super::params::Resolved;
use super::rotation::{Affine, IDENTITY, Mat3, affine, apply3, compose, rodrigues, transform};

/// The skinned mesh and what was computed on the way.
#[derive(Debug, Clone)]
pub struct Skinned {
    pub vertices: Vec<[f64; 3]>,
    pub landmarks: Vec<[f64; 3]>,
    /// Per-joint transforms from the rest pose to the posed mesh (FLAME's `A`).
    pub joint_transforms: [Affine; NUM_JOINTS],
}

/// The template with the identity applied (shape coefficients or the offset field).
pub fn identity_vertices(rig: &Rig, p: &Resolved) -> Vec<[f64; 3]> {
    let mut vertices: Vec<[f64; 3]> = rig.template.iter().map(|v| v.map(f64::from)).collect();
    if let Some(offsets) = &p.offsets {
        for (v, o) in vertices.iter_mut().zip(offsets) {
            for a in 0..3 {
                v[a] += o[a];
            }
        }
    }
    add_basis(&mut vertices, &rig.shape_basis, &p.shape);
    vertices
}

/// Identity and expression blendshapes: FLAME's `v_shaped`.
pub fn shaped_vertices(rig: &Rig, p: &Resolved) -> Vec<[f64; 3]> {
    let mut vertices = identity_vertices(rig, p);
    add_basis(&mut vertices, &rig.expression_basis, &p.expression);
    vertices
}

/// Adds `Σ_k basis[v, a, k] · coefficients[k]` to every vertex.
pub fn add_basis(vertices: &mut [[f64; 3]], basis: &Basis, coefficients: &[f64]) {
    if basis.count == 0 {
        return;
    }
    for (v, vertex) in vertices.iter_mut().enumerate() {
        for (a, x) in vertex.iter_mut().enumerate() {
            let row = &basis.data[(v * 3 + a) * basis.count..][..basis.count];
            *x += row
                .iter()
                .zip(coefficients)
                .map(|(&b, &c)| f64::from(b) * c)
                .sum::<f64>();
        }
    }
}

/// Joint locations regressed from the shaped mesh.
pub fn regress_joints(rig: &Rig, shaped: &[[f64; 3]]) -> [[f64; 3]; NUM_JOINTS] {
    let v = rig.num_vertices();
    let mut joints = [[0.0; 3]; NUM_JOINTS];
    for (j, joint) in joints.iter_mut().enumerate() {
        for (point, &w) in shaped.iter().zip(&rig.joint_regressor[j * v..(j + 1) * v]) {
            for a in 0..3 {
                joint[a] += f64::from(w) * point[a];
            }
        }
    }
    joints
}

/// Inputs of the pose correctives: `(R_j − I)` flattened row-major for every joint but the root.
pub fn pose_feature(rotations: &[Mat3; NUM_JOINTS]) -> Vec<f64> {
    rotations[1..]
        .iter()
        .flat_map(|r| (0..9).map(move |i| r[i / 3][i % 3] - IDENTITY[i / 3][i % 3]))
        .collect()
}

/// FLAME's `batch_rigid_transform`: chain the local rotations down the tree, then remove
/// the rest-pose joint location so each transform maps rest vertices to posed ones.
pub fn joint_transforms(
    rig: &Rig,
    rotations: &[Mat3; NUM_JOINTS],
    joints: &[[f64; 3]; NUM_JOINTS],
) -> [Affine; NUM_JOINTS] {
    let mut global: [Affine; NUM_JOINTS] = [[[0.0; 4]; 3]; NUM_JOINTS];
    for j in 0..NUM_JOINTS {
        let parent = rig.parents[j];
        if parent < 0 {
            global[j] = affine(&rotations[j], joints[j]);
        } else {
            let p = parent as usize;
            let offset = [0, 1, 2].map(|a| joints[j][a] - joints[p][a]);
            global[j] = compose(&global[p], &affine(&rotations[j], offset));
        }
    }
    // A_j = [R_j | t_j − R_j·J_j]: where each transform moves its own rest joint, removed.
    for (a, joint) in global.iter_mut().zip(joints) {
        let r: Mat3 = [0, 1, 2].map(|i| [a[i][0], a[i][1], a[i][2]]);
        let moved = apply3(&r, *joint);
        for (row, m) in a.iter_mut().zip(moved) {
            row[3] -= m;
        }
    }
    global
}

/// Skins the rig: blendshapes, pose correctives, linear blend skinning, landmarks.
pub fn skin(rig: &Rig, p: &Resolved) -> Skinned {
    let shaped = shaped_vertices(rig, p);
    let joints = regress_joints(rig, &shaped);
    let rotations = p.joints.map(rodrigues);
    let mut posed = shaped;
    add_basis(&mut posed, &rig.pose_basis, &pose_feature(&rotations));
    let transforms = joint_transforms(rig, &rotations, &joints);

    let j = rig.num_joints();
    let vertices: Vec<[f64; 3]> = posed
        .iter()
        .enumerate()
        .map(|(v, &point)| {
            let mut blended = [[0.0; 4]; 3];
            for (t, &w) in transforms.iter().zip(&rig.skin_weights[v * j..(v + 1) * j]) {
                for r in 0..3 {
                    for c in 0..4 {
                        blended[r][c] += f64::from(w) * t[r][c];
                    }
                }
            }
            transform(&blended, point)
        })
        .collect();
    let landmarks = landmarks_of(rig, &vertices);
    Skinned {
        vertices,
        landmarks,
        joint_transforms: transforms,
    }
}

/// The 68 landmarks as barycentric combinations of skinned vertices.
pub fn landmarks_of(rig: &Rig, vertices: &[[f64; 3]]) -> Vec<[f64; 3]> {
    points_on(rig, &rig.landmarks, vertices)
}

/// Points embedded on `rig`'s faces (its landmarks, its MediaPipe points) on skinned vertices.
pub fn points_on(rig: &Rig, points: &[Landmark], vertices: &[[f64; 3]]) -> Vec<[f64; 3]> {
    points
        .iter()
        .map(|l| {
            let mut p = [0.0; 3];
            for (&i, &b) in rig.faces[l.face as usize].iter().zip(&l.bary) {
                for a in 0..3 {
                    p[a] += f64::from(b) * vertices[i as usize][a];
                }
            }
            p
        })
        .collect()
}
