//! The embedded default rig, built from the MediaPipe canonical face mesh.
//!
//! `build()` authors it from `assets/canonical_face.json`; the result is committed as
//! `assets/default_rig.safetensors` (a test checks the two agree) and `embedded()` loads it.
//! The first 468 vertices stay MediaPipe's landmarks; the mouth interior and the eyeballs
//! follow them.

mod albedo;
mod blendshapes;
pub(crate) mod canonical;
mod eyes;
pub mod head;
pub mod landmarks;
mod mesh;
mod mouth;
mod surface;

use std::sync::Arc;

use canonical::CanonicalFace;
use mesh::MeshBuilder;
use surface::{Surface, V3};

use super::model::{
    Basis, EYE_LEFT, EYE_RIGHT, JAW, JOINT_NAMES, JointDriver, NECK, NUM_JOINTS, Rig, RigKind,
};

/// Where the committed rig lives, relative to the crate root.
pub const FACE_MASK_ASSET_PATH: &str = "assets/default_rig.safetensors";
/// How far `jawOpen` = 1 turns the jaw (radians about +x, which opens it).
pub const JAW_OPEN_ANGLE: f32 = 0.3;
/// Joint locations (metres): the root and neck low behind the face, the jaw hinge behind
/// the cheeks at the level of the ears.
const ROOT_AT: V3 = [0.0, -0.10, -0.04];
const NECK_AT: V3 = [0.0, -0.06, -0.03];
const JAW_AT: V3 = [0.0, -0.004, -0.02];
/// Vertices whose affine combinations place the joints (forehead, chin, cheeks, nose tip),
/// so the joints follow an identity offset field.
const FRAME_VERTICES: [usize; 5] = [10, 152, 234, 454, 4];

/// Versions of the default rig that avatar files name: the face mask (retired, still loadable
/// as `--rig face-mask`) and the whole head.
pub const FACE_MASK_VERSION: u32 = 1;
pub const VERSION: u32 = 2;

/// The default rig: the whole head.
pub fn embedded() -> Arc<Rig> {
    head::embedded()
}

/// Which default rig `rig` is: only the whole head has an identity basis (the face mask's
/// identity is an offset field).
pub fn version_of(rig: &Rig) -> u32 {
    if rig.shape_basis.count > 0 {
        VERSION
    } else {
        FACE_MASK_VERSION
    }
}

/// The retired face-mask rig, committed as `FACE_MASK_ASSET_PATH`.
pub fn face_mask() -> Arc<Rig> {
    static RIG: std::sync::OnceLock<Arc<Rig>> = std::sync::OnceLock::new();
    RIG.get_or_init(|| {
        let bytes = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/default_rig.safetensors"
        ));
        Arc::new(
            super::file::from_bytes(bytes, FACE_MASK_ASSET_PATH)
                .expect("the committed face-mask rig is valid"),
        )
    })
    .clone()
}

