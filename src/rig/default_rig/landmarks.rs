//! The iBUG-68 landmarks as MediaPipe vertices (each lies on a mesh vertex).

/// iBUG-68 order: jaw 0–16 (from the subject's right), brows 17–26, nose 27–35,
/// eyes 36–47, outer lips 48–59, inner lips 60–67.
pub const IBUG68_VERTICES: [u32; 68] = [
    162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389, // jaw
    70, 63, 105, 66, 107, // right brow, outer to inner
    336, 296, 334, 293, 300, // left brow, inner to outer
    168, 197, 5, 4, // nose bridge
    98, 97, 2, 326, 327, // nostrils
    33, 160, 158, 133, 153, 144, // right eye
    362, 385, 387, 263, 373, 380, // left eye
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181, // outer lips
    78, 82, 13, 312, 308, 317, 14, 87, // inner lips
];

/// Embeds each landmark as a face corner: a face that uses the vertex, weight 1 on it.
pub fn embed(faces: &[[u32; 3]]) -> Vec<crate::rig::model::Landmark> {
    embed_vertices(faces, &IBUG68_VERTICES)
}

/// Embeds each of `vertices` as a corner of a face that uses it, weight 1 on it.
pub fn embed_vertices(faces: &[[u32; 3]], vertices: &[u32]) -> Vec<crate::rig::model::Landmark> {
    vertices
        .iter()
        .map(|&v| {
            let (face, corner) = faces
                .iter()
                .enumerate()
                .find_map(|(f, t)| t.iter().position(|&i| i == v).map(|c| (f, c)))
                .unwrap_or_else(|| panic!("landmark vertex {v} is on no face"));
            let mut bary = [0.0; 3];
            bary[corner] = 1.0;
            crate::rig::model::Landmark {
                face: face as u32,
                bary,
            }
        })
        .collect()
}
