//! Every WGSL file in `shaders/`, embedded, and the kernels as the crate instantiates them.

use super::kernel::WgslKernel;

macro_rules! shader {
    ($file:literal) => {
        (
            $file,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders/", $file)),
        )
    };
}

pub const SKIN: (&str, &str) = shader!("skin.wgsl");
pub const MESH_PREVIEW: (&str, &str) = shader!("mesh_preview.wgsl");

/// Every shader file, for the validation test (it checks that none is missing here).
pub const ALL_FILES: &[(&str, &str)] = &[SKIN, MESH_PREVIEW];

/// The skinning kernel for a rig of these sizes.
pub fn skin(
    num_vertices: usize,
    num_components: usize,
    num_joints: usize,
    num_landmarks: usize,
) -> WgslKernel {
    WgslKernel::new(SKIN.0, SKIN.1, 64)
        .define("num_vertices", num_vertices)
        .define("num_components", num_components)
        .define("num_joints", num_joints)
        .define("num_landmarks", num_landmarks)
}
