//! GPU skinning (shaders/skin.wgsl) against the f64 CPU reference, on fresh random
//! parameters, for the default rig, the whole-head rig and a rig with FLAME 2020's
//! structure and size.

mod common;

use std::sync::Arc;

use neuralhead::rig::params::Resolved;
use neuralhead::rig::skin_gpu::GpuSkinner;
use neuralhead::rig::{Identity, Rig, RigKind, RigParams, default_rig, skin_cpu};
use rand::{Rng, rngs::StdRng};

/// Largest difference allowed, in rig units (metres): f32 against f64 on values ≈ 0.1.
const TOLERANCE: f64 = 1e-5;

fn random_params(rig: &Rig, rng: &mut StdRng) -> RigParams {
    let mut axis = |limit: f32| [0; 3].map(|_| rng.random_range(-limit..limit));
    let (jaw, left, right, neck) = (axis(0.35), axis(0.4), axis(0.4), axis(0.3));
    let mut params = RigParams {
        jaw,
        neck,
        ..Default::default()
    };
    params.eyes.left = left;
    params.eyes.right = right;
    for name in &rig.expression_names {
        let w = match rig.kind {
            RigKind::Default => rng.random_range(0.0..1.0),
            RigKind::Flame2020 => rng.random_range(-2.0..2.0),
        };
        params.expression.insert(name.clone(), w);
    }
    params.identity = match rig.kind {
        // The head rig: PCA coefficients, as FLAME's shape.
        RigKind::Default if rig.shape_basis.count > 0 => Identity::Coefficients(
            (0..rig.shape_basis.count)
                .map(|_| rng.random_range(-2.0..2.0))
                .collect(),
        ),
        RigKind::Default => Identity::Offsets(
            (0..rig.num_vertices())
                .map(|_| [0; 3].map(|_| rng.random_range(-0.003..0.003)))
                .collect(),
        ),
        RigKind::Flame2020 => Identity::Coefficients(
            (0..rig.shape_basis.count)
                .map(|_| rng.random_range(-2.0..2.0))
                .collect(),
        ),
    };
    params
}

fn max_difference(gpu: &[f32], cpu: &[[f64; 3]]) -> (f64, usize) {
    assert_eq!(gpu.len(), cpu.len() * 3);
    let mut worst = (0.0f64, 0);
    for (i, p) in cpu.iter().enumerate() {
        for a in 0..3 {
            let g = f64::from(gpu[i * 3 + a]);
            assert!(
                g.is_finite(),
                "GPU output {i}.{a} is {g} (never written, or NaN)"
            );
            let d = (g - p[a]).abs();
            if d > worst.0 {
                worst = (d, i);
            }
        }
    }
    worst
}

fn check(rig: Arc<Rig>, rng: &mut StdRng, frames: usize) {
    let gpu = common::gpu();
    let identity = random_params(&rig, rng);
    let (resolved, _) = identity.resolve(&rig).unwrap();
    let skinner = GpuSkinner::new(rig.clone(), &resolved, &gpu.burn);
    for frame in 0..frames {
        let mut params = random_params(&rig, rng);
        params.identity = identity.identity.clone();
        let (p, warnings): (Resolved, _) = params.resolve(&rig).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let cpu = skin_cpu::skin(&rig, &p);
        let (vertices, landmarks) = skinner.skin(&p);
        let vertices = vertices.into_data().try_to_vec::<f32>().unwrap();
        let landmarks = landmarks.into_data().try_to_vec::<f32>().unwrap();
        let (dv, iv) = max_difference(&vertices, &cpu.vertices);
        let (dl, il) = max_difference(&landmarks, &cpu.landmarks);
        eprintln!(
            "{:?} frame {frame}: max |gpu − cpu| vertices {dv:.2e} (at {iv}), landmarks {dl:.2e} (at {il})",
            rig.kind
        );
        assert!(
            dv < TOLERANCE && dl < TOLERANCE,
            "GPU skinning differs from the reference by {dv:.2e} / {dl:.2e}"
        );
        // The expression must actually move the mesh, or the comparison proves little.
        let rest = skin_cpu::skin(&rig, &identity.resolve(&rig).unwrap().0);
        let moved = rest
            .vertices
            .iter()
            .zip(&cpu.vertices)
            .map(|(a, b)| (0..3).map(|k| (a[k] - b[k]).abs()).fold(0.0, f64::max))
            .fold(0.0, f64::max);
        assert!(
            moved > 1e-3,
            "random parameters barely moved the mesh ({moved})"
        );
    }
}

#[test]
fn gpu_matches_cpu_on_the_default_rig() {
    check(
        default_rig::face_mask(),
        &mut common::rng("face-mask rig"),
        3,
    );
}

#[test]
fn gpu_matches_cpu_on_the_head_rig() {
    check(
        default_rig::head::embedded(),
        &mut common::rng("head rig"),
        3,
    );
}

#[test]
fn gpu_matches_cpu_on_a_flame_sized_rig() {
    let mut rng = common::rng("flame-like rig");
    let rig = Arc::new(common::random_flame_like_rig(&mut rng));
    check(rig, &mut rng, 3);
}
