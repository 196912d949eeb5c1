//! FADM refinement in burn: the attribute-guided conditioning network, the ε-predicting
//! U-Net, the schedule and samplers, and a step-by-step refinement of one rendered frame.

pub mod blocks;
pub mod condition;
pub mod frame;
pub mod model;
pub mod random;
pub mod refine;
pub mod sampler;
pub mod unet;

pub use model::{Fadm, FadmConfig, FadmError};
pub use refine::Refinement;
pub use sampler::SamplerPreset;
