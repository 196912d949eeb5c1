//! The desktop window: eframe + egui on the shared wgpu device, with a render thread.

mod bake_job;
mod drive_panel;
mod export_job;
mod export_panel;
mod face_picker;
mod fault;
mod generator_panel;
mod invert_job;
mod invert_panel;
mod panel;
mod playback;
mod record_job;
mod record_panel;
mod refine_engine;
mod refine_panel;
mod settings;
mod sharpen;
mod take;
mod viewer;
mod webcam_panel;
mod worker;

use std::path::PathBuf;
use std::sync::Arc;

use crate::avatar::painted::painted_avatar;
use crate::avatar::{Avatar, RigRef};
use crate::gpu::{AdapterChoice, Gpu};
use crate::rig::{Rig, default_rig};
pub use invert_panel::InvertState;
pub use record_panel::{AnimationKind, RecordState};
pub use settings::{RefineSettings, Settings};
pub use viewer::{AvatarSource, REST, ViewerApp, ViewerOptions};
pub use worker::{Request, View, Worker};

/// Opens the viewer window. With `screenshot`, saves the first full frame there and exits
/// (a smoke test of the real window, e.g. under Xvfb).
pub fn run(adapter: &AdapterChoice, screenshot: Option<PathBuf>) -> anyhow::Result<()> {
    // Smoke tests start from defaults, not from a user's saved state.
    let settings_path = screenshot.is_none().then(Settings::default_path).flatten();
    let (saved, settings_notice) = settings_path
        .as_deref()
        .map(Settings::load)
        .unwrap_or_default();
    let (gpu, adapter_notice) = open_gpu(adapter, &saved.adapter)?;
    let notices: Vec<String> = settings_notice.into_iter().chain(adapter_notice).collect();
    let notice = (!notices.is_empty()).then(|| notices.join(" "));
    let setup = gpu.wgpu_setup();
    let mut options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_inner_size(saved.window.sane().size)
            .with_title("neuralhead"),
        ..Default::default()
    };
    options.wgpu_options.wgpu_setup =
        egui_wgpu::WgpuSetup::Existing(egui_wgpu::WgpuSetupExisting {
            instance: setup.instance,
            adapter: setup.adapter,
            device: setup.device,
            queue: setup.queue,
        });
    let (rig, avatar, source) = startup_avatar();
    let viewer_options = ViewerOptions {
        settings_path,
        screenshot,
        notice,
    };
    eframe::run_native(
        "neuralhead",
        options,
        Box::new(move |cc| {
            Ok(Box::new(ViewerApp::new(
                &cc.egui_ctx,
                gpu,
                rig,
                avatar,
                source,
                viewer_options,
            )))
        }),
    )
    .map_err(|e| anyhow::anyhow!("the window could not open: {e}"))
}

/// `--adapter` when given, else the adapter chosen in the settings; if that one no longer
/// opens, the best available one, with a notice saying so.
fn open_gpu(cli: &AdapterChoice, remembered: &str) -> anyhow::Result<(Gpu, Option<String>)> {
    let remembered_choice: AdapterChoice = remembered.parse().unwrap_or_default();
    if *cli != AdapterChoice::Auto || remembered_choice == AdapterChoice::Auto {
        return Ok((Gpu::new(cli)?, None));
    }
    match Gpu::new(&remembered_choice) {
        Ok(gpu) => Ok((gpu, None)),
        Err(e) => {
            let gpu = Gpu::new(&AdapterChoice::Auto)?;
            let notice = format!(
                "The adapter chosen in the settings ({remembered}) did not open ({e}); using {}. \
                 Choose another under Performance.",
                gpu.describe()
            );
            Ok((gpu, Some(notice)))
        }
    }
}

/// The rig and avatar the viewer opens on: the embedded default avatar (the painted test
/// avatar, with a notice, should it ever fail to load).
pub fn startup_avatar() -> (Arc<Rig>, Avatar, AvatarSource) {
    let rig = default_rig::embedded();
    match crate::avatar::default::embedded() {
        Ok(avatar) => (
            rig,
            avatar,
            AvatarSource {
                label: "default avatar (the astronaut portrait, inverted)".into(),
                notice: None,
            },
        ),
        Err(e) => {
            let avatar = painted_avatar(&rig, RigRef::default_rig());
            let source = AvatarSource {
                label: "painted test avatar (default rig)".into(),
                notice: Some(format!(
                    "The default avatar did not load ({e}); this is the painted test avatar. \
                     Open an avatar file in the panel."
                )),
            };
            (rig, avatar, source)
        }
    }
}
