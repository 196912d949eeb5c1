//! The eyelids and the jaw read from how far the landmarks open, not from the whole fit.
//!
//! In the whole fit many named shapes move the lids and lips alike (eyeSquint and
//! eyeLookDown close the eye a little, mouthLowerDown, mouthFunnel and mouthStretch part the
//! lips), and the landmark model places a closed lid or a dropped chin less exactly than the
//! open face: the fit then spreads a blink or an opened jaw over several small shapes. Webcam
//! trackers read these two from the landmarks' openness instead, and so does this: per
//! channel, the distances between facing points (upper and lower lid, upper and lower inner
//! lip) are compared with what the rig itself shows at the fitted pose and expression with
//! that channel at 0 and at 1 — a one-unknown least-squares fit in which every pair counts by
//! how much the channel moves it, so each blink finds its own eye. The shapes that open or
//! close the same pairs (the channel's rivals) are set to 0 first: the opening is the
//! channel's alone.

use crate::invert::detector_neutral::detector_offsets;
use crate::invert::fit::{Fit, project};
use crate::rig::landmark_rig::landmark_rig;
use crate::rig::skin_cpu::skin;
use crate::rig::{Rig, RigParams};

/// Upper and lower lid points facing each other, both eyes (MediaPipe's indices).
const LID_PAIRS: [(usize, usize); 6] = [
    (160, 144),
    (159, 145),
    (158, 153),
    (387, 373),
    (386, 374),
    (385, 380),
];
/// Upper and lower lip points facing each other: the inner lips and the outer edges, whose
/// lip-to-skin border the landmark model places more steadily than a dark gap's.
const LIP_PAIRS: [(usize, usize); 8] = [
    (81, 178),
    (82, 87),
    (13, 14),
    (312, 317),
    (311, 402),
    (37, 84),
    (0, 17),
    (267, 314),
];

/// The channels read this way, with the pairs that show them.
const CHANNELS: [(&str, &[(usize, usize)]); 3] = [
    ("eyeBlink_L", &LID_PAIRS),
    ("eyeBlink_R", &LID_PAIRS),
    ("jawOpen", &LIP_PAIRS),
];
/// A shape is a channel's rival when it moves the channel's pairs by this share of the
/// channel's own movement (projected on it, either way).
const RIVAL_SHARE: f64 = 0.05;
/// Never rivals: the fit reads these from points the pairs do not hold (gaze turns the
/// eyeballs; a smile pulls the mouth's corners), though they narrow the eye a little.
const KEPT: [&str; 2] = ["eyeLook", "mouthSmile"];
/// Lids whose readings differ by less than WINK_START are read as one blink; by more than
/// WINK_FULL, as a wink (each its own); between, a blend.
const WINK_START: f32 = 0.25;
const WINK_FULL: f32 = 0.5;
/// A measured weight may leave [0, 1] this far, so that a subject's neutral that reads past
/// the rig's (eyes wider than its open lids) still subtracts as it is.
const MARGIN: f64 = 1.0;

/// The rig cut down to its embedded MediaPipe points, with the detector's neutral offsets.
pub struct OpennessModel {
    rig: Rig,
    offsets: Vec<[f64; 3]>,
    /// Per channel, the shapes set to 0 while it is read.
    rivals: Vec<Vec<String>>,
}

impl OpennessModel {
    /// `None` for a rig without MediaPipe's 468 points embedded or without these channels.
    pub fn new(rig: &Rig) -> Option<Self> {
        let has_channels = CHANNELS
            .iter()
            .all(|(name, _)| rig.expression_names.iter().any(|n| n == name));
        if rig.mediapipe.len() != crate::rig::model::NUM_MEDIAPIPE || !has_channels {
            return None;
        }
        let offsets = detector_offsets(rig).ok()?;
        let rig = landmark_rig(rig, &rig.mediapipe);
        let rivals = CHANNELS
            .iter()
            .map(|(name, pairs)| rivals(&rig, name, pairs))
            .collect::<anyhow::Result<_>>()
            .ok()?;
        Some(Self {
            rig,
            offsets,
            rivals,
        })
    }

    /// The fit's expression with each channel replaced by its openness reading from
    /// `landmarks` (normalised crop units, as fitted). Channels whose pairs the rig does not
    /// move keep the fitted weight.
    pub fn read(&self, fit: &Fit, landmarks: &[[f64; 2]]) -> anyhow::Result<RigParams> {
        let mut params = fit.params.clone();
        for ((name, pairs), rivals) in CHANNELS.iter().zip(&self.rivals) {
            for rival in rivals {
                params.expression.remove(rival);
            }
            let shown = |weight: f32| -> anyhow::Result<Vec<f64>> {
                let points = self.projected(fit, &params.clone().with_expression(name, weight))?;
                Ok(distances(&points, pairs))
            };
            let (at_zero, at_one) = (shown(0.0)?, shown(1.0)?);
            let detected = distances(landmarks, pairs);
            let mut along = 0.0;
            let mut norm = 0.0;
            for ((d, zero), one) in detected.iter().zip(&at_zero).zip(&at_one) {
                let response = one - zero;
                along += response * (d - zero);
                norm += response * response;
            }
            if norm > 1e-12 {
                let weight = (along / norm).clamp(-MARGIN, 1.0 + MARGIN);
                params.expression.insert(name.to_string(), weight as f32);
            }
        }
        link_the_eyes(&mut params.expression);
        Ok(params)
    }

