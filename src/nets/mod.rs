//! The Next3D networks in burn, loaded from safetensors under the official parameter names:
//! mapping, StyleGAN2 synthesis (texture and static triplane), StyleUNet (mouth and blending),
//! super-resolution.

pub mod fir;
pub mod generator;
pub mod layers;
pub mod mapping;
pub mod mouth;
pub mod random;
pub mod resize;
pub mod seed;
pub mod styleunet;
pub mod superres;
pub mod synthesis;
pub mod weights;

/// StyleGAN2's per-layer noise. The reference renders with `const` (the stored noise image ×
/// strength) for the backbones and `none` for the super-resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseMode {
    Const,
    None,
}
