//! Faces in portraits: MediaPipe's BlazeFace detector and 468-point landmark model (ONNX,
//! Apache-2.0, embedded from assets/) run on the CPU with tract, with MediaPipe's pre- and
//! post-processing (assets README, §3).

pub mod detector;
pub mod landmarks;
pub mod portrait;
pub mod sampling;
pub mod search;

use tract_onnx::prelude::*;

pub use detector::{Detection, Detector, Range};
pub use landmarks::{Landmarker, Landmarks, Roi};
pub use search::FaceChoice;

const SHORT_RANGE_ONNX: &[u8] = include_bytes!("../../../assets/face_detection_short_range.onnx");
const FULL_RANGE_ONNX: &[u8] = include_bytes!("../../../assets/face_detection_full_range.onnx");
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
    #[error("there is no face {asked}: {found} found (they are numbered from 1, largest first)")]
    NoSuchFace { asked: usize, found: usize },
    #[error("{0}")]
    Model(String),
}

/// A portrait's face: the detection it came from, its 468 landmarks, and how many faces the
/// detectors found.
#[derive(Debug, Clone)]
pub struct Face {
    pub detection: Detection,
    pub landmarks: Landmarks,
    pub faces_found: usize,
}

pub struct FaceModels {
    short_range: Detector,
    full_range: Detector,
    landmarker: Landmarker,
}

impl FaceModels {
    /// The embedded models.
    pub fn embedded() -> Result<Self, FaceError> {
        Ok(Self {
            short_range: Detector::new(SHORT_RANGE_ONNX, Range::Short)?,
            full_range: Detector::new(FULL_RANGE_ONNX, Range::Full)?,
            landmarker: Landmarker::new(LANDMARK_ONNX)?,
        })
    }

    /// The embedded models, loaded once per process (each load optimises three networks).
    pub fn shared() -> Result<&'static Self, FaceError> {
        static MODELS: std::sync::OnceLock<FaceModels> = std::sync::OnceLock::new();
        if let Some(models) = MODELS.get() {
            return Ok(models);
        }
        let models = Self::embedded()?;
        Ok(MODELS.get_or_init(|| models))
    }

    /// One of the two detectors.
    pub fn detector(&self, range: Range) -> &Detector {
        match range {
            Range::Short => &self.short_range,
            Range::Full => &self.full_range,
        }
    }

    /// Every face, near or far, largest first.
    pub fn detect(&self, image: &image::RgbImage) -> Result<Vec<Detection>, FaceError> {
        search::all_faces(image, &self.short_range, &self.full_range)
    }

    /// The largest face and its landmarks.
    pub fn find_face(&self, image: &image::RgbImage) -> Result<Face, FaceError> {
        self.choose_face(image, FaceChoice::Largest)
    }

    /// The chosen face and its landmarks.
    pub fn choose_face(
        &self,
        image: &image::RgbImage,
        choice: FaceChoice,
    ) -> Result<Face, FaceError> {
        let faces = self.detect(image)?;
        let detection = match choice {
            FaceChoice::Largest => faces.first().cloned().ok_or(FaceError::NoFace)?,
            FaceChoice::Index(i) => faces.get(i).cloned().ok_or(FaceError::NoSuchFace {
                asked: i + 1,
                found: faces.len(),
            })?,
            FaceChoice::Drawn(bounds) => {
                search::drawn_face(image, [&self.short_range, &self.full_range], bounds)?
            }
        };
        self.landmarks_of(image, detection, faces.len())
    }

    /// The landmarks in a given crop (a video's next frame, in the last frame's crop).
    pub fn landmarks_in(&self, image: &image::RgbImage, roi: Roi) -> Result<Landmarks, FaceError> {
        self.landmarker.run(image, roi)
    }

    /// The face in a drawn box taken as an upright face, without asking the detectors (what
    /// a drawn box comes to where they see nothing).
    pub fn landmarks_in_box(
        &self,
        image: &image::RgbImage,
        bounds: [f32; 4],
    ) -> Result<Face, FaceError> {
        self.landmarks_of(image, search::upright_in_box(image, bounds)?, 0)
    }

    fn landmarks_of(
        &self,
        image: &image::RgbImage,
        detection: Detection,
        faces_found: usize,
    ) -> Result<Face, FaceError> {
        if detection.width().max(detection.height()) < MIN_FACE_PIXELS {
            return Err(FaceError::TooSmall(detection.width()));
        }
        let landmarks = self
            .landmarker
            .run(image, Roi::from_detection(&detection))?;
        if landmarks.presence < MIN_PRESENCE {
            return Err(FaceError::NotAFace(landmarks.presence));
        }
        Ok(Face {
            detection,
            landmarks,
            faces_found,
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
