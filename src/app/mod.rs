//! The desktop window: eframe + egui on the shared wgpu device.

mod preview_app;

use std::path::PathBuf;

use crate::gpu::{AdapterChoice, Gpu};

/// Opens the viewer window. With `screenshot`, saves the first finished frame there and exits
/// (a smoke test of the real window, e.g. under Xvfb).
pub fn run(adapter: &AdapterChoice, screenshot: Option<PathBuf>) -> anyhow::Result<()> {
    let gpu = Gpu::new(adapter)?;
    let setup = gpu.wgpu_setup();
    let mut options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_inner_size([1180.0, 760.0])
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
    eframe::run_native(
        "neuralhead",
        options,
        Box::new(move |_cc| Ok(Box::new(preview_app::PreviewApp::new(gpu, screenshot)))),
    )
    .map_err(|e| anyhow::anyhow!("the window could not open: {e}"))
}