/// Authors the default rig from the canonical face.
pub fn build() -> Rig {
    let face = CanonicalFace::load();
    let open = face.open_triangles();
    let surface = Surface::new(&face.positions, &open);
    let jaw = jaw_weights(&face, &surface);

    let mut mesh = MeshBuilder::default();
    for (i, &p) in face.positions.iter().enumerate() {
        let mut skin = [0.0; NUM_JOINTS];
        skin[JAW] = jaw[i];
        skin[NECK] = 1.0 - jaw[i];
        mesh.add_vertex(p, face.uvs[i], skin);
    }
    mesh.faces.extend(&open);
    let interior = mouth::add_interior(&mut mesh, &face);
    let eye_centres = [
        eyes::eye_centre(&face, "left"),
        eyes::eye_centre(&face, "right"),
    ];
    let left = eyes::add_eyeball(&mut mesh, eye_centres[0], eyes::UV_CENTRES[0], EYE_LEFT);
    let right = eyes::add_eyeball(&mut mesh, eye_centres[1], eyes::UV_CENTRES[1], EYE_RIGHT);

    let n = mesh.positions.len();
    let shapes = blendshapes::author(&face, &surface);
    let interior_start = face.positions.len();
    let mut expression = Basis {
        count: shapes.len(),
        data: vec![0.0; n * 3 * shapes.len()],
    };
    for (k, shape) in shapes.iter().enumerate() {
        let mut put = |v: usize, d: V3| {
            for (a, x) in d.iter().enumerate() {
                expression.data[(v * 3 + a) * shapes.len() + k] = *x as f32;
            }
        };
        for (v, &d) in shape.offsets.iter().enumerate() {
            put(v, d);
        }
        for (j, &(source, share)) in interior.iter().enumerate() {
            put(interior_start + j, shape.offsets[source].map(|x| x * share));
        }
    }

    let joints = [ROOT_AT, NECK_AT, JAW_AT, eye_centres[0], eye_centres[1]];
    let mut regressor = vec![0.0f32; NUM_JOINTS * n];
    for (j, &at) in joints.iter().enumerate() {
        let support: Vec<usize> = match j {
            EYE_LEFT => left.clone().take(1).chain(FRAME_VERTICES).collect(),
            EYE_RIGHT => right.clone().take(1).chain(FRAME_VERTICES).collect(),
            _ => FRAME_VERTICES.to_vec(),
        };
        for (v, w) in affine_weights(&mesh.positions, &support, at) {
            regressor[j * n + v] = w as f32;
        }
    }

    let rig = Rig {
        kind: RigKind::Default,
        source: "neuralhead default rig, authored from the MediaPipe canonical face mesh \
                 (Apache-2.0, see assets/NOTICE)"
            .into(),
        template: mesh.positions.iter().map(|p| p.map(|x| x as f32)).collect(),
        shape_basis: Basis::empty(),
        expression_names: shapes.iter().map(|s| s.name.to_string()).collect(),
        expression_basis: expression,
        pose_basis: Basis::empty(),
        joint_regressor: regressor,
        parents: vec![-1, 0, 1, 1, 1],
        skin_weights: mesh.skin.iter().flatten().map(|&w| w as f32).collect(),
        uv_faces: mesh.faces.clone(),
        landmarks: landmarks::embed(&mesh.faces),
        // The first 468 vertices are MediaPipe's landmarks themselves.
        mediapipe: landmarks::embed_vertices(
            &mesh.faces,
            &(0..crate::rig::model::NUM_MEDIAPIPE as u32).collect::<Vec<_>>(),
        ),
        faces: mesh.faces,
        uvs: mesh.uvs.iter().map(|uv| uv.map(|x| x as f32)).collect(),
        drivers: vec![JointDriver {
            expression: "jawOpen".into(),
            joint: JOINT_NAMES[JAW].into(),
            axis_angle: [JAW_OPEN_ANGLE, 0.0, 0.0],
        }],
        uv_mask: None,
        albedo: Some(albedo::paint(&face)),
    };
    rig.validate()
        .expect("the authored default rig is consistent");
    rig
}

/// Jaw skin weights: 1 on the lower lip and below the mouth, 0 on the upper lip and above
/// the nostrils, harmonic (as smooth as the mesh allows) in between.
fn jaw_weights(face: &CanonicalFace, surface: &Surface) -> Vec<f64> {
    let corners = [61u32, 291, 78, 308];
    let mut fixed: Vec<Option<f64>> = face
        .positions
        .iter()
        .map(|p| {
            if p[1] > -0.022 {
                Some(0.0)
            } else if p[1] < -0.065 {
                Some(1.0)
            } else {
                None
            }
        })
        .collect();
    let mut set = |groups: &[&str], value: f64| {
        for g in groups {
            for &i in face.group(g) {
                fixed[i as usize] = Some(if corners.contains(&i) { 0.5 } else { value });
            }
        }
    };
    set(&["lips_outer_upper", "lips_inner_upper"], 0.0);
    set(&["lips_outer_lower", "lips_inner_lower"], 1.0);
    surface.harmonic(&fixed, 2000)
}

/// Weights over `support` vertices whose affine combination is `target` (least norm),
/// so the point moves with those vertices.
fn affine_weights(positions: &[V3], support: &[usize], target: V3) -> Vec<(usize, f64)> {
    // Solve A w = b with A = [x; y; z; 1] over the support: w = Aᵀ (A Aᵀ)⁻¹ b.
    let rows = |v: usize| -> [f64; 4] {
        let p = positions[v];
        [p[0], p[1], p[2], 1.0]
    };
    let mut gram = glam::DMat4::ZERO;
    for &v in support {
        let r = glam::DVec4::from_array(rows(v));
        gram += glam::DMat4::from_cols(r * r.x, r * r.y, r * r.z, r * r.w);
    }
    let y = gram.inverse() * glam::DVec4::new(target[0], target[1], target[2], 1.0);
    support
        .iter()
        .map(|&v| (v, glam::DVec4::from_array(rows(v)).dot(y)))
        .collect()
}
