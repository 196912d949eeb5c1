//! The head rig the renderer sees: FLAME 2020 (converted from the user's files) and the
//! embedded default rigs all fill this one structure.

/// Joint names every rig provides, in FLAME's order; `RigParams` addresses joints by them.
pub const JOINT_NAMES: [&str; 5] = ["root", "neck", "jaw", "eye_left", "eye_right"];
pub const ROOT: usize = 0;
pub const NECK: usize = 1;
pub const JAW: usize = 2;
pub const EYE_LEFT: usize = 3;
pub const EYE_RIGHT: usize = 4;
pub const NUM_JOINTS: usize = JOINT_NAMES.len();
/// Pose-corrective inputs: (R − I) of every joint but the root, row-major.
pub const NUM_POSE_FEATURES: usize = 9 * (NUM_JOINTS - 1);
/// iBUG-68 landmarks.
pub const NUM_LANDMARKS: usize = 68;
/// MediaPipe's face-mesh landmarks.
pub const NUM_MEDIAPIPE: usize = 468;

/// Which family a rig belongs to; decides how identity and expression are addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RigKind {
    /// FLAME 2020 converted by `tools/convert_flame.py`: identity and expression are PCA
    /// coefficients, addressed by index.
    Flame2020,
    /// The embedded rigs: ARKit-named blendshapes; identity as PCA coefficients (the whole
    /// head from the ICT Face Model) or a per-vertex offset field (the retired face mask).
    Default,
}

/// Per-vertex displacement directions stored as FLAME stores them: `[vertex][xyz][k]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Basis {
    pub count: usize,
    pub data: Vec<f32>,
}

impl Basis {
    pub fn empty() -> Self {
        Self::default()
    }

    /// The displacement of `vertex` (coordinate `axis`) per unit of component `k`.
    #[inline]
    pub fn at(&self, vertex: usize, axis: usize, k: usize) -> f32 {
        self.data[(vertex * 3 + axis) * self.count + k]
    }
}

/// A landmark as a point on a triangle: face index and barycentric weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Landmark {
    pub face: u32,
    pub bary: [f32; 3],
}

/// An expression weight that also turns a joint, e.g. the default rig's `jawOpen`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JointDriver {
    pub expression: String,
    pub joint: String,
    /// Axis-angle added to the joint per unit of the expression weight.
    pub axis_angle: [f32; 3],
}

/// A single-channel image in UV space (row 0 = top of the texture, v = 1).
#[derive(Debug, Clone, PartialEq)]
pub struct UvImage {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Rig {
    pub kind: RigKind,
    /// Human-readable origin, e.g. "FLAME 2020 generic_model.pkl (sha256 …)".
    pub source: String,
    pub template: Vec<[f32; 3]>,
    pub shape_basis: Basis,
    pub expression_basis: Basis,
    /// One name per expression component: ARKit names, or "0", "1", … for FLAME.
    pub expression_names: Vec<String>,
    pub pose_basis: Basis,
    /// `[joint][vertex]`.
    pub joint_regressor: Vec<f32>,
    /// Parent joint per joint; −1 for the root.
    pub parents: Vec<i32>,
    /// `[vertex][joint]`.
    pub skin_weights: Vec<f32>,
    pub faces: Vec<[u32; 3]>,
    pub uv_faces: Vec<[u32; 3]>,
    /// Texture coordinates with v pointing up (OBJ convention, as FLAME's head template).
    pub uvs: Vec<[f32; 2]>,
    pub landmarks: Vec<Landmark>,
    /// MediaPipe's 468 face-mesh landmarks on the surface, in MediaPipe's order, for the
    /// 468-point fit; empty for rigs without them (FLAME uses its 68).
    pub mediapipe: Vec<Landmark>,
    pub drivers: Vec<JointDriver>,
    /// Where the rendered face and eyes may take the rasterized texture (DECA's mask).
    pub uv_mask: Option<UvImage>,
    /// A colour texture for the shaded preview (the default rig paints lips, eyes, mouth).
    pub albedo: Option<UvImage>,
}

impl Rig {
    pub fn num_vertices(&self) -> usize {
        self.template.len()
    }

    pub fn num_joints(&self) -> usize {
        self.parents.len()
    }

    /// The index of an expression component by its name, or by its decimal index.
    pub fn expression_index(&self, name: &str) -> Option<usize> {
        self.expression_names
            .iter()
            .position(|n| n == name)
            .or_else(|| {
                arkit_alias(name).and_then(|a| self.expression_names.iter().position(|n| *n == a))
            })
            .or_else(|| {
                name.parse::<usize>()
                    .ok()
                    .filter(|&i| i < self.expression_basis.count)
            })
    }

