//! The 468-point face landmark model (`face_landmark.onnx`) on MediaPipe's region of
//! interest: a square 1.5× the detection box, turned so that the eyes are level, cropped to
//! 192² with edge-replicating bilinear sampling; the outputs projected back to the image.

use tract_onnx::prelude::*;

use super::FaceError;
use super::detector::Detection;
use super::sampling::{Border, bilinear};

const INPUT: usize = 192;
pub const COUNT: usize = 468;
const ROI_SCALE: f32 = 1.5;

/// A rotated square in image pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Roi {
    pub centre: [f32; 2],
    pub side: f32,
    /// Radians, image axes (y down).
    pub rotation: f32,
}

impl Roi {
    /// From a detection: centre of the box, side 1.5 × its long side, rotation that levels the
    /// line from the right eye (keypoint 0) to the left eye (keypoint 1).
    pub fn from_detection(d: &Detection) -> Self {
        let ([x0, y0], [x1, y1]) = (d.keypoints[0], d.keypoints[1]);
        let rotation = normalise_angle(-(-(y1 - y0)).atan2(x1 - x0));
        let [bx0, by0, bx1, by1] = d.bounds;
        Self {
            centre: [(bx0 + bx1) / 2.0, (by0 + by1) / 2.0],
            side: ROI_SCALE * d.width().max(d.height()),
            rotation,
        }
    }

    /// From the last frame's landmarks, as MediaPipe tracks a face through a video: the
    /// centre of their bounding box, side 1.5 × its long side, eyes (33, 263) level.
    pub fn from_landmarks(points: &[[f32; 3]]) -> Self {
        let (mut min, mut max) = ([f32::MAX; 2], [f32::MIN; 2]);
        for p in points {
            for a in 0..2 {
                min[a] = min[a].min(p[a]);
                max[a] = max[a].max(p[a]);
            }
        }
        let ([x0, y0], [x1, y1]) = (
            [points[33][0], points[33][1]],
            [points[263][0], points[263][1]],
        );
        Self {
            centre: [(min[0] + max[0]) / 2.0, (min[1] + max[1]) / 2.0],
            side: ROI_SCALE * (max[0] - min[0]).max(max[1] - min[1]),
            rotation: normalise_angle((y1 - y0).atan2(x1 - x0)),
        }
    }

    /// The image point of normalised crop coordinates (u, v) ∈ [−½, ½]².
    pub fn to_image(&self, u: f32, v: f32) -> [f32; 2] {
        let (sin, cos) = self.rotation.sin_cos();
        let (a, b) = (self.side * u, self.side * v);
        [
            self.centre[0] + cos * a - sin * b,
            self.centre[1] + sin * a + cos * b,
        ]
    }
}

fn normalise_angle(angle: f32) -> f32 {
    let tau = std::f32::consts::TAU;
    angle - tau * ((angle + std::f32::consts::PI) / tau).floor()
}

/// Landmarks in image pixels (z on the same scale, negative toward the camera) and the
/// model's face-presence probability.
#[derive(Debug, Clone)]
pub struct Landmarks {
    pub points: Vec<[f32; 3]>,
    pub presence: f32,
    pub roi: Roi,
}

pub struct Landmarker {
    model: Arc<TypedRunnableModel>,
}

impl Landmarker {
    pub fn new(onnx: &[u8]) -> Result<Self, FaceError> {
        Ok(Self {
            model: super::load_model(onnx, "face landmark model")?,
        })
    }

    pub fn run(&self, image: &image::RgbImage, roi: Roi) -> Result<Landmarks, FaceError> {
        let input = tract_ndarray::Array4::from_shape_fn((1, 3, INPUT, INPUT), |(_, c, v, u)| {
            let [x, y] = roi.to_image(u as f32 / INPUT as f32 - 0.5, v as f32 / INPUT as f32 - 0.5);
            bilinear(image, x, y, Border::Replicate)[c] / 255.0
        });
        let outputs = super::run_model(&self.model, input, "face landmark model")?;
        let (raw, flag) = (&outputs[0], &outputs[1]);
        if raw.len() != COUNT * 3 || flag.is_empty() {
            return Err(FaceError::Model(
                "the landmark model's outputs have the wrong size".into(),
            ));
        }
        let scale = INPUT as f32;
        let points = raw
            .chunks_exact(3)
            .map(|p| {
                let [x, y] = roi.to_image(p[0] / scale - 0.5, p[1] / scale - 0.5);
                [x, y, p[2] / scale * roi.side]
            })
            .collect();
        Ok(Landmarks {
            points,
            presence: 1.0 / (1.0 + (-flag[0]).exp()),
            roi,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roi_levels_the_eyes_and_maps_its_corners() {
        let detection = Detection {
            bounds: [10.0, 20.0, 50.0, 60.0],
            // The left eye lower than the right one in the image: the head leans clockwise.
            keypoints: [
                [20.0, 30.0],
                [40.0, 40.0],
                [0.0; 2],
                [0.0; 2],
                [0.0; 2],
                [0.0; 2],
            ],
            score: 1.0,
        };
        let roi = Roi::from_detection(&detection);
        assert_eq!(roi.centre, [30.0, 40.0]);
        assert_eq!(roi.side, 60.0);
        assert!((roi.rotation - 0.5f32.atan()).abs() < 1e-6);
        // The crop's x axis runs along the eye line.
        let [x0, y0] = roi.to_image(0.0, 0.0);
        let [x1, y1] = roi.to_image(0.5, 0.0);
        assert!(((y1 - y0) / (x1 - x0) - 0.5).abs() < 1e-5);
        assert!((normalise_angle(3.5) - (3.5 - std::f32::consts::TAU)).abs() < 1e-6);
    }
}
