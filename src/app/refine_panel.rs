//! Refine on idle, the UI side: once the hand has rested on a full RGB frame, ask the render
//! thread to refine it with FADM, show each intermediate estimate, keep finished refinements
//! for their exact state, and offer the controls (weights, sampler, seed, expected time).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use super::panel::file_field;
use super::refine_engine::{RefineJob, RefineProgress};
use super::settings::RefineSettings;
use super::viewer::ViewerApp;
use super::worker::{Request, View};
use crate::fadm::SamplerPreset;
use crate::fadm::sampler::{STEPS, Schedule};
use crate::render::modes::RenderMode;

/// How long the hand rests before refinement starts.
const IDLE: Duration = Duration::from_millis(250);
/// Finished refinements kept, newest first.
const CACHED: usize = 8;

#[derive(Default)]
pub struct RefineState {
    running: Option<RefineJob>,
    progress: Option<RefineProgress>,
    /// What the viewport shows, when it shows a refinement.
    shown: Option<RefineProgress>,
    cache: VecDeque<(RefineJob, RefineProgress)>,
    /// The weights that failed to load, and why.
    error: Option<(PathBuf, String)>,
    weights_text: Option<String>,
}

impl RefineState {
    pub fn viewport_label(&self) -> Option<String> {
        self.shown.as_ref().map(|p| {
            if p.finished() {
                "refined by FADM".to_string()
            } else {
                format!("refining with FADM: step {} of {}", p.step, p.steps)
            }
        })
    }
}

impl ViewerApp {
    /// The refinement settings, as the panel edits them.
    pub fn refinement_settings(&mut self) -> &mut RefineSettings {
        self.refine.weights_text = None;
        &mut self.settings.refinement
    }

    /// A finished refinement of exactly this frame, if refinement is on (and remembers that
    /// the viewport shows it).
    pub(super) fn refined_for(&mut self, request: &Request) -> Option<image::RgbaImage> {
        let r = &self.settings.refinement;
        let found = self
            .refine
            .cache
            .iter()
            .find(|(job, _)| r.enabled && job.refines(request, r.preset, r.seed));
        self.refine.shown = found.map(|(_, progress)| progress.clone());
        self.refine.shown.as_ref().map(|p| p.image.clone())
    }

    /// The refinement shown in the viewport (the newest estimate or the finished one) and
    /// whether it is finished.
    pub fn refined_image(&self) -> Option<(&image::RgbaImage, bool)> {
        let shown = self.refine.shown.as_ref()?;
        Some((&shown.image, shown.finished()))
    }

    pub(super) fn schedule_refinement(&mut self, ctx: &egui::Context, moving: bool) {
        let wanted = self.wanted(false);
        let r = self.settings.refinement.clone();
        if self
            .refine
            .running
            .as_ref()
            .is_some_and(|job| !r.enabled || !job.request.same_state(&wanted))
        {
            // The render thread drops it on the next request; stop waiting for it.
            self.refine.running = None;
        }
        if !r.enabled
            && self.refine.shown.take().is_some()
            && let Some(image) = self.last_image.clone()
        {
            // Switched off: back to the render itself.
            self.show_image(ctx, &image);
        }
        let usable = r.enabled
            && r.weights.is_file()
            && self
                .refine
                .error
                .as_ref()
                .is_none_or(|(p, _)| *p != r.weights);
        if !usable || moving || !self.is_settled() {
            return;
        }
        if self.last_change.elapsed() < IDLE {
            ctx.request_repaint_after(IDLE);
            return;
        }
        let (Some(shown), Some(image)) = (self.shown.clone(), self.last_image.clone()) else {
            return;
        };
        if shown.view != View::Neural(RenderMode::Rgb) {
            return;
        }
        let job = RefineJob {
            request: shown,
            image,
            weights: r.weights.clone(),
            preset: r.preset,
            seed: r.seed,
        };
        let known = |other: &RefineJob| other.same_work(&job);
        if self.refine.running.as_ref().is_some_and(known)
            || self.refine.cache.iter().any(|(j, _)| known(j))
        {
            return;
        }
        self.worker.refine(job.clone());
        self.refine.running = Some(job);
        self.refine.progress = None;
    }

