//! The authored expression blendshapes, named as ARKit names them (`_L` = the subject's
//! left, +x). Each moves a few control vertices of a semantic group; `Surface::spread`
//! carries the motion smoothly over the face. Right-side shapes mirror the left ones.

use super::canonical::CanonicalFace;
use super::surface::{Surface, V3, add, scale, sub};

/// One shape: its name and its displacement per face vertex at weight 1.
pub struct Shape {
    pub name: &'static str,
    pub offsets: Vec<V3>,
}

/// Every blendshape, in the order the rig lists them.
pub fn author(face: &CanonicalFace, surface: &Surface) -> Vec<Shape> {
    let a = Author {
        face,
        surface,
        mirror: surface.mirror_map(),
    };
    let mut shapes = vec![Shape {
        name: "jawOpen",
        offsets: a.jaw_open_corrective(),
    }];
    let sided: [(&'static str, &'static str, Vec<V3>); 7] = [
        ("mouthSmile_L", "mouthSmile_R", a.smile()),
        ("mouthFrown_L", "mouthFrown_R", a.frown()),
        ("browOuterUp_L", "browOuterUp_R", a.brow_outer_up()),
        ("browDown_L", "browDown_R", a.brow_down()),
        ("eyeBlink_L", "eyeBlink_R", a.blink()),
        ("eyeWide_L", "eyeWide_R", a.eye_wide()),
        ("mouthLeft", "mouthRight", a.mouth_left()),
    ];
    for (left, right, offsets) in sided {
        let mirrored = a.mirrored(&offsets);
        shapes.push(Shape {
            name: left,
            offsets,
        });
        shapes.push(Shape {
            name: right,
            offsets: mirrored,
        });
    }
    shapes.push(Shape {
        name: "mouthPucker",
        offsets: a.pucker(),
    });
    shapes.push(Shape {
        name: "mouthFunnel",
        offsets: a.funnel(),
    });
    shapes.push(Shape {
        name: "browInnerUp",
        offsets: a.brow_inner_up(),
    });
    shapes.push(Shape {
        name: "cheekPuff",
        offsets: a.cheek_puff(),
    });
    shapes
}

struct Author<'a> {
    face: &'a CanonicalFace,
    surface: &'a Surface,
    mirror: Vec<usize>,
}

const LIP_GROUPS: [&str; 4] = [
    "lips_outer_upper",
    "lips_outer_lower",
    "lips_inner_upper",
    "lips_inner_lower",
];

