//! The ICT Face Model Light as re-encoded in `../shared/assets/ict_face_model/`: read once,
//! checked, in the file's own units (centimetres) and indexing.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, bail, ensure};
use safetensors::{Dtype, SafeTensors};

use crate::rig::default_rig::surface::V3;

/// Materials as the file names them (metadata `materials`).
pub const FACE: &str = "M_Face";
pub const BACK_HEAD: &str = "M_BackHead";
pub const GUMS_TONGUE: &str = "M_GumsTongue";
pub const TEETH: &str = "M_Teeth";
pub const SCLERA: [&str; 2] = ["M_ScleraLeft", "M_ScleraRight"];

/// One polygon: 3 or 4 corners, each a vertex and a texture coordinate.
#[derive(Debug, Clone)]
pub struct Polygon {
    pub vertices: Vec<u32>,
    pub uvs: Vec<u32>,
    pub material: String,
}

/// One expression shape: the vertices it moves and their displacement at weight 1.
#[derive(Debug, Clone)]
pub struct Shape {
    pub name: String,
    pub moves: Vec<(u32, V3)>,
}

pub struct IctModel {
    pub sha256: String,
    pub neutral: Vec<V3>,
    pub uvs: Vec<[f64; 2]>,
    pub polygons: Vec<Polygon>,
    pub shapes: Vec<Shape>,
    /// `[mode][vertex]` displacements, ordered by variance (each mode is one standard deviation).
    pub identity: Vec<Vec<V3>>,
    /// Multi-PIE 68 landmark vertices, iBUG order.
    pub landmarks: Vec<u32>,
}

impl IctModel {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path).with_context(|| {
            format!(
                "cannot read the ICT Face Model at {} (the shared assets' \
                 ict_face_model/ict_face_model.safetensors)",
                path.display()
            )
        })?;
        let (_, header) = SafeTensors::read_metadata(&bytes)
            .with_context(|| format!("{} is not a safetensors file", path.display()))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let st = SafeTensors::deserialize(&bytes)?;
        let json = |key: &str| -> anyhow::Result<serde_json::Value> {
            let text = meta
                .get(key)
                .with_context(|| format!("the ICT file has no `{key}` metadata"))?;
            Ok(serde_json::from_str(text)?)
        };
        let materials: Vec<String> = serde_json::from_value(json("materials")?)?;
        let names: Vec<String> = serde_json::from_value(json("expressions")?)?;
        let landmarks: Vec<u32> =
            serde_json::from_value(json("vertex_indices")?["idx_to_landmark_verts"].clone())
                .context("vertex_indices.idx_to_landmark_verts")?;

        let neutral = triples(&floats(&st, "neutral")?);
        let uvs = floats(&st, "uvs")?
            .chunks_exact(2)
            .map(|c| [c[0], c[1]])
            .collect();
        let corners = ints(&st, "faces")?;
        let uv_corners = ints(&st, "face_uvs")?;
        let face_material = ints(&st, "face_material")?;
        ensure!(
            corners.len() == uv_corners.len() && corners.len() == 4 * face_material.len(),
            "faces, face_uvs and face_material disagree in count"
        );
        let polygons = (0..face_material.len())
            .map(|f| {
                let take = |c: &[i32]| -> Vec<u32> {
                    c[4 * f..4 * f + 4]
                        .iter()
                        .filter(|&&i| i >= 0)
                        .map(|&i| i as u32)
                        .collect()
                };
                let material = materials
                    .get(face_material[f] as usize)
                    .cloned()
                    .with_context(|| format!("polygon {f} has no known material"))?;
                Ok(Polygon {
                    vertices: take(&corners),
                    uvs: take(&uv_corners),
                    material,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;

        let shapes = names
            .iter()
            .map(|name| {
                let index = ints(&st, &format!("expression.{name}.index"))?;
                let delta = triples(&floats(&st, &format!("expression.{name}.delta"))?);
                ensure!(
                    index.len() == delta.len(),
                    "expression {name}: index ≠ delta"
                );
                Ok(Shape {
                    name: name.clone(),
                    moves: index.iter().map(|&i| i as u32).zip(delta).collect(),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;

        let identity_view = st.tensor("identity")?;
        let modes = identity_view.shape()[0];
        let identity = floats(&st, "identity")?
            .chunks_exact(neutral.len() * 3)
            .map(triples)
            .collect::<Vec<_>>();
        ensure!(
            identity.len() == modes,
            "identity modes are not [modes, vertices, 3]"
        );

        let n = neutral.len() as u32;
        let in_range = polygons.iter().flat_map(|p| &p.vertices).all(|&v| v < n)
            && landmarks.iter().all(|&v| v < n)
            && shapes.iter().flat_map(|s| &s.moves).all(|&(v, _)| v < n);
        ensure!(in_range, "the ICT file refers to vertices it does not have");
        Ok(Self {
            sha256: crate::io::sha256_hex(&bytes),
            neutral,
            uvs,
            polygons,
            shapes,
            identity,
            landmarks,
        })
    }

    pub fn shape(&self, name: &str) -> anyhow::Result<&Shape> {
        self.shapes
            .iter()
            .find(|s| s.name == name)
            .with_context(|| format!("the ICT file has no expression {name}"))
    }

    /// How far any expression moves each vertex (centimetres).
    pub fn largest_motion(&self) -> Vec<f64> {
        let mut largest = vec![0.0f64; self.neutral.len()];
        for (v, d) in self.shapes.iter().flat_map(|s| &s.moves) {
            let m = d.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            largest[*v as usize] = largest[*v as usize].max(m);
        }
        largest
    }

    /// Polygons by material name.
    pub fn material_polygons(&self) -> HashMap<&str, Vec<usize>> {
        let mut by = HashMap::<&str, Vec<usize>>::new();
        for (i, p) in self.polygons.iter().enumerate() {
            by.entry(p.material.as_str()).or_default().push(i);
        }
        by
    }
}

fn floats(st: &SafeTensors, name: &str) -> anyhow::Result<Vec<f64>> {
    let view = st
        .tensor(name)
        .with_context(|| format!("the ICT file has no tensor `{name}`"))?;
    Ok(match view.dtype() {
        Dtype::F32 => bytemuck::pod_collect_to_vec::<u8, f32>(view.data())
            .into_iter()
            .map(f64::from)
            .collect(),
        Dtype::F16 => bytemuck::pod_collect_to_vec::<u8, half::f16>(view.data())
            .into_iter()
            .map(f64::from)
            .collect(),
        other => bail!("`{name}` is {other:?}, expected f32 or f16"),
    })
}

fn ints(st: &SafeTensors, name: &str) -> anyhow::Result<Vec<i32>> {
    let view = st
        .tensor(name)
        .with_context(|| format!("the ICT file has no tensor `{name}`"))?;
    match view.dtype() {
        Dtype::I32 => Ok(bytemuck::pod_collect_to_vec::<u8, i32>(view.data())),
        other => bail!("`{name}` is {other:?}, expected i32"),
    }
}

fn triples(flat: &[f64]) -> Vec<V3> {
    flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect()
}
