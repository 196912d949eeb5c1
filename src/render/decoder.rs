//! EG3D's OSGDecoder: the mean of the three plane features → FC 32→64 → softplus →
//! FC 64→33; σ raw, features sigmoid·1.002 − 0.001.

use std::collections::HashMap;

use burn::tensor::activation::{sigmoid, softplus};
use burn::tensor::{Device, Tensor, TensorData};

/// Weights in PyTorch's layout (`[out, in]`) under the official names
/// `decoder.net.0.{weight,bias}` and `decoder.net.2.{weight,bias}`; the equalised-learning-
/// rate gain 1/√in is applied in `forward`, as EG3D's FullyConnectedLayer does.
#[derive(Debug, Clone)]
pub struct OsgDecoder {
    pub w0: Tensor<2>,
    pub b0: Tensor<1>,
    pub w1: Tensor<2>,
    pub b1: Tensor<1>,
}

pub const FEATURES: usize = 32;
pub const HIDDEN: usize = 64;

impl OsgDecoder {
    /// From named f32 arrays (`name → (shape, values)`); a missing or mis-shaped tensor is
    /// reported by name.
    pub fn from_named(
        tensors: &HashMap<String, (Vec<usize>, Vec<f32>)>,
        device: &Device,
    ) -> Result<Self, String> {
        let get = |name: &str, shape: &[usize]| -> Result<TensorData, String> {
            let (s, v) = tensors
                .get(name)
                .ok_or_else(|| format!("the decoder tensor `{name}` is missing"))?;
            if s != shape {
                return Err(format!("`{name}` has shape {s:?}, expected {shape:?}"));
            }
            Ok(TensorData::new(v.clone(), s.clone()))
        };
        Ok(Self {
            w0: Tensor::from_data(get("decoder.net.0.weight", &[HIDDEN, FEATURES])?, device),
            b0: Tensor::from_data(get("decoder.net.0.bias", &[HIDDEN])?, device),
            w1: Tensor::from_data(
                get("decoder.net.2.weight", &[FEATURES + 1, HIDDEN])?,
                device,
            ),
            b1: Tensor::from_data(get("decoder.net.2.bias", &[FEATURES + 1])?, device),
        })
    }

    /// Plane features `[3, M, C]` → (σ `[M, 1]`, features `[M, C]`).
    pub fn forward(&self, plane_features: Tensor<3>) -> (Tensor<2>, Tensor<2>) {
        let x = plane_features.mean_dim(0).squeeze_dim::<2>(0);
        let gain0 = 1.0 / (FEATURES as f64).sqrt();
        let gain1 = 1.0 / (HIDDEN as f64).sqrt();
        let h = x.matmul(self.w0.clone().transpose() * gain0) + self.b0.clone().unsqueeze_dim(0);
        let h = softplus(h, 1.0);
        let out = h.matmul(self.w1.clone().transpose() * gain1) + self.b1.clone().unsqueeze_dim(0);
        let [m, _] = out.dims();
        let sigma = out.clone().slice([0..m, 0..1]);
        let features = sigmoid(out.slice([0..m, 1..FEATURES + 1])) * (1.0 + 2.0 * 0.001) - 0.001;
        (sigma, features)
    }
}
