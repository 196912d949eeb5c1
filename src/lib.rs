//! neuralhead: a real-time viewer for animatable 3D-aware head avatars (Next3D + FADM),
//! on burn's wgpu backend and hand-written WGSL compute shaders.

pub mod app;
pub mod avatar;
pub mod cli;
pub mod drive;
pub mod export;
pub mod fadm;
#[doc(hidden)]
pub mod fuzzing;
pub mod gpu;
pub mod invert;
pub mod io;
pub mod memory;
pub mod nets;
pub mod raster;
pub mod record;
pub mod render;
pub mod rig;

/// A long job (an inversion, a recording) was stopped by its user.
#[derive(Debug, thiserror::Error)]
#[error("cancelled")]
pub struct Cancelled;

/// The notices of the embedded assets (MediaPipe-derived files, Apache-2.0), shipped with
/// the binary and shown in the viewer's About section.
pub const NOTICES: &str = include_str!("../assets/NOTICE");
