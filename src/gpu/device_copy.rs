//! Device-side copies of burn's buffers (wgpu's `copy_buffer_to_buffer`). A kernel that
//! changes a small part of a large per-avatar buffer starts from such a copy instead of
//! copying every word itself: in a shader each lane reads and writes its own words, which
//! on lavapipe cost as much as the few texels the kernel actually computes, many times over.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use burn::backend::wgpu::{AutoCompiler, CubeTensor};
use burn::cubecl::wgpu::WgpuServer;
use burn::tensor::wgpu::wgpu;

use super::kernel::empty_f32;

/// The wgpu handles behind a device [`super::Gpu`] opened.
struct Queue {
    device: wgpu::Device,
    queue: wgpu::Queue,
    /// For copies within one of burn's buffers (its pool places many tensors in one), which
    /// wgpu refuses: they go through this buffer, grown as needed.
    staging: Option<wgpu::Buffer>,
}

/// By burn's device.
type Queues = HashMap<burn::cubecl::Device, Queue>;

fn queues() -> &'static Mutex<Queues> {
    static QUEUES: OnceLock<Mutex<Queues>> = OnceLock::new();
    QUEUES.get_or_init(Default::default)
}

/// Remembers the wgpu device and queue behind a burn device (called by `Gpu::new`).
pub(super) fn register(
    burn_device: &burn::tensor::Device,
    device: &wgpu::Device,
    queue: &wgpu::Queue,
) {
    let burn::backend::DispatchDevice::Cube(cube) = burn_device.as_dispatch() else {
        return;
    };
    queues()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(
            cube.clone(),
            Queue {
                device: device.clone(),
                queue: queue.clone(),
                staging: None,
            },
        );
}

/// A copy of an f32 tensor, made on the device (see [`copy_into`]).
pub fn device_copy(tensor: &CubeTensor) -> CubeTensor {
    let out = empty_f32(tensor, tensor.meta.shape().clone());
    copy_into(tensor, &out, 0);
    out
}

/// Copies the f32 tensor `source` into `target` from element `offset` on, on the device:
/// after every burn command already queued and before every later one.
///
/// Panics for tensors on a device not opened through `Gpu::new` (a bug in this crate).
pub fn copy_into(source: &CubeTensor, target: &CubeTensor, offset: usize) {
    let words = source.meta.shape().num_elements();
    assert!(
        offset + words <= target.meta.shape().num_elements(),
        "copy_into: {words} words at {offset} do not fit the target"
    );
    let mut queues = queues()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let Queue {
        device,
        queue,
        staging,
    } = queues
        .get_mut(&source.device)
        .expect("copy_into: the tensor's device was not opened through Gpu::new");
    let resource = |t: &CubeTensor| {
        t.client
            .get_resource::<WgpuServer<AutoCompiler>>(t.handle.clone())
            .expect("copy_into: burn has no wgpu buffer for a live tensor")
    };
    // Held until submitted: they pin the allocations.
    let (from, to) = (resource(source), resource(target));
    // Burn's queued commands go to the queue first (one queue keeps submission order).
    source
        .client
        .flush()
        .expect("copy_into: burn could not submit its queued commands");
    let word = std::mem::size_of::<f32>() as u64;
    let bytes = words as u64 * word;
    let (from, to) = (from.resource(), to.resource());
    let to_offset = to.offset + offset as u64 * word;
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
        label: Some("copy_into"),
    });
    if from.buffer != to.buffer {
        encoder.copy_buffer_to_buffer(&from.buffer, from.offset, &to.buffer, to_offset, bytes);
    } else {
        if staging.as_ref().is_none_or(|b| b.size() < bytes) {
            *staging = Some(device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("copy_into staging"),
                size: bytes,
                usage: wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }));
        }
        let staging = staging.as_ref().expect("created above");
        encoder.copy_buffer_to_buffer(&from.buffer, from.offset, staging, 0, bytes);
        encoder.copy_buffer_to_buffer(staging, 0, &to.buffer, to_offset, bytes);
    }
    queue.submit([encoder.finish()]);
}
