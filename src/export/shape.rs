//! The volume as a mesh, as EG3D extracts shapes: the density sampled on a regular grid
//! over the triplane box, the surface where it crosses a threshold by marching cubes (the
//! `isosurface` crate), each vertex coloured by the decoder there; written as binary PLY.

use std::path::Path;

use isosurface::MarchingCubes;
use isosurface::distance::Signed;
use isosurface::extractor::IndexedVertices;
use isosurface::math::Vec3;
use isosurface::sampler::Sampler;
use isosurface::source::ScalarSource;

use super::field::Field;
use crate::render::camera::{RIG_TO_WORLD_SCALE, RIG_TO_WORLD_SHIFT};

/// EG3D's shapes are looked at with the density threshold 10 (its `gen_samples.py` writes
/// the σ grid; the surface is drawn at 10).
pub const DEFAULT_THRESHOLD: f32 = 10.0;
pub const DEFAULT_RESOLUTION: usize = 256;
/// 512³ floats are half a gigabyte; beyond that a mesh gains nothing a viewer shows.
pub const MAX_RESOLUTION: usize = 512;

/// A triangle mesh with a colour per vertex.
#[derive(Debug, Clone, Default)]
pub struct ColouredMesh {
    pub positions: Vec<[f32; 3]>,
    pub colours: Vec<[u8; 3]>,
    pub triangles: Vec<[u32; 3]>,
}

impl ColouredMesh {
    /// The total area of the triangles.
    pub fn area(&self) -> f64 {
        self.triangles
            .iter()
            .map(|t| {
                let [a, b, c] =
                    t.map(|i| glam::DVec3::from(self.positions[i as usize].map(f64::from)));
                0.5 * (b - a).cross(c - a).length()
            })
            .sum()
    }
}

/// A density grid: `resolution`³ values over the cube from `origin` with side `side`,
/// x fastest.
pub struct Grid {
    pub resolution: usize,
    pub origin: [f32; 3],
    pub side: f32,
    pub values: Vec<f32>,
}

impl Grid {
    /// The grid's points, x fastest, then y, then z.
    pub fn points(resolution: usize, origin: [f32; 3], side: f32) -> Vec<[f32; 3]> {
        let step = side / (resolution - 1) as f32;
        let mut points = Vec::with_capacity(resolution.pow(3));
        for z in 0..resolution {
            for y in 0..resolution {
                for x in 0..resolution {
                    let index = [x, y, z];
                    points.push(std::array::from_fn(|a| origin[a] + index[a] as f32 * step));
                }
            }
        }
        points
    }

    /// The surface where the values cross `threshold` (inside: above it).
    pub fn surface(&self, threshold: f32) -> (Vec<[f32; 3]>, Vec<[u32; 3]>) {
        let mut vertices = Vec::new();
        let mut indices = Vec::new();
        let source = Inside {
            grid: self,
            threshold,
        };
        MarchingCubes::<Signed>::new(self.resolution).extract(
            &Sampler::new(&source),
            &mut IndexedVertices::new(&mut vertices, &mut indices),
        );
        let positions = vertices
            .chunks_exact(3)
            .map(|v| [0, 1, 2].map(|a| self.origin[a] + v[a] * self.side))
            .collect();
        let triangles = indices
            .chunks_exact(3)
            .map(|t| [t[0], t[1], t[2]])
            .collect();
        (positions, triangles)
    }
}

/// The grid as the signed distance the marcher wants: negative inside.
struct Inside<'a> {
    grid: &'a Grid,
    threshold: f32,
}

impl ScalarSource for Inside<'_> {
    fn sample_scalar(&self, p: Vec3) -> Signed {
        let n = self.grid.resolution;
        let index = |x: f32| (x * (n - 1) as f32).round();
        let [x, y, z] = [p.x, p.y, p.z].map(index);
        // The marcher also visits one layer past the far face: outside, so the surface closes.
        if [x, y, z].iter().any(|&i| !(0.0..n as f32).contains(&i)) {
            return Signed(1.0);
        }
        let value = self.grid.values[(z as usize * n + y as usize) * n + x as usize];
        Signed(self.threshold - value)
    }
}

/// The triplane box (EG3D's sampling cube, side `box_warp` = 1 around the origin) in rig
/// space: its corner and side.
pub fn box_in_rig_space() -> ([f32; 3], f32) {
    let side = 1.0 / RIG_TO_WORLD_SCALE;
    let origin = [0, 1, 2].map(|a| (-side / 2.0 - RIG_TO_WORLD_SHIFT[a]) as f32);
    (origin, side as f32)
}

