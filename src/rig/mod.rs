//! Head rigs: the data model (FLAME-compatible), the file format, parameters, and skinning
//! on the CPU (f64 reference) and the GPU (WGSL).

pub mod attributes;
pub mod default_rig;
pub mod expression_groups;
pub mod file;
pub mod jacobian;
pub mod landmark_rig;
pub mod model;
pub mod params;
pub mod rotation;
pub mod sequence;
pub mod skin_cpu;
pub mod skin_gpu;
pub mod synthetic;

pub use model::{Rig, RigKind};
pub use params::{Identity, RigParams};
