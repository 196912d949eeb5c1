//! Running a [`WgslKernel`] over plain wgpu buffers, for GPU work outside burn's allocator
//! (render passes' inputs, buffers shared with egui). Pipelines are cached per kernel.

use std::collections::HashMap;
use std::sync::Mutex;

use burn::tensor::wgpu::wgpu;

use super::Gpu;
use super::kernel::WgslKernel;

/// Compiled pipelines keyed by the kernel's file and template values.
#[derive(Default)]
pub struct BufferLauncher {
    pipelines: Mutex<HashMap<String, wgpu::ComputePipeline>>,
}

impl BufferLauncher {
    /// Records `kernel` over `buffers` (bound in order to `@group(0) @binding(i)`) into
    /// `encoder`, with `groups` workgroups.
    pub fn dispatch(
        &self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        kernel: &WgslKernel,
        buffers: &[&wgpu::Buffer],
        groups: [u32; 3],
    ) {
        let key = format!(
            "{}{:?}{}",
            kernel.name, kernel.defines, kernel.workgroup_size
        );
        let mut pipelines = self
            .pipelines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let pipeline = pipelines.entry(key).or_insert_with(|| {
            let module = gpu
                .device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(kernel.name),
                    source: wgpu::ShaderSource::Wgsl(kernel.wgsl().into()),
                });
            gpu.device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(kernel.name),
                    layout: None,
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: Default::default(),
                    cache: None,
                })
        });
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(kernel.name),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(kernel.name),
            timestamp_writes: None,
        });
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
    }
}
