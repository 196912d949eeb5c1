//! The texels of a rig's surface that neither side view nor the top view sees at rest:
//! teeth, gums, tongue and the mouth socket behind closed lips, the inner lips, the eyes and
//! the lids set back under the brow. Only the front plane ever holds them — through an
//! opening (the jaw or the lids moving), or straight on — while the side and top planes at
//! the same point hold the cheek, the temple or the brow seen from their own directions.
//! The lids and the eyeballs join them wherever the views see them: what the lids show when
//! they close must come from the front plane alone too.
//! The painted avatar (`painted.rs`) gives these texels a colour set of their own that the
//! decoder takes from the front plane alone, so the other planes cannot paint the eyes or
//! the inside of the mouth (and leave a ghost of them once the lids close or the jaw opens).

use crate::invert::unwrap::for_each_pixel;
use crate::invert::uv_fill::{Islands, push_pull};
use crate::rig::Rig;

/// Pixels across the rest mesh's largest extent in each view's depth buffer (~0.6 mm each
/// on the default rig).
const DEPTH_PIXELS: usize = 512;
/// A vertex that a blink moves further than this (metres) is a lid's.
const LID_MOTION: f32 = 0.001;
/// Joints 3 and 4 of the kinematic tree (root, neck, jaw, eyes) turn the eyeballs.
const EYE_JOINTS: std::ops::Range<usize> = 3..5;

/// How far behind the nearest surface a point still counts as seen, as a share of the
/// extent (~1.5 mm): the depth buffer is sampled at pixel centres, not at the point.
const SLACK: f64 = 0.005;

/// An orthographic view of the rest mesh: which two template axes span the image, which is
/// depth, and whether nearer means a larger coordinate along it.
struct View {
    image_axes: [usize; 2],
    depth_axis: usize,
    toward_positive: bool,
}

/// The raster's views (`raster::views`) other than the front: both sides and the top.
const VIEWS: [View; 3] = [
    View {
        image_axes: [2, 1],
        depth_axis: 0,
        toward_positive: true,
    },
    View {
        image_axes: [2, 1],
        depth_axis: 0,
        toward_positive: false,
    },
    View {
        image_axes: [0, 2],
        depth_axis: 1,
        toward_positive: true,
    },
];

/// Per texel of a `size`² atlas, 1 where the rest surface is hidden from the side and top
/// views or belongs to a lid or an eyeball, 0 elsewhere; texels between UV islands take
/// their neighbours' share.
pub fn inner_texels(rig: &Rig, size: usize) -> Vec<f32> {
    let (low, high) = rig.template.iter().fold(
        ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]),
        |(mut low, mut high), v| {
            for a in 0..3 {
                low[a] = low[a].min(f64::from(v[a]));
                high[a] = high[a].max(f64::from(v[a]));
            }
            (low, high)
        },
    );
    let extent = (0..3).map(|a| high[a] - low[a]).fold(1e-9, f64::max);
    let islands = Islands::of(rig, size);
    let points: Vec<(usize, [f64; 3])> = islands
        .texels()
        .map(|(texel, face, bary)| {
            let corner = |k: usize| rig.template[rig.faces[face][k] as usize];
            let point =
                std::array::from_fn(|a| (0..3).map(|k| f64::from(corner(k)[a]) * bary[k]).sum());
            (texel, point)
        })
        .collect();
    let eye_region = eye_region_vertices(rig);
    let mut seen = vec![false; size * size];
    for view in &VIEWS {
        let buffer = DepthBuffer::of(rig, view, low, extent);
        for &(texel, point) in &points {
            seen[texel] |= buffer.shows(point, SLACK * extent);
        }
    }
    for (texel, face, bary) in islands.texels() {
        let lid_or_eye: f64 = (0..3)
            .filter(|&k| eye_region[rig.faces[face][k] as usize])
            .map(|k| bary[k])
            .sum();
        seen[texel] &= lid_or_eye <= 0.5;
    }
    let mut hidden = vec![[0.0f32; 3]; size * size];
    let mut known = vec![0.0f32; size * size];
    for &(texel, _) in &points {
        hidden[texel][0] = f32::from(u8::from(!seen[texel]));
        known[texel] = 1.0;
    }
    push_pull(&hidden, &known, size)
        .iter()
        .map(|h| h[0])
        .collect()
}

/// The vertices of the lids (those a blink moves) and of the eyeballs (those the eye
/// joints turn).
fn eye_region_vertices(rig: &Rig) -> Vec<bool> {
    let EyeRegion { lids, eyeballs } = EyeRegion::of(rig);
    lids.iter().zip(&eyeballs).map(|(l, e)| *l || *e).collect()
}

