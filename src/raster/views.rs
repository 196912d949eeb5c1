//! Next3D's four orthographic views of the head (`triplane_next3d.py` rasterize): rotate,
//! shift, scale, then the flips of its projection and of its pytorch3d wrapper.

/// One view: rotation angles (degrees, DECA's `angle2matrix`) and the shift added after it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct View {
    /// [pitch, yaw, roll] in degrees.
    pub angles: [f64; 3],
    /// Added to the rotated (y-flipped) vertices before scaling, in rig units.
    pub shift: [f64; 3],
}

/// The reference's orthographic scale (`orth_scale`) and shift (`orth_shift`).
pub const ORTHO_SCALE: f64 = 5.0;
pub const ORTHO_SHIFT: [f64; 3] = [0.0, -0.01, -0.01];

/// The reference's views, in its order: front, +90° yaw, −90° yaw, +90° pitch (top).
pub const REFERENCE_VIEWS: [View; 4] = [
    View {
        angles: [0.0, 0.0, 0.0],
        shift: ORTHO_SHIFT,
    },
    View {
        angles: [0.0, 90.0, 0.0],
        shift: ORTHO_SHIFT,
    },
    View {
        angles: [0.0, -90.0, 0.0],
        shift: ORTHO_SHIFT,
    },
    View {
        angles: [90.0, 0.0, 0.0],
        shift: ORTHO_SHIFT,
    },
];

pub const FRONT: usize = 0;
pub const SIDE_POSITIVE: usize = 1;
pub const SIDE_NEGATIVE: usize = 2;
pub const TOP: usize = 3;

/// DECA's `angle2matrix`: Rz·Ry·Rx from [pitch, yaw, roll] in degrees, applied to row vectors.
pub fn angle2matrix(angles: [f64; 3]) -> [[f64; 3]; 3] {
    let [x, y, z] = angles.map(f64::to_radians);
    let (sx, cx, sy, cy, sz, cz) = (x.sin(), x.cos(), y.sin(), y.cos(), z.sin(), z.cos());
    [
        [cz * cy, cz * sy * sx - sz * cx, cz * sy * cx + sz * sx],
        [sz * cy, sz * sy * sx + cz * cx, sz * sy * cx - cz * sx],
        [-sy, cy * sx, cy * cx],
    ]
}

/// Rig-space points in a view: `((x, −y, z)·R + shift)·scale`, then y and z negated and
/// z moved by 10 (in front of the rasterizer). x, y are the landmark coordinates `lm2d`.
pub fn transform(points: &[[f64; 3]], view: &View, scale: f64) -> Vec<[f64; 3]> {
    let r = angle2matrix(view.angles);
    points
        .iter()
        .map(|p| {
            let flipped = [p[0], -p[1], p[2]];
            let t: [f64; 3] = [0, 1, 2].map(|j| {
                ((0..3).map(|i| flipped[i] * r[i][j]).sum::<f64>() + view.shift[j]) * scale
            });
            [t[0], -t[1], -t[2] + 10.0]
        })
        .collect()
}