    pub(super) fn receive_refinements(&mut self, ctx: &egui::Context) {
        for update in self.worker.refinements() {
            let progress = match update.result {
                Ok(progress) => progress,
                Err(e) => {
                    self.message = Some((true, format!("FADM refinement: {e}")));
                    self.refine.error = Some((update.job.weights.clone(), e));
                    self.refine.running = None;
                    continue;
                }
            };
            let current = self
                .refine
                .running
                .as_ref()
                .is_some_and(|job| job.same_work(&update.job));
            if !current {
                continue;
            }
            let on_screen = self
                .shown
                .as_ref()
                .is_some_and(|shown| shown.same_frame(&update.job.request));
            if on_screen {
                self.show_image(ctx, &progress.image);
                self.refine.shown = Some(progress.clone());
            }
            if progress.finished() {
                self.settings
                    .refinement
                    .seconds_per_step
                    .insert(self.adapter.clone(), progress.seconds_per_step);
                self.refine.cache.push_front((update.job, progress.clone()));
                self.refine.cache.truncate(CACHED);
                self.refine.running = None;
            }
            self.refine.progress = Some(progress);
        }
    }

    pub(super) fn refinement_section(&mut self, ui: &mut egui::Ui) {
        egui::CollapsingHeader::new("Refinement (FADM)").show(ui, |ui| {
            let r = &mut self.settings.refinement;
            let text = self
                .refine
                .weights_text
                .get_or_insert_with(|| r.weights.display().to_string());
            let before = text.clone();
            ui.horizontal(|ui| file_field(ui, "weights:", text, "FADM weights", &["safetensors"]));
            if *text != before {
                r.weights = PathBuf::from(text.trim());
                self.refine.error = None;
            }
            let available = r.weights.is_file();
            let toggle = ui.add_enabled(
                available,
                egui::Checkbox::new(&mut r.enabled, "refine when idle"),
            );
            let needs = format!(
                "Needs FADM weights at {}: download the official diffusion.pth yourself and \
                     convert it with  python3 tools/convert_fadm.py diffusion.pth --out {}",
                r.weights.display(),
                r.weights.display()
            );
            let toggle = if available {
                toggle.on_hover_text(
                    "Once the hand has rested ~250 ms on an RGB frame, FADM re-synthesises it \
                         step by step; any change stops it.",
                )
            } else {
                toggle.on_disabled_hover_text(&needs)
            };
            if toggle.changed() {
                self.refine.error = None;
            }
            if !available {
                ui.label(egui::RichText::new(needs).weak());
            }
            egui::ComboBox::from_label("sampler")
                .selected_text(r.preset.label())
                .show_ui(ui, |ui| {
                    for preset in SamplerPreset::ALL {
                        ui.selectable_value(&mut r.preset, preset, preset.label());
                    }
                });
            ui.horizontal(|ui| {
                ui.label("noise seed:");
                ui.add(egui::DragValue::new(&mut r.seed));
            });
            let steps = r.preset.plan(&Schedule::linear(STEPS)).steps.len();
            let expected = match r.seconds_per_step.get(&self.adapter) {
                Some(s) => format!(
                    "expected ≈ {:.0} s per frame ({steps} steps × {s:.1} s, measured here)",
                    s * steps as f64
                ),
                None if self.adapter_is_cpu => format!(
                    "CPU device: the official network needs ≈ 400 GFLOP per step, so expect \
                         tens of seconds per step ({steps} steps); the time is measured on the \
                         first run"
                ),
                None => {
                    format!("{steps} steps; the time per step is measured on the first run")
                }
            };
            let colour = if self.adapter_is_cpu {
                ui.visuals().warn_fg_color
            } else {
                ui.visuals().text_color()
            };
            ui.colored_label(colour, expected);
            if let (Some(_), Some(p)) = (&self.refine.running, &self.refine.progress) {
                let left = p.seconds_per_step * (p.steps - p.step) as f64;
                ui.add(
                    egui::ProgressBar::new(p.step as f32 / p.steps as f32)
                        .text(format!("step {}/{} · {left:.0} s left", p.step, p.steps)),
                );
            }
            if let Some((_, e)) = &self.refine.error {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            ui.label(
                egui::RichText::new(
                    "FADM was trained on VoxCeleb at 256²: it corrects mid-frequency detail \
                         (mouth, strong expressions) and may soften a clean render.",
                )
                .weak(),
            );
        });
    }
}
