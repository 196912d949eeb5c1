//! The avatar as a rigged glTF head (binary `.glb`): the rig's mesh with the avatar's
//! identity, split at UV seams; every expression a named morph target; the neck, jaw and
//! eyes as joints of a skin (gaze turns the eyeballs); a baked colour texture.
//!
//! Morph targets carry what the rig does at weight 1, skinning included, so `jawOpen`
//! also opens the jaw. Targets are named as ARKit names them where the rig's shape is
//! Apple's (`eyeBlinkLeft`); a shape the rig splits keeps its per-side names
//! (`browInnerUp_L`) and adds Apple's whole one (`browInnerUp`, both sides at once), so
//! ARKit-driven tools find 51 of their 52 names (the rig has no tongueOut). The mesh's
//! extras hold `targetNames` (read by three.js and Blender) and each target's rig shapes.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::arkit::arkit_name;
use super::glb::{
    ARRAY_BUFFER, Builder, ELEMENT_ARRAY_BUFFER, FLOAT, UNSIGNED_BYTE, UNSIGNED_INT, container,
};
use crate::rig::skin_cpu::{regress_joints, skin};
use crate::rig::{Rig, RigParams};

/// glTF skins take four joints per vertex.
const INFLUENCES: usize = 4;

/// One morph target: its name and the rig shapes it moves (weight 1 each).
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub name: String,
    pub shapes: Vec<usize>,
}

