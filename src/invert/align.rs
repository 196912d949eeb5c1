//! FFHQ-style alignment of a portrait from its eye and mouth landmarks, the rule of the FFHQ
//! dataset's `recreate_aligned_images` (which EG3D's and so Next3D's crops follow in spirit):
//!
//! * e = midpoint of the two eye centres (mean of each eye's contour), d = right-hand eye
//!   minus left-hand eye (in image order), m = midpoint of the mouth corners, v = m − e;
//! * x = d − (−v_y, v_x) rotated so that it points along the eyes while leaning against the
//!   eye-to-mouth direction, normalised and scaled by max(2|d|, 1.8|v|); y = x turned 90°;
//! * the crop is the square with centre e + 0.1·v and half-axes x and y, resampled to the
//!   output size (shrunk first with a triangle filter when it is more than twice as large).
//!
//! Unlike FFHQ, pixels outside the portrait repeat its edge instead of a blurred reflection.

use super::face::landmarks::COUNT;

/// MediaPipe contours of the eye on the image's left (the subject's right) and right.
const IMAGE_LEFT_EYE: [usize; 16] = [
    33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246,
];
const IMAGE_RIGHT_EYE: [usize; 16] = [
    263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466,
];
/// Mouth corners on the image's left and right.
const MOUTH_CORNERS: [usize; 2] = [61, 291];

/// The crop square in portrait pixels: centre and the two half-axes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crop {
    pub centre: [f64; 2],
    /// Half-axis along the output's x (to the right).
    pub x: [f64; 2],
    /// Half-axis along the output's y (down).
    pub y: [f64; 2],
}

impl Crop {
    /// FFHQ's square from 468 landmarks (image pixels).
    pub fn from_landmarks(points: &[[f32; 3]]) -> Self {
        assert_eq!(points.len(), COUNT, "MediaPipe's 468 landmarks");
        let mean = |indices: &[usize]| -> [f64; 2] {
            let n = indices.len() as f64;
            let sum = indices.iter().fold([0.0, 0.0], |s, &i| {
                [s[0] + points[i][0] as f64, s[1] + points[i][1] as f64]
            });
            [sum[0] / n, sum[1] / n]
        };
        let (left, right) = (mean(&IMAGE_LEFT_EYE), mean(&IMAGE_RIGHT_EYE));
        let eyes = [(left[0] + right[0]) / 2.0, (left[1] + right[1]) / 2.0];
        let eye_to_eye = [right[0] - left[0], right[1] - left[1]];
        let mouth = mean(&MOUTH_CORNERS);
        let eye_to_mouth = [mouth[0] - eyes[0], mouth[1] - eyes[1]];
        // x = eye_to_eye − flipud(eye_to_mouth)·(−1, 1)
        let x = [
            eye_to_eye[0] + eye_to_mouth[1],
            eye_to_eye[1] - eye_to_mouth[0],
        ];
        let length = x[0].hypot(x[1]);
        let scale = (eye_to_eye[0].hypot(eye_to_eye[1]) * 2.0)
            .max(eye_to_mouth[0].hypot(eye_to_mouth[1]) * 1.8);
        let x = [x[0] / length * scale, x[1] / length * scale];
        // y = flipud(x)·(−1, 1)
        let y = [-x[1], x[0]];
        Self {
            centre: [
                eyes[0] + 0.1 * eye_to_mouth[0],
                eyes[1] + 0.1 * eye_to_mouth[1],
            ],
            x,
            y,
        }
    }

    /// The side of the square in portrait pixels.
    pub fn side(&self) -> f64 {
        2.0 * self.x[0].hypot(self.x[1])
    }

    /// Output pixel coordinates (centres at +½) of a `size`² crop → portrait pixels.
    pub fn to_portrait(&self, size: u32, u: f64, v: f64) -> [f64; 2] {
        let (a, b) = (2.0 * u / size as f64 - 1.0, 2.0 * v / size as f64 - 1.0);
        [
            self.centre[0] + a * self.x[0] + b * self.y[0],
            self.centre[1] + a * self.x[1] + b * self.y[1],
        ]
    }

    /// Portrait pixels → output pixel coordinates of a `size`² crop.
    pub fn to_output(&self, size: u32, p: [f64; 2]) -> [f64; 2] {
        let d = [p[0] - self.centre[0], p[1] - self.centre[1]];
        let norm = self.x[0] * self.x[0] + self.x[1] * self.x[1];
        // x and y are orthogonal and of equal length.
        let a = (d[0] * self.x[0] + d[1] * self.x[1]) / norm;
        let b = (d[0] * self.y[0] + d[1] * self.y[1]) / norm;
        let half = size as f64 / 2.0;
        [(a + 1.0) * half, (b + 1.0) * half]
    }
}

/// The aligned portrait and where its landmarks land in it.
#[derive(Debug, Clone)]
pub struct Aligned {
    pub image: image::RgbImage,
    pub crop: Crop,
    pub landmarks: Vec<[f32; 2]>,
}

/// Crops and resamples `portrait` to `size`².
pub fn align(portrait: &image::RgbImage, points: &[[f32; 3]], size: u32) -> Aligned {
    let crop = Crop::from_landmarks(points);
    // Shrink first when the square is more than twice the output, as FFHQ does.
    let shrink = (crop.side() / size as f64 * 0.5).floor().max(1.0);
    let (source, scale) = if shrink > 1.0 {
        let (w, h) = portrait.dimensions();
        let (sw, sh) = (
            (w as f64 / shrink).round() as u32,
            (h as f64 / shrink).round() as u32,
        );
        let small = image::imageops::resize(
            portrait,
            sw.max(1),
            sh.max(1),
            image::imageops::FilterType::Triangle,
        );
        (std::borrow::Cow::Owned(small), w as f64 / sw.max(1) as f64)
    } else {
        (std::borrow::Cow::Borrowed(portrait), 1.0)
    };
    let image = image::RgbImage::from_fn(size, size, |u, v| {
        let [x, y] = crop.to_portrait(size, u as f64 + 0.5, v as f64 + 0.5);
        // Pixel centres of the (shrunk) source sit on integers.
        let (sx, sy) = ((x / scale - 0.5) as f32, (y / scale - 0.5) as f32);
        let rgb = super::face::sampling::bilinear(
            &source,
            sx,
            sy,
            super::face::sampling::Border::Replicate,
        );
        image::Rgb(rgb.map(|c| c.round().clamp(0.0, 255.0) as u8))
    });
    let landmarks = points
        .iter()
        .map(|p| {
            // Landmark coordinates are pixel-index coordinates; centres are at +½ in `to_output`.
            let [u, v] = crop.to_output(size, [p[0] as f64 + 0.5, p[1] as f64 + 0.5]);
            [(u - 0.5) as f32, (v - 0.5) as f32]
        })
        .collect();
    Aligned {
        image,
        crop,
        landmarks,
    }
}
