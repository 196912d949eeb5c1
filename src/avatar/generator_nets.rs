//! The networks an avatar baked from a Next3D checkpoint runs after its identity is fixed:
//! the mouth and blending networks when the expression changes, the super-resolution per
//! frame. They are loaded from the checkpoint the avatar references (never copied into it).

use std::path::Path;

use anyhow::Context;
use burn::tensor::{Device, Tensor, TensorData};

use super::Avatar;
use crate::nets::generator::Next3dCheckpoint;
use crate::nets::mouth::{self, MouthBox};
use crate::nets::styleunet::StyleUNet;
use crate::nets::superres::SuperResolution;

pub struct GeneratorNets {
    mouth: StyleUNet,
    blend: StyleUNet,
    superres: SuperResolution,
    /// The EG3D ws `[1, 14, w]`.
    styles: Tensor<3>,
}

impl GeneratorNets {
    /// The avatar's networks, or `None` for an avatar without a generator.
    pub fn load(avatar: &Avatar, device: &Device) -> anyhow::Result<Option<Self>> {
        let Some(generator) = &avatar.generator else {
            return Ok(None);
        };
        let needs = || {
            format!(
                "this avatar needs its generator checkpoint {} (sha256 {}) for the mouth, blending and super-resolution networks",
                generator.path, generator.sha256
            )
        };
        let checkpoint =
            Next3dCheckpoint::open_checked(Path::new(&generator.path), Some(&generator.sha256))
                .with_context(needs)?;
        let styles = avatar.styles.as_ref().with_context(|| {
            format!(
                "the avatar names a generator but holds no styles; {}",
                needs()
            )
        })?;
        let [count, w_dim] = styles.shape[..] else {
            anyhow::bail!(
                "the avatar's styles have shape {:?}, expected [14, w]",
                styles.shape
            );
        };
        let styles = Tensor::from_data(
            TensorData::new(styles.data.clone(), [1, count, w_dim]),
            device,
        );
        let (mouth, blend) = checkpoint.mouth_networks(device)?;
        Ok(Some(Self {
            mouth,
            blend,
            superres: checkpoint.superresolution(device)?,
            styles,
        }))
    }

    /// The raster resolution the blending network takes.
    pub fn raster_resolution(&self) -> usize {
        self.blend.config().in_size
    }

    /// The front raster `[C, R, R]` after the mouth and blending networks
    /// ([`mouth::fix_front`]).
    pub fn fix_mouth(&self, front: Tensor<3>, mouth_box: MouthBox) -> Tensor<3> {
        mouth::fix_front(
            &self.mouth,
            &self.blend,
            front,
            mouth_box,
            self.styles.clone(),
        )
    }

    /// The 512² image from the feature image `[C, N, N]` (rgb = its first three channels).
    pub fn super_resolve(&self, features: Tensor<3>) -> Tensor<3> {
        let [c, n, _] = features.dims();
        let x = features.reshape([1, c, n, n]);
        let rgb = x.clone().narrow(1, 0, 3);
        let image = self.superres.forward(rgb, x, self.styles.clone());
        let [_, _, h, w] = image.dims();
        image.reshape([3, h, w])
    }
}
