//! The control panel: avatar, expression, jaw and eyes, neck, presets, camera, render
//! settings, refinement, capture, performance and about.

use std::path::PathBuf;

use super::playback::Playback;
use super::settings::ViewChoice;
use super::viewer::{AvatarSource, ViewerApp};
use crate::avatar::file;
use crate::render::camera::OrbitCamera;
use crate::rig::params::{EYE_LIMIT, JAW_LIMIT, NECK_LIMIT, expression_range};
use crate::rig::{RigParams, expression_groups};

/// FLAME expression components shown before the fold.
const FIRST_COMPONENTS: usize = 10;
/// Expression groups with at most this many sliders start open.
const OPEN_GROUP_SIZE: usize = 6;
/// Neural resolutions offered (N).
const RESOLUTIONS: [usize; 5] = [32, 64, 128, 256, 512];
/// Sample multipliers offered, as EG3D's viewer.
const SAMPLE_SCALES: [f64; 4] = [0.5, 1.0, 2.0, 4.0];

impl ViewerApp {
    pub(super) fn controls(&mut self, ui: &mut egui::Ui) {
        ui.heading("neuralhead");
        if let Some((is_error, message)) = &self.message {
            let colour = if *is_error {
                ui.visuals().error_fg_color
            } else {
                ui.visuals().text_color()
            };
            ui.colored_label(colour, message);
        }
        if self.worker.device_lost() && ui.button("Restart neuralhead").clicked() {
            self.save_settings();
            match restart_process() {
                Ok(()) => ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close),
                Err(e) => self.message = Some((true, format!("cannot restart: {e}"))),
            }
        }
        egui::ScrollArea::vertical().show(ui, |ui| {
            self.avatar_section(ui);
            self.expression_section(ui);
            self.jaw_and_eyes_section(ui);
            self.presets_section(ui);
            self.sequence_section(ui);
            self.drive_section(ui);
            self.webcam_section(ui);
            self.camera_section(ui);
            self.render_section(ui);
            self.refinement_section(ui);
            self.capture_section(ui);
            self.export_section(ui);
            self.performance_section(ui);
            about_section(ui);
        });
    }

    fn avatar_section(&mut self, ui: &mut egui::Ui) {
        egui::CollapsingHeader::new("Avatar")
            .default_open(true)
            .show(ui, |ui| {
                ui.label(format!("showing: {}", self.source.label));
                let mut open: Option<PathBuf> = None;
                ui.horizontal(|ui| {
                    let chosen = file_field(
                        ui,
                        "avatar file:",
                        &mut self.avatar_path,
                        "avatar",
                        &["safetensors"],
                    );
                    if ui.button("Open").clicked() || chosen {
                        open = Some(PathBuf::from(self.avatar_path.trim()));
                    }
                });
                if !self.settings.recent_files.is_empty() {
                    ui.label("recent:");
                    for path in self.settings.recent_files.clone() {
                        if ui.link(path.display().to_string()).clicked() {
                            open = Some(path);
                        }
                    }
                }
                if let Some(path) = open {
                    self.open_avatar(path);
                }
                self.portrait_controls(ui);
                self.generator_controls(ui);
            });
    }

    fn open_avatar(&mut self, path: PathBuf) {
        let loaded = file::load(&path)
            .map_err(anyhow::Error::from)
            .and_then(|avatar| Ok((self.rig_for(&avatar)?, avatar)));
        match loaded {
            Ok((rig, avatar)) => {
                self.settings.remember(&path);
                self.set_avatar(
                    rig,
                    avatar,
                    AvatarSource {
                        label: path.display().to_string(),
                        notice: None,
                    },
                );
                self.message = Some((false, format!("opened {}", path.display())));
            }
            Err(e) => {
                self.message = Some((true, format!("could not open {}: {e:#}", path.display())))
            }
        }
    }

    fn expression_section(&mut self, ui: &mut egui::Ui) {
        egui::CollapsingHeader::new("Expression")
            .default_open(true)
            .show(ui, |ui| {
                let names = self.rig.expression_names.clone();
                match self.rig.kind {
                    crate::rig::RigKind::Default => self.grouped_sliders(ui, &names),
                    crate::rig::RigKind::Flame2020 => self.component_sliders(ui, &names),
                }
                if ui.button("Reset expression").clicked() {
                    self.params.expression.clear();
                }
            });
    }

    /// Named expressions by the part of the face they move.
    fn grouped_sliders(&mut self, ui: &mut egui::Ui, names: &[String]) {
        let (low, high) = expression_range(self.rig.kind);
        for (label, members) in expression_groups::grouped(names) {
            // Short groups open; the long ones (eyes, mouth) a click away.
            egui::CollapsingHeader::new(label)
                .default_open(members.len() <= OPEN_GROUP_SIZE)
                .show(ui, |ui| {
                    for name in members {
                        self.expression_slider(ui, name, low, high);
                    }
                });
        }
    }

    /// FLAME's PCA components: the first few, the rest folded.
    fn component_sliders(&mut self, ui: &mut egui::Ui, names: &[String]) {
        let (low, high) = expression_range(self.rig.kind);
        let shown = FIRST_COMPONENTS.min(names.len());
        for name in &names[..shown] {
            self.expression_slider(ui, name, low, high);
        }
        if shown < names.len() {
            ui.collapsing(format!("components {}…{}", shown, names.len() - 1), |ui| {
                for name in &names[shown..] {
                    self.expression_slider(ui, name, low, high);
                }
            });
        }
    }

    fn expression_slider(&mut self, ui: &mut egui::Ui, name: &str, low: f32, high: f32) {
        let value = self
            .params
            .expression
            .entry(name.to_string())
            .or_insert(0.0);
        ui.add(egui::Slider::new(value, low..=high).text(name));
    }

    fn jaw_and_eyes_section(&mut self, ui: &mut egui::Ui) {
        egui::CollapsingHeader::new("Jaw and eyes")
            .default_open(true)
            .show(ui, |ui| {
                let p = &mut self.params;
                ui.add(egui::Slider::new(&mut p.jaw[0], -0.1..=JAW_LIMIT).text("jaw open (rad)"));
                ui.add(egui::Slider::new(&mut p.jaw[1], -0.3..=0.3).text("jaw sideways (rad)"));
                // Both eyes follow one gaze: yaw about y, pitch about x.
                let mut gaze = [p.eyes.left[1], p.eyes.left[0]];
                let limit = -EYE_LIMIT..=EYE_LIMIT;
                let yaw =
                    ui.add(egui::Slider::new(&mut gaze[0], limit.clone()).text("gaze yaw (rad)"));
                let pitch = ui.add(egui::Slider::new(&mut gaze[1], limit).text("gaze pitch (rad)"));
                if yaw.changed() || pitch.changed() {
                    p.eyes.left = [gaze[1], gaze[0], 0.0];
                    p.eyes.right = p.eyes.left;
                }
                ui.collapsing("Advanced: neck", |ui| {
                    ui.label(
                        egui::RichText::new(
                            "Next3D was trained without neck rotation; expect artefacts.",
                        )
                        .weak(),
                    );
                    for (axis, name) in ["pitch", "yaw", "roll"].iter().enumerate() {
                        ui.add(
                            egui::Slider::new(&mut p.neck[axis], -NECK_LIMIT..=NECK_LIMIT)
                                .text(format!("neck {name} (rad)")),
                        );
                    }
                });
                if ui.button("Reset jaw, eyes and neck").clicked() {
                    let expression = std::mem::take(&mut p.expression);
                    let identity = p.identity.clone();
                    *p = RigParams {
                        identity,
                        expression,
                        ..Default::default()
                    };
                }
            });
    }

    fn presets_section(&mut self, ui: &mut egui::Ui) {
        ui.collapsing("Expression presets", |ui| {
            ui.horizontal(|ui| {
                labelled_field(ui, "name:", &mut self.preset_name);
                let name = self.preset_name.trim().to_string();
                if ui
                    .add_enabled(!name.is_empty(), egui::Button::new("Save"))
                    .clicked()
                {
                    self.settings.presets.insert(name, self.params.clone());
                }
            });
            let mut recall = None;
            let mut delete = None;
            for name in self.settings.presets.keys() {
                ui.horizontal(|ui| {
                    if ui.button(name).clicked() {
                        recall = Some(name.clone());
                    }
                    if ui.small_button("✕").on_hover_text("delete").clicked() {
                        delete = Some(name.clone());
                    }
                });
            }
            if let Some(params) = recall.and_then(|n| self.settings.presets.get(&n)) {
                self.params = params.clone().canonical(&self.rig);
            }
            if let Some(name) = delete {
                self.settings.presets.remove(&name);
            }
        });
    }

    fn sequence_section(&mut self, ui: &mut egui::Ui) {
        ui.collapsing("Expression sequence", |ui| {
            ui.label(
                egui::RichText::new(
                    "A CSV (a column per expression, plus jaw_open, gaze_yaw, camera_yaw, …), a \
                     Live Link Face CSV from an iPhone, or a JSON list of parameters, one entry \
                     per frame.",
                )
                .weak(),
            );
            ui.horizontal(|ui| {
                let chosen = file_field(
                    ui,
                    "sequence file:",
                    &mut self.sequence_path,
                    "expression sequence",
                    &["csv", "json"],
                );
                if ui.button("Load").clicked() || chosen {
                    let path = PathBuf::from(self.sequence_path.trim());
                    match Playback::load(&path, &self.rig) {
                        Ok(playback) => self.playback = Some(playback),
                        Err(e) => self.message = Some((true, format!("{e:#}"))),
                    }
                }
            });
            self.take_controls(ui);
            let mut close = false;
            if let Some(playback) = &mut self.playback {
                ui.label(format!(
                    "{}: {} frames at {} fps{}",
                    playback.name,
                    playback.sequence.frames.len(),
                    playback.sequence.fps,
                    if playback.sequence.head_poses.is_empty() {
                        ""
                    } else {
                        ", head pose on the camera"
                    }
                ));
                for note in &playback.sequence.notes {
                    ui.label(egui::RichText::new(format!("note: {note}")).weak());
                }
                ui.horizontal(|ui| {
                    let label = if playback.playing { "Pause" } else { "Play" };
                    if ui.button(label).clicked() {
                        playback.toggle();
                    }
                    ui.checkbox(&mut playback.looping, "loop");
                    close = ui.button("Close").clicked();
                });
                let mut frame = playback.frame();
                let last = playback.sequence.frames.len() - 1;
                if ui
                    .add(egui::Slider::new(&mut frame, 0..=last).text("frame"))
                    .changed()
                {
                    playback.playing = false;
                    playback.seek(frame);
                }
                ui.horizontal(|ui| {
                    labelled_field(ui, "Live Link Face CSV:", &mut self.live_link_path);
                });
                if ui
                    .button("Save as Live Link Face")
                    .on_hover_text(
                        "ARKit's 52 weights and head and eye rotations, for iPhone-driven rigs",
                    )
                    .clicked()
                {
                    let path = PathBuf::from(self.live_link_path.trim());
                    self.message = Some(match playback.sequence.save_live_link(&path, &self.rig) {
                        Ok(notes) if notes.is_empty() => {
                            (false, format!("saved {}", path.display()))
                        }
                        Ok(notes) => (
                            false,
                            format!("saved {} ({})", path.display(), notes.join("; ")),
                        ),
                        Err(e) => (true, format!("{e:#}")),
                    });
                }
            }
            if close {
                self.playback = None;
            }
        });
    }

    /// Record a take: the sliders and camera as they move, into a sequence.
    fn take_controls(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| match self.take.take() {
            Some(take) => {
                ui.label(format!("recording a take: {} frames", take.frames()));
                if ui.button("Stop the take").clicked() {
                    self.playback = Some(Playback::of(take.finish(), "take".into()));
                } else {
                    self.take = Some(take);
                }
            }
            None => {
                if ui
                    .button("Record a take")
                    .on_hover_text("records the sliders and the camera at 30 frames/s until Stop")
                    .clicked()
                {
                    self.playback = None;
                    self.take = Some(super::take::Take::new());
                }
            }
        });
    }

    fn camera_section(&mut self, ui: &mut egui::Ui) {
        egui::CollapsingHeader::new("Head pose and camera")
            .default_open(true)
            .show(ui, |ui| {
                ui.label("Head pose is the camera: drag the image to orbit, scroll to zoom.");
                let c = &mut self.settings.camera;
                ui.add(egui::Slider::new(&mut c.yaw, -1.5..=1.5).text("yaw (rad)"));
                ui.add(egui::Slider::new(&mut c.pitch, -1.2..=1.2).text("pitch (rad)"));
                ui.add(egui::Slider::new(&mut c.roll, -1.0..=1.0).text("roll (rad)"));
                ui.add(egui::Slider::new(&mut c.radius, 1.5..=6.0).text("radius"));
                ui.add(egui::Slider::new(&mut c.fov_degrees, 5.0..=60.0).text("field of view (°)"));
                if ui.button("Reset view").clicked() {
                    *c = OrbitCamera::default();
                }
            });
    }

    fn render_section(&mut self, ui: &mut egui::Ui) {
        egui::CollapsingHeader::new("Render")
            .default_open(true)
            .show(ui, |ui| {
                let s = &mut self.settings;
                ui.horizontal(|ui| {
                    ui.label("show");
                    for view in ViewChoice::ALL {
                        ui.selectable_value(&mut s.view, view, view.label());
                    }
                });
                if s.view == ViewChoice::Features {
                    ui.horizontal(|ui| {
                        ui.label("channels");
                        for c in &mut s.channels {
                            ui.add(egui::DragValue::new(c).range(0..=31));
                        }
                    });
                }
                egui::ComboBox::from_label("neural resolution N")
                    .selected_text(s.resolution.to_string())
                    .show_ui(ui, |ui| {
                        for n in RESOLUTIONS {
                            ui.selectable_value(&mut s.resolution, n, n.to_string());
                        }
                    });
                egui::ComboBox::from_label("samples per ray")
                    .selected_text(format!("×{}", s.samples_scale))
                    .show_ui(ui, |ui| {
                        for scale in SAMPLE_SCALES {
                            let label = format!("×{scale} ({0} + {0})", (48.0 * scale) as usize);
                            ui.selectable_value(&mut s.samples_scale, scale, label);
                        }
                    });
                ui.checkbox(
                    &mut s.preview_while_dragging,
                    "quick preview while dragging (N/2, fewer samples)",
                );
                ui.checkbox(&mut s.sharpen_when_resting, "sharper when resting (2N, 4N…)")
                    .on_hover_text(
                        "once the hand rests, the frame is rendered again at twice the rays, \
                         as far as this adapter manages within a few seconds",
                    );
                ui.checkbox(&mut s.mesh_overlay, "mesh overlay")
                    .on_hover_text("the skinned rig's edges drawn over the neural frame");
                let slow = if self.adapter_is_cpu {
                    "; on a CPU device each full frame then takes many seconds"
                } else {
                    ""
                };
                ui.add_enabled_ui(self.has_generator, |ui| {
                    ui.checkbox(
                        &mut s.generator.super_resolution,
                        "super-resolution (the generator's 512² image)",
                    )
                    .on_hover_text(format!("RGB view, once the hand rests{slow}"))
                    .on_disabled_hover_text(
                        "only avatars baked from a Next3D checkpoint have a super-resolution network",
                    );
                });
                ui.horizontal(|ui| {
                    ui.label("marcher");
                    ui.selectable_value(
                        &mut s.marcher,
                        crate::render::marcher::Marcher::Fused,
                        "fused WGSL",
                    );
                    ui.selectable_value(
                        &mut s.marcher,
                        crate::render::marcher::Marcher::Reference,
                        "burn reference",
                    );
                });
            });
    }

    fn capture_section(&mut self, ui: &mut egui::Ui) {
        ui.collapsing("Capture", |ui| {
            ui.horizontal(|ui| {
                labelled_field(ui, "save as:", &mut self.capture_path);
                let ready = self.last_image.is_some();
                if ui
                    .add_enabled(ready, egui::Button::new("Save PNG"))
                    .clicked()
                    && let Some(image) = &self.last_image
                {
                    let path = PathBuf::from(self.capture_path.trim());
                    self.message = Some(saved(crate::cli::render::save_png(image, &path), &path));
                }
                let has_depth = self.last_depth.is_some();
                if ui
                    .add_enabled(has_depth, egui::Button::new("Save depth (16-bit)"))
                    .on_hover_text("camera depth × 10 000 per pixel, 0 for background")
                    .on_disabled_hover_text("the mesh view has no depth: choose a neural view")
                    .clicked()
                    && let Some(depth) = &self.last_depth
                {
                    let path = depth_path(&PathBuf::from(self.capture_path.trim()));
                    self.message = Some(saved(crate::cli::render::save_png(depth, &path), &path));
                }
            });
            self.record_controls(ui);
        });
    }

    fn performance_section(&mut self, ui: &mut egui::Ui) {
        egui::CollapsingHeader::new("Performance")
            .default_open(true)
            .show(ui, |ui| {
                if self.adapter_is_cpu {
                    ui.colored_label(
                        ui.visuals().warn_fg_color,
                        format!(
                            "CPU device: {} — expect seconds per frame; choose a GPU below or with --adapter",
                            self.adapter
                        ),
                    );
                } else {
                    ui.label(format!("GPU: {}", self.adapter));
                }
                self.adapter_choice(ui);
                let t = &self.times;
                ui.label(format!("{:.1} frames/s", self.fps));
                let sr = match t.super_resolution > 0.0 {
                    true => format!(" · SR {:.0} ms", t.super_resolution),
                    false => String::new(),
                };
                ui.label(format!(
                    "planes {:.0} ms · march {:.0} ms{sr} · image {:.0} ms · frame {:.0} ms",
                    t.planes, t.march, t.image, t.total
                ));
            });
    }
}

