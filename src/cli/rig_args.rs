//! Rig selection and `RigParams` from the command line (`--exp NAME=VALUE`, `--jaw`, …).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use crate::rig::{Rig, RigParams, default_rig, file, synthetic};

/// Random contents with FLAME 2020's sizes: for benchmarks without the licensed model.
pub const SYNTHETIC_FLAME: &str = "synthetic-flame";
/// The retired face-mask default rig, kept for comparison and for avatars made on it.
pub const FACE_MASK: &str = "face-mask";

#[derive(Args, Debug, Clone)]
pub struct RigArgs {
    /// `default` (the embedded whole-head rig from the ICT Face Model; `head` names it too),
    /// `face-mask` (the retired face-mask rig), a rig file made by tools/convert_flame.py, or
    /// `synthetic-flame` (FLAME's sizes, random contents; for timing only).
    #[arg(long, default_value = "default")]
    pub rig: String,
    /// Start from a JSON file in the RigParams schema (identity, expression, jaw, eyes, neck).
    #[arg(long)]
    pub params: Option<std::path::PathBuf>,
    /// An expression weight, NAME=VALUE (ARKit names for the default rig, indices for FLAME).
    #[arg(long = "exp", value_name = "NAME=VALUE")]
    pub expressions: Vec<String>,
    /// Jaw axis-angle in radians: X,Y,Z, or one number for X (positive opens the mouth).
    #[arg(long, allow_hyphen_values = true)]
    pub jaw: Option<String>,
    /// Both eyes' axis-angle in radians: X,Y,Z (X > 0 looks down, Y > 0 looks to the subject's left).
    #[arg(long, allow_hyphen_values = true)]
    pub eyes: Option<String>,
    /// Neck axis-angle in radians, X,Y,Z (the models were trained with the neck at rest).
    #[arg(long, allow_hyphen_values = true)]
    pub neck: Option<String>,
}

impl RigArgs {
    pub fn rig(&self) -> anyhow::Result<Arc<Rig>> {
        load_rig(&self.rig)
    }

    pub fn params(&self) -> anyhow::Result<RigParams> {
        let mut params = match &self.params {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                serde_json::from_str(&text).with_context(|| {
                    format!("{} is not a valid RigParams JSON file", path.display())
                })?
            }
            None => RigParams::default(),
        };
        for item in &self.expressions {
            let (name, value) = item.split_once('=').with_context(|| {
                format!("--exp {item}: expected NAME=VALUE, e.g. --exp jawOpen=0.8")
            })?;
            let value: f32 = value
                .trim()
                .parse()
                .with_context(|| format!("--exp {item}: `{value}` is not a number"))?;
            params = params.with_expression(name.trim(), value);
        }
        if let Some(text) = &self.jaw {
            params.jaw = axis_angle(text, "--jaw")?;
        }
        if let Some(text) = &self.eyes {
            let eyes = axis_angle(text, "--eyes")?;
            params.eyes.left = eyes;
            params.eyes.right = eyes;
        }
        if let Some(text) = &self.neck {
            params.neck = axis_angle(text, "--neck")?;
        }
        Ok(params)
    }
}

/// `default`, `head`, `face-mask`, `synthetic-flame` or a path to a rig file.
pub fn load_rig(name: &str) -> anyhow::Result<Arc<Rig>> {
    match name {
        "default" | "head" => return Ok(default_rig::embedded()),
        FACE_MASK => return Ok(default_rig::face_mask()),
        SYNTHETIC_FLAME => {
            return Ok(Arc::new(synthetic::flame_sized(
                0,
                synthetic::FLAME_VERTICES,
            )));
        }
        _ => {}
    }
    Ok(Arc::new(file::load(Path::new(name))?))
}

fn axis_angle(text: &str, flag: &str) -> anyhow::Result<[f32; 3]> {
    let parts: Vec<f32> = text
        .split(',')
        .map(|p| p.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("{flag} {text}: expected X,Y,Z or one number, in radians"))?;
    match parts.as_slice() {
        [x] => Ok([*x, 0.0, 0.0]),
        [x, y, z] => Ok([*x, *y, *z]),
        _ => anyhow::bail!("{flag} {text}: expected X,Y,Z or one number, in radians"),
    }
}
