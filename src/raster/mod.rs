//! Next3D's texture rasterization into triplanes: the skinned mesh seen from four
//! orthographic views, its neural texture sampled through the rasterized UVs, the face/eye
//! mask and mouth fill, and the blend with the static triplane.

pub mod blend;
pub mod gpu;
pub mod layout;
pub mod reference;
pub mod views;
