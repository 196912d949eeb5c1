//! Cameras and rendering. For now: the EG3D camera and the shaded mesh preview.

pub mod camera;
pub mod preview;
