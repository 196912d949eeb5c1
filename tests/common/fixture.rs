//! Reading the reference fixtures (safetensors with JSON metadata) as f64 arrays.
#![allow(dead_code)]

use std::collections::HashMap;

use burn::tensor::{Device, Tensor, TensorData};

pub struct Fixture {
    pub tensors: HashMap<String, (Vec<usize>, Vec<f64>)>,
    pub metadata: HashMap<String, String>,
}

impl Fixture {
    pub fn load(name: &str) -> Self {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        let metadata = header.metadata().clone().unwrap_or_default();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let tensors = st
            .tensors()
            .into_iter()
            .map(|(name, view)| {
                let data: Vec<f64> = match view.dtype() {
                    safetensors::Dtype::F32 => bytemuck::pod_collect_to_vec::<u8, f32>(view.data())
                        .into_iter()
                        .map(f64::from)
                        .collect(),
                    safetensors::Dtype::I64 => bytemuck::pod_collect_to_vec::<u8, i64>(view.data())
                        .into_iter()
                        .map(|x| x as f64)
                        .collect(),
                    other => panic!("{name}: unexpected dtype {other:?}"),
                };
                (name, (view.shape().to_vec(), data))
            })
            .collect();
        Self { tensors, metadata }
    }

    pub fn get(&self, name: &str) -> &(Vec<usize>, Vec<f64>) {
        self.tensors
            .get(name)
            .unwrap_or_else(|| panic!("fixture has no tensor {name}"))
    }

    pub fn data(&self, name: &str) -> &[f64] {
        &self.get(name).1
    }

    pub fn shape(&self, name: &str) -> &[usize] {
        &self.get(name).0
    }

    /// The stored tensor `name` as an f32 burn tensor.
    pub fn input<const D: usize>(&self, name: &str, device: &Device) -> Tensor<D> {
        let (shape, values) = self.get(name);
        let values: Vec<f32> = values.iter().map(|v| *v as f32).collect();
        Tensor::from_data(TensorData::new(values, shape.clone()), device)
    }

    /// Asserts `max|ours − ref| ≤ tolerance · max|ref|` for the stored tensor `name` (same
    /// shape) and returns the relative error.
    pub fn check<const D: usize>(&self, name: &str, ours: Tensor<D>, tolerance: f64) -> f64 {
        assert_eq!(ours.dims().to_vec(), self.shape(name), "{name}: shape");
        let ours: Vec<f64> = ours
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
            .into_iter()
            .map(f64::from)
            .collect();
        let (err, scale) = max_error(&ours, self.data(name));
        let rel = err / scale;
        eprintln!("{name}: max error {err:.3e} of {scale:.3} ({rel:.1e})");
        assert!(
            rel <= tolerance,
            "{name}: {err:.3e} > {tolerance}·{scale:.3}"
        );
        rel
    }

    pub fn json(&self, key: &str) -> serde_json::Value {
        serde_json::from_str(
            self.metadata
                .get(key)
                .unwrap_or_else(|| panic!("no metadata {key}")),
        )
        .unwrap()
    }
}

/// max |a − b| and max |b|, for "max|a − b| ≤ k·max|ref|" criteria.
pub fn max_error(ours: &[f64], reference: &[f64]) -> (f64, f64) {
    assert_eq!(ours.len(), reference.len());
    // A NaN where the other side has a number (an unwritten, poisoned output) is an infinite
    // error; f64::max alone would skip it.
    let err = ours
        .iter()
        .zip(reference)
        .map(|(a, b)| match (a.is_nan(), b.is_nan()) {
            (true, true) => 0.0,
            (false, false) if a == b => 0.0,
            (false, false) => (a - b).abs(),
            _ => f64::INFINITY,
        })
        .fold(0.0, f64::max);
    let scale = reference.iter().map(|x| x.abs()).fold(0.0, f64::max);
    (err, scale)
}
