//! An avatar made from a Next3D checkpoint's generator (baked for a seed, or by PTI): the
//! identity column's output and the decoder stored in it, the checkpoint referenced for its
//! mouth, blending and super-resolution networks.

use burn::tensor::Tensor;

use super::{Array, Avatar, GeneratorRef, RigRef, SourceState};
use crate::nets::generator::{Identity, NamedArray, Next3dCheckpoint};
use crate::raster::layout::PlaneLayout;

/// An avatar of `checkpoint`'s generator: the identity column's output and the decoder baked
/// in, the checkpoint referenced for its mouth, blending and super-resolution networks.
pub fn generator_avatar(
    checkpoint: &Next3dCheckpoint,
    identity: Identity,
    decoder: Vec<NamedArray>,
    rig: RigRef,
    name: String,
) -> anyhow::Result<Avatar> {
    let decoder = decoder
        .into_iter()
        .map(|(k, shape, data)| (k, Array { shape, data }))
        .collect();
    Ok(Avatar {
        name,
        rig,
        source: SourceState::default(),
        texture: to_array(identity.texture)?,
        static_planes: to_array(identity.static_planes)?,
        decoder,
        // The released code's slots; its plane axes come from the checkpoint.
        layout: PlaneLayout::released(),
        plane_axes: checkpoint.plane_axes()?,
        generator: Some(GeneratorRef {
            path: checkpoint.path.display().to_string(),
            sha256: checkpoint.sha256.clone(),
        }),
        styles: Some(to_array(identity.styles)?),
    })
}

/// A tensor read back (on any device, autodiff included) as an avatar array.
pub fn to_array<const D: usize>(t: Tensor<D>) -> anyhow::Result<Array> {
    let shape = t.dims().to_vec();
    let data = t
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("reading the baked tensors back: {e:?}"))?;
    Ok(Array { shape, data })
}
