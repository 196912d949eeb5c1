//! The same WGSL kernel launched over plain wgpu buffers gives exactly what the burn-tensor
//! launch gives.

mod common;

use burn::tensor::wgpu::wgpu;
use neuralhead::gpu::buffers::BufferLauncher;
use neuralhead::gpu::{kernel, shaders};
use neuralhead::rig::skin_gpu::{GpuSkinner, StaticInputs, rest_input};
use neuralhead::rig::{RigParams, default_rig, skin_cpu};
use wgpu::util::DeviceExt;

#[test]
fn skinning_over_wgpu_buffers_matches_the_burn_launch() {
    let gpu = common::gpu();
    let rig = default_rig::embedded();
    let params = RigParams {
        jaw: [0.2, 0.0, 0.1],
        ..Default::default()
    }
    .with_expression("mouthSmile_L", 0.8)
    .with_expression("eyeBlink_R", 0.6);
    let (resolved, _) = params.resolve(&rig).unwrap();
    let skinner = GpuSkinner::new(rig.clone(), &resolved, &gpu.burn);
    let (vertices, landmarks) = skinner.skin(&resolved);
    let mut expected = vertices.into_data().try_to_vec::<f32>().unwrap();
    expected.extend(landmarks.into_data().try_to_vec::<f32>().unwrap());

    let inputs = StaticInputs::new(&rig);
    let storage = |data: &[f32]| {
        gpu.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: None,
                contents: bytemuck::cast_slice(data),
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            })
    };
    let rest = storage(&rest_input(&skin_cpu::identity_vertices(&rig, &resolved)));
    let basis = storage(&inputs.basis);
    let weights = storage(&rig.skin_weights);
    let lmk = storage(&inputs.landmarks);
    let frame = storage(&skinner.frame(&resolved));
    let out = storage(&vec![f32::NAN; expected.len()]);
    let readback = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: out.size(),
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });

    let skin = shaders::skin(
        rig.num_vertices(),
        inputs.components,
        rig.num_joints(),
        rig.landmarks.len(),
    );
    let groups = kernel::workgroups_1d(
        rig.num_vertices() + rig.landmarks.len(),
        skin.workgroup_size,
    );
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    BufferLauncher::default().dispatch(
        gpu,
        &mut encoder,
        &skin,
        &[&rest, &basis, &weights, &lmk, &frame, &out],
        groups,
    );
    encoder.copy_buffer_to_buffer(&out, 0, &readback, 0, out.size());
    gpu.queue.submit([encoder.finish()]);
    readback.slice(..).map_async(wgpu::MapMode::Read, |_| {});
    gpu.device
        .poll(wgpu::PollType::wait_indefinitely())
        .unwrap();
    let got: Vec<f32> =
        bytemuck::cast_slice(&readback.slice(..).get_mapped_range().unwrap()).to_vec();
    assert!(
        got.iter().all(|x| x.is_finite()),
        "some outputs were never written"
    );
    assert_eq!(got, expected, "the two launch paths disagree");
}
