//! The growing mesh of the default rig: positions, one UV per vertex, skin weights.

use super::surface::{V3, cross, dot, mean, sub};
use crate::rig::model::NUM_JOINTS;

#[derive(Default)]
pub struct MeshBuilder {
    pub positions: Vec<V3>,
    pub uvs: Vec<[f64; 2]>,
    pub faces: Vec<[u32; 3]>,
    pub skin: Vec<[f64; NUM_JOINTS]>,
}

impl MeshBuilder {
    pub fn add_vertex(&mut self, position: V3, uv: [f64; 2], skin: [f64; NUM_JOINTS]) -> u32 {
        self.positions.push(position);
        self.uvs.push(uv);
        self.skin.push(skin);
        (self.positions.len() - 1) as u32
    }

    /// Adds a triangle wound so that its normal points toward `facing` (seen from there it
    /// is front-facing, counter-clockwise).
    pub fn add_triangle_facing(&mut self, t: [u32; 3], facing: V3) {
        let [a, b, c] = t.map(|i| self.positions[i as usize]);
        let normal = cross(sub(b, a), sub(c, a));
        let towards = sub(facing, mean([a, b, c]));
        self.faces.push(if dot(normal, towards) >= 0.0 {
            t
        } else {
            [t[0], t[2], t[1]]
        });
    }

    /// Adds a triangle wound so that its normal points away from `centre` (closed surfaces).
    pub fn add_triangle_outward(&mut self, t: [u32; 3], centre: V3) {
        let [a, b, c] = t.map(|i| self.positions[i as usize]);
        let normal = cross(sub(b, a), sub(c, a));
        let away = sub(mean([a, b, c]), centre);
        self.faces.push(if dot(normal, away) >= 0.0 {
            t
        } else {
            [t[0], t[2], t[1]]
        });
    }
}

/// A one-hot skin weight row.
pub fn bound_to(joint: usize) -> [f64; NUM_JOINTS] {
    let mut w = [0.0; NUM_JOINTS];
    w[joint] = 1.0;
    w
}
