//! `neuralhead render`: one frame to a PNG.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::rig_args::RigArgs;
use crate::gpu::{AdapterChoice, Gpu};
use crate::render::camera::OrbitCamera;
use crate::render::preview::PreviewRenderer;
use crate::rig::skin_gpu::GpuSkinner;

/// Largest image side we render; beyond it GPU memory and time grow without benefit.
const MAX_SIZE: u32 = 4096;

#[derive(Args, Debug)]
pub struct RenderArgs {
    #[command(flatten)]
    pub rig: RigArgs,
    #[command(flatten)]
    pub view: ViewArgs,
    /// Output image side in pixels.
    #[arg(long, default_value_t = 512)]
    pub size: u32,
    /// The PNG to write (written atomically).
    #[arg(long)]
    pub out: PathBuf,
}

/// Head pose is the camera: these orbit it around the head.
#[derive(Args, Debug, Clone)]
pub struct ViewArgs {
    /// Degrees; positive moves the camera toward the subject's left.
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub yaw: f64,
    /// Degrees; positive looks down on the head from above.
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub pitch: f64,
    /// Degrees about the view axis.
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub roll: f64,
    #[arg(long, default_value_t = crate::render::camera::DEFAULT_RADIUS)]
    pub radius: f64,
    /// Vertical field of view in degrees.
    #[arg(long, default_value_t = crate::render::camera::DEFAULT_FOV_DEGREES)]
    pub fov: f64,
}

impl ViewArgs {
    pub fn camera(&self) -> anyhow::Result<OrbitCamera> {
        anyhow::ensure!(
            (0.5..=20.0).contains(&self.radius),
            "--radius {} is outside 0.5…20",
            self.radius
        );
        anyhow::ensure!(
            (1.0..=120.0).contains(&self.fov),
            "--fov {} is outside 1…120 degrees",
            self.fov
        );
        for (name, v) in [
            ("--yaw", self.yaw),
            ("--pitch", self.pitch),
            ("--roll", self.roll),
        ] {
            anyhow::ensure!(v.is_finite(), "{name} must be a number of degrees");
        }
        Ok(OrbitCamera {
            yaw: self.yaw.to_radians(),
            pitch: self.pitch.clamp(-89.0, 89.0).to_radians(),
            roll: self.roll.to_radians(),
            radius: self.radius,
            fov_degrees: self.fov,
        })
    }
}

pub fn run(adapter: &AdapterChoice, args: &RenderArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (16..=MAX_SIZE).contains(&args.size),
        "--size {} is outside 16…{MAX_SIZE}",
        args.size
    );
    let camera = args.view.camera()?;
    let rig = args.rig.rig()?;
    let params = args.rig.params()?;
    let (resolved, warnings) = params.resolve(&rig)?;
    for w in warnings {
        log::warn!("{w}");
    }
    let gpu = Gpu::new(adapter)?;
    let skinner = GpuSkinner::new(rig.clone(), &resolved, &gpu.burn);
    let (vertices, _landmarks) = skinner.skin(&resolved);
    let vertices: Vec<f32> = vertices
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("reading the skinned mesh back from the GPU failed: {e:?}"))?;
    let vertices: Vec<[f32; 3]> = vertices
        .chunks_exact(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    let image = PreviewRenderer::new(&gpu, &rig).render(&gpu, &rig, &vertices, &camera, args.size);
    save_png(&image, &args.out)?;
    println!(
        "wrote {} ({}×{}, {})",
        args.out.display(),
        args.size,
        args.size,
        gpu.describe()
    );
    Ok(())
}

/// Encodes in memory, then writes atomically: a failed write never leaves half a PNG.
pub fn save_png(image: &image::RgbaImage, path: &std::path::Path) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .context("encoding the PNG failed")?;
    crate::io::write_atomically(path, &bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}
