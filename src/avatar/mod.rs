//! An avatar: everything the per-frame pipeline needs besides the rig's geometry — the
//! neural texture, the static triplane, the decoder, the plane layout — plus the rig it
//! belongs to and its source state (FADM's source attributes, inversion's fitted camera).

pub mod buffer_limits;
pub mod default;
pub mod file;
pub mod from_generator;
pub mod generator_nets;
pub mod inner_texels;
pub mod painted;
pub mod pipeline;
pub mod random;

use crate::raster::layout::PlaneLayout;
use crate::render::camera::OrbitCamera;
use crate::render::decoder::OsgDecoder;
use crate::rig::{Rig, RigKind, RigParams, default_rig};

/// Which rig an avatar's texture lives on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RigRef {
    /// The embedded default rig, by version (`default_rig::VERSION`); files written before
    /// versions existed name the retired face-mask rig.
    Default {
        #[serde(default = "face_mask_version")]
        version: u32,
    },
    /// A converted FLAME file, identified by the sha256 of its bytes.
    Flame { sha256: String },
}

fn face_mask_version() -> u32 {
    default_rig::FACE_MASK_VERSION
}

impl RigRef {
    /// The current default rig.
    pub fn default_rig() -> Self {
        Self::Default {
            version: default_rig::VERSION,
        }
    }

    /// What an avatar made on `rig` names (`flame_sha256`: the FLAME file's hash, if known).
    pub fn of(rig: &Rig, flame_sha256: Option<&str>) -> Self {
        match rig.kind {
            RigKind::Default => Self::Default {
                version: default_rig::version_of(rig),
            },
            RigKind::Flame2020 => Self::Flame {
                sha256: flame_sha256.unwrap_or("unknown").to_string(),
            },
        }
    }
}

/// A generator checkpoint that holds the mouth, blending and SR networks — referenced,
/// never copied — and the styles this avatar feeds them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GeneratorRef {
    pub path: String,
    pub sha256: String,
}

/// The state the avatar was made in: its neutral (or inverted) expression and pose.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct SourceState {
    pub params: RigParams,
    pub camera: OrbitCamera,
}

/// A `C×H×W` (or `3×C×H×W`) f32 array.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

#[derive(Debug, Clone)]
pub struct Avatar {
    pub name: String,
    pub rig: RigRef,
    pub source: SourceState,
    /// The neural texture in the rig's UV space, `[C, H, W]`.
    pub texture: Array,
    /// The static triplane, `[3, C, H, W]` (any resolution; blending resamples it).
    pub static_planes: Array,
    /// OSGDecoder weights under their official names (`decoder.net.{0,2}.{weight,bias}`).
    pub decoder: Vec<(String, Array)>,
    pub layout: PlaneLayout,
    /// World axes each plane is sampled with, as EG3D's `plane_axes` (3 × 3×3, row-major).
    pub plane_axes: Vec<f32>,
    pub generator: Option<GeneratorRef>,
    /// Styles (ws) for the generator's mouth / blending / SR networks, when it has one.
    pub styles: Option<Array>,
}

impl Avatar {
    pub fn channels(&self) -> usize {
        self.texture.shape[0]
    }

    /// The decoder on `device`; a missing or mis-shaped weight is reported by name.
    pub fn osg_decoder(&self, device: &burn::tensor::Device) -> Result<OsgDecoder, String> {
        let named = self
            .decoder
            .iter()
            .map(|(k, a)| (k.clone(), (a.shape.clone(), a.data.clone())))
            .collect();
        OsgDecoder::from_named(&named, device)
    }
}

/// EG3D's `plane_axes` for planes that sample the given world axes (u, v): each plane's
/// matrix has those two axes as its first two rows (so `coords @ inv(P)[:, :2]` picks them).
pub fn plane_axes_for(axes: [[usize; 2]; 3]) -> Vec<f32> {
    axes.iter()
        .flat_map(|[a, b]| {
            let third = 3 - a - b;
            let mut m = [[0.0f32; 3]; 3];
            m[0][*a] = 1.0;
            m[1][*b] = 1.0;
            m[2][third] = 1.0;
            // inv(P) = Pᵀ for a permutation: column j of inv(P) is row j of P.
            m.into_iter().flatten().collect::<Vec<_>>()
        })
        .collect()
}
