//! `neuralhead render`: one frame to a PNG.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::rig_args::RigArgs;
use crate::avatar::pipeline::FrameOptions;
use crate::gpu::{AdapterChoice, Gpu};
use crate::render::camera::OrbitCamera;
use crate::render::marcher::Marcher;
use crate::render::modes::RenderMode;
use crate::render::preview::PreviewRenderer;
use crate::rig::skin_gpu::GpuSkinner;

/// Largest image side we render; beyond it GPU memory and time grow without benefit.
const MAX_SIZE: u32 = 4096;

#[derive(Args, Debug)]
pub struct RenderArgs {
    #[command(flatten)]
    pub rig: RigArgs,
    #[command(flatten)]
    pub camera: ViewArgs,
    /// Output image side in pixels for the mesh view; neural views are written at N
    /// (`--neural-size`), one pixel per ray.
    #[arg(long, default_value_t = 512)]
    pub size: u32,
    /// The PNG to write (written atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Draw the 68 landmarks (iBUG order, colour running from red at 0 to blue at 67).
    #[arg(long)]
    pub landmarks: bool,
    /// What to draw: the shaded mesh, or the three rasterized triplanes (colour) above their
    /// alphas, with the rig's colour texture standing in for a neural texture.
    #[arg(long, value_enum, default_value_t = ViewChoice::Mesh)]
    pub view: ViewChoice,
    /// Plane layout for `--view planes`.
    #[arg(long, value_enum, default_value_t = super::planes::LayoutChoice::Consistent)]
    pub layout: super::planes::LayoutChoice,
    /// Raster resolution for `--view planes`.
    #[arg(long, default_value_t = 256)]
    pub raster_size: usize,
    /// The avatar for the neural views: a file, `default` (the embedded default avatar),
    /// `painted` (test avatar: the rig's colours as a head-shaped volume) or `random` (test
    /// avatar: smooth random textures).
    #[arg(long, default_value = "painted")]
    pub avatar: String,
    /// Neural rendering resolution N (rays per side) for the neural views.
    #[arg(long, default_value_t = 64)]
    pub neural_size: usize,
    /// Samples per ray relative to Next3D's 48 + 48 (0.5 … 4).
    #[arg(long, default_value_t = 1.0)]
    pub samples: f64,
    /// Ray marcher for the neural views.
    #[arg(long, value_enum, default_value_t = Marcher::Fused)]
    pub marcher: Marcher,
    /// Jitter the samples along each ray (fresh random draws, as in training); without it
    /// the frame is deterministic.
    #[arg(long)]
    pub jitter: bool,
    /// Feature channels shown by `--view features`, e.g. 3,4,5.
    #[arg(long, default_value = "3,4,5")]
    pub channels: String,
    #[command(flatten)]
    pub refine: super::refine::RefineArgs,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewChoice {
    /// The shaded mesh preview.
    Mesh,
    /// The rasterized triplanes and their alphas.
    Planes,
    /// The neural render's first three features (its RGB).
    Rgb,
    /// The neural render's depth, colour-mapped.
    Depth,
    /// The accumulated opacity per ray.
    Opacity,
    /// Three feature channels (`--channels`) as false colour.
    Features,
    /// The super-resolution network's 512² image (avatars baked from a Next3D checkpoint).
    Sr,
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
    anyhow::ensure!(
        !args.refine.refine || matches!(args.view, ViewChoice::Rgb | ViewChoice::Sr),
        "--refine refines the rendered image: use it with --view rgb or --view sr"
    );
    let camera = args.camera.camera()?;
    let rig = args.rig.rig()?;
    let params = args.rig.params()?;
    let (resolved, warnings) = params.resolve(&rig)?;
    for w in warnings {
        log::warn!("{w}");
    }
    let gpu = Gpu::new(adapter)?;
    let skinner = GpuSkinner::new(rig.clone(), &resolved, &gpu.burn);
    let (vertices, landmarks) = skinner.skin(&resolved);
    let image = match args.view {
        ViewChoice::Planes => {
            anyhow::ensure!(
                (16..=1024).contains(&args.raster_size),
                "--raster-size must be within 16…1024"
            );
            super::planes::render(&gpu, &rig, vertices, args.layout.layout(), args.raster_size)?
        }
        ViewChoice::Rgb
        | ViewChoice::Depth
        | ViewChoice::Opacity
        | ViewChoice::Features
        | ViewChoice::Sr => {
            check_neural_args(args.neural_size, args.samples)?;
            let mode = match args.view {
                ViewChoice::Rgb => RenderMode::Rgb,
                ViewChoice::Depth => RenderMode::Depth,
                ViewChoice::Opacity => RenderMode::Opacity,
                ViewChoice::Sr => RenderMode::Rgb,
                _ => RenderMode::Features(parse_channels(&args.channels)?),
            };
            let avatar = super::neural::load_avatar(&args.avatar, &rig, &args.rig.rig)?;
            let image = super::neural::render(
                &gpu,
                rig.clone(),
                &avatar,
                &params,
                &camera,
                mode,
                args.raster_size,
                &FrameOptions {
                    resolution: args.neural_size,
                    samples_scale: args.samples,
                    marcher: args.marcher,
                    jitter: args.jitter,
                    super_resolution: args.view == ViewChoice::Sr,
                    draft_planes: false,
                },
            )?;
            if args.refine.refine {
                super::refine::refine(&gpu, &rig, &avatar, &params, &camera, &image, &args.refine)?
            } else {
                image
            }
        }
        ViewChoice::Mesh => {
            let vertices = crate::rig::skin_gpu::read_points(vertices)?;
            let mut image =
                PreviewRenderer::new(&gpu, &rig).render(&gpu, &rig, &vertices, &camera, args.size);
            if args.landmarks {
                draw_landmarks(
                    &mut image,
                    &crate::rig::skin_gpu::read_points(landmarks)?,
                    &camera,
                );
            }
            image
        }
    };
    save_png(&image, &args.out)?;
    println!(
        "wrote {} ({}×{}, {})",
        args.out.display(),
        image.width(),
        image.height(),
        gpu.describe()
    );
    Ok(())
}

/// `--neural-size` and `--samples` of the neural views (shared with `record`).
pub fn check_neural_args(neural_size: usize, samples: f64) -> anyhow::Result<()> {
    anyhow::ensure!(
        (4..=512).contains(&neural_size),
        "--neural-size must be within 4…512"
    );
    anyhow::ensure!(
        (0.5..=4.0).contains(&samples),
        "--samples must be within 0.5…4"
    );
    Ok(())
}

fn parse_channels(text: &str) -> anyhow::Result<[usize; 3]> {
    let values: Vec<usize> = text
        .split(',')
        .map(|c| c.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .with_context(|| {
            format!("--channels {text}: expected three channel numbers, e.g. 3,4,5")
        })?;
    values
        .try_into()
        .map_err(|_| anyhow::anyhow!("--channels {text}: expected exactly three channel numbers"))
}

/// Dots at the projected landmarks, coloured by index so the order can be checked by eye.
fn draw_landmarks(image: &mut image::RgbaImage, landmarks: &[[f32; 3]], camera: &OrbitCamera) {
    let to_clip = camera.view_projection(0.5, 6.0) * crate::render::camera::rig_to_world();
    let (w, h) = (image.width() as i64, image.height() as i64);
    let radius = (w / 160).max(1);
    for (i, p) in landmarks.iter().enumerate() {
        let clip = to_clip * glam::DVec4::new(p[0].into(), p[1].into(), p[2].into(), 1.0);
        let x = ((clip.x / clip.w + 1.0) * 0.5 * w as f64) as i64;
        let y = ((1.0 - clip.y / clip.w) * 0.5 * h as f64) as i64;
        let t = i as f64 / (landmarks.len().max(2) - 1) as f64;
        let colour = image::Rgba([(255.0 * (1.0 - t)) as u8, 40, (255.0 * t) as u8, 255]);
        for dy in -radius..=radius {
            for dx in -radius..=radius {
                let (px, py) = (x + dx, y + dy);
                if (0..w).contains(&px) && (0..h).contains(&py) {
                    image.put_pixel(px as u32, py as u32, colour);
                }
            }
        }
    }
}

/// Encodes in memory, then writes atomically: a failed write never leaves half a PNG.
/// Any pixel type PNG holds: RGBA8 frames, 16-bit depth.
pub fn save_png<P>(
    image: &image::ImageBuffer<P, Vec<P::Subpixel>>,
    path: &std::path::Path,
) -> anyhow::Result<()>
where
    P: image::PixelWithColorType,
    [P::Subpixel]: image::EncodableLayout,
{
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
