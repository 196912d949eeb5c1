//! The panel's grouping of ARKit-named expressions by the part of the face they move.

/// Group labels in panel order, each with the name prefix its expressions share.
pub const GROUPS: [(&str, &str); 6] = [
    ("Brows", "brow"),
    ("Eyes", "eye"),
    ("Cheeks", "cheek"),
    ("Nose", "nose"),
    ("Mouth", "mouth"),
    ("Jaw", "jaw"),
];
/// Where a name no prefix claims goes.
pub const OTHER: &str = "Other";

/// The group label of an expression name.
pub fn group_of(name: &str) -> &'static str {
    GROUPS
        .iter()
        .find(|(_, prefix)| name.starts_with(prefix))
        .map_or(OTHER, |(label, _)| label)
}

/// `names` split into the groups that have any, in panel order (`OTHER` last).
pub fn grouped(names: &[String]) -> Vec<(&'static str, Vec<&str>)> {
    GROUPS
        .iter()
        .map(|(label, _)| *label)
        .chain([OTHER])
        .map(|label| {
            let members: Vec<&str> = names
                .iter()
                .map(String::as_str)
                .filter(|n| group_of(n) == label)
                .collect();
            (label, members)
        })
        .filter(|(_, members)| !members.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every expression of the whole-head rig has a named group, and each group keeps the
    /// rig's order.
    #[test]
    fn every_head_rig_expression_has_a_group() {
        let rig = crate::rig::default_rig::embedded();
        let groups = grouped(&rig.expression_names);
        let labels: Vec<&str> = groups.iter().map(|(l, _)| *l).collect();
        assert_eq!(labels, GROUPS.map(|(l, _)| l));
        let total: usize = groups.iter().map(|(_, m)| m.len()).sum();
        assert_eq!(total, rig.expression_names.len());
        assert_eq!(group_of("jawOpen"), "Jaw");
        assert_eq!(group_of("mouthSmile_L"), "Mouth");
        assert_eq!(group_of("tongueOut"), OTHER);
    }
}
