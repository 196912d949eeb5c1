//! The whole-head default rig, authored from the ICT Face Model Light (USC ICT, MIT).
//!
//! `build(path)` reads the shared `ict_face_model.safetensors` and authors the rig that is
//! committed as `assets/head_rig.safetensors` (`neuralhead build-head-rig --ict PATH`);
//! `embedded()` loads the committed copy. What it does with the source, in order:
//! keep the groups an avatar needs (`mesh`), place them in FLAME's frame (metres), fit the
//! eye pivots (`eyes`) and the jaw hinge (`jaw`), take the hinge's turn out of jawOpen into
//! the jaw joint, keep the 53 ARKit-style shapes sparse, keep the first identity modes as
//! the shape basis, regress joints from vertices no expression moves, embed the 68
//! landmarks and paint a colour texture (`paint`). Values stored as f16 are rounded here,
//! so the committed file holds exactly what `build` returns.

pub(crate) mod atlas;
mod eyes;
mod jaw;
pub mod mesh;
mod paint;
pub mod registration;
mod source;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use half::f16;

use super::landmarks;
use super::surface::{V3, add, scale};
use crate::rig::model::{
    Basis, EYE_LEFT, EYE_RIGHT, JAW, JOINT_NAMES, JointDriver, Landmark, NECK, NUM_JOINTS,
    NUM_MEDIAPIPE, ROOT, Rig, RigKind,
};
use mesh::{HeadMesh, Part};
use source::IctModel;

/// Where the committed rig lives, relative to the crate root.
pub const ASSET_PATH: &str = "assets/head_rig.safetensors";
/// Where the shared source lives, relative to the crate root, when the workspace has it.
pub const DEFAULT_SOURCE: &str = "../shared/assets/ict_face_model/ict_face_model.safetensors";
/// Bumped whenever `build` would write a different rig from the same source.
pub const BUILDER_VERSION: u32 = 1;
/// Identity modes kept: the first 50 carry 98.7 % of the ICT model's identity energy
/// (mode 50 moves vertices by 0.6 mm at most), and 50 modes at f16 fit the size budget.
pub const IDENTITY_MODES: usize = 50;
/// Expression displacements smaller than this (metres) are dropped: about half of each
/// ICT shape's listed vertices, none of them visible.
pub const SPARSE_BELOW: f64 = 1e-5;
/// ICT shapes that are not ARKit's: cheekRaiser duplicates cheekSquint (correlation 0.91),
/// PupilDilate moves the inner iris sphere, which the rig does not keep.
const NOT_ARKIT: [&str; 4] = [
    "cheekRaiser_L",
    "cheekRaiser_R",
    "PupilDilate_L",
    "PupilDilate_R",
];
/// ICT centimetres → FLAME's frame: this shift (cm) puts the nose tip at z ≈ 0.075 m, where
/// FLAME's is, so the same triplane box, raster scale and cameras serve both rigs.
const SHIFT_CM: V3 = [0.0, -0.65, -5.57];
const METRES_PER_CM: f64 = 0.01;
/// Heights (ICT cm) of the neck joint (about the first vertebra, level with the mouth) and
/// of the root at the base of the neck; the neck's skin weight ramps between them.
const NECK_Y: f64 = -4.0;
const ROOT_Y: f64 = -13.0;
/// The ICT vertices of the head and neck group (the toolkit's README).
const HEAD_AND_NECK: std::ops::Range<usize> = 9409..11248;
/// The lower teeth move at least this far (cm) at jawOpen = 1; they fit the hinge.
const LOWER_TEETH_MOTION: f64 = 0.5;

/// The committed whole-head rig.
pub fn embedded() -> Arc<Rig> {
    static RIG: OnceLock<Arc<Rig>> = OnceLock::new();
    RIG.get_or_init(|| {
        let bytes = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/head_rig.safetensors"
        ));
        Arc::new(
            crate::rig::file::from_bytes(bytes, ASSET_PATH)
                .expect("the committed head rig is valid"),
        )
    })
    .clone()
}

