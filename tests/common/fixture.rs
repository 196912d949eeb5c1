//! Reading the reference fixtures (safetensors with JSON metadata) as f64 arrays.
#![allow(dead_code)]

use std::collections::HashMap;

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
    let err = ours
        .iter()
        .zip(reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let scale = reference.iter().map(|x| x.abs()).fold(0.0, f64::max);
    (err, scale)
}
