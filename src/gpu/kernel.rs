//! Launching our hand-written WGSL compute shaders on burn's CubeCL wgpu runtime.
//!
//! A [`WgslKernel`] is one file from `shaders/` plus the values of its `{{ name }}`
//! placeholders. Buffers bind to `@group(0) @binding(i)` in the order given, so the WGSL
//! must declare (and use) exactly those bindings.

use burn::backend::wgpu::{
    CubeTensor, KernelSource, SourceKernel, SourceTemplate, into_contiguous,
};
use burn::cubecl::prelude::KernelId;
use burn::cubecl::server::KernelArguments;
use burn::cubecl::{CubeCount, CubeDim};
use std::sync::atomic::{AtomicBool, Ordering};

use burn::tensor::{DType, Shape};

/// Workgroups per grid dimension allowed by WebGPU; larger launches fold into a 2-D grid.
const MAX_GROUPS_PER_DIM: u32 = 65_535;

/// A WGSL shader file and the template values it is compiled with.
#[derive(Debug, Clone)]
pub struct WgslKernel {
    /// The file name under `shaders/`, also the pipeline-cache key.
    pub name: &'static str,
    pub source: &'static str,
    /// Threads per workgroup (1-D); substituted for `{{ workgroup_size }}`.
    pub workgroup_size: u32,
    /// Other `{{ name }}` substitutions, e.g. compile-time sizes.
    pub defines: Vec<(&'static str, String)>,
}

impl WgslKernel {
    pub fn new(name: &'static str, source: &'static str, workgroup_size: u32) -> Self {
        Self {
            name,
            source,
            workgroup_size,
            defines: Vec::new(),
        }
    }

    pub fn define(mut self, key: &'static str, value: impl ToString) -> Self {
        self.defines.push((key, value.to_string()));
        self
    }

    /// The WGSL text exactly as it is compiled at run time.
    pub fn wgsl(&self) -> String {
        self.template().complete()
    }

    fn template(&self) -> SourceTemplate {
        let mut template = SourceTemplate::new(self.source)
            .register("workgroup_size", self.workgroup_size.to_string());
        for (key, value) in &self.defines {
            template = template.register(*key, value.clone());
        }
        template
    }
}

impl KernelSource for WgslKernel {
    fn source(&self) -> SourceTemplate {
        self.template()
    }

    fn id(&self) -> KernelId {
        KernelId::new::<Self>().info((self.name, self.workgroup_size, self.defines.clone()))
    }

    fn lang(&self) -> &'static str {
        "wgsl"
    }
}

/// A 1-D launch of `threads` invocations, folded into 2-D when it has too many workgroups.
/// Shaders recover the flat index as `gid.y * (num_workgroups.x * workgroup_size) + gid.x`.
pub fn grid_1d(threads: usize, workgroup_size: u32) -> CubeCount {
    let [x, y, z] = workgroups_1d(threads, workgroup_size);
    CubeCount::Static(x, y, z)
}

/// The workgroup counts of [`grid_1d`], for launches on plain wgpu buffers.
pub fn workgroups_1d(threads: usize, workgroup_size: u32) -> [u32; 3] {
    let groups = (threads as u32).div_ceil(workgroup_size).max(1);
    if groups <= MAX_GROUPS_PER_DIM {
        [groups, 1, 1]
    } else {
        let rows = groups.div_ceil(MAX_GROUPS_PER_DIM);
        [groups.div_ceil(rows), rows, 1]
    }
}

/// Queues `kernel` over `buffers` (bound in order). The launch is lazy, like any burn op.
pub fn launch(kernel: WgslKernel, count: CubeCount, buffers: &[&CubeTensor]) {
    let client = buffers
        .first()
        .expect("a kernel needs at least one buffer")
        .client
        .clone();
    let cube_dim = CubeDim::new_1d(kernel.workgroup_size);
    let bindings = buffers.iter().map(|t| t.handle.clone().binding()).collect();
    client.launch(
        Box::new(SourceKernel::new(kernel, cube_dim)),
        count,
        KernelArguments::new().with_buffers(bindings),
    );
}

/// A row-major input, as the shaders index it.
pub fn contiguous(tensor: CubeTensor) -> CubeTensor {
    into_contiguous(tensor)
}

static POISON_OUTPUTS: AtomicBool = AtomicBool::new(false);

/// Tests turn this on so every kernel output starts as NaN: a value the kernel forgot to
/// write then shows up instead of hiding behind a zeroed or recycled allocation.
pub fn set_poison_outputs(on: bool) {
    POISON_OUTPUTS.store(on, Ordering::Relaxed);
}

/// A fresh f32 tensor on the same device as `like`, for a kernel to fill.
pub fn empty_f32(like: &CubeTensor, shape: Shape) -> CubeTensor {
    let count = shape.num_elements().max(1);
    let handle = if POISON_OUTPUTS.load(Ordering::Relaxed) {
        like.client
            .create_from_slice(bytemuck::cast_slice(&vec![f32::NAN; count]))
    } else {
        like.client.empty(count * DType::F32.size())
    };
    CubeTensor::new_contiguous(
        like.client.clone(),
        like.device.clone(),
        shape,
        handle,
        DType::F32,
    )
}

/// Panics with the argument name when a kernel input does not have the expected shape:
/// a wrong shape here is a bug in this crate, never a user error.
pub fn expect_shape(name: &str, tensor: &CubeTensor, expected: &[usize]) {
    let dims = tensor.meta.shape().to_vec();
    assert_eq!(
        dims, expected,
        "kernel input `{name}` has shape {dims:?}, expected {expected:?}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_launches_fold_into_two_dimensions_and_cover_every_thread() {
        for threads in [1, 64, 65, 64 * 65_535, 64 * 65_535 + 1, 17_000_001] {
            let CubeCount::Static(x, y, z) = grid_1d(threads, 64) else {
                unreachable!()
            };
            assert!(x <= MAX_GROUPS_PER_DIM && y <= MAX_GROUPS_PER_DIM && z == 1);
            assert!(
                u64::from(x) * u64::from(y) * 64 >= threads as u64,
                "{threads}: {x}×{y}"
            );
        }
    }
}
