//! Exporting on the render thread (it owns the avatar's pipeline): the rigged glTF head or
//! the volume as a mesh, with progress, cancelled by a flag the UI sets (nothing is left
//! under the file's name: writes are atomic).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::Cancelled;
use crate::avatar::pipeline::FramePipeline;
use crate::export::{export_gltf, export_shape};
use crate::rig::{Rig, RigParams};

#[derive(Debug, Clone)]
pub enum ExportKind {
    Gltf { texture_size: usize },
    Shape { resolution: usize, threshold: f32 },
}

#[derive(Debug, Clone)]
pub struct ExportJob {
    pub kind: ExportKind,
    pub path: PathBuf,
    /// The avatar's identity (glTF) or the shown parameters (shape).
    pub params: RigParams,
    pub name: String,
    pub cancel: Arc<AtomicBool>,
}

pub enum ExportUpdate {
    Progress { stage: String, fraction: f32 },
    Done(String),
    Cancelled,
    Failed(String),
}

pub fn run(
    pipeline: Result<&mut FramePipeline, &String>,
    rig: &Rig,
    job: &ExportJob,
    stop: impl Fn() -> bool,
    mut report: impl FnMut(ExportUpdate),
) {
    let pipeline = match pipeline {
        Ok(pipeline) => pipeline,
        Err(e) => return report(ExportUpdate::Failed(format!("nothing to export: {e}"))),
    };
    let mut progress = |stage: &str, fraction: f32| {
        report(ExportUpdate::Progress {
            stage: stage.to_string(),
            fraction,
        });
        !(job.cancel.load(Ordering::Relaxed) || stop())
    };
    let result = match job.kind {
        ExportKind::Gltf { texture_size } => export_gltf(
            pipeline,
            rig,
            &job.params,
            texture_size,
            &job.name,
            &job.path,
            &mut progress,
        ),
        ExportKind::Shape {
            resolution,
            threshold,
        } => export_shape(
            pipeline,
            &job.params,
            resolution,
            threshold,
            &job.path,
            &mut progress,
        ),
    };
    report(match result {
        Ok(line) => ExportUpdate::Done(line),
        Err(e) if e.is::<Cancelled>() => ExportUpdate::Cancelled,
        Err(e) => ExportUpdate::Failed(format!("{e:#}")),
    });
}
