//! BlazeFace short range (`face_detection_short_range.onnx`) with MediaPipe's pre- and
//! post-processing: letterbox to 128² with corner-to-corner bilinear sampling and black
//! padding, 896 SSD anchors, box and keypoint decoding, weighted non-maximum suppression.

use tract_onnx::prelude::*;

use super::FaceError;
use super::sampling::{Border, bilinear};

const INPUT: usize = 128;
const MIN_SCORE: f32 = 0.5;
const NMS_IOU: f32 = 0.3;

/// One face in image pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// `[x0, y0, x1, y1]`.
    pub bounds: [f32; 4],
    /// Right eye, left eye, nose tip, mouth centre, right and left ear tragion (the subject's
    /// sides).
    pub keypoints: [[f32; 2]; 6],
    pub score: f32,
}

impl Detection {
    pub fn width(&self) -> f32 {
        self.bounds[2] - self.bounds[0]
    }

    pub fn height(&self) -> f32 {
        self.bounds[3] - self.bounds[1]
    }

    fn area(&self) -> f32 {
        self.width().max(0.0) * self.height().max(0.0)
    }

    fn iou(&self, other: &Detection) -> f32 {
        let [a0, a1, a2, a3] = self.bounds;
        let [b0, b1, b2, b3] = other.bounds;
        let overlap = (a2.min(b2) - a0.max(b0)).max(0.0) * (a3.min(b3) - a1.max(b1)).max(0.0);
        let union = self.area() + other.area() - overlap;
        if union > 0.0 { overlap / union } else { 0.0 }
    }
}

pub struct Detector {
    model: Arc<TypedRunnableModel>,
    anchors: Vec<[f32; 2]>,
}

impl Detector {
    pub fn new(onnx: &[u8]) -> Result<Self, FaceError> {
        Ok(Self {
            model: super::load_model(onnx, "face detector")?,
            anchors: anchors(),
        })
    }

    /// Every face found, best first.
    pub fn detect(&self, image: &image::RgbImage) -> Result<Vec<Detection>, FaceError> {
        let letterbox = Letterbox::new(image.width(), image.height());
        let input = tract_ndarray::Array4::from_shape_fn((1, 3, INPUT, INPUT), |(_, c, v, u)| {
            let (x, y) = letterbox.source(u as f32, v as f32);
            bilinear(image, x, y, Border::Zero)[c] / 127.5 - 1.0
        });
        let outputs = super::run_model(&self.model, input, "face detector")?;
        let (regressors, logits) = (&outputs[0], &outputs[1]);
        let mut found = Vec::new();
        for (i, anchor) in self.anchors.iter().enumerate() {
            let score = sigmoid(logits[i].clamp(-100.0, 100.0));
            if score < MIN_SCORE {
                continue;
            }
            let r = &regressors[i * 16..(i + 1) * 16];
            let scale = INPUT as f32;
            let (cx, cy) = (r[0] / scale + anchor[0], r[1] / scale + anchor[1]);
            let (w, h) = (r[2] / scale, r[3] / scale);
            let corner = |x: f32, y: f32| letterbox.to_image(x, y);
            let (x0, y0) = corner(cx - w / 2.0, cy - h / 2.0);
            let (x1, y1) = corner(cx + w / 2.0, cy + h / 2.0);
            let keypoints = std::array::from_fn(|k| {
                let (x, y) = corner(
                    r[4 + 2 * k] / scale + anchor[0],
                    r[5 + 2 * k] / scale + anchor[1],
                );
                [x, y]
            });
            found.push(Detection {
                bounds: [x0, y0, x1, y1],
                keypoints,
                score,
            });
        }
        Ok(weighted_nms(found))
    }
}

/// MediaPipe's letterbox: the long side scaled to 128, centred; tensor pixel (u, v) samples
/// source pixel `((u − pad_x)·k, (v − pad_y)·k)`, without half-pixel offsets.
struct Letterbox {
    k: f32,
    pad_x: f32,
    pad_y: f32,
}

impl Letterbox {
    fn new(width: u32, height: u32) -> Self {
        let k = width.max(height) as f32 / INPUT as f32;
        Self {
            k,
            pad_x: (INPUT as f32 - width as f32 / k) / 2.0,
            pad_y: (INPUT as f32 - height as f32 / k) / 2.0,
        }
    }

    fn source(&self, u: f32, v: f32) -> (f32, f32) {
        ((u - self.pad_x) * self.k, (v - self.pad_y) * self.k)
    }

    /// A point normalised to the 128 input, in image pixels.
    fn to_image(&self, x: f32, y: f32) -> (f32, f32) {
        let scale = INPUT as f32;
        (
            (x * scale - self.pad_x) * self.k,
            (y * scale - self.pad_y) * self.k,
        )
    }
}

/// 512 anchors on the 16² grid (stride 8, two per cell), then 384 on the 8² grid (stride 16,
/// three layers of two), centres at cell centres, ordered row, column, anchor.
pub fn anchors() -> Vec<[f32; 2]> {
    let mut anchors = Vec::with_capacity(896);
    for (grid, per_cell) in [(16usize, 2usize), (8, 6)] {
        for y in 0..grid {
            for x in 0..grid {
                let centre = [
                    (x as f32 + 0.5) / grid as f32,
                    (y as f32 + 0.5) / grid as f32,
                ];
                anchors.extend(std::iter::repeat_n(centre, per_cell));
            }
        }
    }
    anchors
}

/// Groups detections overlapping the best remaining one by IoU > 0.3 and replaces each group
/// by its score-weighted mean (keeping the top score).
fn weighted_nms(mut remaining: Vec<Detection>) -> Vec<Detection> {
    remaining.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept = Vec::new();
    while let Some(top) = remaining.first().cloned() {
        let (group, rest): (Vec<Detection>, Vec<Detection>) = remaining
            .into_iter()
            .partition(|d| top.iou(d) > NMS_IOU || *d == top);
        remaining = rest;
        let total: f32 = group.iter().map(|d| d.score).sum();
        let mean = |f: &dyn Fn(&Detection) -> f32| {
            group.iter().map(|d| f(d) * d.score).sum::<f32>() / total
        };
        kept.push(Detection {
            bounds: std::array::from_fn(|i| mean(&|d| d.bounds[i])),
            keypoints: std::array::from_fn(|k| {
                std::array::from_fn(|i| mean(&|d| d.keypoints[k][i]))
            }),
            score: top.score,
        });
    }
    kept
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_the_ssd_layout() {
        let a = anchors();
        assert_eq!(a.len(), 896);
        assert_eq!(a[0], [1.0 / 32.0, 1.0 / 32.0]);
        assert_eq!(a[1], a[0]);
        assert_eq!(a[2], [3.0 / 32.0, 1.0 / 32.0]);
        assert_eq!(a[512], [1.0 / 16.0, 1.0 / 16.0]);
        assert_eq!(a[895], [15.0 / 16.0, 15.0 / 16.0]);
    }

    #[test]
    fn weighted_nms_merges_overlaps_and_keeps_separate_faces() {
        let face = |x: f32, score: f32| Detection {
            bounds: [x, 0.0, x + 10.0, 10.0],
            keypoints: [[x, 0.0]; 6],
            score,
        };
        let kept = weighted_nms(vec![face(0.0, 0.6), face(1.0, 0.9), face(50.0, 0.7)]);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].score, 0.9);
        assert!((kept[0].bounds[0] - 0.9 / 1.5).abs() < 1e-6);
        assert_eq!(kept[1].bounds[0], 50.0);
    }
}
