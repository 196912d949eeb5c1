//! The GPU side: one shared wgpu device, and WGSL compute kernels over burn tensors.

pub mod buffers;
mod device;
pub mod device_copy;
pub mod kernel;
pub mod shaders;

pub use device::{AdapterChoice, Gpu, GpuError, adapter_names, list_adapters};