    /// The embedded points at `params`, placed as the fit places them in the crop.
    fn projected(&self, fit: &Fit, params: &RigParams) -> anyhow::Result<Vec<[f64; 2]>> {
        let (resolved, _) = params.resolve(&self.rig)?;
        let points: Vec<[f64; 3]> = skin(&self.rig, &resolved)
            .landmarks
            .iter()
            .zip(&self.offsets)
            .map(|(p, d)| std::array::from_fn(|a| p[a] + d[a]))
            .collect();
        Ok(project(&fit.camera, &points)
            .iter()
            .map(|[u, v]| {
                [
                    fit.crop_scale * u + fit.crop_shift[0],
                    fit.crop_scale * v + fit.crop_shift[1],
                ]
            })
            .collect())
    }
}

/// Both lids' readings drawn to their mean unless they differ like a wink's. The landmark
/// model reads the eye turned away from the camera as partly closed (0.15–0.2 at 20° of
/// yaw on the default avatar's renders), and people blink both eyes far more often than
/// they wink.
fn link_the_eyes(expression: &mut std::collections::BTreeMap<String, f32>) {
    let (Some(&left), Some(&right)) = (expression.get("eyeBlink_L"), expression.get("eyeBlink_R"))
    else {
        return;
    };
    let mean = 0.5 * (left + right);
    let apart = ((left - right).abs() - WINK_START) / (WINK_FULL - WINK_START);
    let keep = apart.clamp(0.0, 1.0);
    expression.insert("eyeBlink_L".into(), mean + keep * (left - mean));
    expression.insert("eyeBlink_R".into(), mean + keep * (right - mean));
}

/// The shapes other than `channel` that move its pairs (at rest, seen from the front).
fn rivals(rig: &Rig, channel: &str, pairs: &[(usize, usize)]) -> anyhow::Result<Vec<String>> {
    let openings = |params: RigParams| -> anyhow::Result<Vec<f64>> {
        let (resolved, _) = params.resolve(rig)?;
        let points: Vec<[f64; 2]> = skin(rig, &resolved)
            .landmarks
            .iter()
            .map(|p| [p[0], -p[1]])
            .collect();
        Ok(distances(&points, pairs))
    };
    let rest = openings(RigParams::default())?;
    let response = |name: &str| -> anyhow::Result<Vec<f64>> {
        let moved = openings(RigParams::default().with_expression(name, 1.0))?;
        Ok(moved.iter().zip(&rest).map(|(m, r)| m - r).collect())
    };
    let own = response(channel)?;
    let norm: f64 = own.iter().map(|v| v * v).sum();
    let mut found = Vec::new();
    let candidates = rig
        .expression_names
        .iter()
        .filter(|n| *n != channel && !KEPT.iter().any(|k| n.starts_with(k)));
    for name in candidates {
        let along: f64 = response(name)?.iter().zip(&own).map(|(a, b)| a * b).sum();
        if along.abs() > RIVAL_SHARE * norm {
            found.push(name.clone());
        }
    }
    Ok(found)
}

/// The opening of each pair: how far the second point lies below the first (down the crop,
/// which the landmarks' own roll has turned upright; vertical only, so that it is linear in
/// the shapes' weights).
fn distances(points: &[[f64; 2]], pairs: &[(usize, usize)]) -> Vec<f64> {
    pairs
        .iter()
        .map(|&(upper, lower)| points[lower][1] - points[upper][1])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::camera::OrbitCamera;

    /// A fit that spread a blink and an opened jaw over their rivals, as the whole fit does
    /// on rendered frames, is read back to the true blink and jaw; the other eye, the smile
    /// and the gaze stay as fitted.
    #[test]
    fn the_lids_and_the_jaw_are_read_from_the_openings() {
        let rig = crate::rig::default_rig::embedded();
        let model = OpennessModel::new(&rig).unwrap();
        let truth = RigParams::default()
            .with_expression("eyeBlink_L", 0.7)
            .with_expression("jawOpen", 0.5)
            .with_expression("mouthSmile_R", 0.4)
            .with_expression("eyeLookUp_R", 0.3);
        let fitted = RigParams::default()
            .with_expression("eyeBlink_L", 0.1)
            .with_expression("eyeSquint_L", 0.4)
            .with_expression("jawOpen", 0.05)
            .with_expression("mouthLowerDown_L", 0.5)
            .with_expression("mouthLowerDown_R", 0.5)
            .with_expression("mouthFunnel", 0.3)
            .with_expression("mouthSmile_R", 0.4)
            .with_expression("eyeLookUp_R", 0.3);
        let fit = |params: RigParams| Fit {
            camera: OrbitCamera {
                yaw: 0.3,
                pitch: -0.1,
                ..OrbitCamera::default()
            },
            params,
            crop_scale: 1.1,
            crop_shift: [0.02, -0.01],
            error: 0.0,
        };
        let landmarks = model.projected(&fit(truth.clone()), &truth).unwrap();
        let read = model.read(&fit(fitted), &landmarks).unwrap();
        let weight = |name: &str| read.expression.get(name).copied().unwrap_or(0.0);
        eprintln!("{:?}", read.expression);
        for (name, expected) in [
            ("eyeBlink_L", 0.7),
            ("eyeBlink_R", 0.0),
            ("jawOpen", 0.5),
            ("mouthSmile_R", 0.4),
            ("eyeLookUp_R", 0.3),
            ("eyeSquint_L", 0.0),
            ("mouthLowerDown_L", 0.0),
            ("mouthFunnel", 0.0),
        ] {
            assert!(
                (weight(name) - expected).abs() < 0.05,
                "{name}: {}",
                weight(name)
            );
        }
    }
}
