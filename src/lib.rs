//! neuralhead: a real-time viewer for animatable 3D-aware head avatars (Next3D + FADM),
//! on burn's wgpu backend and hand-written WGSL compute shaders.

pub mod app;
pub mod avatar;
pub mod cli;
pub mod gpu;
pub mod io;
pub mod raster;
pub mod render;
pub mod rig;
