//! Faces in portraits: MediaPipe's BlazeFace detector and 468-point landmark model (ONNX,
//! Apache-2.0, embedded from assets/) run on the CPU with tract, with MediaPipe's pre- and
//! post-processing (assets README, §3).

pub mod detector;
pub mod landmarks;
pub mod portrait;
pub mod sampling;

use tract_onnx::prelude::*;

pub use detector::{Detection, Detector};
pub use landmarks::{Landmarker, Landmarks, Roi};

const DETECTOR_ONNX: &[u8] = include_bytes!("../../../assets/face_detection_short_range.onnx");
const LANDMARK_ONNX: &[u8] = include_bytes!("../../../assets/face_landmark.onnx");

/// Faces narrower than this (pixels) carry too little detail to fit.
pub const MIN_FACE_PIXELS: f32 = 48.0;
/// MediaPipe keeps landmarks whose presence probability reaches this.
const MIN_PRESENCE: f32 = 0.5;

#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    #[error(
        "no face found in the portrait; use a photo in which one face looks roughly toward the camera"
    )]
    NoFace,
    #[error(
        "the face is only {0:.0} px wide; use a portrait in which it is at least {MIN_FACE_PIXELS:.0} px wide (ideally 200 px or more)"
    )]
    TooSmall(f32),
    #[error(
        "the landmark model does not see a face in the detected region (confidence {0:.2}); use a clearer, frontal portrait"
    )]
    NotAFace(f32),
    #[error("{0}")]
    Model(String),
}

/// A portrait's face: the detection it came from, its 468 landmarks, and how many faces the
/// detector found (the largest is used).
#[derive(Debug, Clone)]
pub struct Face {
    pub detection: Detection,
    pub landmarks: Landmarks,
    pub faces_found: usize,
}

pub struct FaceModels {
    detector: Detector,
    landmarker: Landmarker,
}

impl FaceModels {
    /// The embedded models.
    pub fn embedded() -> Result<Self, FaceError> {
        Ok(Self {
            detector: Detector::new(DETECTOR_ONNX)?,
            landmarker: Landmarker::new(LANDMARK_ONNX)?,
        })
    }

    pub fn detect(&self, image: &image::RgbImage) -> Result<Vec<Detection>, FaceError> {
        self.detector.detect(image)
    }

    /// The largest face and its landmarks.
    pub fn find_face(&self, image: &image::RgbImage) -> Result<Face, FaceError> {
        let detections = self.detector.detect(image)?;
        let largest = detections
            .iter()
            .max_by(|a, b| (a.width() * a.height()).total_cmp(&(b.width() * b.height())))
            .ok_or(FaceError::NoFace)?
            .clone();
        if largest.width().max(largest.height()) < MIN_FACE_PIXELS {
            return Err(FaceError::TooSmall(largest.width()));
        }
        let landmarks = self.landmarker.run(image, Roi::from_detection(&largest))?;
        if landmarks.presence < MIN_PRESENCE {
            return Err(FaceError::NotAFace(landmarks.presence));
        }
        Ok(Face {
            detection: largest,
            landmarks,
            faces_found: detections.len(),
        })
    }
}

fn load_model(onnx: &[u8], what: &str) -> Result<Arc<TypedRunnableModel>, FaceError> {
    tract_onnx::onnx()
        .model_for_read(&mut std::io::Cursor::new(onnx))
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .map_err(|e| FaceError::Model(format!("the embedded {what} does not load: {e}")))
}

/// Runs `model` (both have two outputs) on one NCHW input and returns the outputs' values.
fn run_model(
    model: &Arc<TypedRunnableModel>,
    input: tract_ndarray::Array4<f32>,
    what: &str,
) -> Result<Vec<Vec<f32>>, FaceError> {
    let failed = |e: TractError| FaceError::Model(format!("{what}: {e}"));
    let outputs = model
        .run(tvec!(Tensor::from(input).into()))
        .map_err(failed)?;
    if outputs.len() != 2 {
        return Err(FaceError::Model(format!(
            "{what}: {} outputs, expected 2",
            outputs.len()
        )));
    }
    outputs
        .iter()
        .map(|o| {
            o.to_plain_array_view::<f32>()
                .map(|v| v.iter().copied().collect())
                .map_err(failed)
        })
        .collect()
}
