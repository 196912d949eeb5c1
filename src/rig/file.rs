//! The rig file: one safetensors file with FLAME's key names and JSON metadata.
//! `tools/convert_flame.py` writes it for FLAME; `default_rig::build` for the embedded rig.

use std::collections::HashMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use super::model::{Basis, JointDriver, Landmark, Rig, RigKind, UvImage};

pub const FORMAT: &str = "neuralhead-rig";
pub const VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum RigFileError {
    #[error("cannot read the rig file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a safetensors file ({reason}). A FLAME model must be converted first: \
         python3 tools/convert_flame.py generic_model.pkl --out weights/flame2020.safetensors"
    )]
    NotSafetensors { path: String, reason: String },
    #[error(
        "{path} is a safetensors file but not a neuralhead rig (its metadata has no \
         format = {FORMAT}). Convert FLAME with tools/convert_flame.py."
    )]
    NotARig { path: String },
    #[error(
        "{path} is rig format version {found}; this build reads version {VERSION}. Re-run the converter."
    )]
    Version { path: String, found: String },
    #[error("{path}: {problem}")]
    Invalid { path: String, problem: String },
}

/// Reads and validates a rig file.
pub fn load(path: &Path) -> Result<Rig, RigFileError> {
    let bytes = std::fs::read(path).map_err(|source| RigFileError::Io {
        path: path.display().to_string(),
        source,
    })?;
    from_bytes(&bytes, &path.display().to_string())
}

