//! The command line: `render`, `record`, `bake`, `invert`, `drive`, `export`, `bench`,
//! `inspect`, `adapters`.

pub mod bake;
pub mod bench;
pub mod drive;
pub mod export;
pub mod invert;
pub mod neural;
pub mod planes;
pub mod record;
pub mod refine;
pub mod render;
pub mod rig_args;

use clap::{Parser, Subcommand};

use crate::gpu::AdapterChoice;

#[derive(Parser)]
#[command(
    name = "neuralhead",
    version,
    about = "Animatable 3D-aware head avatars (Next3D + FADM), in real time"
)]
pub struct Cli {
    /// GPU adapter: auto, cpu, an index from `neuralhead adapters`, or part of its name.
    #[arg(long, global = true, default_value = "auto")]
    pub adapter: AdapterChoice,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Open the viewer window (the default).
    View {
        /// Save the first finished frame of the window to this PNG and exit (smoke tests).
        #[arg(long)]
        screenshot: Option<std::path::PathBuf>,
    },
    /// Render one frame to a PNG: the shaded mesh, the rasterized planes, or the neural render.
    Render(Box<render::RenderArgs>),
    /// Record an orbit, an expression sweep or a sequence to PNG frames and an MP4.
    Record(Box<record::RecordArgs>),
    /// Export an avatar as a rigged glTF head or its volume as a PLY mesh; a sequence as a
    /// Live Link Face (ARKit) CSV.
    Export(Box<export::ExportArgs>),
    /// Bake an avatar from a converted Next3D checkpoint and a seed.
    Bake(bake::BakeArgs),
    /// Turn a portrait into an avatar of the default rig (one-shot inversion).
    Invert(invert::InvertArgs),
    /// Drive an avatar with the face in a video: motion.csv, the avatar's frames and an MP4.
    Drive(Box<drive::DriveArgs>),
    /// Time GPU skinning against the CPU reference, for the default rig and a FLAME file.
    Bench(bench::BenchArgs),
    /// Describe a rig file: sizes, expression names, joints.
    Inspect {
        /// A rig file, or `default`.
        rig: String,
    },
    /// List the GPU adapters this machine offers.
    Adapters,
    /// Author the whole-head rig from the ICT Face Model (the shared assets'
    /// ict_face_model/ict_face_model.safetensors) into assets/head_rig.safetensors.
    BuildHeadRig {
        /// The ICT Face Model Light, as re-encoded in the shared assets.
        #[arg(long, default_value = crate::rig::default_rig::head::DEFAULT_SOURCE)]
        ict: std::path::PathBuf,
        #[arg(long, default_value = crate::rig::default_rig::head::ASSET_PATH)]
        out: std::path::PathBuf,
    },
    /// Re-author the retired face-mask rig from assets/canonical_face.json.
    #[command(hide = true)]
    BuildFaceMaskRig {
        #[arg(long, default_value = crate::rig::default_rig::FACE_MASK_ASSET_PATH)]
        out: std::path::PathBuf,
    },
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::View { screenshot: None }) {
        Command::View { screenshot } => crate::app::run(&cli.adapter, screenshot),
        Command::Render(args) => render::run(&cli.adapter, &args),
        Command::Record(args) => record::run(&cli.adapter, &args),
        Command::Bake(args) => bake::run(&cli.adapter, &args),
        Command::Export(args) => export::run(&cli.adapter, &args),
        Command::Invert(args) => invert::run(&cli.adapter, &args),
        Command::Drive(args) => drive::run(&cli.adapter, &args),
        Command::Bench(args) => bench::run(&cli.adapter, &args),
        Command::Inspect { rig } => {
            print!("{}", describe(&*rig_args::load_rig(&rig)?));
            Ok(())
        }
        Command::Adapters => {
            let adapters = crate::gpu::list_adapters();
            if adapters.is_empty() {
                anyhow::bail!(crate::gpu::GpuError::NoAdapter);
            }
            adapters.iter().for_each(|a| println!("{a}"));
            Ok(())
        }
        Command::BuildHeadRig { ict, out } => {
            let rig = crate::rig::default_rig::head::build(&ict)?;
            crate::rig::file::save_as(&rig, &out, crate::rig::file::Storage::Compact)?;
            let size = std::fs::metadata(&out)?.len();
            println!(
                "wrote {} ({:.1} MB: {} vertices, {} triangles, {} expressions, {} identity modes)",
                out.display(),
                size as f64 / 1e6,
                rig.num_vertices(),
                rig.faces.len(),
                rig.expression_names.len(),
                rig.shape_basis.count
            );
            Ok(())
        }
        Command::BuildFaceMaskRig { out } => {
            let rig = crate::rig::default_rig::build();
            crate::rig::file::save(&rig, &out)?;
            println!(
                "wrote {} ({} vertices, {} expressions)",
                out.display(),
                rig.num_vertices(),
                rig.expression_names.len()
            );
            Ok(())
        }
    }
}

fn describe(rig: &crate::rig::Rig) -> String {
    format!(
        "kind: {:?}\nsource: {}\nvertices: {}\nfaces: {}\nUV coordinates: {}\nshape components: {}\n\
         expression components: {}\nexpressions: {}\npose correctives: {}\njoints: {}\nlandmarks: {}\n\
         UV mask: {}\n",
        rig.kind,
        rig.source,
        rig.num_vertices(),
        rig.faces.len(),
        rig.uvs.len(),
        rig.shape_basis.count,
        rig.expression_basis.count,
        if rig.kind == crate::rig::RigKind::Default {
            rig.expression_names.join(", ")
        } else {
            "by index".into()
        },
        rig.pose_basis.count,
        crate::rig::model::JOINT_NAMES.join(", "),
        rig.landmarks.len(),
        rig.uv_mask
            .as_ref()
            .map_or("none".into(), |m| format!("{}×{}", m.width, m.height)),
    )
}
