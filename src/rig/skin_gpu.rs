//! GPU skinning: `shaders/skin.wgsl` as a burn op, plus the per-frame joint math on the CPU
//! (five joints: microseconds) that feeds it.

use std::sync::Arc;

use burn::backend::wgpu::{CubeBackend, CubeTensor};
use burn::backend::{Backend, Dispatch, backend_extension, tensor::FloatTensor};
use burn::tensor::{Device, Shape, Tensor, TensorData};

use super::model::{NUM_JOINTS, Rig};
use super::params::Resolved;
use super::rotation::rodrigues;
use super::skin_cpu::{identity_vertices, joint_transforms, pose_feature, regress_joints};
use crate::gpu::kernel::{contiguous, empty_f32, expect_shape, grid_1d, launch};
use crate::gpu::shaders;

#[backend_extension(Cube, Fusion: cfg(feature = "fusion"))]
pub trait SkinOps: Backend {
    /// Skinned vertices followed by landmarks, `[V + L, 3]`.
    #[fusion(shape = skinned_shape(rest, landmarks), dtype = rest)]
    fn skin(
        rest: FloatTensor<Self>,
        basis: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        landmarks: FloatTensor<Self>,
        frame: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

fn skinned_shape(rest: &Shape, landmarks: &Shape) -> Shape {
    Shape::new([rest[0] + landmarks[0], 3])
}

impl SkinOps for CubeBackend {
    fn skin(
        rest: CubeTensor,
        basis: CubeTensor,
        weights: CubeTensor,
        landmarks: CubeTensor,
        frame: CubeTensor,
    ) -> CubeTensor {
        let [rest, basis, weights, landmarks, frame] =
            [rest, basis, weights, landmarks, frame].map(contiguous);
        let v = rest.meta.shape()[0];
        let k = basis.meta.shape()[0];
        let j = weights.meta.shape()[1];
        let l = landmarks.meta.shape()[0];
        expect_shape("rest", &rest, &[v, 3]);
        expect_shape("basis", &basis, &[k, v * 3]);
        expect_shape("weights", &weights, &[v, j]);
        expect_shape("landmarks", &landmarks, &[l, 6]);
        expect_shape("frame", &frame, &[k + 12 * j]);
        let out = empty_f32(
            &rest,
            skinned_shape(rest.meta.shape(), landmarks.meta.shape()),
        );
        let kernel = shaders::skin(v, k, j, l);
        let count = grid_1d(v + l, kernel.workgroup_size);
        launch(
            kernel,
            count,
            &[&rest, &basis, &weights, &landmarks, &frame, &out],
        );
        out
    }
}

/// The kernel's per-rig inputs, laid out as `shaders/skin.wgsl` reads them.
pub struct StaticInputs {
    /// Expression and pose-corrective components, `K`.
    pub components: usize,
    /// `[K, V·3]`, component-major so that neighbouring invocations read neighbouring floats.
    pub basis: Vec<f32>,
    /// `[L, 6]`: three vertex ids (as f32, exact below 2²⁴) and three barycentric weights.
    pub landmarks: Vec<f32>,
}

impl StaticInputs {
    pub fn new(rig: &Rig) -> Self {
        let v = rig.num_vertices();
        let k = rig.expression_basis.count + rig.pose_basis.count;
        let mut basis = vec![0.0f32; k * v * 3];
        for (offset, b) in [
            (0, &rig.expression_basis),
            (rig.expression_basis.count, &rig.pose_basis),
        ] {
            for row in 0..v * 3 {
                for c in 0..b.count {
                    basis[(offset + c) * v * 3 + row] = b.data[row * b.count + c];
                }
            }
        }
        let landmarks = rig
            .landmark_vertices()
            .iter()
            .flat_map(|(ids, bary)| {
                [
                    ids[0] as f32,
                    ids[1] as f32,
                    ids[2] as f32,
                    bary[0],
                    bary[1],
                    bary[2],
                ]
            })
            .collect();
        Self {
            components: k,
            basis,
            landmarks,
        }
    }
}

/// The kernel's `rest` input: the identity-applied template, `[V, 3]`.
pub fn rest_input(identity_vertices: &[[f64; 3]]) -> Vec<f32> {
    identity_vertices
        .iter()
        .flatten()
        .map(|&x| x as f32)
        .collect()
}

/// A rig's skinning data on the GPU, for one identity. Create it once per rig and identity;
/// each frame then uploads only `K + 12·J` floats.
pub struct GpuSkinner {
    rig: Arc<Rig>,
    device: Device,
    rest: Tensor<2>,
    basis: Tensor<2>,
    weights: Tensor<2>,
    landmarks: Tensor<2>,
    /// Joint locations of the identity, and their change per expression component.
    joints_rest: [[f64; 3]; NUM_JOINTS],
    joints_per_expression: Vec<[[f64; 3]; NUM_JOINTS]>,
}

impl GpuSkinner {
    pub fn new(rig: Arc<Rig>, identity: &Resolved, device: &Device) -> Self {
        let v = rig.num_vertices();
        let inputs = StaticInputs::new(&rig);
        let upload = |data: Vec<f32>, shape: [usize; 2]| {
            Tensor::<2>::from_data(TensorData::new(data, shape), device)
        };
        let joints_per_expression = (0..rig.expression_basis.count)
            .map(|e| {
                let column: Vec<[f64; 3]> = (0..v)
                    .map(|i| [0, 1, 2].map(|a| f64::from(rig.expression_basis.at(i, a, e))))
                    .collect();
                regress_joints(&rig, &column)
            })
            .collect();
        let mut skinner = Self {
            device: device.clone(),
            rest: upload(vec![0.0; v * 3], [v, 3]),
            basis: upload(inputs.basis, [inputs.components, v * 3]),
            weights: upload(rig.skin_weights.clone(), [v, rig.num_joints()]),
            landmarks: upload(inputs.landmarks, [rig.landmarks.len(), 6]),
            joints_rest: [[0.0; 3]; NUM_JOINTS],
            joints_per_expression,
            rig,
        };
        skinner.set_identity(identity);
        skinner
    }

    pub fn rig(&self) -> &Arc<Rig> {
        &self.rig
    }

    /// Uploads a new identity (shape coefficients or offset field); expressions keep working.
    pub fn set_identity(&mut self, identity: &Resolved) {
        let rest = identity_vertices(&self.rig, identity);
        self.joints_rest = regress_joints(&self.rig, &rest);
        let flat = rest_input(&rest);
        let v = self.rig.num_vertices();
        self.rest = Tensor::from_data(TensorData::new(flat, [v, 3]), &self.device);
    }

    /// The per-frame input of the kernel: coefficients, then one 3×4 transform per joint.
    pub fn frame(&self, params: &Resolved) -> Vec<f32> {
        let mut joints = self.joints_rest;
        for (per_unit, &w) in self.joints_per_expression.iter().zip(&params.expression) {
            if w != 0.0 {
                for (joint, delta) in joints.iter_mut().zip(per_unit) {
                    for a in 0..3 {
                        joint[a] += w * delta[a];
                    }
                }
            }
        }
        let rotations = params.joints.map(rodrigues);
        let transforms = joint_transforms(&self.rig, &rotations, &joints);
        let mut frame: Vec<f32> = params.expression.iter().map(|&x| x as f32).collect();
        if self.rig.pose_basis.count > 0 {
            frame.extend(pose_feature(&rotations).iter().map(|&x| x as f32));
        }
        frame.extend(transforms.iter().flatten().flatten().map(|&x| x as f32));
        frame
    }

    /// Skinned vertices `[V, 3]` and landmarks `[68, 3]`, computed on the GPU (lazily, like
    /// any burn op: read them or sync the device to wait).
    pub fn skin(&self, params: &Resolved) -> (Tensor<2>, Tensor<2>) {
        let frame = self.frame(params);
        let len = frame.len();
        let frame = Tensor::<1>::from_data(TensorData::new(frame, [len]), &self.device);
        let out = Tensor::<2>::from_dispatch(<Dispatch as SkinOps>::skin(
            self.rest.clone().into_dispatch(),
            self.basis.clone().into_dispatch(),
            self.weights.clone().into_dispatch(),
            self.landmarks.clone().into_dispatch(),
            frame.into_dispatch(),
        ));
        let v = self.rig.num_vertices();
        let total = v + self.rig.landmarks.len();
        (out.clone().slice([0..v, 0..3]), out.slice([v..total, 0..3]))
    }
}

/// Reads skinned points `[V, 3]` back from the GPU.
pub fn read_points(tensor: Tensor<2>) -> anyhow::Result<Vec<[f32; 3]>> {
    let flat = tensor
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("reading the skinned mesh back from the GPU failed: {e:?}"))?;
    Ok(flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect())
}
