//! `neuralhead render --view rgb|depth|opacity|features`: the neural pipeline for one frame.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use crate::avatar::painted::painted_avatar;
use crate::avatar::pipeline::{FrameOptions, FramePipeline};
use crate::avatar::random::random_avatar;
use crate::avatar::{Avatar, RigRef, file};
use crate::gpu::Gpu;
use crate::render::camera::OrbitCamera;
use crate::render::modes::{RenderMode, to_image};
use crate::rig::{Rig, RigKind, RigParams};

/// Sizes of the random test avatar: texture and static planes.
const RANDOM_TEXTURE: usize = 256;
const RANDOM_PLANES: usize = 64;

/// `default` (the embedded default avatar), `random` (a seeded test avatar), `painted` (the
/// rig's colours as a visual-hull volume) or an avatar file, checked against the rig.
pub fn load_avatar(name: &str, rig: &Rig, rig_path: &str) -> anyhow::Result<Avatar> {
    let flame_hash = flame_hash(rig, rig_path)?;
    let rig_ref = RigRef::of(rig, flame_hash.as_deref());
    match name {
        "random" => return Ok(random_avatar(rig_ref, 0, RANDOM_TEXTURE, RANDOM_PLANES)),
        "painted" => return Ok(painted_avatar(rig, rig_ref)),
        "default" => {
            let avatar = crate::avatar::default::embedded()?;
            file::check_rig(&avatar, rig, None)?;
            return Ok(avatar);
        }
        _ => {}
    }
    let avatar = file::load(Path::new(name))?;
    file::check_rig(&avatar, rig, flame_hash.as_deref())?;
    Ok(avatar)
}

/// The sha256 of a FLAME rig's file (`rig_path`), which its avatars name; `None` for the
/// embedded rigs.
pub fn flame_hash(rig: &Rig, rig_path: &str) -> anyhow::Result<Option<String>> {
    match rig.kind {
        RigKind::Default => Ok(None),
        RigKind::Flame2020 => file_sha256(Path::new(rig_path)).map(Some),
    }
}

pub fn file_sha256(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(crate::io::sha256_hex(&bytes))
}

#[allow(clippy::too_many_arguments)] // one frame's full description, all from the CLI
pub fn render(
    gpu: &Gpu,
    rig: Arc<Rig>,
    avatar: &Avatar,
    params: &RigParams,
    camera: &OrbitCamera,
    mode: RenderMode,
    raster_resolution: usize,
    options: &FrameOptions,
) -> anyhow::Result<image::RgbaImage> {
    let mut pipeline = FramePipeline::new(gpu, rig, avatar, raster_resolution)?;
    let frame = pipeline.render(params, camera, options)?;
    if options.super_resolution {
        return frame.super_resolved.as_ref().map(|sr| sr.to_image()).ok_or_else(|| {
            anyhow::anyhow!(
                "--view sr needs an avatar baked from a Next3D checkpoint (neuralhead bake); this one has no super-resolution network"
            )
        });
    }
    if let RenderMode::Features(channels) = mode {
        anyhow::ensure!(
            channels.iter().all(|&c| c < frame.channels),
            "--channels must be below {}",
            frame.channels
        );
    }
    Ok(to_image(&frame, mode))
}
