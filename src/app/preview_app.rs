//! The first viewer: the skinned rig's shaded preview, with expression, jaw, eye and camera
//! controls. It renders on the UI thread (a few milliseconds); the neural avatar, a GPU
//! thread with latest-wins requests and the full panel come with the viewer issue.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::gpu::Gpu;
use crate::render::camera::OrbitCamera;
use crate::render::preview::PreviewRenderer;
use crate::rig::params::{EYE_LIMIT, JAW_LIMIT, expression_range};
use crate::rig::skin_gpu::GpuSkinner;
use crate::rig::{Rig, RigParams, default_rig};

const IMAGE_SIZE: u32 = 512;
/// Radians of orbit per dragged point.
const DRAG_SPEED: f64 = 0.008;

pub struct PreviewApp {
    gpu: Gpu,
    rig: Arc<Rig>,
    params: RigParams,
    camera: OrbitCamera,
    skinner: GpuSkinner,
    renderer: PreviewRenderer,
    texture: Option<egui::TextureHandle>,
    dirty: bool,
    frame_ms: f64,
    screenshot: Option<PathBuf>,
    screenshot_receiver: Option<std::sync::mpsc::Receiver<Arc<egui::ColorImage>>>,
    error: Option<String>,
}

impl PreviewApp {
    pub fn new(gpu: Gpu, screenshot: Option<PathBuf>) -> Self {
        let rig = default_rig::embedded();
        let params = RigParams::default();
        let (resolved, _) = params.resolve(&rig).expect("neutral parameters resolve");
        Self {
            skinner: GpuSkinner::new(rig.clone(), &resolved, &gpu.burn),
            renderer: PreviewRenderer::new(&gpu, &rig),
            gpu,
            rig,
            params,
            camera: OrbitCamera::default(),
            texture: None,
            dirty: true,
            frame_ms: 0.0,
            screenshot,
            screenshot_receiver: None,
            error: None,
        }
    }

    fn render(&mut self, ctx: &egui::Context) {
        let start = Instant::now();
        let result = (|| -> anyhow::Result<egui::ColorImage> {
            let (resolved, _) = self.params.resolve(&self.rig)?;
            let (vertices, _) = self.skinner.skin(&resolved);
            let flat = vertices
                .into_data()
                .try_to_vec::<f32>()
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let vertices: Vec<[f32; 3]> =
                flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
            let image =
                self.renderer
                    .render(&self.gpu, &self.rig, &vertices, &self.camera, IMAGE_SIZE);
            let size = [image.width() as usize, image.height() as usize];
            Ok(egui::ColorImage::from_rgba_unmultiplied(
                size,
                image.as_raw(),
            ))
        })();
        match result {
            Ok(image) => {
                match &mut self.texture {
                    Some(t) => t.set(image, egui::TextureOptions::LINEAR),
                    None => {
                        self.texture =
                            Some(ctx.load_texture("preview", image, egui::TextureOptions::LINEAR))
                    }
                }
                self.error = None;
            }
            Err(e) => self.error = Some(format!("{e:#}")),
        }
        self.frame_ms = start.elapsed().as_secs_f64() * 1e3;
        self.dirty = false;
    }

