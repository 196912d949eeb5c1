//! Turning a portrait into an avatar from the window: choose a portrait (path field, file
//! dialog or drag-and-drop onto the window), watch the progress bar and a live preview of
//! the training view, cancel at any time; the new avatar is saved and shown.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::face_picker::FacePick;
use super::invert_job::{InvertJob, InvertUpdate, JobMethod};
use super::panel::file_field;
use super::viewer::{AvatarSource, ViewerApp};
use crate::invert::face::FaceChoice;
use crate::invert::optimise::OptimiseSettings;
use crate::invert::pti::PtiSettings;
use crate::invert::run::avatar_name;
use crate::rig::{Rig, RigParams};

pub struct InvertState {
    pub portrait_text: String,
    pub steps: usize,
    pub resolution: usize,
    /// Pivotal tuning of the Next3D generator panel's checkpoint on its FLAME rig.
    pub pti: bool,
    pub latent_steps: usize,
    pub tuning_steps: usize,
    /// The faces being found or chosen, before the inversion starts.
    pub(super) pick: Option<FacePick>,
    running: Option<Running>,
}

impl Default for InvertState {
    fn default() -> Self {
        let pti = PtiSettings::default();
        Self {
            portrait_text: String::new(),
            steps: crate::invert::optimise::OptimiseSettings::default().steps,
            resolution: OptimiseSettings::default().resolution,
            pti: false,
            latent_steps: pti.latent_steps,
            tuning_steps: pti.tuning_steps,
            pick: None,
            running: None,
        }
    }
}

struct Running {
    portrait: PathBuf,
    cancel: Arc<AtomicBool>,
    stage: String,
    /// (step, steps, loss, time left)
    step: Option<(usize, usize, f64, Duration)>,
    /// The rig the new avatar lives on, its file, and whether it has a generator.
    rig: (Arc<Rig>, Option<String>),
    generator: bool,
}

impl ViewerApp {
    /// The inversion controls' values (portrait, steps, method).
    pub fn inversion_controls(&mut self) -> &mut InvertState {
        &mut self.inversion
    }

    /// Whether the current avatar has a generator (its mouth, blending and SR networks).
    pub fn has_generator(&self) -> bool {
        self.has_generator
    }

    /// The family of the current avatar's rig.
    pub fn rig_kind(&self) -> crate::rig::RigKind {
        self.rig.kind
    }

    /// Whether an inversion is running.
    pub fn inverting(&self) -> bool {
        self.inversion.running.is_some()
    }

    /// The inversion's progress as (step, steps), once it optimises.
    pub fn inversion_step(&self) -> Option<(usize, usize)> {
        let running = self.inversion.running.as_ref()?;
        running.step.map(|(step, steps, _, _)| (step, steps))
    }

    /// Starts inverting the chosen face of `portrait`; the avatar goes to the avatars folder.
    pub fn start_inversion(&mut self, portrait: PathBuf, face: FaceChoice) {
        if self.inverting() {
            self.message = Some((true, "an inversion is already running".into()));
            return;
        }
        let method = match self.inversion_method() {
            Ok(method) => method,
            Err(e) => {
                self.message = Some((true, format!("{e:#}")));
                return;
            }
        };
        let cancel = Arc::new(AtomicBool::new(false));
        let job = InvertJob {
            portrait: portrait.clone(),
            out: avatar_path_for(&portrait),
            face,
            method,
            cancel: cancel.clone(),
        };
        let generator = matches!(job.method, JobMethod::Pivotal { .. });
        self.inversion.running = Some(Running {
            portrait,
            cancel,
            stage: "starting".into(),
            step: None,
            rig: job.rig(),
            generator,
        });
        self.worker.invert(job);
    }

