//! `neuralhead bake`: runs a Next3D checkpoint's identity column once for a seed (mapping,
//! texture and static synthesis) and writes an Avatar that references the checkpoint for its
//! mouth, blending and super-resolution networks.

use std::path::PathBuf;
use std::time::Instant;

use crate::avatar::from_generator::generator_avatar;
use crate::avatar::{Avatar, RigRef, file};
use crate::gpu::{AdapterChoice, Gpu};
use crate::nets::generator::Next3dCheckpoint;
use crate::rig::{Rig, RigKind};

#[derive(clap::Args)]
pub struct BakeArgs {
    /// A checkpoint converted with tools/convert_next3d.py.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// The identity: z = np.random.RandomState(seed).randn(1, 512), as the official scripts.
    #[arg(long, default_value_t = 0)]
    pub seed: u32,
    /// Truncation toward the mean w (applied to the first 14 ws, as the scripts do).
    #[arg(long, default_value_t = 0.7)]
    pub psi: f64,
    /// The rig the checkpoint's textures live on: a FLAME file from tools/convert_flame.py.
    #[arg(long, default_value = "default")]
    pub rig: String,
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(adapter: &AdapterChoice, args: &BakeArgs) -> anyhow::Result<()> {
    let gpu = Gpu::new(adapter)?;
    let rig = super::rig_args::load_rig(&args.rig)?;
    if rig.kind != RigKind::Flame2020 {
        log::warn!(
            "Next3D's textures live in FLAME's UV space; with the {} rig they map onto the wrong places. Pass --rig with your converted FLAME file.",
            args.rig
        );
    }
    let started = Instant::now();
    let checkpoint = Next3dCheckpoint::open(&args.checkpoint)?;
    let avatar = bake(&gpu, &checkpoint, &rig, &args.rig, args.seed, args.psi)?;
    file::save(&avatar, &args.out)?;
    println!(
        "wrote {} (seed {}, psi {}) in {:.1} s",
        args.out.display(),
        args.seed,
        args.psi,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The avatar of `seed` on `rig` (`rig_path`: `default` or the rig file, for its hash).
pub fn bake(
    gpu: &Gpu,
    checkpoint: &Next3dCheckpoint,
    rig: &Rig,
    rig_path: &str,
    seed: u32,
    psi: f64,
) -> anyhow::Result<Avatar> {
    let identity = checkpoint.identity(seed, psi, &gpu.burn)?;
    let flame_hash = super::neural::flame_hash(rig, rig_path)?;
    let rig_ref = RigRef::of(rig, flame_hash.as_deref());
    generator_avatar(
        checkpoint,
        identity,
        checkpoint.decoder_arrays()?,
        rig_ref,
        format!("seed {seed}, psi {psi}"),
    )
}
