//! A rig with FLAME 2020's structure and sizes but random contents, for benchmarks and tests
//! on machines without the (licence-restricted) FLAME model.

use rand::{Rng, SeedableRng, rngs::StdRng};

use super::model::{
    Basis, Landmark, NUM_JOINTS, NUM_LANDMARKS, NUM_POSE_FEATURES, Rig, RigKind, UvImage,
};

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
        mediapipe: Vec::new(),
        drivers: Vec::new(),
        uv_mask: None,
        albedo: None,
    }
}

/// A closed head-sized mesh for rasterization: a deformed latitude–longitude ellipsoid with
/// one UV per ring corner (the seam duplicated), a mouth-like hole, and a face/eye mask, so
/// the raster step sees enclosed regions to fill. `rings`×`segments`×2 faces (FLAME has
/// 9976 faces: 70×72).
pub fn lat_long_head(seed: u64, rings: usize, segments: usize) -> Rig {
    let rng = &mut StdRng::seed_from_u64(seed);
    let axes = [
        rng.random_range(0.08..0.11),
        rng.random_range(0.12..0.16),
        rng.random_range(0.09..0.12),
    ];
    let centre = [
        0.0,
        rng.random_range(-0.04..-0.02),
        rng.random_range(-0.04..-0.02),
    ];
    let wobble: [f64; 3] = [0; 3].map(|_| rng.random_range(0.0..0.006));
    let mut template = Vec::new();
    let mut uvs = Vec::new();
    for i in 0..=rings {
        let theta = std::f64::consts::PI * i as f64 / rings as f64;
        for j in 0..=segments {
            let phi =
                2.0 * std::f64::consts::PI * j as f64 / segments as f64 - std::f64::consts::PI;
            let dir = [
                theta.sin() * phi.sin(),
                theta.cos(),
                theta.sin() * phi.cos(),
            ];
            let p: [f64; 3] = [0, 1, 2]
                .map(|a| centre[a] + axes[a] * dir[a] + wobble[a] * (7.0 * dir[(a + 1) % 3]).sin());
            template.push(p.map(|x| x as f32));
            uvs.push([j as f32 / segments as f32, 1.0 - i as f32 / rings as f32]);
        }
    }
    let id = |i: usize, j: usize| (i * (segments + 1) + j) as u32;
    let mut faces = Vec::new();
    for i in 0..rings {
        for j in 0..segments {
            // A hole in front, below the middle: an enclosed region for the fill.
            let mouth = (rings * 6 / 10..rings * 6 / 10 + 2).contains(&i)
                && (segments / 2 - 2..segments / 2 + 2).contains(&j);
            if mouth {
                continue;
            }
            // Outward, counter-clockwise.
            faces.push([id(i, j), id(i + 1, j + 1), id(i, j + 1)]);
            faces.push([id(i, j), id(i + 1, j), id(i + 1, j + 1)]);
        }
    }
    let n = template.len();
    let mask_size = 64;
    let mut mask = vec![0u8; mask_size * mask_size];
    for r in 0..mask_size {
        for c in 0..mask_size {
            let (u, v) = (
                (c as f64 + 0.5) / mask_size as f64,
                1.0 - (r as f64 + 0.5) / mask_size as f64,
            );
            let inside = (u - 0.5).abs() < 0.3 && (0.2..0.8).contains(&v);
            let eye = ((u - 0.45) / 0.03).powi(2) + ((v - 0.6) / 0.025).powi(2) < 1.0;
            mask[r * mask_size + c] = if inside && !eye {
                255
            } else if inside {
                0
            } else {
                100 * u8::from((u - 0.5).abs() < 0.33)
            };
        }
    }
    Rig {
        kind: RigKind::Flame2020,
        source: format!("synthetic head (seed {seed})"),
        template,
        shape_basis: Basis::empty(),
        expression_basis: Basis::empty(),
        expression_names: Vec::new(),
        pose_basis: Basis::empty(),
        joint_regressor: vec![0.0; 5 * n],
        parents: vec![-1, 0, 1, 1, 1],
        skin_weights: (0..n).flat_map(|_| [1.0, 0.0, 0.0, 0.0, 0.0]).collect(),
        uv_faces: faces.clone(),
        mediapipe: Vec::new(),
        landmarks: (0..68)
            .map(|k| Landmark {
                face: k as u32,
                bary: [0.2, 0.3, 0.5],
            })
            .collect(),
        faces,
        uvs,
        drivers: Vec::new(),
        uv_mask: Some(UvImage {
            width: mask_size,
            height: mask_size,
            channels: 1,
            data: mask,
        }),
        albedo: None,
    }
}
