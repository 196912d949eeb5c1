//! `RigParams`: the one parameter schema shared by the CLI, the UI, sequence files and FADM.
//! Head pose is not here: it is the camera (Next3D zeroes the rig's global rotation).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::{EYE_LEFT, EYE_RIGHT, JAW, JOINT_NAMES, NECK, NUM_JOINTS, Rig, RigKind};

/// Largest rotation (radians) accepted per joint before clamping.
pub const JAW_LIMIT: f32 = 0.7;
pub const EYE_LIMIT: f32 = 0.8;
pub const NECK_LIMIT: f32 = 1.0;
/// PCA coefficients beyond this many standard deviations are clamped.
pub const COEFFICIENT_LIMIT: f32 = 5.0;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RigParams {
    pub identity: Identity,
    /// Expression weights by name (default rig: ARKit names) or by index ("0", "1", … for FLAME).
    #[serde(deserialize_with = "expression_from_map_or_list")]
    pub expression: BTreeMap<String, f32>,
    /// Jaw axis-angle in radians; +x opens the mouth.
    pub jaw: [f32; 3],
    pub eyes: Eyes,
    /// Neck axis-angle in radians. The Next3D models were trained with the neck at rest.
    pub neck: [f32; 3],
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Eyes {
    /// The subject's left eye (+x), axis-angle in radians.
    pub left: [f32; 3],
    pub right: [f32; 3],
}

/// Who the head is. FLAME: shape coefficients; the default rig: a per-vertex offset field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Identity {
    #[default]
    Neutral,
    Coefficients(Vec<f32>),
    Offsets(Vec<[f32; 3]>),
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParamError {
    #[error("this rig has no expression `{name}`; it has: {known}")]
    UnknownExpression { name: String, known: String },
    #[error("expression `{name}` is {value}, which is not a number")]
    NotFinite { name: String, value: f32 },
    #[error("{0}")]
    Identity(String),
}

/// Shape coefficients and, for the default rig, the per-vertex offset field.
type IdentityParts = (Vec<f64>, Option<Vec<[f64; 3]>>);

/// Parameters resolved against one rig, in f64, ready for skinning.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub shape: Vec<f64>,
    pub offsets: Option<Vec<[f64; 3]>>,
    pub expression: Vec<f64>,
    /// Axis-angle per joint, FLAME's order; the root stays at rest.
    pub joints: [[f64; 3]; NUM_JOINTS],
}

impl RigParams {
    /// Sets one expression weight (`--exp NAME=VALUE`).
    pub fn with_expression(mut self, name: &str, value: f32) -> Self {
        self.expression.insert(name.to_string(), value);
        self
    }

    /// The same parameters with every expression under the rig's own names: aliases
    /// (`eyeBlinkLeft`, `browInnerUp` for both sides) replaced by what they set, so a map
    /// that also holds the rig's names (the panel's sliders) cannot hide them. Unknown
    /// names stay, for `resolve` to report.
    pub fn canonical(mut self, rig: &Rig) -> Self {
        let given = std::mem::take(&mut self.expression);
        let (own, aliases): (BTreeMap<_, _>, BTreeMap<_, _>) = given
            .into_iter()
            .partition(|(name, _)| rig.expression_names.contains(name));
        for (name, value) in aliases {
            let targets = rig.expression_targets(&name);
            if targets.is_empty() {
                self.expression.insert(name, value);
            }
            for index in targets {
                self.expression
                    .insert(rig.expression_names[index].clone(), value);
            }
        }
        self.expression.extend(own);
        self
    }

