//! Finding every face in a photo as people take them: the short-range detector over the
//! whole frame (portraits, selfies), the full-range one for faces small in the frame
//! (half-body and group photos), each small face detected again by the short-range model on
//! a crop where it fills a third of the width (its keypoints are the landmark crop's
//! rotation), and a box the person drew when neither finds the face.

use super::detector::{Detection, Detector};
use super::sampling::{Border, bilinear};
use super::{FaceError, MIN_FACE_PIXELS};

/// A face found by the full-range model is detected again on a square crop this many times
/// its width: about the share of the frame that faces have in the portraits the short-range
/// model is made for.
const REDETECT_FRAME: f32 = 3.0;
/// A drawn box is searched on a crop this many times its long side.
const DRAWN_FRAME: f32 = 2.0;
/// The detector's box is about this share of a face box drawn from forehead to chin (the
/// astronaut: 95 px against 130 px).
const DETECTION_PER_DRAWN: f32 = 0.75;

/// Which face of a photo to use.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum FaceChoice {
    /// The largest face found.
    #[default]
    Largest,
    /// The face at this place in `FaceModels::detect`'s list (largest first, from 0).
    Index(usize),
    /// The face inside this box `[x0, y0, x1, y1]` (image pixels), drawn by the person.
    Drawn([f32; 4]),
}

/// Every face in `image`, largest first.
pub fn all_faces(
    image: &image::RgbImage,
    short_range: &Detector,
    full_range: &Detector,
) -> Result<Vec<Detection>, FaceError> {
    let mut faces = short_range.detect(image)?;
    for far in full_range.detect(image)? {
        let seen = faces
            .iter()
            .any(|f| f.contains(far.centre()) || far.contains(f.centre()));
        if !seen {
            let side = REDETECT_FRAME * far.width().max(far.height());
            faces.push(detect_near(image, short_range, far.centre(), side)?.unwrap_or(far));
        }
    }
    faces.sort_by(|a, b| b.area().total_cmp(&a.area()));
    Ok(faces)
}

/// The face inside a drawn box: found by the detectors on a crop around it, else the box
/// itself taken as an upright face.
pub fn drawn_face(
    image: &image::RgbImage,
    detectors: [&Detector; 2],
    bounds: [f32; 4],
) -> Result<Detection, FaceError> {
    let drawn = drawn_box(image, bounds)?;
    let side = DRAWN_FRAME * drawn.width().max(drawn.height());
    for detector in detectors {
        if let Some(found) = detect_near(image, detector, drawn.centre(), side)?
            && drawn.contains(found.centre())
        {
            return Ok(found);
        }
    }
    upright_in_box(image, bounds)
}

/// A drawn box taken as an upright face.
pub fn upright_in_box(image: &image::RgbImage, bounds: [f32; 4]) -> Result<Detection, FaceError> {
    let drawn = drawn_box(image, bounds)?;
    Ok(upright(
        drawn.centre(),
        DETECTION_PER_DRAWN * drawn.width().max(drawn.height()),
    ))
}

/// A drawn box, ordered and inside the image, large enough to hold a face.
fn drawn_box(image: &image::RgbImage, bounds: [f32; 4]) -> Result<Detection, FaceError> {
    let bounds = clamp_box(bounds, image);
    let long_side = (bounds[2] - bounds[0]).max(bounds[3] - bounds[1]);
    if long_side < MIN_FACE_PIXELS {
        return Err(FaceError::TooSmall(long_side));
    }
    Ok(Detection {
        bounds,
        keypoints: [[0.0; 2]; 6],
        score: 0.0,
    })
}

/// The best face whose centre lies in the middle half of a square crop of `side` pixels
/// around `centre`, in image pixels.
fn detect_near(
    image: &image::RgbImage,
    detector: &Detector,
    centre: [f32; 2],
    side: f32,
) -> Result<Option<Detection>, FaceError> {
    let pixels = side.round().max(1.0) as u32;
    let origin = [centre[0] - side / 2.0, centre[1] - side / 2.0];
    let crop = image::RgbImage::from_fn(pixels, pixels, |u, v| {
        let [r, g, b] = bilinear(
            image,
            origin[0] + u as f32,
            origin[1] + v as f32,
            Border::Zero,
        );
        image::Rgb([r as u8, g as u8, b as u8])
    });
    let middle = Detection {
        bounds: [side / 4.0, side / 4.0, 3.0 * side / 4.0, 3.0 * side / 4.0],
        keypoints: [[0.0; 2]; 6],
        score: 0.0,
    };
    Ok(detector
        .detect(&crop)?
        .into_iter()
        .find(|d| middle.contains(d.centre()))
        .map(|d| d.shifted(origin)))
}

/// A level face of detection-box side `side` centred on `centre`: the eyes at a third of
/// the box's height, a quarter of its width either side (only their line matters: it sets
/// the landmark crop's rotation).
fn upright(centre: [f32; 2], side: f32) -> Detection {
    let [cx, cy] = centre;
    let half = side / 2.0;
    let eye_y = cy - side / 6.0;
    Detection {
        bounds: [cx - half, cy - half, cx + half, cy + half],
        keypoints: [
            [cx - side / 4.0, eye_y],
            [cx + side / 4.0, eye_y],
            [cx, cy],
            [cx, cy + side / 4.0],
            [cx - half, cy],
            [cx + half, cy],
        ],
        score: 0.0,
    }
}

/// `bounds` ordered and inside the image.
fn clamp_box(bounds: [f32; 4], image: &image::RgbImage) -> [f32; 4] {
    let [a, b, c, d] = bounds.map(|v| if v.is_finite() { v } else { 0.0 });
    let (w, h) = (image.width() as f32, image.height() as f32);
    [
        a.min(c).clamp(0.0, w),
        b.min(d).clamp(0.0, h),
        a.max(c).clamp(0.0, w),
        b.max(d).clamp(0.0, h),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upright_face_is_level_and_centred() {
        let face = upright([100.0, 50.0], 40.0);
        assert_eq!(face.centre(), [100.0, 50.0]);
        assert_eq!(face.width(), 40.0);
        assert_eq!(face.keypoints[0][1], face.keypoints[1][1]);
        assert!(face.keypoints[0][0] < face.keypoints[1][0]);
    }

    #[test]
    fn a_drawn_box_is_ordered_and_kept_inside_the_image() {
        let image = image::RgbImage::new(100, 80);
        assert_eq!(
            clamp_box([120.0, 90.0, -5.0, 10.0], &image),
            [0.0, 10.0, 100.0, 80.0]
        );
        assert_eq!(
            clamp_box([f32::NAN, 1.0, 2.0, 3.0], &image),
            [0.0, 1.0, 2.0, 3.0]
        );
    }
}
