//! Network weights by their official names, read from a safetensors file (f32 or f16), with
//! errors that name the tensor that is missing or mis-shaped.

use std::collections::HashMap;
use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use safetensors::{Dtype, SafeTensors};

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("cannot read the weights {origin}: {source}")]
    Io {
        origin: String,
        source: std::io::Error,
    },
    #[error(
        "{origin} is not a safetensors weights file ({reason}). Convert official checkpoints with the scripts in tools/."
    )]
    NotSafetensors { origin: String, reason: String },
    #[error(
        "{origin} has no tensor `{key}`: it is not a checkpoint of this network (or was converted from another version)."
    )]
    Missing { origin: String, key: String },
    #[error("{origin}: `{key}` has shape {found:?}, this network expects {expected}.")]
    Shape {
        origin: String,
        key: String,
        found: Vec<usize>,
        expected: String,
    },
    #[error("{origin}: `{key}` is stored as {dtype}; weights must be F32 or F16.")]
    Dtype {
        origin: String,
        key: String,
        dtype: String,
    },
    #[error("{origin}: `{key}` holds non-finite values (NaN or infinity); the file is corrupt.")]
    NonFinite { origin: String, key: String },
}

/// Float tensors of a weights file by name; integer tensors and everything a network does not
/// ask for are ignored.
#[derive(Debug, Clone, Default)]
pub struct Weights {
    origin: String,
    tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
    metadata: HashMap<String, String>,
    /// Differentiable stand-ins (flattened) that [`Weights::tensor`] returns instead of the
    /// stored values, so that networks loaded from these weights pass gradients to them.
    tracked: HashMap<String, Tensor<1>>,
}

impl Weights {
    pub fn load(path: &Path) -> Result<Self, WeightsError> {
        let origin = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| WeightsError::Io {
            origin: origin.clone(),
            source,
        })?;
        Self::from_bytes(&bytes, &origin)
    }

    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Self, WeightsError> {
        let not_st = |reason: String| WeightsError::NotSafetensors {
            origin: origin.to_string(),
            reason,
        };
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| not_st(e.to_string()))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let st = SafeTensors::deserialize(bytes).map_err(|e| not_st(e.to_string()))?;
        let mut tensors = HashMap::new();
        for (name, view) in st.tensors() {
            let values: Vec<f32> = match view.dtype() {
                Dtype::F32 => bytemuck::pod_collect_to_vec(view.data()),
                Dtype::F16 => bytemuck::pod_collect_to_vec::<u8, half::f16>(view.data())
                    .into_iter()
                    .map(f32::from)
                    .collect(),
                _ => continue,
            };
            tensors.insert(name, (view.shape().to_vec(), values));
        }
        Ok(Self {
            origin: origin.to_string(),
            tensors,
            metadata,
            tracked: HashMap::new(),
        })
    }

    /// Weights from named arrays (tests, baked avatars).
    pub fn from_arrays(
        origin: &str,
        arrays: impl IntoIterator<Item = (String, Vec<usize>, Vec<f32>)>,
    ) -> Self {
        Self {
            origin: origin.to_string(),
            tensors: arrays.into_iter().map(|(k, s, v)| (k, (s, v))).collect(),
            metadata: HashMap::new(),
            tracked: HashMap::new(),
        }
    }

    pub fn with_metadata(mut self, metadata: HashMap<String, String>) -> Self {
        self.metadata = metadata;
        self
    }

    /// Writes the float tensors and metadata as safetensors, atomically.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut names: Vec<&String> = self.tensors.keys().collect();
        names.sort();
        let views: Vec<(String, safetensors::tensor::TensorView)> = names
            .iter()
            .map(|name| {
                let (shape, values) = &self.tensors[*name];
                let view = safetensors::tensor::TensorView::new(
                    Dtype::F32,
                    shape.clone(),
                    bytemuck::cast_slice(values),
                )
                .expect("shape and data agree");
                (name.to_string(), view)
            })
            .collect();
        let bytes = safetensors::serialize(views, Some(self.metadata.clone()))
            .map_err(std::io::Error::other)?;
        crate::io::write_atomically(path, &bytes)
    }

    /// Drops every tensor whose name starts with `prefix` (tests of incomplete files).
    pub fn remove_prefix(&mut self, prefix: &str) {
        self.tensors.retain(|k, _| !k.starts_with(prefix));
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn metadata(&self) -> &HashMap<String, String> {
        &self.metadata
    }

    /// Every float tensor's name, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.tensors.contains_key(key)
    }

    pub fn shape(&self, key: &str) -> Result<&[usize], WeightsError> {
        Ok(&self.entry(key)?.0)
    }

    /// The values of `key`, checked to be finite.
    pub fn values(&self, key: &str) -> Result<&[f32], WeightsError> {
        let values = &self.entry(key)?.1;
        if values.iter().any(|v| !v.is_finite()) {
            return Err(WeightsError::NonFinite {
                origin: self.origin.clone(),
                key: key.to_string(),
            });
        }
        Ok(values)
    }

    /// `key` as a tensor of rank `D`; `expected` pins dimensions (`None` = any size).
    pub fn tensor<const D: usize>(
        &self,
        key: &str,
        expected: [Option<usize>; D],
        device: &Device,
    ) -> Result<Tensor<D>, WeightsError> {
        let shape = self.shape(key)?;
        let fits = shape.len() == D
            && shape
                .iter()
                .zip(&expected)
                .all(|(s, e)| e.is_none_or(|e| e == *s));
        if !fits {
            return Err(WeightsError::Shape {
                origin: self.origin.clone(),
                key: key.to_string(),
                found: shape.to_vec(),
                expected: format!(
                    "[{}]",
                    expected
                        .iter()
                        .map(|e| e.map_or("?".to_string(), |e| e.to_string()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        if let Some(tracked) = self.tracked.get(key) {
            let dims: [usize; D] = std::array::from_fn(|i| shape[i]);
            return Ok(tracked.clone().reshape(dims));
        }
        let data = TensorData::new(self.values(key)?.to_vec(), shape.to_vec());
        Ok(Tensor::from_data(data, device))
    }

    /// The float tensors' names.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// From now on [`Weights::tensor`] returns these flattened tensors (each with the stored
    /// tensor's number of elements) for their keys; an empty map restores the stored values.
    pub fn track(&mut self, tracked: HashMap<String, Tensor<1>>) {
        self.tracked = tracked;
    }

    /// `{prefix}.bias` of length `len` when the file has one (layers built with `bias=False`
    /// have none).
    pub fn bias(
        &self,
        prefix: &str,
        len: usize,
        device: &Device,
    ) -> Result<Option<Tensor<1>>, WeightsError> {
        let key = format!("{prefix}.bias");
        if !self.contains(&key) {
            return Ok(None);
        }
        self.tensor(&key, [Some(len)], device).map(Some)
    }

    fn entry(&self, key: &str) -> Result<&(Vec<usize>, Vec<f32>), WeightsError> {
        self.tensors.get(key).ok_or_else(|| WeightsError::Missing {
            origin: self.origin.clone(),
            key: key.to_string(),
        })
    }
}

/// Shorthand for pinned dimensions.
pub fn dims<const D: usize>(d: [usize; D]) -> [Option<usize>; D] {
    d.map(Some)
}
