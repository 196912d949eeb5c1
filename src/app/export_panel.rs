//! The Export section: the avatar as a rigged glTF head, its volume at the shown expression
//! as a PLY mesh; both run on the render thread with progress and cancel.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::export_job::{ExportJob, ExportKind, ExportUpdate};
use super::panel::labelled_field;
use super::viewer::ViewerApp;
use crate::export::DEFAULT_TEXTURE_SIZE;
use crate::export::shape::DEFAULT_THRESHOLD;

/// Shape resolutions offered: seconds, a minute, several minutes on a CPU adapter.
const SHAPE_RESOLUTIONS: [usize; 3] = [64, 128, 256];

pub struct ExportState {
    pub gltf_path: String,
    pub shape_path: String,
    pub shape_resolution: usize,
    pub running: Option<RunningExport>,
}

pub struct RunningExport {
    pub cancel: Arc<AtomicBool>,
    pub stage: String,
    pub fraction: f32,
}

impl Default for ExportState {
    fn default() -> Self {
        Self {
            gltf_path: "neuralhead-head.glb".into(),
            shape_path: "neuralhead-shape.ply".into(),
            shape_resolution: 128,
            running: None,
        }
    }
}

impl ViewerApp {
    /// Whether an export runs on the render thread.
    pub fn exporting(&self) -> bool {
        self.export.running.is_some()
    }

    pub(super) fn export_section(&mut self, ui: &mut egui::Ui) {
        ui.collapsing("Export", |ui| {
            if let Some(running) = &self.export.running {
                ui.horizontal(|ui| {
                    ui.add(
                        egui::ProgressBar::new(running.fraction)
                            .text(format!(
                                "{} {:.0} %",
                                running.stage,
                                running.fraction * 100.0
                            ))
                            .desired_width(200.0),
                    );
                    if ui.button("Cancel").clicked() {
                        running.cancel.store(true, Ordering::Relaxed);
                    }
                });
                return;
            }
            ui.label(
                egui::RichText::new(
                    "A rigged glTF head (ARKit-named morph targets, neck, jaw and eye joints, a \
                     baked texture) for Blender, three.js, Unity or Unreal.",
                )
                .weak(),
            );
            ui.horizontal(|ui| {
                labelled_field(ui, "glTF:", &mut self.export.gltf_path);
                if ui.button("Export head").clicked() {
                    let path = PathBuf::from(self.export.gltf_path.trim());
                    self.start_export(
                        ExportKind::Gltf {
                            texture_size: DEFAULT_TEXTURE_SIZE,
                        },
                        path,
                    );
                }
            });
            ui.label(
                egui::RichText::new(
                    "The volume at the shown expression as a coloured mesh (marching cubes).",
                )
                .weak(),
            );
            ui.horizontal(|ui| {
                labelled_field(ui, "PLY:", &mut self.export.shape_path);
                egui::ComboBox::from_id_salt("shape resolution")
                    .selected_text(format!("{}³", self.export.shape_resolution))
                    .show_ui(ui, |ui| {
                        for r in SHAPE_RESOLUTIONS {
                            ui.selectable_value(
                                &mut self.export.shape_resolution,
                                r,
                                format!("{r}³"),
                            );
                        }
                    });
                if ui.button("Export mesh").clicked() {
                    let path = PathBuf::from(self.export.shape_path.trim());
                    self.start_export(
                        ExportKind::Shape {
                            resolution: self.export.shape_resolution,
                            threshold: DEFAULT_THRESHOLD,
                        },
                        path,
                    );
                }
            });
        });
    }

    fn start_export(&mut self, kind: ExportKind, path: PathBuf) {
        if path.as_os_str().is_empty() {
            self.message = Some((true, "name the file to export to".into()));
            return;
        }
        let cancel = Arc::new(AtomicBool::new(false));
        self.worker.export(ExportJob {
            kind,
            path,
            params: self.params.clone(),
            name: self.source.label.clone(),
            cancel: cancel.clone(),
        });
        self.export.running = Some(RunningExport {
            cancel,
            stage: "starting".into(),
            fraction: 0.0,
        });
    }

    pub(super) fn receive_exports(&mut self) {
        for update in self.worker.exports() {
            match update {
                ExportUpdate::Progress { stage, fraction } => {
                    if let Some(running) = &mut self.export.running {
                        running.stage = stage;
                        running.fraction = fraction;
                    }
                }
                ExportUpdate::Done(line) => {
                    self.export.running = None;
                    self.message = Some((false, line));
                }
                ExportUpdate::Cancelled => {
                    self.export.running = None;
                    self.message = Some((false, "export cancelled; nothing was written".into()));
                }
                ExportUpdate::Failed(e) => {
                    self.export.running = None;
                    self.message = Some((true, e));
                }
            }
        }
    }
}