    /// The direct path, or PTI with the generator panel's checkpoint and FLAME rig.
    fn inversion_method(&mut self) -> anyhow::Result<JobMethod> {
        let state = &self.inversion;
        if !state.pti {
            return Ok(JobMethod::Direct(OptimiseSettings {
                steps: state.steps.max(1),
                resolution: state.resolution,
                ..Default::default()
            }));
        }
        let settings = PtiSettings {
            resolution: state.resolution,
            latent_steps: state.latent_steps,
            tuning_steps: state.tuning_steps,
            ..Default::default()
        };
        anyhow::ensure!(settings.total_steps() > 0, "PTI needs at least one step");
        let checkpoint = self.generator.checkpoint_text.trim().to_string();
        anyhow::ensure!(
            !checkpoint.is_empty(),
            "PTI needs a Next3D checkpoint: give it under Avatar → Next3D generator"
        );
        let (rig, rig_file) = self.flame_rig()?.ok_or_else(|| {
            anyhow::anyhow!(
                "PTI needs the FLAME rig file (tools/convert_flame.py): give it under Avatar → \
                 Next3D generator"
            )
        })?;
        self.settings.generator.checkpoint = checkpoint.clone().into();
        Ok(JobMethod::Pivotal {
            checkpoint: checkpoint.into(),
            rig,
            rig_file,
            settings,
        })
    }

    pub fn cancel_inversion(&mut self) {
        if let Some(running) = &self.inversion.running {
            running.cancel.store(true, Ordering::Relaxed);
        }
    }

