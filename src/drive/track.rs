//! Tracking a face through a video: per frame the landmarks (in the crop the last frame's
//! landmarks give, as MediaPipe tracks; the detectors only when the face was lost), the rig's
//! camera and expression weights fitted with the subject's identity held (fitted once, over
//! the first frames), the lids and the jaw read from the landmarks' openness (`openness.rs`),
//! the weights taken relative to the subject's own neutral, and every
//! channel smoothed. Frames without a face hold the last state and are counted.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::openness::OpennessModel;
use super::smooth::{OneEuroSettings, Smoother};
use crate::invert::align::Crop;
use crate::invert::face::{FaceError, FaceModels, Landmarks, Roi};
use crate::invert::fit::{Fit, fit};
use crate::invert::fit_embedded::fit_expressions;
use crate::rig::params::Identity;
use crate::rig::sequence::HeadPose;
use crate::rig::{Rig, RigParams};

/// Landmarks below this presence mean the face was lost.
const MIN_PRESENCE: f32 = 0.5;
/// Levenberg–Marquardt steps per frame, from the last frame's fit.
const ITERATIONS: usize = 5;

/// Which frame shows the subject's neutral face.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Neutral {
    /// The first frame with a face.
    #[default]
    First,
    /// This frame (from 0), or the first with a face after it.
    Frame(usize),
    /// None: the weights as fitted.
    Absolute,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackSettings {
    pub smoothing: OneEuroSettings,
    pub neutral: Neutral,
    /// Frames with a face whose identities are averaged into the subject's.
    pub identity_frames: usize,
}

impl Default for TrackSettings {
    fn default() -> Self {
        Self {
            smoothing: OneEuroSettings::default(),
            neutral: Neutral::First,
            identity_frames: 3,
        }
    }
}

/// One frame's motion.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracked {
    /// Expression weights (relative to the neutral) and gaze; identity left default.
    pub params: RigParams,
    /// The head's pose as the camera that shows it.
    pub pose: HeadPose,
    /// Whether a face was found in this frame (else the last state is held).
    pub found: bool,
}

/// Time spent in each stage, summed over the frames.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageTimes {
    /// Both detectors and the landmarks of their face, where the face was lost.
    pub detect: Duration,
    pub detections: usize,
    /// The landmark model in the last frame's crop.
    pub landmarks: Duration,
    pub fit: Duration,
    /// Neutral, smoothing and the rest.
    pub other: Duration,
}

pub struct Tracker<'a> {
    models: &'a FaceModels,
    rig: &'a Rig,
    /// Reads the lids and the jaw from the landmarks' openness (rigs that embed them).
    openness: Option<OpennessModel>,
    settings: TrackSettings,
    /// Seconds between frames.
    dt: f64,
    frame: usize,
    /// Identity coefficients of the first frames, then their mean.
    identity_samples: Vec<Vec<f32>>,
    identity: Option<Vec<f32>>,
    roi: Option<Roi>,
    previous: Option<Fit>,
    neutral: Option<BTreeMap<String, f32>>,
    smoother: Smoother,
    last: Option<Tracked>,
    /// Frames in which no face was found.
    pub missed: usize,
    pub times: StageTimes,
}

impl<'a> Tracker<'a> {
    pub fn new(models: &'a FaceModels, rig: &'a Rig, fps: f64, settings: TrackSettings) -> Self {
        Self {
            models,
            rig,
            openness: OpennessModel::new(rig),
            settings,
            dt: 1.0 / fps,
            frame: 0,
            identity_samples: Vec::new(),
            identity: None,
            roi: None,
            previous: None,
            neutral: None,
            smoother: Smoother::new(settings.smoothing),
            last: None,
            missed: 0,
            times: StageTimes::default(),
        }
    }

    /// The subject's identity coefficients, once fitted.
    pub fn identity(&self) -> Option<&[f32]> {
        self.identity.as_deref()
    }

