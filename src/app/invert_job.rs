//! Portrait inversion on the render thread: find the face, fit the rig, optimise the avatar,
//! report every step with a preview of the training view, save the avatar (only when it
//! succeeds) and hand it to the renderer. Cancelled by a flag the UI sets.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::avatar::{Avatar, RigRef, SourceState, file};
use crate::gpu::Gpu;
use crate::invert::face::FaceChoice;
use crate::invert::optimise::OptimiseSettings;
use crate::invert::pti::PtiSettings;
use crate::invert::run::{Cancelled, Method, Prepared, avatar_name, invert};
use crate::nets::generator::Next3dCheckpoint;
use crate::rig::Rig;

#[derive(Debug, Clone)]
pub struct InvertJob {
    pub portrait: PathBuf,
    /// Where the avatar is saved once the inversion succeeds.
    pub out: PathBuf,
    /// Which of the portrait's faces.
    pub face: FaceChoice,
    pub method: JobMethod,
    pub cancel: Arc<AtomicBool>,
}

/// How the job makes the avatar (see `invert::run::Method`).
#[derive(Debug, Clone)]
pub enum JobMethod {
    /// The default rig's arrays optimised directly.
    Direct(OptimiseSettings),
    /// Pivotal tuning of the checkpoint's generator on the FLAME rig read from `rig_file`.
    Pivotal {
        checkpoint: PathBuf,
        rig: Arc<Rig>,
        rig_file: String,
        settings: PtiSettings,
    },
}

impl InvertJob {
    /// The rig the portrait is fitted to and the avatar lives on, and its file (`None` for
    /// the embedded default rig).
    pub fn rig(&self) -> (Arc<Rig>, Option<String>) {
        match &self.method {
            JobMethod::Direct(_) => (crate::rig::default_rig::embedded(), None),
            JobMethod::Pivotal { rig, rig_file, .. } => (rig.clone(), Some(rig_file.clone())),
        }
    }

    fn method(&self) -> anyhow::Result<Method> {
        Ok(match &self.method {
            JobMethod::Direct(settings) => Method::Direct(*settings),
            JobMethod::Pivotal {
                checkpoint,
                rig_file,
                settings,
                ..
            } => Method::Pivotal {
                checkpoint: Box::new(Next3dCheckpoint::open(checkpoint)?),
                rig: RigRef::Flame {
                    sha256: crate::cli::neural::file_sha256(Path::new(rig_file))?,
                },
                settings: *settings,
            },
        })
    }
}

/// What the render thread says about a running inversion.
pub enum InvertUpdate {
    /// A stage before the optimisation ("finding the face", …).
    Stage(String),
    Step {
        /// What the step optimised.
        stage: &'static str,
        step: usize,
        steps: usize,
        loss: f64,
        time_left: Duration,
        preview: Option<image::RgbImage>,
    },
    /// Saved to `path` and now shown.
    Done {
        path: PathBuf,
        source: SourceState,
    },
    Cancelled,
    Failed(String),
}

/// Runs `job`; returns the new avatar when it succeeded.
pub fn run(
    gpu: &Gpu,
    rig: &Rig,
    job: &InvertJob,
    stop: impl Fn() -> bool,
    mut report: impl FnMut(InvertUpdate),
) -> Option<Avatar> {
    let cancelled = || job.cancel.load(Ordering::Relaxed) || stop();
    let result = (|| -> anyhow::Result<Avatar> {
        report(InvertUpdate::Stage(
            "finding the face and fitting the rig".into(),
        ));
        let prepared = Prepared::load(&job.portrait, rig, job.face)?;
        let found = prepared.faces_found;
        let which = match job.face {
            FaceChoice::Largest if found > 1 => {
                Some(format!("{found} faces found; using the largest"))
            }
            FaceChoice::Largest => None,
            FaceChoice::Index(i) => Some(format!("using face {} of {found}", i + 1)),
            FaceChoice::Drawn(_) => Some("using the face in the drawn box".into()),
        };
        if let Some(which) = which {
            report(InvertUpdate::Stage(which));
        }
        let name = avatar_name(&job.portrait);
        let avatar = invert(gpu, rig, &prepared, job.method()?, &name, |progress| {
            let r = progress.report;
            report(InvertUpdate::Step {
                stage: progress.stage,
                step: r.step,
                steps: progress.total_steps,
                loss: r.loss,
                time_left: progress.time_left(),
                preview: progress.optimiser.preview(),
            });
            !cancelled()
        })?;
        file::save_as(&avatar, &job.out, file::Precision::F16)?;
        Ok(avatar)
    })();
    match result {
        Ok(avatar) => {
            report(InvertUpdate::Done {
                path: job.out.clone(),
                source: avatar.source.clone(),
            });
            Some(avatar)
        }
        Err(e) if e.is::<Cancelled>() => {
            report(InvertUpdate::Cancelled);
            None
        }
        Err(e) => {
            report(InvertUpdate::Failed(format!("{e:#}")));
            None
        }
    }
}
