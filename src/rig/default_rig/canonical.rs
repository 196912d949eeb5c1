//! The MediaPipe canonical face mesh (Apache-2.0, see assets/NOTICE), read from
//! `assets/canonical_face.json` and placed in FLAME's frame.

use std::collections::BTreeMap;

/// Centimetres to metres. With this alone the mesh already sits where FLAME's face does:
/// nose tip at z = 0.0759 (FLAME ≈ 0.076), cheeks at x = ±0.077 (FLAME ≈ ±0.08).
const CM_TO_M: f64 = 0.01;

#[derive(serde::Deserialize)]
struct Json {
    positions: Vec<[f64; 3]>,
    uvs: Vec<[f64; 2]>,
    triangles: Vec<[u32; 3]>,
    semantic_groups: BTreeMap<String, Vec<u32>>,
    hole_triangles: BTreeMap<String, Vec<usize>>,
}

pub struct CanonicalFace {
    /// Metres, +x = the subject's left, +y up, +z toward the viewer.
    pub positions: Vec<[f64; 3]>,
    /// Texture coordinates with v up (the JSON's v points down).
    pub uvs: Vec<[f64; 2]>,
    pub triangles: Vec<[u32; 3]>,
    pub groups: BTreeMap<String, Vec<u32>>,
    pub holes: BTreeMap<String, Vec<usize>>,
}

impl CanonicalFace {
    pub fn load() -> Self {
        let json: Json = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/canonical_face.json"
        )))
        .expect("the embedded canonical face is valid JSON");
        Self {
            positions: json
                .positions
                .iter()
                .map(|p| p.map(|x| x * CM_TO_M))
                .collect(),
            uvs: json.uvs.iter().map(|&[u, v]| [u, 1.0 - v]).collect(),
            triangles: json.triangles,
            groups: json.semantic_groups,
            holes: json.hole_triangles,
        }
    }

    pub fn group(&self, name: &str) -> &[u32] {
        self.groups
            .get(name)
            .unwrap_or_else(|| panic!("canonical face has no group {name}"))
    }

    /// The triangles with the mouth and eye openings removed.
    pub fn open_triangles(&self) -> Vec<[u32; 3]> {
        let closed: std::collections::BTreeSet<usize> =
            self.holes.values().flatten().copied().collect();
        self.triangles
            .iter()
            .enumerate()
            .filter(|(i, _)| !closed.contains(i))
            .map(|(_, t)| *t)
            .collect()
    }

    /// The inner-lip loop, corner to corner along the upper lip and back along the lower.
    pub fn inner_lip_loop(&self) -> Vec<u32> {
        let upper = self.group("lips_inner_upper");
        let lower = self.group("lips_inner_lower");
        let mut ring = upper.to_vec();
        ring.extend(lower[1..lower.len() - 1].iter().rev());
        ring
    }
}