    /// The motion of the next frame.
    pub fn track(&mut self, image: &image::RgbImage) -> anyhow::Result<Tracked> {
        let frame = self.frame;
        self.frame += 1;
        let Some(landmarks) = self.landmarks(image)? else {
            self.missed += 1;
            self.previous = None;
            let held = self.last.clone().unwrap_or(Tracked {
                params: RigParams::default(),
                pose: HeadPose::default(),
                found: false,
            });
            return Ok(Tracked {
                found: false,
                ..held
            });
        };
        self.roi = Some(Roi::from_landmarks(&landmarks.points));
        let crop = Crop::from_landmarks(&landmarks.points);
        let normalised: Vec<[f64; 2]> = landmarks
            .points
            .iter()
            .map(|p| crop.to_output(1, [f64::from(p[0]) + 0.5, f64::from(p[1]) + 0.5]))
            .collect();
        let started = Instant::now();
        let fitted = self.fit(&normalised)?;
        let read = match &self.openness {
            Some(openness) => openness.read(&fitted, &normalised)?,
            None => fitted.params.clone(),
        };
        self.times.fit += started.elapsed();
        let started = Instant::now();
        let calibrating = match self.settings.neutral {
            Neutral::First => self.neutral.is_none(),
            Neutral::Frame(n) => self.neutral.is_none() && frame >= n,
            Neutral::Absolute => false,
        };
        if calibrating {
            self.neutral = Some(read.expression.clone());
        }
        let weights = self.relative(&read.expression);
        // The crop turns with the head in the image; the fit's roll is within the crop.
        let crop_roll = crop.x[1].atan2(crop.x[0]);
        let pose = HeadPose {
            yaw: fitted.camera.yaw,
            pitch: fitted.camera.pitch,
            roll: fitted.camera.roll - crop_roll,
        };
        self.previous = Some(fitted);
        let tracked = self.smoothed(weights, pose);
        self.last = Some(tracked.clone());
        self.times.other += started.elapsed();
        Ok(tracked)
    }

    /// The landmarks in the last frame's crop, else from the detectors' largest face.
    fn landmarks(&mut self, image: &image::RgbImage) -> anyhow::Result<Option<Landmarks>> {
        if let Some(roi) = self.roi {
            let started = Instant::now();
            let landmarks = self.models.landmarks_in(image, roi)?;
            self.times.landmarks += started.elapsed();
            if landmarks.presence >= MIN_PRESENCE {
                return Ok(Some(landmarks));
            }
            self.roi = None;
        }
        let started = Instant::now();
        let found = self.models.find_face(image);
        self.times.detect += started.elapsed();
        self.times.detections += 1;
        match found {
            Ok(face) => Ok(Some(face.landmarks)),
            Err(FaceError::NoFace | FaceError::TooSmall(_) | FaceError::NotAFace(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The whole fit until the identity is known, then camera and expressions only.
    fn fit(&mut self, landmarks: &[[f64; 2]]) -> anyhow::Result<Fit> {
        if let Some(identity) = &self.identity {
            return Ok(fit_expressions(
                self.rig,
                landmarks,
                identity,
                self.previous.as_ref(),
                ITERATIONS,
            )?);
        }
        let whole = fit(self.rig, landmarks)?;
        if let Identity::Coefficients(c) = &whole.params.identity {
            self.identity_samples.push(c.clone());
        }
        if self.identity_samples.len() >= self.settings.identity_frames.max(1) {
            let n = self.identity_samples.len() as f32;
            let count = self.identity_samples[0].len();
            let mean = (0..count)
                .map(|k| self.identity_samples.iter().map(|c| c[k]).sum::<f32>() / n)
                .collect::<Vec<_>>();
            self.identity = Some(mean);
        }
        Ok(whole)
    }

    /// Weights relative to the neutral: what the neutral already shows counts as 0, and the
    /// rest of the range is stretched back to [0, 1].
    fn relative(&self, weights: &BTreeMap<String, f32>) -> BTreeMap<String, f32> {
        let Some(neutral) = &self.neutral else {
            return weights.clone();
        };
        weights
            .iter()
            .map(|(name, &w)| {
                let n = neutral.get(name).copied().unwrap_or(0.0).min(0.95);
                (name.clone(), ((w - n) / (1.0 - n)).clamp(0.0, 1.0))
            })
            .collect()
    }

    /// Every expression the rig has and the pose, through the One Euro filters.
    fn smoothed(&mut self, weights: BTreeMap<String, f32>, pose: HeadPose) -> Tracked {
        let dt = self.dt;
        let mut params = RigParams::default();
        for name in &self.rig.expression_names {
            let raw = f64::from(weights.get(name).copied().unwrap_or(0.0));
            let value = self.smoother.filter(name, raw, dt).clamp(0.0, 1.0) as f32;
            if value > 1e-3 {
                params.expression.insert(name.clone(), value);
            }
        }
        let pose = HeadPose {
            yaw: self.smoother.filter("head yaw", pose.yaw, dt),
            pitch: self.smoother.filter("head pitch", pose.pitch, dt),
            roll: self.smoother.filter("head roll", pose.roll, dt),
        };
        Tracked {
            params,
            pose,
            found: true,
        }
    }
}
