//! Shared test helpers: the GPU every test in a binary shares, random rigs, seeds.
#![allow(dead_code)]

use std::sync::OnceLock;

use neuralhead::gpu::{AdapterChoice, Gpu, kernel};
use neuralhead::rig::model::{Basis, Landmark, NUM_JOINTS, NUM_LANDMARKS, NUM_POSE_FEATURES};
use neuralhead::rig::{Rig, RigKind};
use rand::{Rng, SeedableRng, rngs::StdRng};

/// The shared GPU (lavapipe on CI). Set NEURALHEAD_ADAPTER to pick another. With no adapter
/// the tests fail with the message that says what to install; they never skip.
pub fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| {
        let choice: AdapterChoice = std::env::var("NEURALHEAD_ADAPTER")
            .unwrap_or_default()
            .parse()
            .unwrap();
        let gpu = Gpu::new(&choice).unwrap_or_else(|e| panic!("GPU tests need an adapter: {e}"));
        kernel::set_poison_outputs(true);
        eprintln!("test GPU: {}", gpu.describe());
        gpu
    })
}

/// A fresh seed per run (printed, so a failure can be replayed with NEURALHEAD_SEED).
pub fn rng(test: &str) -> StdRng {
    let seed = std::env::var("NEURALHEAD_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("{test}: seed {seed}");
    StdRng::seed_from_u64(seed)
}

/// A rig with FLAME 2020's structure and sizes (5023 vertices, 100 shape, 50 expression,
/// 36 pose correctives, five joints) and random contents of FLAME's magnitudes.
pub fn random_flame_like_rig(rng: &mut StdRng, vertices: usize) -> Rig {
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
    let faces: Vec<[u32; 3]> = (0..v * 2)
        .map(|_| {
            [
                rng.random_range(0..v as u32),
                rng.random_range(0..v as u32),
                rng.random_range(0..v as u32),
            ]
        })
        .collect();
    let landmarks = (0..NUM_LANDMARKS)
        .map(|_| {
            let b = [
                rng.random::<f32>(),
                rng.random::<f32>(),
                rng.random::<f32>(),
            ];
            let s = b.iter().sum::<f32>();
            Landmark {
                face: rng.random_range(0..faces.len() as u32),
                bary: b.map(|x| x / s),
            }
        })
        .collect();
    let rig = Rig {
        kind: RigKind::Flame2020,
        source: "random test rig".into(),
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
    };
    rig.validate().unwrap();
    rig
}
