//! One texture atlas for the neural texture, packed by material (the ICT tiles are not one
//! per material: the scleras overlap the face tile). The face gets the most texels per
//! square centimetre; the face and back-head squares touch only at a corner, and the small
//! materials fill the two remaining rectangles.
//!
//! ```text
//! v=1 ┌────────────┬──────────┐
//!     │            │  gums &  │
//!     │    face    │  tongue  │
//!     │            ├──────────┤
//!     │            │  teeth   │
//!     ├──────┬─────┼──────────┤
//!     │sclera│scl. │  back of │
//!     │ left │right│  the head│
//! v=0 └──────┴─────┴──────────┘
//! ```

use std::f64::consts::PI;

use super::source;
use crate::rig::default_rig::surface::{V3, dot, norm, sub};

/// Side of the face square; the back head takes the rest of the width.
const FACE_SIDE: f64 = 0.55;
/// Empty texels kept around each region so bilinear samples do not bleed across regions.
const MARGIN: f64 = 0.006;

/// A square region of the atlas: lower-left corner and side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    pub origin: [f64; 2],
    pub side: f64,
}

impl Region {
    const fn new(u: f64, v: f64, side: f64) -> Self {
        Self {
            origin: [u, v],
            side,
        }
    }

    /// Maps a point of the unit square into the region, inside its margin.
    pub fn place(&self, uv: [f64; 2]) -> [f64; 2] {
        let inner = self.side - 2.0 * MARGIN;
        [0, 1].map(|a| self.origin[a] + MARGIN + inner * uv[a].clamp(0.0, 1.0))
    }

    pub fn contains(&self, uv: [f64; 2]) -> bool {
        (0..2).all(|a| (self.origin[a]..self.origin[a] + self.side).contains(&uv[a]))
    }
}

pub const FACE: Region = Region::new(0.0, 1.0 - FACE_SIDE, FACE_SIDE);
pub const BACK_HEAD: Region = Region::new(FACE_SIDE, 0.0, 1.0 - FACE_SIDE);
pub const GUMS_TONGUE: Region = Region::new(FACE_SIDE, 1.0 - 0.28, 0.28);
pub const TEETH: Region = Region::new(FACE_SIDE, 1.0 - 0.28 - 0.25, 0.25);
pub const SCLERA: [Region; 2] = [Region::new(0.0, 0.0, 0.22), Region::new(0.22, 0.0, 0.22)];

/// Where a material's ICT tile goes: the tile index (floor of u) and its region.
pub fn tile_region(material: &str) -> Option<(f64, Region)> {
    match material {
        source::FACE => Some((0.0, FACE)),
        source::BACK_HEAD => Some((1.0, BACK_HEAD)),
        source::GUMS_TONGUE => Some((2.0, GUMS_TONGUE)),
        source::TEETH => Some((3.0, TEETH)),
        _ => None,
    }
}

/// An eyeball's texture: the gaze axis' pole at the region's centre, the polar angle from
/// it growing linearly with the radius (so iris and pupil are rings); the back pole on the
/// rim, where nothing looks.
pub fn sclera_uv(region: &Region, centre: V3, point: V3) -> [f64; 2] {
    let d = sub(point, centre);
    let theta = (dot(d, GAZE) / norm(d)).clamp(-1.0, 1.0).acos();
    let phi = d[1].atan2(d[0]);
    let r = 0.5 * theta / PI;
    region.place([0.5 + r * phi.cos(), 0.5 + r * phi.sin()])
}

/// The inverse of `sclera_uv`'s polar map: the angle from the gaze axis at an atlas point.
pub fn sclera_polar_angle(region: &Region, uv: [f64; 2]) -> Option<f64> {
    let inner = region.side - 2.0 * MARGIN;
    let local = [0, 1].map(|a| (uv[a] - region.origin[a] - MARGIN) / inner - 0.5);
    let r = (local[0] * local[0] + local[1] * local[1]).sqrt();
    (r <= 0.5).then_some(2.0 * PI * r)
}

/// The eyes look along +z at rest (the ICT head faces the viewer).
pub const GAZE: V3 = [0.0, 0.0, 1.0];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_lie_in_the_unit_square_and_do_not_overlap() {
        let all = [FACE, BACK_HEAD, GUMS_TONGUE, TEETH, SCLERA[0], SCLERA[1]];
        for (i, a) in all.iter().enumerate() {
            assert!(
                a.origin
                    .iter()
                    .all(|&o| o >= 0.0 && o + a.side <= 1.0 + 1e-12)
            );
            for b in &all[i + 1..] {
                let apart = (0..2).any(|k| {
                    a.origin[k] + a.side <= b.origin[k] + 1e-12
                        || b.origin[k] + b.side <= a.origin[k] + 1e-12
                });
                assert!(apart, "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn the_polar_angle_inverts_the_sclera_map() {
        let centre = [0.1, 0.2, 0.3];
        for point in [[0.1, 0.2, 0.31], [0.11, 0.2, 0.3], [0.1, 0.19, 0.295]] {
            let uv = sclera_uv(&SCLERA[1], centre, point);
            let d = sub(point, centre);
            let theta = (dot(d, GAZE) / norm(d)).acos();
            let back = sclera_polar_angle(&SCLERA[1], uv).unwrap();
            assert!((back - theta).abs() < 1e-9, "{back} vs {theta}");
        }
    }
}
