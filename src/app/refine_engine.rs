//! FADM refinement on the render thread: one denoising step at a time, checking between steps
//! whether newer work has arrived (then the refinement is dropped), and reporting every
//! intermediate estimate so that the viewport sharpens as it goes.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::worker::Request;
use crate::avatar::SourceState;
use crate::fadm::{Fadm, SamplerPreset, frame};
use crate::gpu::Gpu;
use crate::rig::Rig;

/// Refine the frame `image`, which shows the state `request`.
#[derive(Debug, Clone)]
pub struct RefineJob {
    pub request: Request,
    pub image: image::RgbaImage,
    pub weights: PathBuf,
    pub preset: SamplerPreset,
    pub seed: u32,
}

impl RefineJob {
    /// Whether this refines the frame `request` asks for with this sampler and seed.
    pub fn refines(&self, request: &Request, preset: SamplerPreset, seed: u32) -> bool {
        self.request.same_frame(request) && (self.preset, self.seed) == (preset, seed)
    }

    /// Whether `other` refines the same frame the same way.
    pub fn same_work(&self, other: &RefineJob) -> bool {
        self.refines(&other.request, other.preset, other.seed)
    }
}

/// One step's estimate, or why refinement cannot run.
pub struct RefineUpdate {
    pub job: RefineJob,
    pub result: Result<RefineProgress, String>,
}

#[derive(Clone)]
pub struct RefineProgress {
    /// The current x0 estimate at the model's resolution.
    pub image: image::RgbaImage,
    pub step: usize,
    pub steps: usize,
    pub seconds_per_step: f64,
}

impl RefineProgress {
    pub fn finished(&self) -> bool {
        self.step == self.steps
    }
}

/// Holds the model once loaded (reloaded when the weights path changes).
#[derive(Default)]
pub struct RefineEngine {
    model: Option<(PathBuf, Fadm)>,
}

impl RefineEngine {
    fn model(&mut self, path: &Path, gpu: &Gpu) -> Result<&Fadm, String> {
        if self.model.as_ref().is_none_or(|(p, _)| p != path) {
            self.model = None;
            let model = Fadm::open(path, &gpu.burn).map_err(|e| e.to_string())?;
            self.model = Some((path.to_path_buf(), model));
        }
        Ok(&self.model.as_ref().expect("loaded above").1)
    }

    /// Runs `job` step by step until finished or `interrupted()`; `report` gets each step.
    pub fn run(
        &mut self,
        gpu: &Gpu,
        rig: &Rig,
        source: &SourceState,
        job: RefineJob,
        interrupted: impl Fn() -> bool,
        mut report: impl FnMut(RefineUpdate),
    ) {
        let fail = |job: RefineJob, e: String| RefineUpdate {
            job,
            result: Err(e),
        };
        let model = match self.model(&job.weights, gpu) {
            Ok(model) => model,
            Err(e) => return report(fail(job, e)),
        };
        let attribute =
            match frame::attribute(rig, source, &job.request.params, &job.request.camera) {
                Ok(a) => a,
                Err(e) => return report(fail(job, format!("{e:#}"))),
            };
        let mut refinement = frame::start(
            model, &job.image, attribute, job.preset, job.seed, &gpu.burn,
        );
        let started = Instant::now();
        while !interrupted() && refinement.step(model) {
            let result = frame::to_image(refinement.estimate())
                .map(|image| RefineProgress {
                    image,
                    step: refinement.steps_done(),
                    steps: refinement.steps(),
                    seconds_per_step: started.elapsed().as_secs_f64()
                        / refinement.steps_done() as f64,
                })
                .map_err(|e| format!("{e:#}"));
            let failed = result.is_err();
            report(RefineUpdate {
                job: job.clone(),
                result,
            });
            if failed {
                return;
            }
        }
    }
}
