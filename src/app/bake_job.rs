//! Baking an avatar from a Next3D checkpoint on the render thread: the identity column for a
//! seed and truncation ψ (mapping, texture and static synthesis), then shown. Seconds on a
//! GPU, minutes on a CPU adapter; the UI shows a spinner meanwhile.

use std::path::PathBuf;
use std::sync::Arc;

use crate::avatar::Avatar;
use crate::gpu::Gpu;
use crate::nets::generator::Next3dCheckpoint;
use crate::rig::Rig;

#[derive(Debug, Clone)]
pub struct BakeJob {
    pub checkpoint: PathBuf,
    pub rig: Arc<Rig>,
    /// `default`, or the rig file (the avatar records its hash).
    pub rig_path: String,
    pub seed: u32,
    pub psi: f64,
}

pub enum BakeUpdate {
    /// Baked and now shown.
    Done {
        rig: Arc<Rig>,
        label: String,
    },
    Failed(String),
}

/// Bakes `job`'s avatar; the update says how it went.
pub fn run(gpu: &Gpu, job: &BakeJob) -> (Option<Avatar>, BakeUpdate) {
    let baked = Next3dCheckpoint::open(&job.checkpoint)
        .map_err(anyhow::Error::from)
        .and_then(|checkpoint| {
            crate::cli::bake::bake(gpu, &checkpoint, &job.rig, &job.rig_path, job.seed, job.psi)
        });
    match baked {
        Ok(avatar) => {
            let update = BakeUpdate::Done {
                rig: job.rig.clone(),
                label: format!(
                    "{} of {}",
                    avatar.name,
                    job.checkpoint.file_name().map_or_else(
                        || job.checkpoint.display().to_string(),
                        |n| { n.to_string_lossy().into_owned() }
                    )
                ),
            };
            (Some(avatar), update)
        }
        Err(e) => (None, BakeUpdate::Failed(format!("{e:#}"))),
    }
}
