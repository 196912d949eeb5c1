//! The shaded mesh preview: a skinned rig drawn with wgpu (depth-tested, back faces
//! culled, 4× multisampled) into an offscreen image. A debug view of the geometry before
//! the neural pipeline exists, and the "mesh" render mode later.

use burn::tensor::wgpu::wgpu;
use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

use super::camera::{OrbitCamera, rig_to_world};
use crate::gpu::{Gpu, shaders};
use crate::rig::Rig;

const COLOUR_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;
const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;
const SAMPLES: u32 = 4;
const BACKGROUND: wgpu::Color = wgpu::Color {
    r: 0.11,
    g: 0.12,
    b: 0.14,
    a: 1.0,
};
const CHECKER_SQUARES: f32 = 24.0;
const CHECKER_CONTRAST: f32 = 0.18;
/// Mesh depth range in front of the camera (world units).
const NEAR: f64 = 0.5;
const FAR: f64 = 6.0;

// Keep in sync with `Uniforms` in shaders/mesh_preview.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct PreviewUniforms {
    world_to_clip: [f32; 16],
    camera_position: [f32; 4],
    checker: [f32; 4],
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Vertex {
    position: [f32; 3],
    uv: [f32; 2],
}

/// Pipelines and the rig's texture; render as many frames as you like with it.
pub struct PreviewRenderer {
    pipeline: wgpu::RenderPipeline,
    bind_group: wgpu::BindGroup,
    uniforms: wgpu::Buffer,
    corners: Vec<[u32; 2]>,
}

impl PreviewRenderer {
    pub fn new(gpu: &Gpu, rig: &Rig) -> Self {
        let device = &gpu.device;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(shaders::MESH_PREVIEW.0),
            source: wgpu::ShaderSource::Wgsl(shaders::MESH_PREVIEW.1.into()),
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("mesh preview"),
            layout: None,
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[Some(wgpu::VertexBufferLayout {
                    array_stride: std::mem::size_of::<Vertex>() as u64,
                    step_mode: wgpu::VertexStepMode::Vertex,
                    attributes: &wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32x2],
                })],
            },
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs_main"),
                compilation_options: Default::default(),
                targets: &[Some(COLOUR_FORMAT.into())],
            }),
            primitive: wgpu::PrimitiveState {
                front_face: wgpu::FrontFace::Ccw,
                cull_mode: Some(wgpu::Face::Back),
                ..Default::default()
            },
            depth_stencil: Some(wgpu::DepthStencilState {
                format: DEPTH_FORMAT,
                depth_write_enabled: Some(true),
                depth_compare: Some(wgpu::CompareFunction::Less),
                stencil: Default::default(),
                bias: Default::default(),
            }),
            multisample: wgpu::MultisampleState {
                count: SAMPLES,
                ..Default::default()
            },
            multiview_mask: None,
            cache: None,
        });
        let uniforms = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("preview uniforms"),
            size: std::mem::size_of::<PreviewUniforms>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let texture = albedo_texture(gpu, rig);
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("preview"),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: uniforms.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(
                        &texture.create_view(&Default::default()),
                    ),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::Sampler(&sampler),
                },
            ],
        });
        // Faces index positions and UVs separately (FLAME has more UVs than vertices), so
        // draw an unindexed list: one (vertex, uv) pair per triangle corner.
        let corners = rig
            .faces
            .iter()
            .zip(&rig.uv_faces)
            .flat_map(|(f, t)| (0..3).map(move |c| [f[c], t[c]]))
            .collect();
        Self {
            pipeline,
            bind_group,
            uniforms,
            corners,
        }
    }

    /// Draws the mesh (rig-space vertices) from `camera` into a `size`×`size` RGBA image.
    pub fn render(
        &self,
        gpu: &Gpu,
        rig: &Rig,
        vertices: &[[f32; 3]],
        camera: &OrbitCamera,
        size: u32,
    ) -> image::RgbaImage {
        let device = &gpu.device;
        let data: Vec<Vertex> = self
            .corners
            .iter()
            .map(|&[v, t]| Vertex {
                position: vertices[v as usize],
                uv: rig.uvs[t as usize],
            })
            .collect();
        let vertex_buffer = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("preview vertices"),
            contents: bytemuck::cast_slice(&data),
            usage: wgpu::BufferUsages::VERTEX,
        });
        let world_to_clip = camera.view_projection(NEAR, FAR) * rig_to_world();
        let eye = camera.origin();
        // The shader works in rig space; move the camera there too.
        let eye_rig = rig_to_world().inverse().transform_point3(eye);
        let uniforms = PreviewUniforms {
            world_to_clip: world_to_clip.as_mat4().to_cols_array(),
            camera_position: [eye_rig.x as f32, eye_rig.y as f32, eye_rig.z as f32, 1.0],
            checker: [CHECKER_SQUARES, CHECKER_CONTRAST, 0.0, 0.0],
        };
        gpu.queue
            .write_buffer(&self.uniforms, 0, bytemuck::bytes_of(&uniforms));

        let target = |format, samples, usage| {
            device.create_texture(&wgpu::TextureDescriptor {
                label: Some("preview target"),
                size: wgpu::Extent3d {
                    width: size,
                    height: size,
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: samples,
                dimension: wgpu::TextureDimension::D2,
                format,
                usage,
                view_formats: &[],
            })
        };
        let msaa = target(
            COLOUR_FORMAT,
            SAMPLES,
            wgpu::TextureUsages::RENDER_ATTACHMENT,
        );
        let resolved = target(
            COLOUR_FORMAT,
            1,
            wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        );
        let depth = target(
            DEPTH_FORMAT,
            SAMPLES,
            wgpu::TextureUsages::RENDER_ATTACHMENT,
        );
        let (msaa_view, resolved_view, depth_view) = (
            msaa.create_view(&Default::default()),
            resolved.create_view(&Default::default()),
            depth.create_view(&Default::default()),
        );

        let mut encoder = device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("mesh preview"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &msaa_view,
                    depth_slice: None,
                    resolve_target: Some(&resolved_view),
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(BACKGROUND),
                        store: wgpu::StoreOp::Discard,
                    },
                })],
                depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                    view: &depth_view,
                    depth_ops: Some(wgpu::Operations {
                        load: wgpu::LoadOp::Clear(1.0),
                        store: wgpu::StoreOp::Discard,
                    }),
                    stencil_ops: None,
                }),
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &self.bind_group, &[]);
            pass.set_vertex_buffer(0, vertex_buffer.slice(..));
            pass.draw(0..data.len() as u32, 0..1);
        }
        read_texture(gpu, encoder, &resolved, size)
    }
}