impl ViewerApp {
    /// The adapter for the next start (the window and the networks share one device, so a
    /// change applies when the viewer starts again; `--adapter` overrides it).
    fn adapter_choice(&mut self, ui: &mut egui::Ui) {
        let current = self.settings.adapter.clone();
        let shown = match current.as_str() {
            "auto" => "best available".to_string(),
            "cpu" => "CPU device".to_string(),
            name => name.to_string(),
        };
        egui::ComboBox::from_label("adapter at next start")
            .selected_text(shown)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut self.settings.adapter, "auto".into(), "best available");
                ui.selectable_value(&mut self.settings.adapter, "cpu".into(), "CPU device");
                for name in &self.adapters {
                    ui.selectable_value(&mut self.settings.adapter, name.clone(), name);
                }
            })
            .response
            .on_hover_text(
                "the window and the networks share one device: the choice applies when the \
                 viewer starts again (--adapter overrides it)",
            );
        if self.settings.adapter != current {
            self.message = Some((
                false,
                "the adapter changes when the viewer starts again".into(),
            ));
        }
    }
}

/// A one-line text field named by the label before it (for screen readers and tests).
pub(super) fn labelled_field(ui: &mut egui::Ui, label: &str, text: &mut String) {
    let label = ui.label(label);
    // Narrow enough that a field and its buttons fit the panel's default width.
    ui.add(egui::TextEdit::singleline(text).desired_width(170.0))
        .labelled_by(label.id);
}