/// The morph targets for `rig`: one per shape, then Apple's whole shape for each shape the
/// rig splits per side.
pub fn targets(rig: &Rig) -> Vec<Target> {
    let mut own: Vec<Target> = Vec::new();
    let mut split: Vec<(&'static str, Vec<usize>)> = Vec::new();
    for (index, name) in rig.expression_names.iter().enumerate() {
        let apple = arkit_name(name);
        let per_side =
            apple.is_some_and(|a| !a.ends_with("Left") && !a.ends_with("Right") && a != name);
        match apple {
            Some(a) if per_side => {
                own.push(Target {
                    name: name.clone(),
                    shapes: vec![index],
                });
                match split.iter_mut().find(|(n, _)| *n == a) {
                    Some((_, shapes)) => shapes.push(index),
                    None => split.push((a, vec![index])),
                }
            }
            Some(a) => own.push(Target {
                name: a.to_string(),
                shapes: vec![index],
            }),
            None => own.push(Target {
                name: name.clone(),
                shapes: vec![index],
            }),
        }
    }
    own.extend(split.into_iter().map(|(name, shapes)| Target {
        name: name.to_string(),
        shapes,
    }));
    own
}

/// The mesh split where a vertex has several texture coordinates.
pub struct SplitMesh {
    /// Per glTF vertex: the rig vertex it copies, and its UV index (if the rig has UVs).
    pub source: Vec<(u32, Option<u32>)>,
    pub triangles: Vec<[u32; 3]>,
}

/// One glTF vertex per distinct (rig vertex, UV) corner.
pub fn split_at_seams(rig: &Rig) -> SplitMesh {
    let has_uvs = rig.uv_faces.len() == rig.faces.len() && !rig.uvs.is_empty();
    let mut index: HashMap<(u32, Option<u32>), u32> = HashMap::new();
    let mut source = Vec::new();
    let triangles = rig
        .faces
        .iter()
        .enumerate()
        .map(|(f, face)| {
            std::array::from_fn(|k| {
                let key = (face[k], has_uvs.then(|| rig.uv_faces[f][k]));
                *index.entry(key).or_insert_with(|| {
                    source.push(key);
                    (source.len() - 1) as u32
                })
            })
        })
        .collect();
    SplitMesh { source, triangles }
}

/// The rig's vertices with the avatar's `identity` and these shapes at weight 1, skinned
/// on the CPU (drivers such as jawOpen's jaw turn act as they do in the viewer).
fn posed(rig: &Rig, identity: &RigParams, shapes: &[usize]) -> anyhow::Result<Vec<[f64; 3]>> {
    let mut params = RigParams {
        identity: identity.identity.clone(),
        ..Default::default()
    };
    for &shape in shapes {
        params = params.with_expression(&rig.expression_names[shape], 1.0);
    }
    let (resolved, _) = params.resolve(rig)?;
    Ok(skin(rig, &resolved).vertices)
}

/// The neutral mesh with the avatar's identity (rig space), and each target's displacement
/// of every rig vertex from it.
pub struct Morphs {
    pub rest: Vec<[f64; 3]>,
    pub displacements: Vec<Vec<[f64; 3]>>,
}

pub fn morphs(rig: &Rig, identity: &RigParams) -> anyhow::Result<Morphs> {
    let rest = posed(rig, identity, &[])?;
    let moved = targets(rig)
        .iter()
        .map(|t| {
            Ok(posed(rig, identity, &t.shapes)?
                .iter()
                .zip(&rest)
                .map(|(m, r)| std::array::from_fn(|a| m[a] - r[a]))
                .collect())
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Morphs {
        rest,
        displacements: moved,
    })
}

/// The `.glb` bytes of the rig with the avatar's `identity`, textured with `texture` (the
/// rig's atlas; `None` for a rig without UVs).
pub fn write_glb(
    rig: &Rig,
    identity: &RigParams,
    texture: Option<&image::RgbImage>,
    name: &str,
) -> anyhow::Result<Vec<u8>> {
    let split = split_at_seams(rig);
    let Morphs {
        rest,
        displacements: moved,
    } = morphs(rig, identity)?;
    let targets = targets(rig);
    let per_vertex = |values: &[[f64; 3]]| -> Vec<[f32; 3]> {
        split
            .source
            .iter()
            .map(|&(v, _)| values[v as usize].map(|x| x as f32))
            .collect()
    };
    let mut b = Builder::default();
    let position = b.vec3(&per_vertex(&rest), Some(ARRAY_BUFFER));
    let normal = {
        let normals = smooth_normals(&rest, &rig.faces);
        let view = b.view(
            bytemuck::cast_slice(&per_vertex(&normals)),
            Some(ARRAY_BUFFER),
        );
        b.accessor(view, FLOAT, split.source.len(), "VEC3", json!({}))
    };
    let mut attributes = json!({ "POSITION": position, "NORMAL": normal });
    if let (Some(_), true) = (texture, split.source.iter().all(|s| s.1.is_some())) {
        let uvs: Vec<[f32; 2]> = split
            .source
            .iter()
            .map(|&(_, uv)| {
                let [u, v] = rig.uvs[uv.expect("checked above") as usize];
                [u, 1.0 - v]
            })
            .collect();
        let view = b.view(bytemuck::cast_slice(&uvs), Some(ARRAY_BUFFER));
        attributes["TEXCOORD_0"] = json!(b.accessor(view, FLOAT, uvs.len(), "VEC2", json!({})));
    }
    let (joints, weights) = skin_influences(rig, &split);
    let view = b.view(&joints, Some(ARRAY_BUFFER));
    attributes["JOINTS_0"] =
        json!(b.accessor(view, UNSIGNED_BYTE, split.source.len(), "VEC4", json!({})));
    let view = b.view(bytemuck::cast_slice(&weights), Some(ARRAY_BUFFER));
    attributes["WEIGHTS_0"] = json!(b.accessor(view, FLOAT, split.source.len(), "VEC4", json!({})));
    let morphs: Vec<Value> = moved
        .iter()
        .map(|d| json!({ "POSITION": b.sparse_vec3(&per_vertex(d)) }))
        .collect();
    let indices: Vec<u32> = split.triangles.iter().flatten().copied().collect();
    let view = b.view(bytemuck::cast_slice(&indices), Some(ELEMENT_ARRAY_BUFFER));
    let index_accessor = b.accessor(view, UNSIGNED_INT, indices.len(), "SCALAR", json!({}));

    // The skeleton: one node per joint at its regressed place, its parent's child.
    let shaped = {
        let neutral = RigParams {
            identity: identity.identity.clone(),
            ..Default::default()
        };
        crate::rig::skin_cpu::shaped_vertices(rig, &neutral.resolve(rig)?.0)
    };
    let places = regress_joints(rig, &shaped);
    let mesh_node = 0;
    let joint_node = |j: usize| j + 1;
    let mut nodes = vec![json!({ "name": name, "mesh": 0, "skin": 0 })];
    let mut inverse_binds: Vec<f32> = Vec::new();
    for (j, joint_name) in crate::rig::model::JOINT_NAMES.iter().enumerate() {
        let parent = rig.parents[j];
        let origin = if parent < 0 {
            [0.0; 3]
        } else {
            places[parent as usize]
        };
        let children: Vec<usize> = (0..rig.num_joints())
            .filter(|&c| rig.parents[c] == j as i32)
            .map(joint_node)
            .collect();
        let translation = [0, 1, 2].map(|a| (places[j][a] - origin[a]) as f32);
        let mut node = json!({ "name": joint_name, "translation": translation });
        if !children.is_empty() {
            node["children"] = json!(children);
        }
        nodes.push(node);
        // Column-major: the rest pose has no rotation, so binding only moves the joint home.
        inverse_binds.extend([1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
        inverse_binds.extend(places[j].map(|x| -x as f32));
        inverse_binds.push(1.0);
    }
    let view = b.view(bytemuck::cast_slice(&inverse_binds), None);
    let binds = b.accessor(view, FLOAT, rig.num_joints(), "MAT4", json!({}));
    let roots: Vec<usize> = (0..rig.num_joints())
        .filter(|&j| rig.parents[j] < 0)
        .map(joint_node)
        .collect();

    let mut material = json!({
        "name": "head",
        "pbrMetallicRoughness": { "metallicFactor": 0.0, "roughnessFactor": 0.8 },
    });
    let (mut images, mut textures, mut samplers) = (Vec::new(), Vec::new(), Vec::new());
    if let (Some(texture), Some(_)) = (texture, attributes.get("TEXCOORD_0")) {
        let mut png = Vec::new();
        texture.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
        let view = b.view(&png, None);
        images.push(json!({ "bufferView": view, "mimeType": "image/png", "name": "albedo" }));
        samplers
            .push(json!({ "magFilter": 9729, "minFilter": 9987, "wrapS": 33071, "wrapT": 33071 }));
        textures.push(json!({ "source": 0, "sampler": 0 }));
        material["pbrMetallicRoughness"]["baseColorTexture"] = json!({ "index": 0 });
    }
    let target_names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    let target_shapes: Vec<Vec<&str>> = targets
        .iter()
        .map(|t| {
            t.shapes
                .iter()
                .map(|&s| rig.expression_names[s].as_str())
                .collect()
        })
        .collect();
    let scene_nodes = [vec![mesh_node], roots.clone()].concat();
    let mut document = json!({
        "asset": { "version": "2.0", "generator": concat!("neuralhead ", env!("CARGO_PKG_VERSION")) },
        "scene": 0,
        "scenes": [{ "nodes": scene_nodes }],
        "nodes": nodes,
        "skins": [{ "joints": (0..rig.num_joints()).map(joint_node).collect::<Vec<_>>(), "inverseBindMatrices": binds, "skeleton": roots[0] }],
        "meshes": [{
            "name": name,
            "primitives": [{ "attributes": attributes, "indices": index_accessor, "material": 0, "targets": morphs }],
            "weights": vec![0.0; targets.len()],
            "extras": { "targetNames": target_names, "targetRigShapes": target_shapes },
        }],
        "materials": [material],
        "accessors": b.accessors,
        "bufferViews": b.views,
        "buffers": [{ "byteLength": b.bin.len() }],
    });
    if !images.is_empty() {
        document["images"] = json!(images);
        document["textures"] = json!(textures);
        document["samplers"] = json!(samplers);
    }
    Ok(container(&serde_json::to_vec(&document)?, b.bin))
}

/// Area-weighted vertex normals.
pub(crate) fn smooth_normals(vertices: &[[f64; 3]], faces: &[[u32; 3]]) -> Vec<[f64; 3]> {
    let mut normals = vec![glam::DVec3::ZERO; vertices.len()];
    for f in faces {
        let [a, b, c] = f.map(|v| glam::DVec3::from(vertices[v as usize]));
        let n = (b - a).cross(c - a);
        f.iter().for_each(|&v| normals[v as usize] += n);
    }
    normals
        .iter()
        .map(|n| n.try_normalize().unwrap_or(glam::DVec3::Z).to_array())
        .collect()
}

/// The four strongest joints of each vertex and their weights, summing to one.
fn skin_influences(rig: &Rig, split: &SplitMesh) -> (Vec<u8>, Vec<[f32; 4]>) {
    let j = rig.num_joints();
    let mut joints = Vec::with_capacity(split.source.len() * INFLUENCES);
    let mut weights = Vec::with_capacity(split.source.len());
    for &(v, _) in &split.source {
        let row = &rig.skin_weights[v as usize * j..(v as usize + 1) * j];
        let mut order: Vec<usize> = (0..j).collect();
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
        order.truncate(INFLUENCES);
        let total: f32 = order.iter().map(|&k| row[k].max(0.0)).sum();
        let mut w = [0.0f32; INFLUENCES];
        let mut js = [0u8; INFLUENCES];
        for (slot, &k) in order.iter().enumerate() {
            js[slot] = k as u8;
            w[slot] = if total > 0.0 {
                row[k].max(0.0) / total
            } else {
                f32::from(u8::from(slot == 0))
            };
        }
        // Unused slots keep joint 0 at weight 0, as the validator expects.
        for slot in 0..INFLUENCES {
            if w[slot] == 0.0 {
                js[slot] = 0;
            }
        }
        joints.extend(js);
        weights.push(w);
    }
    (joints, weights)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rig::default_rig;

    /// The texture bake walks into the head against the normals: they must point out.
    #[test]
    fn the_rigs_normals_point_out_of_the_head() {
        let rig = default_rig::embedded();
        let vertices: Vec<[f64; 3]> = rig.template.iter().map(|v| v.map(f64::from)).collect();
        let normals = smooth_normals(&vertices, &rig.faces);
        // The most forward vertices (nose, lips) face forward, the highest (the crown) up.
        let extreme_mean = |axis: usize| {
            let mut order: Vec<usize> = (0..vertices.len()).collect();
            order.sort_by(|&a, &b| vertices[b][axis].total_cmp(&vertices[a][axis]));
            let top = &order[..vertices.len() / 50];
            top.iter().map(|&v| normals[v][axis]).sum::<f64>() / top.len() as f64
        };
        let (forward, up) = (extreme_mean(2), extreme_mean(1));
        // Inward normals would give −0.47 and −0.83 (the nose's sides slant).
        assert!(
            forward > 0.3 && up > 0.5,
            "mean normal: {forward} forward at the front, {up} up at the top"
        );
    }
}
