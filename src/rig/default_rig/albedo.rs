//! A painted colour texture for the shaded preview: skin, lips, brows, eyes with iris and
//! pupil, and a dark mouth interior, so expressions read at a glance.

use std::f64::consts::PI;

use super::canonical::CanonicalFace;
use super::{eyes, mouth};
use crate::rig::model::UvImage;

pub const SIZE: usize = 256;
const SKIN: [u8; 3] = [222, 178, 152];
const LIPS: [u8; 3] = [186, 86, 88];
const BROWS: [u8; 3] = [92, 64, 48];
const SCLERA: [u8; 3] = [240, 236, 230];
const IRIS: [u8; 3] = [70, 110, 150];
const PUPIL: [u8; 3] = [16, 16, 20];
const MOUTH: [u8; 3] = [70, 24, 30];

pub fn paint(face: &CanonicalFace) -> UvImage {
    let polygon = |groups: [&str; 2]| -> Vec<[f64; 2]> {
        let mut ring: Vec<[f64; 2]> = face
            .group(groups[0])
            .iter()
            .map(|&i| face.uvs[i as usize])
            .collect();
        ring.extend(
            face.group(groups[1])
                .iter()
                .rev()
                .map(|&i| face.uvs[i as usize]),
        );
        ring
    };
    let lips = polygon(["lips_outer_upper", "lips_outer_lower"]);
    let brows = [
        polygon(["left_eyebrow_upper", "left_eyebrow_lower"]),
        polygon(["right_eyebrow_upper", "right_eyebrow_lower"]),
    ];
    let mut data = Vec::with_capacity(SIZE * SIZE * 3);
    for row in 0..SIZE {
        for col in 0..SIZE {
            let uv = [
                (col as f64 + 0.5) / SIZE as f64,
                1.0 - (row as f64 + 0.5) / SIZE as f64,
            ];
            let colour = if let Some(c) = eye_colour(uv) {
                c
            } else if uv[1] > mouth::UV_V - 0.04
                && (mouth::UV_U.0 - 0.02..mouth::UV_U.1 + 0.02).contains(&uv[0])
            {
                MOUTH
            } else if inside(&lips, uv) {
                LIPS
            } else if brows.iter().any(|b| inside(b, uv)) {
                BROWS
            } else {
                SKIN
            };
            data.extend(colour);
        }
    }
    UvImage {
        width: SIZE,
        height: SIZE,
        channels: 3,
        data,
    }
}

fn eye_colour(uv: [f64; 2]) -> Option<[u8; 3]> {
    eyes::UV_CENTRES.iter().find_map(|c| {
        let r = ((uv[0] - c[0]).powi(2) + (uv[1] - c[1]).powi(2)).sqrt();
        let theta = PI * r / eyes::UV_RADIUS;
        (r <= eyes::UV_RADIUS * 1.05).then_some(if theta < eyes::PUPIL_ANGLE {
            PUPIL
        } else if theta < eyes::IRIS_ANGLE {
            IRIS
        } else {
            SCLERA
        })
    })
}

/// Even-odd point-in-polygon test.
fn inside(polygon: &[[f64; 2]], p: [f64; 2]) -> bool {
    let mut hit = false;
    let mut j = polygon.len() - 1;
    for i in 0..polygon.len() {
        let (a, b) = (polygon[i], polygon[j]);
        if (a[1] > p[1]) != (b[1] > p[1])
            && p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0]
        {
            hit = !hit;
        }
        j = i;
    }
    hit
}