/// Per vertex: whether a blink moves it (a lid's) and whether an eye joint turns it (an
/// eyeball's).
pub struct EyeRegion {
    pub lids: Vec<bool>,
    pub eyeballs: Vec<bool>,
}

impl EyeRegion {
    pub fn of(rig: &Rig) -> Self {
        let blinks: Vec<usize> = ["eyeBlink_L", "eyeBlink_R"]
            .iter()
            .flat_map(|name| rig.expression_targets(name))
            .collect();
        let joints = rig.num_joints();
        let eyeballs: Vec<bool> = (0..rig.num_vertices())
            .map(|v| {
                joints >= EYE_JOINTS.end
                    && EYE_JOINTS
                        .clone()
                        .any(|j| rig.skin_weights[v * joints + j] > 0.5)
            })
            .collect();
        let lids = (0..rig.num_vertices())
            .map(|v| {
                !eyeballs[v]
                    && blinks.iter().any(|&k| {
                        let moved: f32 = (0..3)
                            .map(|a| rig.expression_basis.at(v, a, k).powi(2))
                            .sum();
                        moved.sqrt() > LID_MOTION
                    })
            })
            .collect();
        Self { lids, eyeballs }
    }
}

/// The nearest surface's height along a view's depth axis ("height": larger is nearer) at
/// every pixel.
struct DepthBuffer<'a> {
    view: &'a View,
    low: [f64; 3],
    scale: f64,
    height: Vec<f64>,
}

impl<'a> DepthBuffer<'a> {
    fn of(rig: &Rig, view: &'a View, low: [f64; 3], extent: f64) -> Self {
        let mut buffer = Self {
            view,
            low,
            scale: DEPTH_PIXELS as f64 / extent,
            height: vec![f64::NEG_INFINITY; DEPTH_PIXELS * DEPTH_PIXELS],
        };
        for face in &rig.faces {
            let corners = face.map(|v| rig.template[v as usize].map(f64::from));
            let pixels = corners.map(|p| buffer.pixel(p));
            let heights = corners.map(|p| buffer.height_of(p));
            let height = &mut buffer.height;
            for_each_pixel(pixels, DEPTH_PIXELS, |p, bary| {
                let h = heights[0] * bary[0] + heights[1] * bary[1] + heights[2] * bary[2];
                height[p] = height[p].max(h);
            });
        }
        buffer
    }

    fn pixel(&self, p: [f64; 3]) -> [f64; 2] {
        self.view
            .image_axes
            .map(|a| (p[a] - self.low[a]) * self.scale)
    }

    fn height_of(&self, p: [f64; 3]) -> f64 {
        let along = p[self.view.depth_axis];
        if self.view.toward_positive {
            along
        } else {
            -along
        }
    }

    /// Whether the point is the nearest surface (within `slack`) at any pixel of the 3×3
    /// block around it: a point on a steep face lies between pixel centres of other heights.
    fn shows(&self, point: [f64; 3], slack: f64) -> bool {
        let [x, y] = self.pixel(point);
        let h = self.height_of(point);
        let (col, row) = (x.floor() as i64, y.floor() as i64);
        (-1..=1).any(|dr| {
            (-1..=1).any(|dc| {
                let (r, c) = (row + dr, col + dc);
                let inside =
                    (0..DEPTH_PIXELS as i64).contains(&r) && (0..DEPTH_PIXELS as i64).contains(&c);
                inside && h >= self.height[r as usize * DEPTH_PIXELS + c as usize] - slack
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invert::uv_fill::Islands;

    /// On the default rig the teeth are inner and most of the face's skin is not.
    #[test]
    fn the_teeth_are_inner_and_the_cheeks_are_not() {
        let rig = crate::rig::default_rig::embedded();
        let size = 128;
        let inner = inner_texels(&rig, size);
        let islands = Islands::of(&rig, size);
        let teeth = crate::rig::default_rig::head::atlas::TEETH;
        let face = crate::rig::default_rig::head::atlas::FACE;
        let share = |region: &crate::rig::default_rig::head::atlas::Region| {
            let texels: Vec<usize> = islands
                .texels()
                .map(|(t, _, _)| t)
                .filter(|&t| {
                    let (row, col) = (t / size, t % size);
                    let uv = [
                        (col as f64 + 0.5) / size as f64,
                        1.0 - (row as f64 + 0.5) / size as f64,
                    ];
                    region.contains(uv)
                })
                .collect();
            texels.iter().map(|&t| inner[t]).sum::<f32>() / texels.len().max(1) as f32
        };
        let (teeth_share, face_share) = (share(&teeth), share(&face));
        assert!(teeth_share > 0.9, "teeth inner share {teeth_share}");
        assert!(face_share < 0.25, "face inner share {face_share}");
    }
}
