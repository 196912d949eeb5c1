//! The choice between the two ray marchers: the fused WGSL kernel (fast, for viewing) and
//! the burn-tensor reference (differentiable, for fitting and for checking the other).

use burn::tensor::Tensor;

use super::decoder::OsgDecoder;
use super::fused::{render_fused, render_fused_hidden};
use super::rays::CameraLabel;
use super::triplane::PlaneProjection;
use super::volume::{Randomness, RenderSettings, Rendered, render_reference};

/// Rays per chunk of the reference path: keeps every buffer under lavapipe's 128 MiB.
pub const REFERENCE_RAY_CHUNK: usize = 1024;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum Marcher {
    /// shaders/raymarch.wgsl: one invocation per ray, samples never stored.
    #[default]
    Fused,
    /// burn tensor ops, differentiable (src/render/volume.rs).
    Reference,
}

/// Planes, their projection and decoder: what a marcher needs besides the camera.
pub struct NeuralField {
    pub planes: Tensor<4>,
    /// The planes through the decoder's first layer ([`super::hidden::hidden_planes`]), if
    /// the caller keeps them; the fused marcher computes them otherwise.
    pub hidden_planes: Option<Tensor<4>>,
    pub projection: PlaneProjection,
    pub decoder: OsgDecoder,
}

impl Marcher {
    pub fn render(
        self,
        field: &NeuralField,
        camera: &CameraLabel,
        settings: &RenderSettings,
        randomness: Randomness,
    ) -> Rendered {
        let device = field.planes.device();
        match self {
            Marcher::Fused => match &field.hidden_planes {
                Some(hidden) => render_fused_hidden(
                    hidden.clone(),
                    &field.projection,
                    &field.decoder,
                    camera,
                    settings,
                    randomness,
                ),
                None => render_fused(
                    field.planes.clone(),
                    &field.projection,
                    &field.decoder,
                    camera,
                    settings,
                    randomness,
                ),
            },
            Marcher::Reference => render_reference(
                field.planes.clone(),
                &field.projection.tensor(&device),
                &field.decoder,
                camera,
                settings,
                randomness,
                REFERENCE_RAY_CHUNK,
            ),
        }
    }
}
