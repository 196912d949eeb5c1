//! The avatar file: one safetensors file with JSON metadata (format, version, rig, source
//! state, plane layout, generator reference). Written atomically; read with validation.

use std::collections::HashMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use super::{Array, Avatar, GeneratorRef, RigRef, SourceState};
use crate::raster::layout::PlaneLayout;
use crate::render::decoder::{FEATURES, HIDDEN};
use crate::render::triplane::PlaneProjection;
use crate::rig::{Rig, default_rig};

pub const FORMAT: &str = "neuralhead-avatar";
pub const VERSION: u32 = 1;
const DECODER_KEYS: [(&str, [usize; 2]); 4] = [
    ("decoder.net.0.weight", [HIDDEN, FEATURES]),
    ("decoder.net.0.bias", [HIDDEN, 0]),
    ("decoder.net.2.weight", [FEATURES + 1, HIDDEN]),
    ("decoder.net.2.bias", [FEATURES + 1, 0]),
];

#[derive(Debug, thiserror::Error)]
pub enum AvatarError {
    #[error("cannot read the avatar {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path} is not an avatar file ({reason}). Avatars are made by `neuralhead bake` or `neuralhead invert`."
    )]
    NotAnAvatar { path: String, reason: String },
    #[error("{path} is avatar format version {found}; this build reads version {VERSION}.")]
    Version { path: String, found: String },
    #[error("{path}: {problem}")]
    Invalid { path: String, problem: String },
    #[error(
        "this avatar belongs to {wanted}, but the loaded rig is {found}. Load the rig it was made with."
    )]
    WrongRig { wanted: String, found: String },
    #[error(
        "this avatar was made on the retired face-mask default rig (version {}); the default rig is \
         now a whole head (version {}). Invert the portrait again (`neuralhead invert PORTRAIT --out \
         AVATAR.safetensors`, or Avatar → Invert a portrait in the viewer), or view it on the old rig \
         with `--rig face-mask`.",
        default_rig::FACE_MASK_VERSION,
        default_rig::VERSION
    )]
    RetiredRig,
}

pub fn load(path: &Path) -> Result<Avatar, AvatarError> {
    let bytes = std::fs::read(path).map_err(|source| AvatarError::Io {
        path: path.display().to_string(),
        source,
    })?;
    from_bytes(&bytes, &path.display().to_string())
}

pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Avatar, AvatarError> {
    let path = origin.to_string();
    let invalid = |problem: String| AvatarError::Invalid {
        path: path.clone(),
        problem,
    };
    let not_avatar = |reason: String| AvatarError::NotAnAvatar {
        path: path.clone(),
        reason,
    };
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| not_avatar(e.to_string()))?;
    let meta = header.metadata().clone().unwrap_or_default();
    if meta.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(not_avatar(format!("its metadata has no format = {FORMAT}")));
    }
    let version = meta.get("version").cloned().unwrap_or_default();
    if version != VERSION.to_string() {
        return Err(AvatarError::Version {
            path,
            found: version,
        });
    }
    let st = SafeTensors::deserialize(bytes).map_err(|e| not_avatar(e.to_string()))?;
    let json = |key: &str| -> Result<&String, AvatarError> {
        meta.get(key)
            .ok_or_else(|| invalid(format!("metadata `{key}` is missing")))
    };
    let parse = |key: &str, text: &str| invalid(format!("metadata `{key}` is malformed: {text}"));
    let rig: RigRef =
        serde_json::from_str(json("rig")?).map_err(|e| parse("rig", &e.to_string()))?;
    let source: SourceState =
        serde_json::from_str(json("source")?).map_err(|e| parse("source", &e.to_string()))?;
    let layout: PlaneLayout =
        serde_json::from_str(json("layout")?).map_err(|e| parse("layout", &e.to_string()))?;
    let generator: Option<GeneratorRef> = match meta.get("generator") {
        Some(text) => {
            Some(serde_json::from_str(text).map_err(|e| parse("generator", &e.to_string()))?)
        }
        None => None,
    };
    let array = |name: &str| -> Result<Array, AvatarError> {
        let view = st
            .tensor(name)
            .map_err(|_| invalid(format!("the tensor `{name}` is missing")))?;
        let data = match view.dtype() {
            Dtype::F32 => bytemuck::pod_collect_to_vec(view.data()),
            Dtype::F16 => bytemuck::pod_collect_to_vec::<u8, half::f16>(view.data())
                .into_iter()
                .map(f32::from)
                .collect(),
            other => {
                return Err(invalid(format!(
                    "`{name}` is stored as {other:?}, expected F32 or F16"
                )));
            }
        };
        Ok(Array {
            shape: view.shape().to_vec(),
            data,
        })
    };
    let texture = array("texture")?;
    let static_planes = array("static_planes")?;
    let plane_axes = array("plane_axes")?;
    let styles = if st.names().contains(&"styles") {
        Some(array("styles")?)
    } else {
        None
    };
    let decoder = DECODER_KEYS
        .iter()
        .map(|(k, _)| array(k).map(|a| (k.to_string(), a)))
        .collect::<Result<Vec<_>, _>>()?;
    let avatar = Avatar {
        name: meta.get("name").cloned().unwrap_or_default(),
        rig,
        source,
        texture,
        static_planes,
        decoder,
        layout,
        plane_axes: plane_axes.data,
        generator,
        styles,
    };
    validate(&avatar).map_err(invalid)?;
    Ok(avatar)
}

