//! A rig with FLAME 2020's structure and sizes but random contents, for benchmarks and tests
//! on machines without the (licence-restricted) FLAME model.

use rand::{Rng, SeedableRng, rngs::StdRng};

use super::model::{Basis, Landmark, NUM_JOINTS, NUM_LANDMARKS, NUM_POSE_FEATURES, Rig, RigKind};

pub const FLAME_VERTICES: usize = 5023;
pub const FLAME_FACES: usize = 9976;

/// `vertices` vertices, 100 shape and 50 expression components (DECA's subset), 36 pose
/// correctives, five joints, random contents of FLAME's magnitudes.
pub fn flame_sized(seed: u64, vertices: usize) -> Rig {
    let rng = &mut StdRng::seed_from_u64(seed);
    let v = vertices;
    let mut uniform = |n: usize, scale: f32| -> Vec<f32> {
        (0..n).map(|_| rng.random_range(-scale..scale)).collect()
    };
    let template = uniform(v * 3, 0.1)
        .chunks_exact(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    let shape_basis = Basis {
        count: 100,
        data: uniform(v * 3 * 100, 2e-3),
    };
    let expression_basis = Basis {
        count: 50,
        data: uniform(v * 3 * 50, 2e-3),
    };
    let pose_basis = Basis {
        count: NUM_POSE_FEATURES,
        data: uniform(v * 3 * NUM_POSE_FEATURES, 2e-3),
    };
    let mut joint_regressor = vec![0.0; NUM_JOINTS * v];
    for j in 0..NUM_JOINTS {
        for _ in 0..8 {
            joint_regressor[j * v + rng.random_range(0..v)] += 0.125;
        }
    }
    let mut skin_weights = Vec::with_capacity(v * NUM_JOINTS);
    for _ in 0..v {
        let w: Vec<f32> = (0..NUM_JOINTS)
            .map(|_| rng.random::<f32>().powi(3))
            .collect();
        let sum: f32 = w.iter().sum::<f32>().max(1e-6);
        skin_weights.extend(w.iter().map(|x| x / sum));
    }
    let faces: Vec<[u32; 3]> = (0..FLAME_FACES * v / FLAME_VERTICES)
        .map(|_| [0; 3].map(|_| rng.random_range(0..v as u32)))
        .collect();
    let landmarks = (0..NUM_LANDMARKS)
        .map(|_| {
            let b: [f32; 3] = [0; 3].map(|_| rng.random_range(0.05..1.0));
            let s: f32 = b.iter().sum();
            Landmark {
                face: rng.random_range(0..faces.len() as u32),
                bary: b.map(|x| x / s),
            }
        })
        .collect();
    Rig {
        kind: RigKind::Flame2020,
        source: format!("synthetic FLAME-sized rig (seed {seed})"),
        template,
        shape_basis,
        expression_names: (0..50).map(|i| i.to_string()).collect(),
        expression_basis,
        pose_basis,
        joint_regressor,
        parents: vec![-1, 0, 1, 1, 1],
        skin_weights,
        uv_faces: faces.clone(),
        faces,
        uvs: vec![[0.5, 0.5]; v],
        landmarks,
        drivers: Vec::new(),
        uv_mask: None,
        albedo: None,
    }
}
