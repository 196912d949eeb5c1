//! FADM on the viewer's frames: the coarse frame is the displayed render (RGB, or the
//! super-resolved image) resized to the model's size, and the attribute is the avatar's source
//! state minus the current one — 50 expression + 6 pose in FLAME order, where the global pose
//! is the head rotation relative to the camera.

use burn::tensor::{Device, Tensor, TensorData};

use super::model::Fadm;
use super::refine::Refinement;
use super::sampler::SamplerPreset;
use crate::avatar::SourceState;
use crate::nets::resize::resize_aa;
use crate::render::camera::OrbitCamera;
use crate::rig::attributes::{ATTRIBUTE_DIMS, flame_attribute};
use crate::rig::{Rig, RigParams};

/// `[exp, pose]_source − [exp, pose]_current`, as the reference's `cat(s) − cat(d)`.
pub fn attribute(
    rig: &Rig,
    source: &SourceState,
    params: &RigParams,
    camera: &OrbitCamera,
) -> anyhow::Result<[f32; ATTRIBUTE_DIMS]> {
    let state =
        |params: &RigParams, camera: &OrbitCamera| -> anyhow::Result<[f32; ATTRIBUTE_DIMS]> {
            let (resolved, _) = params.resolve(rig)?;
            Ok(flame_attribute(
                rig,
                &resolved,
                camera.head_rotation().to_array(),
            ))
        };
    let (from, to) = (
        state(&source.params, &source.camera)?,
        state(params, camera)?,
    );
    Ok(std::array::from_fn(|i| from[i] - to[i]))
}

/// An RGB(A) image as the model's input `[1, 3, size, size]` in [0, 1] (anti-aliased resize).
pub fn coarse_tensor(image: &image::RgbaImage, size: usize, device: &Device) -> Tensor<4> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let mut planar = vec![0.0f32; 3 * w * h];
    for (i, pixel) in image.pixels().enumerate() {
        for c in 0..3 {
            planar[c * w * h + i] = pixel[c] as f32 / 255.0;
        }
    }
    let x = Tensor::<4>::from_data(TensorData::new(planar, [1, 3, h, w]), device);
    resize_aa(x, size, size)
}

/// `[1, 3, S, S]` in [0, 1] → an opaque RGBA image.
pub fn to_image(x: Tensor<4>) -> anyhow::Result<image::RgbaImage> {
    let [_, _, h, w] = x.dims();
    let values = x
        .clamp(0.0, 1.0)
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("reading the refined frame back: {e:?}"))?;
    let plane = w * h;
    Ok(image::RgbaImage::from_fn(w as u32, h as u32, |x, y| {
        let i = y as usize * w + x as usize;
        let byte = |c: usize| (values[c * plane + i] * 255.0).round() as u8;
        image::Rgba([byte(0), byte(1), byte(2), 255])
    }))
}

/// Starts refining `image` (what the user sees) for the given attribute.
pub fn start(
    model: &Fadm,
    image: &image::RgbaImage,
    attribute: [f32; ATTRIBUTE_DIMS],
    preset: SamplerPreset,
    seed: u32,
    device: &Device,
) -> Refinement {
    let coarse = coarse_tensor(image, model.config.image_size, device);
    Refinement::new(model, coarse, attribute, preset, seed)
}