    /// The components a name sets: its own, Apple's spelling of a `_L`/`_R` name
    /// (`eyeBlinkLeft`), both sides of a shape the rig splits (`browInnerUp`, `cheekPuff`),
    /// or a decimal index. Empty for a name the rig does not know.
    pub fn expression_targets(&self, name: &str) -> Vec<usize> {
        if let Some(i) = self.expression_index(name) {
            return vec![i];
        }
        let sides: Vec<usize> = ["_L", "_R"]
            .iter()
            .filter_map(|side| {
                self.expression_names
                    .iter()
                    .position(|n| *n == format!("{name}{side}"))
            })
            .collect();
        if sides.len() == 2 { sides } else { Vec::new() }
    }

    /// The three vertices and weights of each landmark.
    pub fn landmark_vertices(&self) -> Vec<([u32; 3], [f32; 3])> {
        self.landmarks
            .iter()
            .map(|l| (self.faces[l.face as usize], l.bary))
            .collect()
    }

    /// Checks the internal consistency that the skinning code relies on.
    pub fn validate(&self) -> Result<(), String> {
        let v = self.num_vertices();
        let j = self.num_joints();
        let check = |ok: bool, what: String| if ok { Ok(()) } else { Err(what) };
        check(v > 0, "the rig has no vertices".into())?;
        check(
            j == NUM_JOINTS,
            format!("{j} joints, expected {NUM_JOINTS} (root, neck, jaw, eyes)"),
        )?;
        for (name, basis) in [
            ("shape basis", &self.shape_basis),
            ("expression basis", &self.expression_basis),
            ("pose correctives", &self.pose_basis),
        ] {
            check(
                basis.data.len() == v * 3 * basis.count,
                format!(
                    "{name} holds {} values, expected {v}×3×{}",
                    basis.data.len(),
                    basis.count
                ),
            )?;
        }
        check(
            self.pose_basis.count == 0 || self.pose_basis.count == NUM_POSE_FEATURES,
            format!(
                "{} pose correctives, expected {NUM_POSE_FEATURES}",
                self.pose_basis.count
            ),
        )?;
        check(
            self.expression_names.len() == self.expression_basis.count,
            format!(
                "{} expression names for {} components",
                self.expression_names.len(),
                self.expression_basis.count
            ),
        )?;
        check(
            self.joint_regressor.len() == j * v,
            "joint regressor is not joints×vertices".into(),
        )?;
        check(
            self.skin_weights.len() == v * j,
            "skinning weights are not vertices×joints".into(),
        )?;
        check(self.parents[0] == -1, "joint 0 must be the root".into())?;
        for (i, &p) in self.parents.iter().enumerate().skip(1) {
            check(
                p >= 0 && (p as usize) < i,
                format!("joint {i} has parent {p}; parents must come first"),
            )?;
        }
        check(
            self.uv_faces.len() == self.faces.len(),
            "UV faces and faces differ in count".into(),
        )?;
        check(
            self.faces.iter().flatten().all(|&i| (i as usize) < v),
            "a face refers to a vertex that does not exist".into(),
        )?;
        check(
            self.uv_faces
                .iter()
                .flatten()
                .all(|&i| (i as usize) < self.uvs.len()),
            "a UV face refers to a texture coordinate that does not exist".into(),
        )?;
        check(
            self.landmarks.len() == NUM_LANDMARKS,
            format!(
                "{} landmarks, expected {NUM_LANDMARKS}",
                self.landmarks.len()
            ),
        )?;
        check(
            self.landmarks
                .iter()
                .chain(&self.mediapipe)
                .all(|l| (l.face as usize) < self.faces.len()),
            "a landmark refers to a face that does not exist".into(),
        )?;
        check(
            self.mediapipe.is_empty() || self.mediapipe.len() == NUM_MEDIAPIPE,
            format!(
                "{} MediaPipe landmarks, expected {NUM_MEDIAPIPE} or none",
                self.mediapipe.len()
            ),
        )?;
        for driver in &self.drivers {
            check(
                self.expression_index(&driver.expression).is_some()
                    && JOINT_NAMES.contains(&driver.joint.as_str()),
                format!(
                    "joint driver {} → {} names an unknown expression or joint",
                    driver.expression, driver.joint
                ),
            )?;
        }
        check(
            self.template
                .iter()
                .flatten()
                .chain(&self.skin_weights)
                .all(|x| x.is_finite()),
            "the rig holds NaN or infinite values".into(),
        )
    }
}

/// Accepts Apple's spelling (`eyeBlinkLeft`) for the `_L`/`_R` names the rig uses.
fn arkit_alias(name: &str) -> Option<String> {
    if let Some(stem) = name.strip_suffix("Left") {
        Some(format!("{stem}_L"))
    } else {
        name.strip_suffix("Right").map(|stem| format!("{stem}_R"))
    }
}
