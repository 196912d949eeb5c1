//! FADM's 56-d attribute in FLAME order: 50 expression coefficients, then the 6-d pose
//! (global rotation 3, jaw 3). FLAME rigs fill it directly. The default rig's ARKit shapes
//! have no counterpart among FLAME's PCA components (they carry no semantics), so its
//! expression part stays zero and only the jaw (including `jawOpen`, which turns the jaw
//! joint) and the head pose count — as DESIGN.md prescribes.

use super::model::{JAW, Rig, RigKind};
use super::params::Resolved;

pub const EXPRESSION_DIMS: usize = 50;
pub const POSE_DIMS: usize = 6;
pub const ATTRIBUTE_DIMS: usize = EXPRESSION_DIMS + POSE_DIMS;

/// Where each default-rig expression lands in FLAME's attribute, if anywhere.
pub fn flame_counterpart(arkit_name: &str) -> Option<&'static str> {
    match arkit_name {
        "jawOpen" => Some("pose[3]: jaw rotation about x (through the jaw joint)"),
        _ => None,
    }
}

/// The attribute for FADM. `head_rotation` is the head's axis-angle relative to the camera
/// (head pose is the camera in Next3D, so orbiting changes it).
pub fn flame_attribute(
    rig: &Rig,
    params: &Resolved,
    head_rotation: [f64; 3],
) -> [f32; ATTRIBUTE_DIMS] {
    let mut attribute = [0.0f32; ATTRIBUTE_DIMS];
    if rig.kind == RigKind::Flame2020 {
        for (dst, &src) in attribute
            .iter_mut()
            .zip(params.expression.iter().take(EXPRESSION_DIMS))
        {
            *dst = src as f32;
        }
    }
    for axis in 0..3 {
        attribute[EXPRESSION_DIMS + axis] = head_rotation[axis] as f32;
        // Resolved joints already include what `jawOpen` adds to the jaw.
        attribute[EXPRESSION_DIMS + 3 + axis] = params.joints[JAW][axis] as f32;
    }
    attribute
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rig::{RigParams, default_rig};

    #[test]
    fn default_rig_fills_only_jaw_and_head_pose() {
        let rig = default_rig::embedded();
        let params = RigParams::default()
            .with_expression("jawOpen", 1.0)
            .with_expression("mouthSmile_L", 1.0);
        let (resolved, _) = params.resolve(&rig).unwrap();
        let a = flame_attribute(&rig, &resolved, [0.0, 0.2, 0.0]);
        assert!(a[..EXPRESSION_DIMS].iter().all(|&x| x == 0.0));
        assert_eq!(a[EXPRESSION_DIMS + 1], 0.2);
        let jaw_open = rig
            .drivers
            .iter()
            .find(|d| d.expression == "jawOpen")
            .unwrap();
        assert!((a[EXPRESSION_DIMS + 3] - jaw_open.axis_angle[0]).abs() < 1e-6);
        assert!(
            flame_counterpart("mouthSmile_L").is_none() && flame_counterpart("jawOpen").is_some()
        );
    }
}