fn albedo_texture(gpu: &Gpu, rig: &Rig) -> wgpu::Texture {
    let (width, height, rgba) = match &rig.albedo {
        Some(img) if img.channels == 3 => (
            img.width as u32,
            img.height as u32,
            img.data
                .chunks_exact(3)
                .flat_map(|c| [c[0], c[1], c[2], 255])
                .collect::<Vec<u8>>(),
        ),
        _ => (1, 1, vec![200, 200, 200, 255]),
    };
    gpu.device.create_texture_with_data(
        &gpu.queue,
        &wgpu::TextureDescriptor {
            label: Some("rig albedo"),
            size: wgpu::Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba8Unorm,
            usage: wgpu::TextureUsages::TEXTURE_BINDING,
            view_formats: &[],
        },
        wgpu::util::TextureDataOrder::LayerMajor,
        &rgba,
    )
}

/// Copies a texture into a mappable buffer (rows padded to 256 bytes) and reads it back.
fn read_texture(
    gpu: &Gpu,
    mut encoder: wgpu::CommandEncoder,
    texture: &wgpu::Texture,
    size: u32,
) -> image::RgbaImage {
    let row = (size * 4).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT);
    let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("preview readback"),
        size: u64::from(row * size),
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    encoder.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &buffer,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(row),
                rows_per_image: Some(size),
            },
        },
        wgpu::Extent3d {
            width: size,
            height: size,
            depth_or_array_layers: 1,
        },
    );
    gpu.queue.submit([encoder.finish()]);
    let slice = buffer.slice(..);
    slice.map_async(wgpu::MapMode::Read, |_| {});
    let _ = gpu.device.poll(wgpu::PollType::wait_indefinitely());
    let mapped = slice.get_mapped_range().expect("mapped readback");
    let mut pixels = Vec::with_capacity((size * size * 4) as usize);
    for r in 0..size {
        let start = (r * row) as usize;
        pixels.extend_from_slice(&mapped[start..start + (size * 4) as usize]);
    }
    drop(mapped);
    buffer.unmap();
    image::RgbaImage::from_raw(size, size, pixels).expect("size matches")
}
