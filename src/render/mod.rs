//! Cameras and rendering: the EG3D camera and rays, triplane sampling, the OSG decoder,
//! volume rendering (the fused WGSL marcher and the differentiable burn path), render
//! modes, and the shaded mesh preview.

pub mod camera;
pub mod decoder;
pub mod fused;
pub mod hidden;
pub mod marcher;
pub mod modes;
pub mod preview;
pub mod rays;
pub mod triplane;
pub mod volume;
