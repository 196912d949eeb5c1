//! Apple's 52 ARKit blendshape names and how they map onto a rig's expressions.
//!
//! The default rig names its shapes as ARKit does, with `_L`/`_R` for Apple's `Left`/`Right`
//! (the subject's sides, as in ARKit), splits `browInnerUp` and `cheekPuff` per side and has
//! no `tongueOut`. [`Rig::expression_targets`] already reads Apple's spellings; this module
//! adds the way back and the list itself.

use crate::rig::Rig;

/// ARKit's blendshapes in the order Live Link Face writes its columns.
pub const ARKIT_52: [&str; 52] = [
    "eyeBlinkLeft",
    "eyeLookDownLeft",
    "eyeLookInLeft",
    "eyeLookOutLeft",
    "eyeLookUpLeft",
    "eyeSquintLeft",
    "eyeWideLeft",
    "eyeBlinkRight",
    "eyeLookDownRight",
    "eyeLookInRight",
    "eyeLookOutRight",
    "eyeLookUpRight",
    "eyeSquintRight",
    "eyeWideRight",
    "jawForward",
    "jawLeft",
    "jawRight",
    "jawOpen",
    "mouthClose",
    "mouthFunnel",
    "mouthPucker",
    "mouthLeft",
    "mouthRight",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthDimpleLeft",
    "mouthDimpleRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "browDownLeft",
    "browDownRight",
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "cheekPuff",
    "cheekSquintLeft",
    "cheekSquintRight",
    "noseSneerLeft",
    "noseSneerRight",
    "tongueOut",
];

/// The rig's expression components an ARKit name sets: one, both sides of a shape the rig
/// splits, or none (a shape the rig lacks).
pub fn rig_targets(rig: &Rig, arkit: &str) -> Vec<usize> {
    rig.expression_targets(arkit)
}

/// The ARKit name a rig shape answers to: `eyeBlink_L` → `eyeBlinkLeft`, `browInnerUp_L`
/// → `browInnerUp` (Apple has one for both sides), `jawOpen` → itself; `None` for a shape
/// ARKit does not have.
pub fn arkit_name(rig_name: &str) -> Option<&'static str> {
    let apple = if let Some(stem) = rig_name.strip_suffix("_L") {
        format!("{stem}Left")
    } else if let Some(stem) = rig_name.strip_suffix("_R") {
        format!("{stem}Right")
    } else {
        rig_name.to_string()
    };
    let stem = rig_name
        .strip_suffix("_L")
        .or_else(|| rig_name.strip_suffix("_R"));
    ARKIT_52
        .iter()
        .find(|&&a| a == apple || Some(a) == stem)
        .copied()
}

/// Live Link Face capitalises the names: `eyeBlinkLeft` → `EyeBlinkLeft`.
pub fn column_name(arkit: &str) -> String {
    let mut chars = arkit.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rig::default_rig;

    /// Every rig shape has its ARKit name, and that name sets it; ARKit's names the rig
    /// lacks are exactly tongueOut.
    #[test]
    fn the_default_rig_maps_onto_arkit_both_ways() {
        let rig = default_rig::embedded();
        for (index, name) in rig.expression_names.iter().enumerate() {
            let apple = arkit_name(name).unwrap_or_else(|| panic!("{name} has no ARKit name"));
            assert!(
                rig_targets(&rig, apple).contains(&index),
                "{name} ↔ {apple}"
            );
        }
        let missing: Vec<&str> = ARKIT_52
            .iter()
            .filter(|a| rig_targets(&rig, a).is_empty())
            .copied()
            .collect();
        assert_eq!(missing, ["tongueOut"]);
        let split: Vec<&str> = ARKIT_52
            .iter()
            .filter(|a| rig_targets(&rig, a).len() == 2)
            .copied()
            .collect();
        assert_eq!(split, ["browInnerUp", "cheekPuff"]);
        assert_eq!(column_name("eyeBlinkLeft"), "EyeBlinkLeft");
    }
}