/// A path field with a "Choose…" button that opens the system's file dialog, filtered to
/// `extensions` (named `kind`). True when a file was chosen there.
pub(super) fn file_field(
    ui: &mut egui::Ui,
    label: &str,
    text: &mut String,
    kind: &str,
    extensions: &[&str],
) -> bool {
    labelled_field(ui, label, text);
    let chosen = ui
        .button("Choose…")
        .on_hover_text(format!("pick the {kind} file"))
        .clicked()
        .then(|| {
            rfd::FileDialog::new()
                .add_filter(kind, extensions)
                .pick_file()
        })
        .flatten();
    match chosen {
        Some(path) => {
            *text = path.display().to_string();
            true
        }
        None => false,
    }
}

/// The panel's message after writing `path`.
fn saved(result: anyhow::Result<()>, path: &std::path::Path) -> (bool, String) {
    match result {
        Ok(()) => (false, format!("saved {}", path.display())),
        Err(e) => (true, format!("{e:#}")),
    }
}

/// `frame.png` → `frame-depth.png`.
fn depth_path(path: &std::path::Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "frame".into());
    path.with_file_name(format!("{stem}-depth.png"))
}

fn about_section(ui: &mut egui::Ui) {
    ui.collapsing("About", |ui| {
        ui.label(format!("neuralhead {}", env!("CARGO_PKG_VERSION")));
        ui.label("Next3D and FADM re-implemented in Rust (burn, wgpu, egui). MIT OR Apache-2.0.");
        ui.collapsing("Notices of embedded assets", |ui| {
            ui.label(egui::RichText::new(crate::NOTICES).monospace().small());
        });
    });
}

/// Starts this program again with the same arguments (a lost GPU device needs a new process).
fn restart_process() -> std::io::Result<()> {
    std::process::Command::new(std::env::current_exe()?)
        .args(std::env::args_os().skip(1))
        .spawn()
        .map(drop)
}