/// Parses and validates a rig from the bytes of a rig file; `origin` names it in errors.
pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Rig, RigFileError> {
    let path = origin.to_string();
    let invalid = |problem: String| RigFileError::Invalid {
        path: path.clone(),
        problem,
    };
    let (_, header) =
        SafeTensors::read_metadata(bytes).map_err(|e| RigFileError::NotSafetensors {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    let meta = header.metadata().clone().unwrap_or_default();
    if meta.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(RigFileError::NotARig { path });
    }
    let version = meta.get("version").cloned().unwrap_or_default();
    if version != VERSION.to_string() {
        return Err(RigFileError::Version {
            path,
            found: version,
        });
    }
    let st = SafeTensors::deserialize(bytes).map_err(|e| RigFileError::NotSafetensors {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let reader = Reader {
        st: &st,
        path: &path,
    };

    let kind: RigKind = serde_json::from_value(serde_json::Value::String(
        meta.get("kind").cloned().unwrap_or_default(),
    ))
    .map_err(|_| invalid(format!("unknown rig kind {:?}", meta.get("kind"))))?;
    let template = reader.f32s("v_template", &[None, Some(3)])?;
    let v = template.1[0];
    let basis = |name: &str| -> Result<Basis, RigFileError> {
        if !reader.has(name) {
            return Ok(Basis::empty());
        }
        let (data, shape) = reader.f32s(name, &[Some(v), Some(3), None])?;
        Ok(Basis {
            count: shape[2],
            data,
        })
    };
    let shape_basis = basis("shapedirs")?;
    let expression_basis = if reader.has(SPARSE_COUNT) {
        reader.sparse_basis(v)?
    } else {
        basis("exprdirs")?
    };
    let pose_basis = basis("posedirs")?;
    let expression_names = match meta.get("expression_names") {
        Some(json) => serde_json::from_str(json)
            .map_err(|e| invalid(format!("bad expression_names metadata: {e}")))?,
        None => (0..expression_basis.count).map(|i| i.to_string()).collect(),
    };
    let drivers: Vec<JointDriver> = match meta.get("joint_drivers") {
        Some(json) => serde_json::from_str(json)
            .map_err(|e| invalid(format!("bad joint_drivers metadata: {e}")))?,
        None => Vec::new(),
    };
    let (parents, jshape) = reader.i32s("parents", &[None])?;
    let j = jshape[0];
    let (joint_regressor, _) = reader.f32s("J_regressor", &[Some(j), Some(v)])?;
    let (skin_weights, _) = reader.f32s("weights", &[Some(v), Some(j)])?;
    let (faces, fshape) = reader.i32s("f", &[None, Some(3)])?;
    let (uv_faces, _) = reader.i32s("uv_faces", &[Some(fshape[0]), Some(3)])?;
    let (uvs, _) = reader.f32s("uvs", &[None, Some(2)])?;
    let (lmk_faces, _) = reader.i32s("lmk_faces_idx", &[Some(super::model::NUM_LANDMARKS)])?;
    let (lmk_bary, _) = reader.f32s(
        "lmk_bary_coords",
        &[Some(super::model::NUM_LANDMARKS), Some(3)],
    )?;
    let to_u32 = |values: Vec<i32>, what: &str| -> Result<Vec<u32>, RigFileError> {
        values
            .into_iter()
            .map(|x| u32::try_from(x).map_err(|_| invalid(format!("negative index in {what}"))))
            .collect()
    };
    let mediapipe = if reader.has("mediapipe_faces_idx") {
        let (faces, _) =
            reader.i32s("mediapipe_faces_idx", &[Some(super::model::NUM_MEDIAPIPE)])?;
        let (bary, _) = reader.f32s(
            "mediapipe_bary_coords",
            &[Some(super::model::NUM_MEDIAPIPE), Some(3)],
        )?;
        embedded_points(to_u32(faces, "mediapipe_faces_idx")?, &bary)
    } else {
        Vec::new()
    };
    let faces = to_u32(faces, "f")?;
    let uv_faces = to_u32(uv_faces, "uv_faces")?;
    let lmk_faces = to_u32(lmk_faces, "lmk_faces_idx")?;

    let rig = Rig {
        kind,
        source: meta.get("source").cloned().unwrap_or_default(),
        template: triples(&template.0),
        shape_basis,
        expression_basis,
        expression_names,
        pose_basis,
        joint_regressor,
        parents,
        skin_weights,
        faces: faces.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect(),
        uv_faces: uv_faces
            .chunks_exact(3)
            .map(|c| [c[0], c[1], c[2]])
            .collect(),
        uvs: uvs.chunks_exact(2).map(|c| [c[0], c[1]]).collect(),
        landmarks: embedded_points(lmk_faces, &lmk_bary),
        mediapipe,
        drivers,
        uv_mask: reader.image("uv_face_eye_mask")?,
        albedo: reader.image("albedo")?,
    };
    rig.validate().map_err(invalid)?;
    Ok(rig)
}

/// Expression bases stored sparse: entries per component, then each entry's vertex and xyz.
const SPARSE_COUNT: &str = "exprdirs_sparse_count";
const SPARSE_VERTEX: &str = "exprdirs_sparse_vertex";
const SPARSE_DELTA: &str = "exprdirs_sparse_delta";

/// How `to_bytes` stores a rig.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Every value as the rig holds it (f32, dense); reading it back gives the same rig.
    Exact,
    /// For the committed default rig: the shape basis in f16, the expression basis sparse
    /// (only non-zero vertex rows) in f16, faces as u16 when the vertices fit. Lossless for
    /// a rig whose basis values are f16 numbers already (the head rig's builder rounds them).
    Compact,
}

/// Serialises a rig into the file format `load` reads, every value exact.
pub fn to_bytes(rig: &Rig) -> Result<Vec<u8>, safetensors::SafeTensorError> {
    to_bytes_as(rig, Storage::Exact)
}

/// Serialises a rig into the file format `load` reads, stored as `storage` says.
pub fn to_bytes_as(rig: &Rig, storage: Storage) -> Result<Vec<u8>, safetensors::SafeTensorError> {
    let compact = storage == Storage::Compact;
    let v = rig.num_vertices();
    let j = rig.num_joints();
    let mut tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    let mut put_f32 = |name: &str, shape: Vec<usize>, data: &[f32]| {
        tensors.push((
            name.into(),
            Dtype::F32,
            shape,
            bytemuck::cast_slice(data).to_vec(),
        ));
    };
    put_f32(
        "v_template",
        vec![v, 3],
        bytemuck::cast_slice(&rig.template),
    );
    for (name, basis) in [
        ("shapedirs", &rig.shape_basis),
        ("exprdirs", &rig.expression_basis),
        ("posedirs", &rig.pose_basis),
    ] {
        if basis.count == 0 || (compact && name != "posedirs") {
            continue;
        }
        put_f32(name, vec![v, 3, basis.count], &basis.data);
    }
    put_f32("J_regressor", vec![j, v], &rig.joint_regressor);
    put_f32("weights", vec![v, j], &rig.skin_weights);
    put_f32(
        "uvs",
        vec![rig.uvs.len(), 2],
        bytemuck::cast_slice(&rig.uvs),
    );
    let bary: Vec<f32> = rig.landmarks.iter().flat_map(|l| l.bary).collect();
    put_f32("lmk_bary_coords", vec![rig.landmarks.len(), 3], &bary);
    if !rig.mediapipe.is_empty() {
        let bary: Vec<f32> = rig.mediapipe.iter().flat_map(|l| l.bary).collect();
        put_f32("mediapipe_bary_coords", vec![rig.mediapipe.len(), 3], &bary);
    }
    if compact {
        let halves = |values: &[f32]| -> Vec<u8> {
            let h: Vec<half::f16> = values.iter().map(|&x| half::f16::from_f32(x)).collect();
            bytemuck::cast_slice(&h).to_vec()
        };
        let basis = &rig.shape_basis;
        if basis.count > 0 {
            tensors.push((
                "shapedirs".into(),
                Dtype::F16,
                vec![v, 3, basis.count],
                halves(&basis.data),
            ));
        }
        let (counts, vertices, deltas) = sparse_rows(&rig.expression_basis);
        if !counts.is_empty() {
            let n = vertices.len();
            tensors.push((
                SPARSE_COUNT.into(),
                Dtype::I32,
                vec![counts.len()],
                bytemuck::cast_slice(&counts).to_vec(),
            ));
            tensors.push(index_tensor(SPARSE_VERTEX, vec![n], &vertices, v));
            tensors.push((SPARSE_DELTA.into(), Dtype::F16, vec![n, 3], halves(&deltas)));
        }
    }
    let short_indices =
        compact && v <= usize::from(u16::MAX) + 1 && rig.uvs.len() <= usize::from(u16::MAX) + 1;
    let mut put_i32 = |name: &str, shape: Vec<usize>, data: Vec<i32>| {
        let faces = name == "f" || name == "uv_faces";
        let (dtype, bytes) = if faces && short_indices {
            let short: Vec<u16> = data.iter().map(|&i| i as u16).collect();
            (Dtype::U16, bytemuck::cast_slice(&short).to_vec())
        } else {
            (Dtype::I32, bytemuck::cast_slice(&data).to_vec())
        };
        tensors.push((name.into(), dtype, shape, bytes));
    };
    put_i32("parents", vec![j], rig.parents.clone());
    let flat = |faces: &[[u32; 3]]| {
        faces
            .iter()
            .flatten()
            .map(|&i| i as i32)
            .collect::<Vec<_>>()
    };
    put_i32("f", vec![rig.faces.len(), 3], flat(&rig.faces));
    put_i32("uv_faces", vec![rig.uv_faces.len(), 3], flat(&rig.uv_faces));
    put_i32(
        "lmk_faces_idx",
        vec![rig.landmarks.len()],
        rig.landmarks.iter().map(|l| l.face as i32).collect(),
    );
    if !rig.mediapipe.is_empty() {
        put_i32(
            "mediapipe_faces_idx",
            vec![rig.mediapipe.len()],
            rig.mediapipe.iter().map(|l| l.face as i32).collect(),
        );
    }
    for (name, image) in [("uv_face_eye_mask", &rig.uv_mask), ("albedo", &rig.albedo)] {
        if let Some(img) = image {
            tensors.push((
                name.into(),
                Dtype::U8,
                vec![img.height, img.width, img.channels],
                img.data.clone(),
            ));
        }
    }
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(name, dtype, shape, data)| {
            TensorView::new(*dtype, shape.clone(), data).map(|view| (name.clone(), view))
        })
        .collect::<Result<_, _>>()?;
    let kind = serde_json::to_value(rig.kind).expect("kind serialises");
    let mut meta = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("version".to_string(), VERSION.to_string()),
        (
            "kind".to_string(),
            kind.as_str().unwrap_or_default().to_string(),
        ),
        ("source".to_string(), rig.source.clone()),
        (
            "expression_names".to_string(),
            serde_json::to_string(&rig.expression_names).expect("names"),
        ),
    ]);
    if !rig.drivers.is_empty() {
        meta.insert(
            "joint_drivers".into(),
            serde_json::to_string(&rig.drivers).expect("drivers"),
        );
    }
    safetensors::serialize(views, Some(meta))
}