impl Author<'_> {
    fn p(&self, i: usize) -> V3 {
        self.face.positions[i]
    }

    fn ids(&self, groups: &[&str]) -> Vec<usize> {
        let mut ids: Vec<usize> = groups
            .iter()
            .flat_map(|g| self.face.group(g).iter().map(|&i| i as usize))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    fn anchors(&self, groups: &[&str]) -> Vec<(usize, V3)> {
        self.ids(groups)
            .into_iter()
            .map(|i| (i, [0.0; 3]))
            .collect()
    }

    /// The same shape on the other side: x flips, vertices swap with their mirror.
    fn mirrored(&self, offsets: &[V3]) -> Vec<V3> {
        (0..offsets.len())
            .map(|v| {
                let d = offsets[self.mirror[v]];
                [-d[0], d[1], d[2]]
            })
            .collect()
    }

    fn lip_centre(&self) -> V3 {
        super::surface::mean(self.ids(&LIP_GROUPS).into_iter().map(|i| self.p(i)))
    }

    fn left_corners(&self) -> Vec<usize> {
        vec![291, 308]
    }

    /// The lip midline and the nose hold still while one corner moves.
    fn corner_shape(&self, motion: V3, radius: f64) -> Vec<V3> {
        let mut controls: Vec<(usize, V3)> = self
            .left_corners()
            .into_iter()
            .map(|i| (i, motion))
            .collect();
        controls.extend([0usize, 13, 14, 17].map(|i| (i, [0.0; 3])));
        controls.extend(self.anchors(&["nose_alar_loop", "left_eye_lower_lid"]));
        self.surface.spread(&controls, radius)
    }

    fn smile(&self) -> Vec<V3> {
        self.corner_shape([0.008, 0.009, -0.004], 0.04)
    }

    fn frown(&self) -> Vec<V3> {
        self.corner_shape([0.0015, -0.0055, -0.001], 0.03)
    }

    /// Moves every lip vertex by `motion(vertex, position relative to the lip centre)`.
    fn lip_shape(&self, motion: impl Fn(usize, V3) -> V3) -> Vec<V3> {
        let c = self.lip_centre();
        let controls: Vec<(usize, V3)> = self
            .ids(&LIP_GROUPS)
            .into_iter()
            .map(|i| (i, motion(i, sub(self.p(i), c))))
            .collect();
        self.surface.spread(&controls, 0.025)
    }

    fn mouth_left(&self) -> Vec<V3> {
        self.lip_shape(|_, _| [0.0055, 0.0, 0.0])
    }

    fn pucker(&self) -> Vec<V3> {
        self.lip_shape(|_, r| [-r[0] * 0.35, -r[1] * 0.1, 0.007])
    }

    /// Lips flare forward and part, the inner edges more than the outer.
    fn funnel(&self) -> Vec<V3> {
        let inner = self.ids(&["lips_inner_upper", "lips_inner_lower"]);
        self.lip_shape(|i, r| {
            let open: f64 = if inner.contains(&i) { 0.004 } else { 0.002 };
            [-r[0] * 0.22, if r[1] > 0.0 { open } else { -open }, 0.005]
        })
    }

    fn brow(&self, ids: &[usize], motion: impl Fn(V3) -> V3, radius: f64) -> Vec<V3> {
        let mut controls: Vec<(usize, V3)> = ids.iter().map(|&i| (i, motion(self.p(i)))).collect();
        controls.extend(self.anchors(&["left_eye_upper_lid", "right_eye_upper_lid", "nose_ridge"]));
        self.surface.spread(&controls, radius)
    }

    fn brow_outer_up(&self) -> Vec<V3> {
        self.brow(&[300, 293, 276, 283], |_| [0.0, 0.008, 0.0], 0.03)
    }

    fn brow_inner_up(&self) -> Vec<V3> {
        self.brow(
            &[336, 296, 285, 295, 107, 66, 55, 65],
            |_| [0.0, 0.008, 0.001],
            0.03,
        )
    }

    fn brow_down(&self) -> Vec<V3> {
        let ids = self.ids(&["left_eyebrow"]);
        self.brow(
            &ids,
            |p| [-0.003 * (p[0] / 0.05).min(1.0), -0.006, 0.001],
            0.03,
        )
    }

    /// Upper lid meets the lower one (pairs by position along the contour), a little forward
    /// so the lid stays in front of the eyeball.
    fn blink(&self) -> Vec<V3> {
        self.lids(0.85, 0.15, 0.002)
    }

    fn eye_wide(&self) -> Vec<V3> {
        self.lids(-0.3, -0.1, 0.0005)
    }

    fn lids(&self, upper_share: f64, lower_share: f64, forward: f64) -> Vec<V3> {
        let upper = self.face.group("left_eye_upper_lid");
        let lower = self.face.group("left_eye_lower_lid");
        let mut controls = Vec::new();
        for (&u, &l) in upper.iter().zip(lower) {
            let gap = sub(self.p(l as usize), self.p(u as usize));
            let bulge = if u == l { 0.0 } else { forward };
            controls.push((u as usize, add(scale(gap, upper_share), [0.0, 0.0, bulge])));
            if u != l {
                controls.push((l as usize, scale(gap, -lower_share)));
            }
        }
        controls.extend(self.anchors(&["left_eyebrow"]));
        self.surface.spread(&controls, 0.018)
    }

    fn cheek_puff(&self) -> Vec<V3> {
        let mut controls = Vec::new();
        for side in [1.0, -1.0] {
            let cheek = self.surface.nearest([0.047 * side, -0.028, 0.03]);
            controls.push((cheek, [0.006 * side, 0.0, 0.004]));
        }
        controls.extend(
            self.anchors(&["lips_outer_upper", "lips_outer_lower"])
                .into_iter()
                .map(|(i, _)| {
                    let p = self.p(i);
                    (i, [0.0, 0.0, 0.0015 * (1.0 - p[0].abs() / 0.03).max(0.0)])
                }),
        );
        self.surface.spread(&controls, 0.04)
    }

    /// Rotating the jaw stretches the lip corners outward; pull them in a little.
    fn jaw_open_corrective(&self) -> Vec<V3> {
        let mut controls: Vec<(usize, V3)> = Vec::new();
        for (i, side) in [(291usize, 1.0), (308, 1.0), (61, -1.0), (78, -1.0)] {
            controls.push((i, [-0.002 * side, 0.0, 0.001]));
        }
        controls.extend([0usize, 13, 14, 17].map(|i| (i, [0.0; 3])));
        self.surface.spread(&controls, 0.025)
    }
}
