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
pub const RASTER_TRIPLANE: (&str, &str) = shader!("raster_triplane.wgsl");
pub const MOUTH_FILL: (&str, &str) = shader!("mouth_fill.wgsl");
pub const SAMPLE_BLEND: (&str, &str) = shader!("sample_blend.wgsl");
pub const RAYMARCH: (&str, &str) = shader!("raymarch.wgsl");
pub const HIDDEN_PLANES: (&str, &str) = shader!("hidden_planes.wgsl");

/// Every shader file, for the validation test (it checks that none is missing here).
pub const ALL_FILES: &[(&str, &str)] = &[
    SKIN,
    MESH_PREVIEW,
    RASTER_TRIPLANE,
    MOUTH_FILL,
    SAMPLE_BLEND,
    RAYMARCH,
    HIDDEN_PLANES,
];

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

/// One stage (0 clear, 1 depth, 2 winner, 3 resolve) of the four-view rasterizer.
pub fn raster_triplane(num_faces: usize, resolution: usize, stage: u32) -> WgslKernel {
    WgslKernel::new(RASTER_TRIPLANE.0, RASTER_TRIPLANE.1, 64)
        .define("num_faces", num_faces)
        .define("resolution", resolution)
        .define("stage", stage)
}

/// The mouth fill over four `resolution`² alpha images, one workgroup each.
pub fn mouth_fill(resolution: usize, workgroup_size: u32) -> WgslKernel {
    WgslKernel::new(MOUTH_FILL.0, MOUTH_FILL.1, workgroup_size).define("resolution", resolution)
}

/// The fused texture sampling, merge and blend of the viewer's path, for `images` = 3
/// planes, or 4 with the front view.
pub fn sample_blend(
    channels: usize,
    texture_size: usize,
    resolution: usize,
    zero_background: bool,
    images: usize,
) -> WgslKernel {
    WgslKernel::new(SAMPLE_BLEND.0, SAMPLE_BLEND.1, 64)
        .define("channels", channels)
        .define("texture_size", texture_size)
        .define("resolution", resolution)
        .define("zero_background", zero_background)
        .define("images", images)
}

/// The hidden planes of `channels`-channel planes of side `resolution`, projected where the
/// head covers them.
pub fn hidden_planes(channels: usize, resolution: usize) -> WgslKernel {
    WgslKernel::new(HIDDEN_PLANES.0, HIDDEN_PLANES.1, 64)
        .define("channels", channels)
        .define("resolution", resolution)
}

/// The fused ray marcher for hidden planes of `plane_size` (H, W), N×N rays and the sample
/// counts.
pub fn raymarch(
    plane_size: [usize; 2],
    resolution: usize,
    depth_samples: usize,
    importance_samples: usize,
) -> WgslKernel {
    WgslKernel::new(RAYMARCH.0, RAYMARCH.1, 64)
        .define("plane_height", plane_size[0])
        .define("plane_width", plane_size[1])
        .define("resolution", resolution)
        .define("depth_samples", depth_samples)
        .define("importance_samples", importance_samples)
        .define("importance_slots", importance_samples.max(1))
        .define("total_samples", depth_samples + importance_samples)
}
