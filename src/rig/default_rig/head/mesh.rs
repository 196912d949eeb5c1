//! The groups a neural avatar needs, triangulated and re-indexed, with atlas UVs.
//!
//! Kept: face, head and neck, mouth and eye sockets (M_Face, M_BackHead), gums and tongue,
//! teeth, and the sclera sphere of each eye as its one shell, the iris painted on it.
//! Dropped: the inner iris spheres (enclosed by the sclera, so an opaque raster never sees
//! them), lacrimal fluid, eye blend and eye occlusion (shading helpers for a renderer with
//! transparency; EyeOcclusion sits over the cornea and would hide the eyes), and the
//! eyelashes (thin cards that a 256² triplane cannot resolve and that would stamp dark
//! streaks over the lids).

use std::collections::HashMap;

use super::atlas::{self, Region};
use super::source::{self, IctModel};
use crate::rig::default_rig::surface::{V3, norm, sub};

/// What each triangle is, for painting the albedo and for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    Face,
    BackHead,
    GumsTongue,
    Teeth,
    Sclera(usize),
}

pub struct HeadMesh {
    /// ICT vertex of each kept vertex, in ICT order (so groups stay contiguous).
    pub source_vertex: Vec<u32>,
    /// The kept index of each ICT vertex.
    pub kept_index: Vec<Option<u32>>,
    pub faces: Vec<[u32; 3]>,
    pub uv_faces: Vec<[u32; 3]>,
    pub uvs: Vec<[f64; 2]>,
    pub parts: Vec<Part>,
}

impl HeadMesh {
    /// `eye_centres`: the sclera spheres' centres (ICT units), for their polar UVs.
    pub fn new(model: &IctModel, eye_centres: [V3; 2]) -> anyhow::Result<Self> {
        let part_of = |material: &str| match material {
            source::FACE => Some(Part::Face),
            source::BACK_HEAD => Some(Part::BackHead),
            source::GUMS_TONGUE => Some(Part::GumsTongue),
            source::TEETH => Some(Part::Teeth),
            m if m == source::SCLERA[0] => Some(Part::Sclera(0)),
            m if m == source::SCLERA[1] => Some(Part::Sclera(1)),
            _ => None,
        };
        let kept: Vec<(&source::Polygon, Part)> = model
            .polygons
            .iter()
            .filter_map(|p| part_of(&p.material).map(|part| (p, part)))
            .collect();
        let mut used = vec![false; model.neutral.len()];
        kept.iter()
            .flat_map(|(p, _)| &p.vertices)
            .for_each(|&v| used[v as usize] = true);
        let source_vertex: Vec<u32> = (0..used.len() as u32)
            .filter(|&v| used[v as usize])
            .collect();
        let mut kept_index = vec![None; used.len()];
        for (new, &old) in source_vertex.iter().enumerate() {
            kept_index[old as usize] = Some(new as u32);
        }

        let mut mesh = HeadMesh {
            source_vertex,
            kept_index,
            faces: Vec::new(),
            uv_faces: Vec::new(),
            uvs: Vec::new(),
            parts: Vec::new(),
        };
        let mut tile_uv = HashMap::<u32, u32>::new();
        let mut sclera_uv = HashMap::<u32, u32>::new();
        for (polygon, part) in kept {
            let mut corner_uv = |mesh: &mut HeadMesh, corner: usize| -> anyhow::Result<u32> {
                match part {
                    Part::Sclera(eye) => {
                        let v = polygon.vertices[corner];
                        Ok(*sclera_uv.entry(v).or_insert_with(|| {
                            let p = model.neutral[v as usize];
                            mesh.push_uv(atlas::sclera_uv(&atlas::SCLERA[eye], eye_centres[eye], p))
                        }))
                    }
                    _ => {
                        let t = polygon.uvs[corner];
                        let (tile, region) = atlas::tile_region(&polygon.material)
                            .expect("kept materials have regions");
                        let uv = model.uvs[t as usize];
                        anyhow::ensure!(
                            (tile..tile + 1.0).contains(&uv[0]),
                            "{} texture coordinate {t} lies outside its tile",
                            polygon.material
                        );
                        Ok(*tile_uv
                            .entry(t)
                            .or_insert_with(|| mesh.push_uv(in_tile(&region, tile, uv))))
                    }
                }
            };
            let corners: Vec<u32> = (0..polygon.vertices.len())
                .map(|c| corner_uv(&mut mesh, c))
                .collect::<anyhow::Result<_>>()?;
            let vertices: Vec<u32> = polygon
                .vertices
                .iter()
                .map(|&v| mesh.kept_index[v as usize].expect("kept"))
                .collect();
            for [a, b, c] in triangulate(model, &polygon.vertices) {
                mesh.faces.push([vertices[a], vertices[b], vertices[c]]);
                mesh.uv_faces.push([corners[a], corners[b], corners[c]]);
                mesh.parts.push(part);
            }
        }
        Ok(mesh)
    }

    fn push_uv(&mut self, uv: [f64; 2]) -> u32 {
        self.uvs.push(uv);
        (self.uvs.len() - 1) as u32
    }

    pub fn num_vertices(&self) -> usize {
        self.source_vertex.len()
    }
}

fn in_tile(region: &Region, tile: f64, uv: [f64; 2]) -> [f64; 2] {
    region.place([uv[0] - tile, uv[1]])
}

/// Corner triples of a polygon: a triangle as it is, a quad split along its shorter
/// diagonal (the flatter and better-shaped pair of triangles), winding kept.
fn triangulate(model: &IctModel, polygon: &[u32]) -> Vec<[usize; 3]> {
    match polygon.len() {
        3 => vec![[0, 1, 2]],
        _ => {
            let at = |i: usize| model.neutral[polygon[i] as usize];
            if norm(sub(at(0), at(2))) <= norm(sub(at(1), at(3))) {
                vec![[0, 1, 2], [0, 2, 3]]
            } else {
                vec![[0, 1, 3], [1, 2, 3]]
            }
        }
    }
}
