//! Running the Python converters in tools/ (Python 3 + numpy, as on CI) in scratch folders.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

pub fn python(args: &[&str]) -> Output {
    Command::new("python3")
        .args(args)
        .output()
        .expect("python3 with numpy is needed (pip install numpy)")
}

/// A fresh scratch folder per test and process.
pub fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("neuralhead-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A pickle that would run `touch marker` if loaded with `pickle.load`.
pub fn malicious_pickle(marker: &std::path::Path) -> String {
    format!("cos\nsystem\n(S'touch {}'\ntR.", marker.display())
}

pub fn tool(name: &str) -> String {
    format!("{}/tools/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A safetensors file's tensors: name → (dtype, shape, bytes), for bit-exact comparisons.
pub fn tensors(bytes: &[u8]) -> BTreeMap<String, (String, Vec<usize>, Vec<u8>)> {
    safetensors::SafeTensors::deserialize(bytes)
        .unwrap()
        .tensors()
        .into_iter()
        .map(|(k, v)| {
            let entry = (
                format!("{:?}", v.dtype()),
                v.shape().to_vec(),
                v.data().to_vec(),
            );
            (k, entry)
        })
        .collect()
}