    fn controls(&mut self, ui: &mut egui::Ui) {
        ui.heading("neuralhead");
        ui.label(
            egui::RichText::new(
                "Shaded rig preview: the neural avatar arrives with the rendering issues.",
            )
            .weak(),
        );
        if self.gpu.is_cpu() {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("CPU device: {}", self.gpu.describe()),
            );
        } else {
            ui.label(format!("GPU: {}", self.gpu.describe()));
        }
        ui.label(format!("frame: {:.1} ms", self.frame_ms));
        ui.separator();
        let mut changed = false;
        egui::ScrollArea::vertical().show(ui, |ui| {
            egui::CollapsingHeader::new("Expression")
                .default_open(true)
                .show(ui, |ui| {
                    let (low, high) = expression_range(self.rig.kind);
                    for name in self.rig.expression_names.clone() {
                        let value = self.params.expression.entry(name.clone()).or_insert(0.0);
                        changed |= ui
                            .add(egui::Slider::new(value, low..=high).text(name))
                            .changed();
                    }
                    if ui.button("Reset expression").clicked() {
                        self.params.expression.clear();
                        changed = true;
                    }
                });
            egui::CollapsingHeader::new("Jaw and eyes")
                .default_open(true)
                .show(ui, |ui| {
                    changed |= ui
                        .add(
                            egui::Slider::new(&mut self.params.jaw[0], -0.1..=JAW_LIMIT)
                                .text("jaw open (rad)"),
                        )
                        .changed();
                    changed |= ui
                        .add(
                            egui::Slider::new(&mut self.params.jaw[1], -0.3..=0.3)
                                .text("jaw sideways (rad)"),
                        )
                        .changed();
                    let mut gaze = [self.params.eyes.left[1], self.params.eyes.left[0]];
                    let yaw = ui
                        .add(
                            egui::Slider::new(&mut gaze[0], -EYE_LIMIT..=EYE_LIMIT)
                                .text("gaze left/right (rad)"),
                        )
                        .changed();
                    let pitch = ui
                        .add(
                            egui::Slider::new(&mut gaze[1], -EYE_LIMIT..=EYE_LIMIT)
                                .text("gaze down/up (rad)"),
                        )
                        .changed();
                    if yaw || pitch {
                        self.params.eyes.left = [gaze[1], gaze[0], 0.0];
                        self.params.eyes.right = self.params.eyes.left;
                        changed = true;
                    }
                });
            ui.collapsing("Head pose (camera)", |ui| {
                let c = &mut self.camera;
                ui.label("Drag the image to orbit, scroll to zoom.");
                changed |= ui
                    .add(egui::Slider::new(&mut c.yaw, -1.5..=1.5).text("yaw (rad)"))
                    .changed();
                changed |= ui
                    .add(egui::Slider::new(&mut c.pitch, -1.2..=1.2).text("pitch (rad)"))
                    .changed();
                changed |= ui
                    .add(egui::Slider::new(&mut c.roll, -1.0..=1.0).text("roll (rad)"))
                    .changed();
                changed |= ui
                    .add(egui::Slider::new(&mut c.radius, 1.5..=6.0).text("radius"))
                    .changed();
                changed |= ui
                    .add(
                        egui::Slider::new(&mut c.fov_degrees, 5.0..=60.0).text("field of view (°)"),
                    )
                    .changed();
                if ui.button("Reset view").clicked() {
                    *c = OrbitCamera::default();
                    changed = true;
                }
            });
        });
        self.dirty |= changed;
    }

    fn viewport(&mut self, ui: &mut egui::Ui) {
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        let Some(texture) = &self.texture else {
            ui.spinner();
            return;
        };
        let side = ui.available_width().min(ui.available_height()).max(64.0);
        let response = ui.add(
            egui::Image::new((texture.id(), egui::vec2(side, side))).sense(egui::Sense::drag()),
        );
        if response.dragged() {
            let delta = response.drag_delta();
            self.camera.yaw -= f64::from(delta.x) * DRAG_SPEED;
            self.camera.pitch =
                (self.camera.pitch + f64::from(delta.y) * DRAG_SPEED).clamp(-1.2, 1.2);
            self.dirty = true;
        }
        if response.hovered() {
            let scroll = ui.input(|i| i.smooth_scroll_delta.y);
            if scroll != 0.0 {
                self.camera.fov_degrees =
                    (self.camera.fov_degrees * (1.0 - f64::from(scroll) * 0.002)).clamp(5.0, 60.0);
                self.dirty = true;
            }
        }
    }

    /// Once a frame is on screen, asks egui for a screenshot; saves it and closes the window.
    fn handle_screenshot(&mut self, ctx: &egui::Context) {
        let Some(path) = self.screenshot.clone() else {
            return;
        };
        if let Some(receiver) = &self.screenshot_receiver {
            if let Ok(image) = receiver.try_recv() {
                let [w, h] = image.size;
                let rgba: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_array()).collect();
                let saved = image::RgbaImage::from_raw(w as u32, h as u32, rgba)
                    .ok_or_else(|| anyhow::anyhow!("the screenshot has the wrong size"))
                    .and_then(|img| crate::cli::render::save_png(&img, &path));
                if let Err(e) = saved {
                    log::error!("{e:#}");
                }
                self.screenshot = None;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        } else if self.texture.is_some() {
            let (sender, receiver) = std::sync::mpsc::channel();
            ctx.request_screenshot(move |image| {
                let _ = sender.send(image);
            });
            self.screenshot_receiver = Some(receiver);
        }
    }
}

impl eframe::App for PreviewApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        if self.dirty {
            self.render(&ctx);
        }
        egui::Panel::left("controls")
            .resizable(true)
            .default_size(340.0)
            .show(ui, |ui| self.controls(ui));
        egui::CentralPanel::default().show(ui, |ui| self.viewport(ui));
        self.handle_screenshot(&ctx);
        if self.dirty || self.screenshot.is_some() {
            ctx.request_repaint();
        }
    }
}