/// The shapes every later step relies on.
pub fn validate(avatar: &Avatar) -> Result<(), String> {
    let t = &avatar.texture.shape;
    if t.len() != 3 || t[0] != FEATURES || t[1] == 0 || t[2] == 0 {
        return Err(format!(
            "the texture has shape {t:?}, expected [{FEATURES}, H, W]"
        ));
    }
    let s = &avatar.static_planes.shape;
    if s.len() != 4 || s[0] != 3 || s[1] != FEATURES || s[2] == 0 || s[3] == 0 {
        return Err(format!(
            "the static planes have shape {s:?}, expected [3, {FEATURES}, H, W]"
        ));
    }
    for ((name, array), (_, expected)) in avatar.decoder.iter().zip(DECODER_KEYS) {
        let expected: Vec<usize> = expected.into_iter().filter(|&d| d > 0).collect();
        if array.shape != expected {
            return Err(format!(
                "`{name}` has shape {:?}, expected {expected:?}",
                array.shape
            ));
        }
    }
    PlaneProjection::from_plane_axes(&avatar.plane_axes)?;
    let finite = |a: &Array| a.data.iter().all(|x| x.is_finite());
    if !finite(&avatar.texture)
        || !finite(&avatar.static_planes)
        || !avatar.decoder.iter().all(|(_, a)| finite(a))
    {
        return Err("the avatar holds NaN or infinite values".into());
    }
    Ok(())
}

/// Checks that `rig` is the one this avatar was made with (`rig_sha256`: the rig file's).
pub fn check_rig(avatar: &Avatar, rig: &Rig, rig_sha256: Option<&str>) -> Result<(), AvatarError> {
    let found = RigRef::of(rig, rig_sha256);
    if found == avatar.rig {
        Ok(())
    } else if avatar.rig
        == (RigRef::Default {
            version: default_rig::FACE_MASK_VERSION,
        })
    {
        Err(AvatarError::RetiredRig)
    } else {
        Err(AvatarError::WrongRig {
            wanted: describe(&avatar.rig),
            found: describe(&found),
        })
    }
}

fn describe(rig: &RigRef) -> String {
    match rig {
        RigRef::Default { version } => format!("the default rig (version {version})"),
        RigRef::Flame { sha256 } => format!("the FLAME rig with sha256 {sha256}"),
    }
}

/// How the texture, static planes and styles are stored (the decoder and the plane axes are
/// always f32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Precision {
    #[default]
    F32,
    /// Half the size; the neural texture and planes lose nothing visible.
    F16,
}

pub fn to_bytes(avatar: &Avatar) -> Result<Vec<u8>, String> {
    to_bytes_as(avatar, Precision::F32)
}

pub fn to_bytes_as(avatar: &Avatar, precision: Precision) -> Result<Vec<u8>, String> {
    validate(avatar)?;
    let mut arrays: Vec<(String, &Array)> = vec![
        ("texture".into(), &avatar.texture),
        ("static_planes".into(), &avatar.static_planes),
    ];
    let axes = Array {
        shape: vec![3, 3, 3],
        data: avatar.plane_axes.clone(),
    };
    arrays.push(("plane_axes".into(), &axes));
    arrays.extend(avatar.decoder.iter().map(|(k, a)| (k.clone(), a)));
    if let Some(styles) = &avatar.styles {
        arrays.push(("styles".into(), styles));
    }
    let large = ["texture", "static_planes", "styles"];
    let encoded: Vec<(Dtype, Vec<u8>)> = arrays
        .iter()
        .map(|(name, a)| match precision {
            Precision::F16 if large.contains(&name.as_str()) => {
                let halves: Vec<half::f16> =
                    a.data.iter().map(|&x| half::f16::from_f32(x)).collect();
                (Dtype::F16, bytemuck::cast_slice(&halves).to_vec())
            }
            _ => (Dtype::F32, bytemuck::cast_slice(&a.data).to_vec()),
        })
        .collect();
    let views: Vec<(String, TensorView)> = arrays
        .iter()
        .zip(&encoded)
        .map(|((name, a), (dtype, bytes))| {
            TensorView::new(*dtype, a.shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let json = |v: serde_json::Result<String>| v.map_err(|e| e.to_string());
    let mut meta = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("version".to_string(), VERSION.to_string()),
        ("name".to_string(), avatar.name.clone()),
        ("rig".to_string(), json(serde_json::to_string(&avatar.rig))?),
        (
            "source".to_string(),
            json(serde_json::to_string(&avatar.source))?,
        ),
        (
            "layout".to_string(),
            json(serde_json::to_string(&avatar.layout))?,
        ),
    ]);
    if let Some(generator) = &avatar.generator {
        meta.insert("generator".into(), json(serde_json::to_string(generator))?);
    }
    safetensors::serialize(views, Some(meta)).map_err(|e| e.to_string())
}

/// Writes atomically: a failure never leaves a half-written avatar or loses the old one.
pub fn save(avatar: &Avatar, path: &Path) -> anyhow::Result<()> {
    save_as(avatar, path, Precision::F32)
}

pub fn save_as(avatar: &Avatar, path: &Path, precision: Precision) -> anyhow::Result<()> {
    let bytes = to_bytes_as(avatar, precision)
        .map_err(|e| anyhow::anyhow!("the avatar is not valid: {e}"))?;
    crate::io::write_atomically(path, &bytes)?;
    Ok(())
}
