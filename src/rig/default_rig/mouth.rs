//! The mouth interior: a dark pocket behind the opened lips, so an open jaw shows a mouth,
//! not stretched skin. Two rings step back from the inner-lip loop; the back wall reuses
//! the triangulation that closed the mouth in the source mesh.

use super::canonical::CanonicalFace;
use super::mesh::MeshBuilder;
use super::surface::mean;

/// (depth behind the lips, shrink toward the mouth centre) of each ring.
const RINGS: [(f64, f64); 2] = [(0.007, 0.85), (0.02, 0.6)];
/// The interior samples the texture here: a strip right of the eye discs.
pub const UV_U: (f64, f64) = (0.3, 0.5);
pub const UV_V: f64 = 0.95;

/// Adds the pocket; each ring vertex copies the skin weights of the lip vertex it follows.
/// Returns, per added vertex, the face vertex it follows and how strongly it follows
/// that vertex's blendshape motion.
pub fn add_interior(mesh: &mut MeshBuilder, face: &CanonicalFace) -> Vec<(usize, f64)> {
    let lip_loop = face.inner_lip_loop();
    let centre = mean(lip_loop.iter().map(|&i| face.positions[i as usize]));
    let facing = [centre[0], centre[1], centre[2] + 0.05];
    let mut follows = Vec::new();
    let mut rings: Vec<Vec<u32>> = vec![lip_loop.clone()];
    for (depth, (back, shrink)) in RINGS.iter().enumerate() {
        let ring = lip_loop
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                let p = face.positions[i as usize];
                let q = [centre[0] + (p[0] - centre[0]) * shrink, p[1], p[2] - back];
                let u = UV_U.0 + (UV_U.1 - UV_U.0) * k as f64 / lip_loop.len() as f64;
                let v = UV_V - 0.02 * depth as f64;
                follows.push((i as usize, 1.0 - 0.5 * depth as f64));
                mesh.add_vertex(q, [u, v], mesh.skin[i as usize])
            })
            .collect();
        rings.push(ring);
    }
    let n = lip_loop.len();
    for pair in rings.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        for k in 0..n {
            let l = (k + 1) % n;
            mesh.add_triangle_facing([a[k], a[l], b[l]], facing);
            mesh.add_triangle_facing([a[k], b[l], b[k]], facing);
        }
    }
    let deepest = rings.last().expect("rings");
    let position_in_loop = |v: u32| lip_loop.iter().position(|&i| i == v);
    for &t in face.holes.get("mouth").expect("mouth hole") {
        let tri = face.triangles[t];
        if let [Some(a), Some(b), Some(c)] = tri.map(position_in_loop) {
            mesh.add_triangle_facing([deepest[a], deepest[b], deepest[c]], facing);
        }
    }
    follows
}
