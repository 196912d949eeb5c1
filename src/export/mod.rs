//! The way out: a rigged glTF head, the volume as a mesh, ARKit (Live Link Face) motion.

pub mod arkit;
pub mod field;
pub mod glb;
pub mod gltf;
pub mod live_link;
pub mod shape;
pub mod texture;

use std::path::Path;

use crate::avatar::pipeline::FramePipeline;
use crate::rig::{Rig, RigParams};

/// The baked texture's side when nothing else is asked.
pub const DEFAULT_TEXTURE_SIZE: usize = 512;

/// What the exporters report as they go: a stage and the fraction of it done; returning
/// false cancels.
pub type Progress<'a> = dyn FnMut(&str, f32) -> bool + 'a;

/// Writes the avatar of `pipeline` (on `rig`, with `identity`'s identity) as a rigged glTF
/// head to `path` (atomically): a texture of `texture_size`² baked from the avatar at
/// neutral. Returns a line saying what was written.
pub fn export_gltf(
    pipeline: &mut FramePipeline,
    rig: &Rig,
    identity: &RigParams,
    texture_size: usize,
    name: &str,
    path: &Path,
    progress: &mut Progress,
) -> anyhow::Result<String> {
    anyhow::ensure!(
        (16..=4096).contains(&texture_size),
        "the texture size must be within 16…4096, not {texture_size}"
    );
    let neutral = RigParams {
        identity: identity.identity.clone(),
        ..Default::default()
    };
    let texture = if rig.uvs.is_empty() {
        None
    } else {
        let field = field::Field::new(pipeline, &neutral)?;
        let (resolved, _) = neutral.resolve(rig)?;
        let rest = crate::rig::skin_cpu::skin(rig, &resolved).vertices;
        Some(texture::bake(&field, rig, &rest, texture_size, &mut |f| {
            progress("baking the texture", f)
        })?)
    };
    if !progress("writing the glTF", 0.0) {
        return Err(crate::Cancelled.into());
    }
    let glb = gltf::write_glb(rig, &neutral, texture.as_ref(), name)?;
    crate::io::write_atomically(path, &glb).map_err(|e| {
        anyhow::anyhow!(
            "cannot write {}: {e} (nothing was changed there)",
            path.display()
        )
    })?;
    Ok(format!(
        "wrote {} ({:.1} MB: {} morph targets, {} joints{})",
        path.display(),
        glb.len() as f64 / 1e6,
        gltf::targets(rig).len(),
        rig.num_joints(),
        texture.map_or(String::new(), |t| format!(", a {}² texture", t.width()))
    ))
}

/// Writes the avatar's volume at `params` as a coloured PLY mesh to `path` (atomically).
pub fn export_shape(
    pipeline: &mut FramePipeline,
    params: &RigParams,
    resolution: usize,
    threshold: f32,
    path: &Path,
    progress: &mut Progress,
) -> anyhow::Result<String> {
    let field = field::Field::new(pipeline, params)?;
    let mesh = shape::extract(&field, resolution, threshold, &mut |f| {
        progress("sampling the volume", f)
    })?;
    shape::write_ply(&mesh, path)?;
    Ok(format!(
        "wrote {} ({} vertices, {} triangles; {resolution}³ samples, density threshold {threshold})",
        path.display(),
        mesh.positions.len(),
        mesh.triangles.len()
    ))
}
