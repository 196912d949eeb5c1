//! Which raster image and alpha feed which triplane slot, and how each slot is sampled.
//!
//! The released Next3D code and its checkpoint disagree here (spec §0, §3.4), so this is
//! configuration, read from a checkpoint's metadata. Avatars made by this project use the
//! geometrically consistent layout: every view lands in the plane whose sampling axes match
//! its projection, flipped so a surface point samples back at itself in every plane.

use super::views::{FRONT, ORTHO_SHIFT, REFERENCE_VIEWS, SIDE_NEGATIVE, SIDE_POSITIVE, TOP, View};

/// World axes: 0 = x, 1 = y, 2 = z.
pub type Axes = [usize; 2];

/// A view's image as a slot uses it, optionally mirrored in u (columns) or v (rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Source {
    pub view: usize,
    #[serde(default)]
    pub flip_u: bool,
    #[serde(default)]
    pub flip_v: bool,
}

impl Slot {
    /// One view, as it is, with its own fractional alpha.
    fn single(view: usize) -> Self {
        Self {
            rasters: vec![Source::plain(view)],
            alphas: vec![Source::plain(view)],
            alpha_rule: AlphaRule::Fractional,
        }
    }
}

impl Source {
    pub const fn plain(view: usize) -> Self {
        Self {
            view,
            flip_u: false,
            flip_v: false,
        }
    }
}

/// How a slot's alpha is made from its alpha sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlphaRule {
    /// The filled alpha as it is (the maximum over several sources).
    Fractional,
    /// 1 where the filled alpha is nonzero (the released code's side alpha).
    Binarized,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Slot {
    /// Raster images summed into this plane; none means the static plane only (alpha 0).
    pub rasters: Vec<Source>,
    pub alphas: Vec<Source>,
    pub alpha_rule: AlphaRule,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlaneLayout {
    pub views: [View; 4],
    pub slots: [Slot; 3],
    /// The world axes each plane is sampled with (u, v).
    pub plane_axes: [Axes; 3],
    /// Sample zero where a view sees no surface, instead of the texture centre (the
    /// reference's quirk, kept for official checkpoints).
    pub zero_background: bool,
}

impl PlaneLayout {
    /// The released code (`triplane_next3d.py`): front, side (+90 and −90 summed, alpha from
    /// +90 only, binarized) and top into slots 0, 1, 2; planes sampled (x,y), (x,z), (z,y).
    pub fn released() -> Self {
        Self {
            views: REFERENCE_VIEWS,
            slots: [
                Slot::single(FRONT),
                Slot {
                    rasters: vec![Source::plain(SIDE_POSITIVE), Source::plain(SIDE_NEGATIVE)],
                    alphas: vec![Source::plain(SIDE_POSITIVE)],
                    alpha_rule: AlphaRule::Binarized,
                },
                Slot::single(TOP),
            ],
            plane_axes: [[0, 1], [0, 2], [2, 1]],
            zero_background: false,
        }
    }

    /// The fix suggested for the official checkpoint (MrTornado24/Next3D#7): raster
    /// features in the front plane only.
    pub fn front_only() -> Self {
        let mut layout = Self::released();
        for slot in &mut layout.slots[1..] {
            slot.rasters.clear();
            slot.alphas.clear();
        }
        layout
    }

    /// This project's layout. With world = 2.5·(x, y + 0.01, z) (rig units), the front view
    /// samples as (x, y) unflipped, the +90° side mirrored in u and the −90° side as is
    /// both as (z, y), and the top — rendered with its y shift moved to depth so it needs no
    /// offset — as (x, z) mirrored in v.
    pub fn consistent() -> Self {
        let mut views = REFERENCE_VIEWS;
        views[TOP].shift = [0.0, 0.0, ORTHO_SHIFT[1]];
        let side = vec![
            Source {
                view: SIDE_POSITIVE,
                flip_u: true,
                flip_v: false,
            },
            Source::plain(SIDE_NEGATIVE),
        ];
        let top = vec![Source {
            view: TOP,
            flip_u: false,
            flip_v: true,
        }];
        Self {
            views,
            slots: [
                Slot::single(FRONT),
                Slot {
                    rasters: side.clone(),
                    alphas: side,
                    alpha_rule: AlphaRule::Fractional,
                },
                Slot {
                    rasters: top.clone(),
                    alphas: top,
                    alpha_rule: AlphaRule::Fractional,
                },
            ],
            plane_axes: [[0, 1], [2, 1], [0, 2]],
            zero_background: true,
        }
    }
}