    pub(super) fn portrait_controls(&mut self, ui: &mut egui::Ui) {
        ui.separator();
        ui.label("Make an avatar from a portrait (or drop an image on the window):");
        if let Some(running) = &self.inversion.running {
            ui.label(format!("inverting {}", running.portrait.display()));
            match running.step {
                Some((step, steps, loss, left)) => {
                    ui.add(
                        egui::ProgressBar::new(step as f32 / steps.max(1) as f32).text(format!(
                            "{}: step {step} of {steps}, loss {loss:.4}, {} left",
                            running.stage,
                            human(left)
                        )),
                    );
                }
                None => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label(&running.stage);
                    });
                }
            }
            if ui.button("Cancel").clicked() {
                self.cancel_inversion();
            }
            return;
        }
        if self.finding_faces() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("finding the faces…");
            });
            return;
        }
        let mut start: Option<PathBuf> = None;
        ui.horizontal(|ui| {
            file_field(
                ui,
                "portrait:",
                &mut self.inversion.portrait_text,
                "image",
                &["png", "jpg", "jpeg"],
            );
        });
        let generator_given = !self.generator.checkpoint_text.trim().is_empty()
            && !self.generator.flame_text.trim().is_empty();
        self.inversion.pti &= generator_given;
        ui.add_enabled(
            generator_given,
            egui::Checkbox::new(&mut self.inversion.pti, "PTI with the Next3D generator"),
        )
        .on_hover_text(
            "pivotal tuning: find the generator's w for the portrait, then fine-tune the \
             generator around it (needs the checkpoint and the FLAME rig under Next3D generator)",
        )
        .on_disabled_hover_text("give a checkpoint and a FLAME rig under Next3D generator first");
        ui.horizontal(|ui| {
            if self.inversion.pti {
                let label = ui.label("w steps:");
                ui.add(egui::DragValue::new(&mut self.inversion.latent_steps).range(0..=2000))
                    .labelled_by(label.id);
                let label = ui.label("tuning steps:");
                ui.add(egui::DragValue::new(&mut self.inversion.tuning_steps).range(0..=2000))
                    .labelled_by(label.id);
            } else {
                let label = ui.label("steps:");
                ui.add(egui::DragValue::new(&mut self.inversion.steps).range(1..=2000))
                    .labelled_by(label.id);
            }
            egui::ComboBox::from_label("N")
                .selected_text(self.inversion.resolution.to_string())
                .show_ui(ui, |ui| {
                    for n in [32, 64, 128] {
                        ui.selectable_value(&mut self.inversion.resolution, n, n.to_string());
                    }
                });
            let text = self.inversion.portrait_text.trim();
            if ui
                .add_enabled(!text.is_empty(), egui::Button::new("Invert"))
                .clicked()
            {
                start = Some(PathBuf::from(text));
            }
        });
        if self.adapter_is_cpu && self.inversion.pti {
            ui.label(
                egui::RichText::new(
                    "PTI is meant for a GPU: on this CPU adapter each step runs the whole \
                     generator forward and backward. The progress bar says how long the run \
                     will take after the first step; cancel and use fewer steps for a rough \
                     avatar.",
                )
                .weak(),
            );
        } else if self.adapter_is_cpu {
            ui.label(
                egui::RichText::new(
                    "CPU adapter: about 7 s per step at N = 128 and 4.5 s at N = 64 on two \
                     cores (`neuralhead bench --steps invert`); fewer steps give a blurrier \
                     avatar.",
                )
                .weak(),
            );
        }
        if let Some(path) = start {
            self.invert_portrait(path, ui.ctx());
        }
    }

    /// Portraits dropped on the window are inverted (after the face is chosen).
    pub(super) fn handle_dropped_files(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        if let Some(path) = dropped.into_iter().next() {
            if super::drive_panel::is_video(&path) {
                self.drive_from_video(path, ctx);
                return;
            }
            self.inversion.portrait_text = path.display().to_string();
            self.invert_portrait(path, ctx);
        }
    }

    pub(super) fn receive_inversions(&mut self, ctx: &egui::Context) {
        for update in self.worker.inversions() {
            let Some(running) = &mut self.inversion.running else {
                continue;
            };
            match update {
                InvertUpdate::Stage(stage) => {
                    self.message = Some((false, stage.clone()));
                    running.stage = stage;
                }
                InvertUpdate::Step {
                    stage,
                    step,
                    steps,
                    loss,
                    time_left,
                    preview,
                } => {
                    running.stage = stage.to_string();
                    running.step = Some((step, steps, loss, time_left));
                    if let Some(preview) = preview {
                        let rgba = image::DynamicImage::ImageRgb8(preview).into_rgba8();
                        self.show_image(ctx, &rgba);
                    }
                }
                InvertUpdate::Done { path, source } => {
                    let Running { rig, generator, .. } =
                        self.inversion.running.take().expect("a running inversion");
                    (self.rig, self.rig_file) = rig;
                    self.has_generator = generator;
                    self.playback = None;
                    self.settings.remember(&path);
                    // Start from the portrait's expression; the camera stays the user's.
                    self.params = RigParams {
                        identity: Default::default(),
                        ..source.params
                    };
                    self.source = AvatarSource {
                        label: path.display().to_string(),
                        notice: None,
                    };
                    self.shown = None;
                    self.forget_sent();
                    self.message =
                        Some((false, format!("saved the new avatar to {}", path.display())));
                }
                InvertUpdate::Cancelled => {
                    self.inversion.running = None;
                    self.forget_sent();
                    self.message = Some((false, "inversion cancelled; nothing was saved".into()));
                }
                InvertUpdate::Failed(e) => {
                    self.inversion.running = None;
                    self.forget_sent();
                    self.message = Some((true, format!("the inversion failed: {e}")));
                }
            }
        }
    }
}

/// `<data dir>/neuralhead/avatars/<portrait name>.safetensors`, or beside the portrait when
/// there is no data directory.
fn avatar_path_for(portrait: &Path) -> PathBuf {
    let stem = avatar_name(portrait);
    let folder = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .map(|d| d.join("neuralhead").join("avatars"))
        .filter(|d| std::fs::create_dir_all(d).is_ok());
    match folder {
        Some(folder) => folder.join(format!("{stem}.safetensors")),
        None => portrait.with_extension("avatar.safetensors"),
    }
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}