/// The avatar's surface from `field` at `resolution`³ samples; `progress` hears the
/// fraction done (density, then colours) and cancels by returning false.
pub fn extract(
    field: &Field,
    resolution: usize,
    threshold: f32,
    progress: &mut dyn FnMut(f32) -> bool,
) -> anyhow::Result<ColouredMesh> {
    anyhow::ensure!(
        (8..=MAX_RESOLUTION).contains(&resolution),
        "the shape's resolution must be within 8…{MAX_RESOLUTION}, not {resolution}"
    );
    let (origin, side) = box_in_rig_space();
    let points = Grid::points(resolution, origin, side);
    let density = field.sample(&points, &mut |f| progress(0.9 * f))?.density;
    drop(points);
    let grid = Grid {
        resolution,
        origin,
        side,
        values: density,
    };
    let (positions, triangles) = grid.surface(threshold);
    anyhow::ensure!(
        !triangles.is_empty(),
        "no surface: the density never rises above {threshold} inside the box (try a lower --threshold)"
    );
    let colours = field
        .sample(&positions, &mut |f| progress(0.9 + 0.1 * f))?
        .colour
        .iter()
        .map(|c| c.map(|x| (x * 255.0).round() as u8))
        .collect();
    Ok(ColouredMesh {
        positions,
        colours,
        triangles,
    })
}

/// Binary little-endian PLY with per-vertex colours, written atomically.
pub fn write_ply(mesh: &ColouredMesh, path: &Path) -> anyhow::Result<()> {
    let mut bytes = format!(
        "ply\nformat binary_little_endian 1.0\ncomment neuralhead: the avatar's volume, marching cubes\n\
         element vertex {}\nproperty float x\nproperty float y\nproperty float z\n\
         property uchar red\nproperty uchar green\nproperty uchar blue\n\
         element face {}\nproperty list uchar uint vertex_indices\nend_header\n",
        mesh.positions.len(),
        mesh.triangles.len()
    )
    .into_bytes();
    for (p, c) in mesh.positions.iter().zip(&mesh.colours) {
        p.iter().for_each(|x| bytes.extend(x.to_le_bytes()));
        bytes.extend(c);
    }
    for t in &mesh.triangles {
        bytes.push(3);
        t.iter().for_each(|i| bytes.extend(i.to_le_bytes()));
    }
    crate::io::write_atomically(path, &bytes).map_err(|e| {
        anyhow::anyhow!(
            "cannot write {}: {e} (nothing was changed there)",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ball's density sampled on a grid: its marching-cubes surface has the sphere's area
    /// within 1 %, and every vertex lies on the sphere.
    #[test]
    fn marching_cubes_of_a_ball_has_the_spheres_area() {
        let (resolution, radius, centre) = (64, 0.3f32, [0.02f32, -0.01, 0.03]);
        let (origin, side) = ([-0.5f32; 3], 1.0);
        let points = Grid::points(resolution, origin, side);
        // Density falling linearly through the threshold at the radius, as σ does at a skin.
        let values = points
            .iter()
            .map(|p| {
                let d = (0..3)
                    .map(|a| (p[a] - centre[a]).powi(2))
                    .sum::<f32>()
                    .sqrt();
                DEFAULT_THRESHOLD + 100.0 * (radius - d)
            })
            .collect();
        let grid = Grid {
            resolution,
            origin,
            side,
            values,
        };
        let (positions, triangles) = grid.surface(DEFAULT_THRESHOLD);
        let mesh = ColouredMesh {
            colours: vec![[0; 3]; positions.len()],
            positions,
            triangles,
        };
        let area = mesh.area();
        let sphere = 4.0 * std::f64::consts::PI * f64::from(radius).powi(2);
        eprintln!(
            "marching cubes: area {area:.6} against the sphere's {sphere:.6} ({:+.3} %)",
            100.0 * (area / sphere - 1.0)
        );
        assert!(
            (area / sphere - 1.0).abs() < 0.01,
            "area {area} against {sphere}"
        );
        let step = side / (resolution - 1) as f32;
        for p in &mesh.positions {
            let d = (0..3)
                .map(|a| (p[a] - centre[a]).powi(2))
                .sum::<f32>()
                .sqrt();
            assert!((d - radius).abs() < 0.05 * step, "vertex {p:?} at {d}");
        }
        // A closed surface: every edge is shared by exactly two triangles.
        let mut edges = std::collections::HashMap::new();
        for t in &mesh.triangles {
            for k in 0..3 {
                let (a, b) = (t[k], t[(k + 1) % 3]);
                *edges.entry((a.min(b), a.max(b))).or_insert(0) += 1;
            }
        }
        assert!(
            edges.values().all(|&n| n == 2),
            "the surface has holes or folds"
        );
    }

    #[test]
    fn the_ply_header_counts_what_follows() {
        let mesh = ColouredMesh {
            positions: vec![[0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
            colours: vec![[255, 0, 0]; 3],
            triangles: vec![[0, 1, 2]],
        };
        let path = std::env::temp_dir().join(format!("neuralhead-{}-tri.ply", std::process::id()));
        write_ply(&mesh, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let header_end = bytes
            .windows(11)
            .position(|w| w == b"end_header\n")
            .unwrap()
            + 11;
        let header = String::from_utf8_lossy(&bytes[..header_end]);
        assert!(header.contains("element vertex 3") && header.contains("element face 1"));
        assert_eq!(bytes.len() - header_end, 3 * 15 + 13);
        std::fs::remove_file(path).ok();
    }
}