    /// Resolves names against `rig`, clamping values outside their range. The warnings say
    /// what was clamped; unknown names and malformed identities are errors.
    pub fn resolve(&self, rig: &Rig) -> Result<(Resolved, Vec<String>), ParamError> {
        let mut warnings = Vec::new();
        let (low, high) = expression_range(rig.kind);
        let mut expression = vec![0.0; rig.expression_basis.count];
        // Aliases first, the rig's own names after: a name's own slider wins over an alias,
        // whatever order the names sort in.
        let (own, aliases): (Vec<_>, Vec<_>) = self
            .expression
            .iter()
            .partition(|(name, _)| rig.expression_names.contains(name));
        for (name, &value) in aliases.into_iter().chain(own) {
            let targets = rig.expression_targets(name);
            if targets.is_empty() {
                return Err(ParamError::UnknownExpression {
                    name: name.clone(),
                    known: known_names(rig),
                });
            }
            if !value.is_finite() {
                return Err(ParamError::NotFinite {
                    name: name.clone(),
                    value,
                });
            }
            let clamped = value.clamp(low, high);
            if clamped != value {
                warnings.push(format!(
                    "expression {name} = {value} clamped to {clamped} (range {low}…{high})"
                ));
            }
            for index in targets {
                expression[index] = f64::from(clamped);
            }
        }

        let (shape, offsets) = self.resolve_identity(rig, &mut warnings)?;
        let mut joints = [[0.0f64; 3]; NUM_JOINTS];
        let mut set = |joint: usize, value: [f32; 3], limit: f32, what: &str| {
            joints[joint] = clamp_rotation(value, limit, what, &mut warnings);
        };
        set(JAW, self.jaw, JAW_LIMIT, "jaw");
        set(EYE_LEFT, self.eyes.left, EYE_LIMIT, "left eye");
        set(EYE_RIGHT, self.eyes.right, EYE_LIMIT, "right eye");
        set(NECK, self.neck, NECK_LIMIT, "neck");
        for driver in &rig.drivers {
            let (Some(e), Some(j)) = (
                rig.expression_index(&driver.expression),
                JOINT_NAMES.iter().position(|n| *n == driver.joint),
            ) else {
                continue; // `Rig::validate` rejects such drivers.
            };
            for (angle, &per_unit) in joints[j].iter_mut().zip(&driver.axis_angle) {
                *angle += expression[e] * f64::from(per_unit);
            }
        }
        Ok((
            Resolved {
                shape,
                offsets,
                expression,
                joints,
            },
            warnings,
        ))
    }

    fn resolve_identity(
        &self,
        rig: &Rig,
        warnings: &mut Vec<String>,
    ) -> Result<IdentityParts, ParamError> {
        let mut shape = vec![0.0; rig.shape_basis.count];
        match &self.identity {
            Identity::Neutral => Ok((shape, None)),
            Identity::Coefficients(coefficients) => {
                if coefficients.len() > shape.len() {
                    return Err(ParamError::Identity(format!(
                        "{} identity coefficients given, the rig has {} shape components{}",
                        coefficients.len(),
                        shape.len(),
                        if rig.kind == RigKind::Default {
                            " (its identity is a per-vertex offset field)"
                        } else {
                            ""
                        }
                    )));
                }
                for (i, &c) in coefficients.iter().enumerate() {
                    let clamped = if c.is_finite() {
                        c.clamp(-COEFFICIENT_LIMIT, COEFFICIENT_LIMIT)
                    } else {
                        0.0
                    };
                    if clamped != c {
                        warnings.push(format!("shape coefficient {i} = {c} clamped to {clamped}"));
                    }
                    shape[i] = f64::from(clamped);
                }
                Ok((shape, None))
            }
            Identity::Offsets(offsets) => {
                if offsets.len() != rig.num_vertices() {
                    return Err(ParamError::Identity(format!(
                        "the identity offset field has {} vertices, the rig has {}",
                        offsets.len(),
                        rig.num_vertices()
                    )));
                }
                if offsets.iter().flatten().any(|x| !x.is_finite()) {
                    return Err(ParamError::Identity(
                        "the identity offset field holds NaN or infinity".into(),
                    ));
                }
                let offsets = offsets.iter().map(|o| o.map(f64::from)).collect();
                Ok((shape, Some(offsets)))
            }
        }
    }
}

/// The range of one expression weight: ARKit weights are 0…1, FLAME coefficients signed.
pub fn expression_range(kind: RigKind) -> (f32, f32) {
    match kind {
        RigKind::Default => (0.0, 1.0),
        RigKind::Flame2020 => (-COEFFICIENT_LIMIT, COEFFICIENT_LIMIT),
    }
}

fn known_names(rig: &Rig) -> String {
    match rig.kind {
        RigKind::Default => rig.expression_names.join(", "),
        RigKind::Flame2020 => format!("indices 0…{}", rig.expression_basis.count.saturating_sub(1)),
    }
}

fn clamp_rotation(value: [f32; 3], limit: f32, what: &str, warnings: &mut Vec<String>) -> [f64; 3] {
    let v = value.map(|x| if x.is_finite() { f64::from(x) } else { 0.0 });
    let angle = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    if value.iter().any(|x| !x.is_finite()) {
        warnings.push(format!(
            "{what} rotation {value:?} is not finite; using 0 for those axes"
        ));
    }
    if angle > f64::from(limit) {
        warnings.push(format!(
            "{what} rotation of {angle:.3} rad clamped to {limit} rad"
        ));
        let scale = f64::from(limit) / angle;
        return v.map(|x| x * scale);
    }
    v
}

fn expression_from_map_or_list<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, f32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum MapOrList {
        Map(BTreeMap<String, f32>),
        List(Vec<f32>),
    }
    Ok(match MapOrList::deserialize(deserializer)? {
        MapOrList::Map(map) => map,
        MapOrList::List(list) => list
            .into_iter()
            .enumerate()
            .map(|(i, x)| (i.to_string(), x))
            .collect(),
    })
}
