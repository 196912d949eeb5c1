//! The landmark detector's neutral face on the default rig. MediaPipe's landmark model
//! places its 468 points as its canonical face would have them, and that face is not the
//! rig's neutral one: fitted through the plain embedding, the canonical face itself comes out
//! with mouthPucker 0.65, browInnerUp 0.5, mouthRollUpper 0.33 and cheekPuff 0.24, and so does
//! every portrait, on top of its real expression. The fit therefore aims each embedded point
//! at the canonical face's vertex (aligned to the rig by a similarity) rather than at the
//! rig's own surface: the offset between the two is added to the skinned point, so a face
//! the detector sees as neutral fits at zero expression.

use glam::DVec3;

use crate::rig::Rig;
use crate::rig::default_rig::canonical::CanonicalFace;
use crate::rig::default_rig::head::registration::Warp;
use crate::rig::params::RigParams;
use crate::rig::skin_cpu::{points_on, skin};

/// Per embedded MediaPipe point, the canonical face's vertex minus the rig's neutral surface
/// point (rig units), after the best similarity of the canonical face onto those points.
pub fn detector_offsets(rig: &Rig) -> anyhow::Result<Vec<[f64; 3]>> {
    let (resolved, _) = RigParams::default().resolve(rig)?;
    let on_rig: Vec<DVec3> = points_on(rig, &rig.mediapipe, &skin(rig, &resolved).vertices)
        .into_iter()
        .map(DVec3::from_array)
        .collect();
    let canonical = CanonicalFace::load();
    anyhow::ensure!(
        canonical.positions.len() >= on_rig.len(),
        "the canonical face has {} vertices for {} landmarks",
        canonical.positions.len(),
        on_rig.len()
    );
    let canonical: Vec<[f64; 3]> = canonical.positions[..on_rig.len()].to_vec();
    let targets: Vec<[f64; 3]> = on_rig.iter().map(|p| p.to_array()).collect();
    let similarity = Warp::similarity(&canonical, &targets);
    Ok(canonical
        .iter()
        .zip(&on_rig)
        .map(|(a, b)| (DVec3::from_array(similarity.apply(*a)) - *b).to_array())
        .collect())
}
