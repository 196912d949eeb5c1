//! The whole inversion, for the CLI and the viewer: portrait → face and landmarks → FFHQ
//! crop → rig and camera fit → target → optimisation → avatar.

use std::path::Path;
use std::time::{Duration, Instant};

use super::align::Crop;
use super::face::{FaceChoice, FaceModels, portrait};
use super::fit::{Fit, fit};
use super::optimise::{OptimiseSettings, Optimiser, StepReport};
use super::pti::{Pti, PtiSettings};
use super::target::Target;
use super::unwrap::{ATLAS_SIZE, PORTRAIT_SIZE, Unwrapped, unwrap};
use crate::avatar::{Avatar, RigRef};
use crate::gpu::Gpu;
use crate::nets::generator::Next3dCheckpoint;
use crate::rig::Rig;

/// A portrait with its face found and the rig fitted to it.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub portrait: image::RgbImage,
    pub crop: Crop,
    pub fit: Fit,
    /// The 468 landmarks in normalised crop coordinates (0…1, y down).
    pub landmarks: Vec<[f64; 2]>,
    /// How many faces the detectors found.
    pub faces_found: usize,
}

impl Prepared {
    /// The portrait's largest face, prepared.
    pub fn new(portrait: image::RgbImage, rig: &Rig, models: &FaceModels) -> anyhow::Result<Self> {
        Self::with_face(portrait, rig, models, FaceChoice::Largest)
    }

    pub fn with_face(
        portrait: image::RgbImage,
        rig: &Rig,
        models: &FaceModels,
        choice: FaceChoice,
    ) -> anyhow::Result<Self> {
        let face = models.choose_face(&portrait, choice)?;
        let crop = Crop::from_landmarks(&face.landmarks.points);
        // Landmarks are pixel-index coordinates: centres at +½.
        let landmarks: Vec<[f64; 2]> = face
            .landmarks
            .points
            .iter()
            .map(|p| crop.to_output(1, [f64::from(p[0]) + 0.5, f64::from(p[1]) + 0.5]))
            .collect();
        let fit = fit(rig, &landmarks)?;
        Ok(Self {
            portrait,
            crop,
            fit,
            landmarks,
            faces_found: face.faces_found,
        })
    }

    /// Reads the portrait at `path` (upright, RGB, at most 2048 px) and prepares the chosen
    /// face with the embedded face models.
    pub fn load(path: &Path, rig: &Rig, choice: FaceChoice) -> anyhow::Result<Self> {
        let (image, _) = portrait::load(path)?;
        Self::with_face(image, rig, FaceModels::shared()?, choice)
    }

    /// The portrait unwrapped into `rig`'s atlas through the fit.
    pub fn unwrapped(&self, rig: &Rig) -> anyhow::Result<Unwrapped> {
        unwrap(rig, &self.fit, &self.target(PORTRAIT_SIZE), ATLAS_SIZE)
    }

    /// The portrait in the fitted camera's framing at `size`², with its masks.
    pub fn target(&self, size: usize) -> Target {
        Target::new(&self.portrait, &self.crop, &self.fit, &self.landmarks, size)
    }
}

/// An avatar's name from its portrait's file name.
pub fn avatar_name(portrait: &Path) -> String {
    portrait
        .file_stem()
        .map_or("avatar".into(), |s| s.to_string_lossy().into_owned())
}

pub use crate::Cancelled;

/// An optimisation that turns a prepared portrait into an avatar, step by step.
pub trait Inversion {
    fn total_steps(&self) -> usize;
    /// What the next step optimises, for progress displays.
    fn stage(&self) -> &'static str;
    fn step(&mut self) -> anyhow::Result<StepReport>;
    /// The training view as of the last step (a live preview).
    fn preview(&self) -> Option<image::RgbImage>;
    fn avatar(&mut self, name: &str) -> anyhow::Result<Avatar>;
}

impl Inversion for Optimiser {
    fn total_steps(&self) -> usize {
        self.settings().steps
    }
    fn stage(&self) -> &'static str {
        "optimising the texture"
    }
    fn step(&mut self) -> anyhow::Result<StepReport> {
        Optimiser::step(self)
    }
    fn preview(&self) -> Option<image::RgbImage> {
        Optimiser::preview(self)
    }
    fn avatar(&mut self, name: &str) -> anyhow::Result<Avatar> {
        Optimiser::avatar(self, name)
    }
}

impl Inversion for Pti {
    fn total_steps(&self) -> usize {
        Pti::total_steps(self)
    }
    fn stage(&self) -> &'static str {
        Pti::stage(self)
    }
    fn step(&mut self) -> anyhow::Result<StepReport> {
        Pti::step(self)
    }
    fn preview(&self) -> Option<image::RgbImage> {
        Pti::preview(self)
    }
    fn avatar(&mut self, name: &str) -> anyhow::Result<Avatar> {
        Pti::avatar(self, name)
    }
}

/// How the avatar is made.
pub enum Method {
    /// On the default rig: the texture, static planes and decoder optimised directly.
    Direct(OptimiseSettings),
    /// On a FLAME rig with a Next3D generator: pivotal tuning (`rig` names the FLAME file).
    Pivotal {
        checkpoint: Box<Next3dCheckpoint>,
        rig: RigRef,
        settings: PtiSettings,
    },
}

impl Method {
    pub fn resolution(&self) -> usize {
        match self {
            Method::Direct(s) => s.resolution,
            Method::Pivotal { settings, .. } => settings.resolution,
        }
    }
}

/// Where a running inversion stands.
pub struct Progress<'a> {
    pub report: StepReport,
    pub total_steps: usize,
    pub stage: &'static str,
    pub elapsed: Duration,
    pub optimiser: &'a dyn Inversion,
}

impl Progress<'_> {
    /// The remaining time at the mean pace so far.
    pub fn time_left(&self) -> Duration {
        let done = self.report.step.max(1) as u32;
        self.elapsed / done * (self.total_steps - self.report.step) as u32
    }
}

/// Optimises an avatar for `prepared` on `rig` (the rig the portrait was fitted to).
/// `on_step` sees every step and returns `false` to cancel (then the result is
/// `Err(Cancelled)`).
pub fn invert(
    gpu: &Gpu,
    rig: &Rig,
    prepared: &Prepared,
    method: Method,
    name: &str,
    mut on_step: impl FnMut(&Progress) -> bool,
) -> anyhow::Result<Avatar> {
    let target = prepared.target(method.resolution());
    let mut optimiser: Box<dyn Inversion> = match method {
        Method::Direct(settings) => {
            let unwrapped = prepared.unwrapped(rig)?;
            Box::new(Optimiser::new(
                gpu,
                rig,
                &prepared.fit,
                &target,
                &unwrapped,
                settings,
            )?)
        }
        Method::Pivotal {
            checkpoint,
            rig: rig_ref,
            settings,
        } => Box::new(Pti::new(
            gpu,
            rig,
            *checkpoint,
            &prepared.fit,
            &target,
            rig_ref,
            settings,
        )?),
    };
    let started = Instant::now();
    let total_steps = optimiser.total_steps();
    for _ in 0..total_steps {
        let stage = optimiser.stage();
        let report = optimiser.step()?;
        let progress = Progress {
            report,
            total_steps,
            stage,
            elapsed: started.elapsed(),
            optimiser: optimiser.as_ref(),
        };
        if !on_step(&progress) {
            return Err(Cancelled.into());
        }
    }
    optimiser.avatar(name)
}