/// Writes a rig file atomically, every value exact.
pub fn save(rig: &Rig, path: &Path) -> anyhow::Result<()> {
    save_as(rig, path, Storage::Exact)
}

/// Writes a rig file atomically, stored as `storage` says.
pub fn save_as(rig: &Rig, path: &Path, storage: Storage) -> anyhow::Result<()> {
    let bytes = to_bytes_as(rig, storage)?;
    crate::io::write_atomically(path, &bytes)?;
    Ok(())
}

/// Indices below `bound` as u16 when they all fit, else as i32.
fn index_tensor(
    name: &str,
    shape: Vec<usize>,
    data: &[i32],
    bound: usize,
) -> (String, Dtype, Vec<usize>, Vec<u8>) {
    if bound <= usize::from(u16::MAX) + 1 {
        let short: Vec<u16> = data.iter().map(|&i| i as u16).collect();
        (
            name.into(),
            Dtype::U16,
            shape,
            bytemuck::cast_slice(&short).to_vec(),
        )
    } else {
        (
            name.into(),
            Dtype::I32,
            shape,
            bytemuck::cast_slice(data).to_vec(),
        )
    }
}

/// A basis' non-zero vertex rows, component by component: (rows per component, each row's
/// vertex, its xyz).
fn sparse_rows(basis: &Basis) -> (Vec<i32>, Vec<i32>, Vec<f32>) {
    let k = basis.count;
    let vertices = if k == 0 {
        0
    } else {
        basis.data.len() / (3 * k)
    };
    let (mut counts, mut rows, mut deltas) = (Vec::new(), Vec::new(), Vec::new());
    for c in 0..k {
        let mut count = 0;
        for v in 0..vertices {
            let d = [0, 1, 2].map(|a| basis.at(v, a, c));
            if d.iter().any(|&x| x != 0.0) {
                rows.push(v as i32);
                deltas.extend(d);
                count += 1;
            }
        }
        counts.push(count);
    }
    (counts, rows, deltas)
}