/// Authors the rig from the ICT Face Model file at `source`.
pub fn build(source: &Path) -> anyhow::Result<Rig> {
    let model = IctModel::load(source)?;
    let eye_centres = [0, 1].map(|eye| sclera_sphere(&model, eye).0);
    let mesh = HeadMesh::new(&model, eye_centres)?;
    let n = mesh.num_vertices();
    let place = |p: V3| scale(add(p, SHIFT_CM), METRES_PER_CM);
    let rest: Vec<V3> = mesh
        .source_vertex
        .iter()
        .map(|&v| model.neutral[v as usize])
        .collect();
    let template: Vec<V3> = rest.iter().map(|&p| place(p)).collect();

    // The jaw hinge from the lower teeth, then jawOpen split into turn and corrective.
    let jaw_open = model.shape("jawOpen")?;
    let teeth_vertices = vertices_of(&mesh, Part::Teeth);
    let teeth: Vec<(V3, V3)> = jaw_open
        .moves
        .iter()
        .filter(|(v, d)| {
            let kept = mesh.kept_index[*v as usize];
            kept.is_some_and(|k| teeth_vertices[k as usize])
                && super::surface::norm(*d) > LOWER_TEETH_MOTION
        })
        .map(|&(v, d)| (model.neutral[v as usize], add(model.neutral[v as usize], d)))
        .collect();
    anyhow::ensure!(
        teeth.len() > 10,
        "jawOpen moves no teeth; is this the ICT model?"
    );
    let (before, after): (Vec<V3>, Vec<V3>) = teeth.into_iter().unzip();
    let hinge = jaw::Hinge::fit(&before, &after);
    let (jaw_weight, corrective) = jaw::split(&model.neutral, jaw_open, &hinge);

    let expression_names: Vec<String> = model
        .shapes
        .iter()
        .map(|s| s.name.clone())
        .filter(|n| !NOT_ARKIT.contains(&n.as_str()))
        .collect();
    let k = expression_names.len();
    let mut expression = Basis {
        count: k,
        data: vec![0.0; n * 3 * k],
    };
    for (c, name) in expression_names.iter().enumerate() {
        let moves = if name == "jawOpen" {
            &corrective
        } else {
            &model.shape(name)?.moves
        };
        for &(v, d) in moves {
            let Some(kept) = mesh.kept_index[v as usize] else {
                continue;
            };
            let d = scale(d, METRES_PER_CM);
            if d.iter().all(|x| x.abs() < SPARSE_BELOW) {
                continue;
            }
            for (a, x) in d.iter().enumerate() {
                expression.data[(kept as usize * 3 + a) * k + c] = round_f16(*x);
            }
        }
    }

    let modes = IDENTITY_MODES.min(model.identity.len());
    let mut shape = Basis {
        count: modes,
        data: vec![0.0; n * 3 * modes],
    };
    for (m, mode) in model.identity[..modes].iter().enumerate() {
        for (kept, &v) in mesh.source_vertex.iter().enumerate() {
            for (a, x) in mode[v as usize].iter().enumerate() {
                shape.data[(kept * 3 + a) * modes + m] = round_f16(x * METRES_PER_CM);
            }
        }
    }

    let skin_weights = skin_weights(&mesh, &rest, &jaw_weight);
    let joint_regressor = regress_joints(&model, &mesh, &template, &hinge, eye_centres);
    let landmark_vertices: Vec<u32> = model
        .landmarks
        .iter()
        .map(|&v| mesh.kept_index[v as usize].expect("landmark vertices lie on the face"))
        .collect();

    let rig = Rig {
        kind: RigKind::Default,
        source: format!(
            "neuralhead head rig (builder v{BUILDER_VERSION}), authored from the ICT Face Model \
             Light (USC ICT, MIT; see assets/LICENSE-MIT-ICT-FaceKit.txt), \
             ict_face_model.safetensors sha256 {}",
            model.sha256
        ),
        template: template.iter().map(|p| p.map(|x| x as f32)).collect(),
        shape_basis: shape,
        expression_basis: expression,
        expression_names,
        pose_basis: Basis::empty(),
        joint_regressor,
        parents: vec![-1, 0, 1, 1, 1],
        skin_weights,
        mediapipe: embed_mediapipe(&mesh, &template, &landmark_vertices),
        landmarks: landmarks::embed_vertices(&mesh.faces, &landmark_vertices),
        faces: mesh.faces.clone(),
        uv_faces: mesh.uv_faces.clone(),
        uvs: mesh.uvs.iter().map(|uv| uv.map(|x| x as f32)).collect(),
        drivers: vec![JointDriver {
            expression: "jawOpen".into(),
            joint: JOINT_NAMES[JAW].into(),
            axis_angle: [hinge.angle as f32, 0.0, 0.0],
        }],
        uv_mask: None,
        albedo: Some(paint::paint(&mesh, &model.neutral, &model.landmarks)),
    };
    rig.validate().map_err(anyhow::Error::msg)?;
    Ok(rig)
}

/// MediaPipe's canonical face registered onto the head (`registration`), its 468 points
/// embedded on the face's triangles.
fn embed_mediapipe(mesh: &HeadMesh, template: &[V3], ibug_vertices: &[u32]) -> Vec<Landmark> {
    let canonical = super::canonical::CanonicalFace::load();
    let controls = registration::CONTROLS;
    let from: Vec<V3> = landmarks::IBUG68_VERTICES[controls.clone()]
        .iter()
        .map(|&v| canonical.positions[v as usize])
        .collect();
    let to: Vec<V3> = ibug_vertices[controls]
        .iter()
        .map(|&v| template[v as usize])
        .collect();
    let warp = registration::Warp::fit(&from, &to);
    let warped: Vec<V3> = canonical.positions[..NUM_MEDIAPIPE]
        .iter()
        .map(|&p| warp.apply(p))
        .collect();
    let face_triangles: Vec<usize> = (0..mesh.faces.len())
        .filter(|&f| mesh.parts[f] == Part::Face)
        .collect();
    registration::project(&warped, template, &mesh.faces, &face_triangles)
}

