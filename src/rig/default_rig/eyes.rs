//! Eyeballs: UV spheres behind the eye openings, bound to the eye joints so gaze turns them.
//! Their texture is a disc per eye in the free strip above the face UVs: the front pole at
//! the disc centre, the polar angle growing with the radius (iris and pupil are rings).

use std::f64::consts::PI;

use super::canonical::CanonicalFace;
use super::mesh::{MeshBuilder, bound_to};
use super::surface::{V3, mean};

pub const RADIUS: f64 = 0.0115;
const RINGS: usize = 12;
const SEGMENTS: usize = 16;
/// How far the cornea sits behind the mean of the lid contour.
const BEHIND_LIDS: f64 = 0.0015;
pub const UV_RADIUS: f64 = 0.045;
pub const UV_CENTRES: [[f64; 2]; 2] = [[0.06, 0.95], [0.16, 0.95]];
/// Polar angles of the pupil's and the iris' edges, radians.
pub const PUPIL_ANGLE: f64 = 0.2;
pub const IRIS_ANGLE: f64 = 0.52;

/// The centre of the eyeball behind a lid contour.
pub fn eye_centre(face: &CanonicalFace, side: &str) -> V3 {
    let contour: Vec<V3> = [
        format!("{side}_eye_upper_lid"),
        format!("{side}_eye_lower_lid"),
    ]
    .iter()
    .flat_map(|g| face.group(g).iter().map(|&i| face.positions[i as usize]))
    .collect();
    let c = mean(contour);
    [c[0], c[1], c[2] - BEHIND_LIDS - RADIUS]
}

/// Adds one eyeball, returning the range of its vertices.
pub fn add_eyeball(
    mesh: &mut MeshBuilder,
    centre: V3,
    uv_centre: [f64; 2],
    joint: usize,
) -> std::ops::Range<usize> {
    let start = mesh.positions.len();
    let vertex = |mesh: &mut MeshBuilder, theta: f64, phi: f64| {
        let dir = [
            theta.sin() * phi.cos(),
            theta.sin() * phi.sin(),
            theta.cos(),
        ];
        let r = UV_RADIUS * theta / PI;
        let uv = [uv_centre[0] + r * phi.cos(), uv_centre[1] + r * phi.sin()];
        mesh.add_vertex(
            [0, 1, 2].map(|a| centre[a] + RADIUS * dir[a]),
            uv,
            bound_to(joint),
        )
    };
    let front = vertex(mesh, 0.0, 0.0);
    let rings: Vec<Vec<u32>> = (1..RINGS)
        .map(|i| {
            let theta = PI * i as f64 / RINGS as f64;
            (0..SEGMENTS)
                .map(|j| vertex(mesh, theta, 2.0 * PI * j as f64 / SEGMENTS as f64))
                .collect()
        })
        .collect();
    let back = vertex(mesh, PI, 0.0);
    for j in 0..SEGMENTS {
        let k = (j + 1) % SEGMENTS;
        mesh.add_triangle_outward([front, rings[0][j], rings[0][k]], centre);
        for pair in rings.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            mesh.add_triangle_outward([a[j], b[j], b[k]], centre);
            mesh.add_triangle_outward([a[j], b[k], a[k]], centre);
        }
        let last = rings.last().expect("rings");
        mesh.add_triangle_outward([back, last[k], last[j]], centre);
    }
    start..mesh.positions.len()
}