/// Points on the surface from their faces and barycentric weights.
fn embedded_points(faces: Vec<u32>, bary: &[f32]) -> Vec<Landmark> {
    faces
        .into_iter()
        .zip(bary.chunks_exact(3))
        .map(|(face, b)| Landmark {
            face,
            bary: [b[0], b[1], b[2]],
        })
        .collect()
}

fn triples(flat: &[f32]) -> Vec<[f32; 3]> {
    flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect()
}

/// Typed, shape-checked access to the tensors of one file.
struct Reader<'a> {
    st: &'a SafeTensors<'a>,
    path: &'a str,
}

impl Reader<'_> {
    fn has(&self, name: &str) -> bool {
        self.st.names().contains(&name)
    }

    fn view(&self, name: &str, expected: &[Option<usize>]) -> Result<TensorView<'_>, RigFileError> {
        let view = self.st.tensor(name).map_err(|_| RigFileError::Invalid {
            path: self.path.into(),
            problem: format!("the tensor `{name}` is missing"),
        })?;
        let shape = view.shape();
        let fits = shape.len() == expected.len()
            && shape
                .iter()
                .zip(expected)
                .all(|(&s, e)| e.is_none_or(|e| e == s));
        if !fits {
            let want: Vec<String> = expected
                .iter()
                .map(|e| e.map_or("any".into(), |x| x.to_string()))
                .collect();
            return Err(RigFileError::Invalid {
                path: self.path.into(),
                problem: format!(
                    "`{name}` has shape {shape:?}, expected [{}]",
                    want.join(", ")
                ),
            });
        }
        Ok(view)
    }

    fn f32s(
        &self,
        name: &str,
        expected: &[Option<usize>],
    ) -> Result<(Vec<f32>, Vec<usize>), RigFileError> {
        let view = self.view(name, expected)?;
        let data = match view.dtype() {
            Dtype::F32 => bytemuck::pod_collect_to_vec::<u8, f32>(view.data()),
            Dtype::F64 => bytemuck::pod_collect_to_vec::<u8, f64>(view.data())
                .into_iter()
                .map(|x| x as f32)
                .collect(),
            Dtype::F16 => bytemuck::pod_collect_to_vec::<u8, half::f16>(view.data())
                .into_iter()
                .map(f32::from)
                .collect(),
            other => return Err(self.wrong_type(name, other, "f32, f64 or f16")),
        };
        Ok((data, view.shape().to_vec()))
    }

    fn i32s(
        &self,
        name: &str,
        expected: &[Option<usize>],
    ) -> Result<(Vec<i32>, Vec<usize>), RigFileError> {
        let view = self.view(name, expected)?;
        let data = match view.dtype() {
            Dtype::I32 => bytemuck::pod_collect_to_vec::<u8, i32>(view.data()),
            Dtype::I64 => bytemuck::pod_collect_to_vec::<u8, i64>(view.data())
                .into_iter()
                .map(|x| i32::try_from(x).unwrap_or(i32::MIN))
                .collect(),
            Dtype::U16 => bytemuck::pod_collect_to_vec::<u8, u16>(view.data())
                .into_iter()
                .map(i32::from)
                .collect(),
            other => return Err(self.wrong_type(name, other, "i32, i64 or u16")),
        };
        Ok((data, view.shape().to_vec()))
    }

    /// The expression basis from its sparse rows, made dense for `vertices` vertices.
    fn sparse_basis(&self, vertices: usize) -> Result<Basis, RigFileError> {
        let invalid = |problem: String| RigFileError::Invalid {
            path: self.path.into(),
            problem,
        };
        let (counts, shape) = self.i32s(SPARSE_COUNT, &[None])?;
        let k = shape[0];
        let (rows, shape) = self.i32s(SPARSE_VERTEX, &[None])?;
        let (deltas, _) = self.f32s(SPARSE_DELTA, &[Some(shape[0]), Some(3)])?;
        let listed: i64 = counts.iter().map(|&c| i64::from(c)).sum();
        if counts.iter().any(|&c| c < 0) || listed != rows.len() as i64 {
            return Err(invalid(format!(
                "`{SPARSE_COUNT}` lists {listed} rows, `{SPARSE_VERTEX}` holds {}",
                rows.len()
            )));
        }
        let mut data = vec![0.0; vertices * 3 * k];
        let mut row = 0;
        for (c, &count) in counts.iter().enumerate() {
            for _ in 0..count {
                let v = usize::try_from(rows[row])
                    .ok()
                    .filter(|&v| v < vertices)
                    .ok_or_else(|| {
                        invalid(format!(
                            "`{SPARSE_VERTEX}` names vertex {}, the rig has {vertices}",
                            rows[row]
                        ))
                    })?;
                for a in 0..3 {
                    data[(v * 3 + a) * k + c] = deltas[row * 3 + a];
                }
                row += 1;
            }
        }
        Ok(Basis { count: k, data })
    }

    fn image(&self, name: &str) -> Result<Option<UvImage>, RigFileError> {
        if !self.has(name) {
            return Ok(None);
        }
        let view = self.view(name, &[None, None, None])?;
        if view.dtype() != Dtype::U8 {
            return Err(self.wrong_type(name, view.dtype(), "u8"));
        }
        let s = view.shape();
        Ok(Some(UvImage {
            height: s[0],
            width: s[1],
            channels: s[2],
            data: view.data().to_vec(),
        }))
    }

    fn wrong_type(&self, name: &str, found: Dtype, wanted: &str) -> RigFileError {
        RigFileError::Invalid {
            path: self.path.into(),
            problem: format!("`{name}` is stored as {found:?}, expected {wanted}"),
        }
    }
}
