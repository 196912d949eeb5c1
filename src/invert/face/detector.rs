//! BlazeFace, short range (`face_detection_short_range.onnx`, faces that fill much of the
//! frame) and full range (`face_detection_full_range.onnx`, small and distant faces), with
//! MediaPipe's pre- and post-processing: letterbox to the model's square input with
//! corner-to-corner bilinear sampling and black padding, SSD anchors, box and keypoint
//! decoding, weighted non-maximum suppression.

use tract_onnx::prelude::*;

use super::FaceError;
use super::sampling::{Border, bilinear};

const NMS_IOU: f32 = 0.3;

/// Which of the two BlazeFace models (assets README §3 and §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// 128² input, 896 anchors: faces within about 2 m, filling much of the frame.
    Short,
    /// 192² input, 2304 anchors: faces up to about 5 m, small in the frame.
    Full,
}

impl Range {
    fn input(self) -> usize {
        match self {
            Range::Short => 128,
            Range::Full => 192,
        }
    }

    /// MediaPipe's `min_score_thresh` for each graph.
    fn min_score(self) -> f32 {
        match self {
            Range::Short => 0.5,
            Range::Full => 0.6,
        }
    }

    /// (grid side, anchors per cell) of each SSD layer.
    fn layers(self) -> &'static [(usize, usize)] {
        match self {
            // Stride 8 with two anchors, then stride 16 with three layers of two.
            Range::Short => &[(16, 2), (8, 6)],
            // One layer at stride 4.
            Range::Full => &[(48, 1)],
        }
    }
}

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

    pub fn area(&self) -> f32 {
        self.width().max(0.0) * self.height().max(0.0)
    }

    pub fn centre(&self) -> [f32; 2] {
        let [x0, y0, x1, y1] = self.bounds;
        [(x0 + x1) / 2.0, (y0 + y1) / 2.0]
    }

    /// Whether `point` lies inside the box.
    pub fn contains(&self, [x, y]: [f32; 2]) -> bool {
        let [x0, y0, x1, y1] = self.bounds;
        (x0..=x1).contains(&x) && (y0..=y1).contains(&y)
    }

    /// The same face `offset` pixels further right and down.
    pub fn shifted(&self, [dx, dy]: [f32; 2]) -> Self {
        let [x0, y0, x1, y1] = self.bounds;
        Self {
            bounds: [x0 + dx, y0 + dy, x1 + dx, y1 + dy],
            keypoints: self.keypoints.map(|[x, y]| [x + dx, y + dy]),
            score: self.score,
        }
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
    range: Range,
    anchors: Vec<[f32; 2]>,
}

impl Detector {
    pub fn new(onnx: &[u8], range: Range) -> Result<Self, FaceError> {
        Ok(Self {
            model: super::load_model(onnx, "face detector")?,
            range,
            anchors: anchors(range),
        })
    }

    /// Every face found, best first.
    pub fn detect(&self, image: &image::RgbImage) -> Result<Vec<Detection>, FaceError> {
        Ok(weighted_nms(self.candidates(image)?))
    }

    /// Every anchor's face that passes the score threshold, before overlapping ones are
    /// merged.
    pub fn candidates(&self, image: &image::RgbImage) -> Result<Vec<Detection>, FaceError> {
        let side = self.range.input();
        let letterbox = Letterbox::new(image.width(), image.height(), side);
        let input = tract_ndarray::Array4::from_shape_fn((1, 3, side, side), |(_, c, v, u)| {
            let (x, y) = letterbox.source(u as f32, v as f32);
            bilinear(image, x, y, Border::Zero)[c] / 127.5 - 1.0
        });
        let outputs = super::run_model(&self.model, input, "face detector")?;
        // The two outputs told apart by size (the converted models name them differently).
        let count = self.anchors.len();
        let sized = |n: usize| outputs.iter().find(|o| o.len() == n);
        let (Some(regressors), Some(logits)) = (sized(count * 16), sized(count)) else {
            return Err(FaceError::Model(format!(
                "face detector: outputs of {:?} values, expected {} and {count}",
                outputs.iter().map(Vec::len).collect::<Vec<_>>(),
                count * 16
            )));
        };
        let mut found = Vec::new();
        for (i, anchor) in self.anchors.iter().enumerate() {
            let score = sigmoid(logits[i].clamp(-100.0, 100.0));
            if score < self.range.min_score() {
                continue;
            }
            let r = &regressors[i * 16..(i + 1) * 16];
            let scale = side as f32;
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
        Ok(found)
    }
}

/// MediaPipe's letterbox: the long side scaled to the input's side, centred; tensor pixel
/// (u, v) samples source pixel `((u − pad_x)·k, (v − pad_y)·k)`, without half-pixel offsets.
struct Letterbox {
    side: f32,
    k: f32,
    pad_x: f32,
    pad_y: f32,
}

impl Letterbox {
    fn new(width: u32, height: u32, side: usize) -> Self {
        let side = side as f32;
        let k = width.max(height) as f32 / side;
        Self {
            side,
            k,
            pad_x: (side - width as f32 / k) / 2.0,
            pad_y: (side - height as f32 / k) / 2.0,
        }
    }

    fn source(&self, u: f32, v: f32) -> (f32, f32) {
        ((u - self.pad_x) * self.k, (v - self.pad_y) * self.k)
    }

    /// A point normalised to the input, in image pixels.
    fn to_image(&self, x: f32, y: f32) -> (f32, f32) {
        (
            (x * self.side - self.pad_x) * self.k,
            (y * self.side - self.pad_y) * self.k,
        )
    }
}

/// The anchors of each layer, centres at cell centres, ordered layer, row, column, anchor
/// (short range: 512 on the 16² grid, then 384 on the 8² grid; full range: 2304 on 48²).
pub fn anchors(range: Range) -> Vec<[f32; 2]> {
    let mut anchors = Vec::new();
    for &(grid, per_cell) in range.layers() {
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
        let a = anchors(Range::Short);
        assert_eq!(a.len(), 896);
        assert_eq!(a[0], [1.0 / 32.0, 1.0 / 32.0]);
        assert_eq!(a[1], a[0]);
        assert_eq!(a[2], [3.0 / 32.0, 1.0 / 32.0]);
        assert_eq!(a[512], [1.0 / 16.0, 1.0 / 16.0]);
        assert_eq!(a[895], [15.0 / 16.0, 15.0 / 16.0]);
        let a = anchors(Range::Full);
        assert_eq!(a.len(), 2304);
        assert_eq!(a[1], [3.0 / 96.0, 1.0 / 96.0]);
        assert_eq!(a[48], [1.0 / 96.0, 3.0 / 96.0]);
        assert_eq!(a[2303], [95.0 / 96.0, 95.0 / 96.0]);
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