/// The sphere fitted to one eye's sclera vertices (ICT units).
fn sclera_sphere(model: &IctModel, eye: usize) -> (V3, f64) {
    let points: Vec<V3> = sclera_vertices(model, eye)
        .iter()
        .map(|&v| model.neutral[v as usize])
        .collect();
    eyes::fit_sphere(&points)
}

fn sclera_vertices(model: &IctModel, eye: usize) -> Vec<u32> {
    let mut vertices: Vec<u32> = model
        .polygons
        .iter()
        .filter(|p| p.material == source::SCLERA[eye])
        .flat_map(|p| p.vertices.iter().copied())
        .collect();
    vertices.sort_unstable();
    vertices.dedup();
    vertices
}

/// Which kept vertices lie on a triangle of `part`.
fn vertices_of(mesh: &HeadMesh, part: Part) -> Vec<bool> {
    let mut on = vec![false; mesh.num_vertices()];
    for (f, p) in mesh.faces.iter().zip(&mesh.parts) {
        if *p == part {
            f.iter().for_each(|&v| on[v as usize] = true);
        }
    }
    on
}

/// Eyeballs follow their eye joint; everything else is shared between the jaw (its weight
/// from jawOpen), the neck (the head and upper neck) and the root (the base of the neck).
fn skin_weights(mesh: &HeadMesh, rest: &[V3], jaw_weight: &[f64]) -> Vec<f32> {
    let mut eye_of = vec![None; mesh.num_vertices()];
    for (f, part) in mesh.faces.iter().zip(&mesh.parts) {
        if let Part::Sclera(eye) = part {
            f.iter().for_each(|&v| eye_of[v as usize] = Some(*eye));
        }
    }
    let mut weights = vec![0.0f32; mesh.num_vertices() * NUM_JOINTS];
    for (v, row) in weights.chunks_exact_mut(NUM_JOINTS).enumerate() {
        match eye_of[v] {
            Some(0) => row[EYE_LEFT] = 1.0,
            Some(_) => row[EYE_RIGHT] = 1.0,
            None => {
                let jaw = jaw_weight[mesh.source_vertex[v] as usize];
                let neck = (1.0 - jaw) * ramp(ROOT_Y, NECK_Y, rest[v][1]);
                row[JAW] = jaw as f32;
                row[NECK] = neck as f32;
                row[ROOT] = (1.0 - jaw - neck) as f32;
            }
        }
    }
    weights
}

/// Joint regressor `[joint][vertex]`: eyes from six extreme vertices of their sclera, the
/// others from the head and neck vertices that no expression moves, so expressions never
/// shift a joint while identities carry it along.
fn regress_joints(
    model: &IctModel,
    mesh: &HeadMesh,
    template: &[V3],
    hinge: &jaw::Hinge,
    eye_centres: [V3; 2],
) -> Vec<f32> {
    let n = mesh.num_vertices();
    let still = model.largest_motion();
    let skull: Vec<usize> = (0..n)
        .filter(|&v| {
            let source = mesh.source_vertex[v] as usize;
            HEAD_AND_NECK.contains(&source) && still[source] * METRES_PER_CM < SPARSE_BELOW
        })
        .collect();
    let slice_centre = |y: f64| {
        let slice: Vec<V3> = HEAD_AND_NECK
            .map(|v| model.neutral[v])
            .filter(|p| (p[1] - y).abs() < 0.5)
            .collect();
        let z = slice.iter().map(|p| p[2]).sum::<f64>() / slice.len().max(1) as f64;
        [0.0, y, z]
    };
    let place = |p: V3| scale(add(p, SHIFT_CM), METRES_PER_CM);
    let mut regressor = vec![0.0f32; NUM_JOINTS * n];
    for (j, row) in regressor.chunks_exact_mut(n).enumerate() {
        let (support, at): (Vec<usize>, V3) = match j {
            ROOT => (skull.clone(), place(slice_centre(ROOT_Y))),
            NECK => (skull.clone(), place(slice_centre(NECK_Y))),
            JAW => (skull.clone(), place([0.0, hinge.pivot[0], hinge.pivot[1]])),
            _ => {
                let eye = usize::from(j == EYE_RIGHT);
                let points: Vec<(u32, V3)> = sclera_vertices(model, eye)
                    .iter()
                    .map(|&v| {
                        (
                            mesh.kept_index[v as usize].expect("kept"),
                            model.neutral[v as usize],
                        )
                    })
                    .collect();
                let extremes = eyes::extreme_vertices(&points, eye_centres[eye]);
                (
                    extremes.iter().map(|&v| v as usize).collect(),
                    place(eye_centres[eye]),
                )
            }
        };
        for (v, w) in super::affine_weights(template, &support, at) {
            row[v] = w as f32;
        }
    }
    regressor
}

/// 0 below `from`, 1 above `to`, smooth between.
fn ramp(from: f64, to: f64, x: f64) -> f64 {
    let t = ((x - from) / (to - from)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// The f32 nearest to `x` that f16 represents exactly (what the compact file stores).
fn round_f16(x: f64) -> f32 {
    f16::from_f64(x).to_f32()
}
