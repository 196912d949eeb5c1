//! Random closed meshes for the rasterization tests: a deformed latitude–longitude
//! ellipsoid with a UV per ring corner (seam duplicated), a mouth-like hole, and a mask.
#![allow(dead_code)]

use neuralhead::rig::model::{Basis, Landmark, UvImage};
use neuralhead::rig::{Rig, RigKind};
use rand::{Rng, rngs::StdRng};

pub fn random_head(rng: &mut StdRng, rings: usize, segments: usize) -> Rig {
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
        source: "random test head".into(),
        template,
        shape_basis: Basis::empty(),
        expression_basis: Basis::empty(),
        expression_names: Vec::new(),
        pose_basis: Basis::empty(),
        joint_regressor: vec![0.0; 5 * n],
        parents: vec![-1, 0, 1, 1, 1],
        skin_weights: (0..n).flat_map(|_| [1.0, 0.0, 0.0, 0.0, 0.0]).collect(),
        uv_faces: faces.clone(),
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
