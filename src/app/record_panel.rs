//! Recording from the window: an orbit of the camera, one expression swept there and back,
//! or the loaded sequence, from the current state and render settings, to a new folder of
//! PNG frames and an MP4 when ffmpeg is on the PATH. The viewport shows each frame as it
//! is recorded; Cancel leaves nothing on disk.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::panel::labelled_field;
use super::record_job::{RecordJob, RecordUpdate};
use super::viewer::ViewerApp;
use super::worker::View;
use crate::record::{Animation, Recording, ffmpeg_available};
use crate::render::modes::RenderMode;
use crate::rig::params::expression_range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnimationKind {
    Orbit,
    Sweep,
    Sequence,
}

pub struct RecordState {
    pub kind: AnimationKind,
    pub degrees: f64,
    pub sweep_name: String,
    pub sweep_to: f32,
    pub frames: usize,
    pub fps: f64,
    pub folder_text: String,
    pub video: bool,
    ffmpeg: bool,
    running: Option<Running>,
}

impl Default for RecordState {
    fn default() -> Self {
        Self {
            kind: AnimationKind::Orbit,
            degrees: 360.0,
            sweep_name: String::new(),
            sweep_to: 1.0,
            frames: 60,
            fps: 30.0,
            folder_text: "neuralhead-recording".into(),
            video: true,
            ffmpeg: ffmpeg_available(),
            running: None,
        }
    }
}

struct Running {
    cancel: Arc<AtomicBool>,
    /// (frames done, frames in all)
    done: (usize, usize),
}

impl ViewerApp {
    pub fn recording(&self) -> bool {
        self.record.running.is_some()
    }

    /// The Record controls' values (what the panel shows).
    pub fn record_settings(&mut self) -> &mut RecordState {
        &mut self.record
    }

    /// The recording as the panel describes it, from the current state.
    pub fn planned_recording(&self) -> anyhow::Result<Recording> {
        let r = &self.record;
        let animation = match r.kind {
            AnimationKind::Orbit => Animation::Orbit { degrees: r.degrees },
            AnimationKind::Sweep => {
                let name = r.sweep_name.trim();
                anyhow::ensure!(!name.is_empty(), "choose the expression to sweep");
                let from = self.params.expression.get(name).copied().unwrap_or(0.0);
                Animation::Slider {
                    name: name.to_string(),
                    from,
                    to: r.sweep_to,
                }
            }
            AnimationKind::Sequence => {
                let playback = self
                    .playback
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("load a sequence first (Sequence section)"))?;
                let mut sequence = playback.sequence.clone();
                // As when playing: the avatar keeps its identity.
                for frame in &mut sequence.frames {
                    frame.identity = self.params.identity.clone();
                }
                Animation::Sequence(sequence)
            }
        };
        let request = self.wanted(false);
        let mode = match request.view {
            View::Neural(mode) => mode,
            View::Mesh => RenderMode::Rgb,
        };
        let folder = r.folder_text.trim();
        anyhow::ensure!(!folder.is_empty(), "name the folder for the frames");
        Ok(Recording {
            animation,
            frames: r.frames,
            fps: r.fps,
            params: self.params.clone(),
            camera: request.camera,
            options: request.options,
            mode,
            out_dir: free_folder(PathBuf::from(folder)),
            video: r.video && r.ffmpeg,
        })
    }

    pub fn start_recording(&mut self) {
        if self.recording() || self.inverting() {
            self.message = Some((true, "wait for the running job to end".into()));
            return;
        }
        match self.planned_recording() {
            Ok(recording) => {
                let cancel = Arc::new(AtomicBool::new(false));
                let count = recording.frame_count();
                self.message = Some((
                    false,
                    format!("recording to {}", recording.out_dir.display()),
                ));
                self.worker.record(RecordJob {
                    recording,
                    cancel: cancel.clone(),
                });
                self.record.running = Some(Running {
                    cancel,
                    done: (0, count),
                });
            }
            Err(e) => self.message = Some((true, format!("{e:#}"))),
        }
    }

    pub fn cancel_recording(&mut self) {
        if let Some(running) = &self.record.running {
            running.cancel.store(true, Ordering::Relaxed);
        }
    }

    pub(super) fn record_controls(&mut self, ui: &mut egui::Ui) {
        ui.separator();
        if let Some(running) = &self.record.running {
            let (done, count) = running.done;
            ui.add(
                egui::ProgressBar::new(done as f32 / count.max(1) as f32)
                    .text(format!("recording: frame {done} of {count}")),
            );
            if ui.button("Cancel recording").clicked() {
                self.cancel_recording();
            }
            return;
        }
        let has_sequence = self.playback.is_some();
        let r = &mut self.record;
        ui.horizontal(|ui| {
            ui.label("record:");
            ui.selectable_value(&mut r.kind, AnimationKind::Orbit, "orbit");
            ui.selectable_value(&mut r.kind, AnimationKind::Sweep, "expression sweep");
            ui.add_enabled_ui(has_sequence, |ui| {
                ui.selectable_value(&mut r.kind, AnimationKind::Sequence, "sequence")
                    .on_disabled_hover_text("load a sequence in the Sequence section first");
            });
        });
        match r.kind {
            AnimationKind::Orbit => {
                ui.horizontal(|ui| {
                    let label = ui.label("degrees of yaw:");
                    ui.add(egui::DragValue::new(&mut r.degrees).range(-720.0..=720.0))
                        .labelled_by(label.id);
                });
            }
            AnimationKind::Sweep => {
                let names = self.rig.expression_names.clone();
                let (low, high) = expression_range(self.rig.kind);
                if !names.contains(&r.sweep_name) {
                    r.sweep_name = names.first().cloned().unwrap_or_default();
                }
                ui.horizontal(|ui| {
                    egui::ComboBox::from_label("expression")
                        .selected_text(r.sweep_name.clone())
                        .show_ui(ui, |ui| {
                            for name in &names {
                                ui.selectable_value(&mut r.sweep_name, name.clone(), name);
                            }
                        });
                    let label = ui.label("to:");
                    ui.add(
                        egui::DragValue::new(&mut r.sweep_to)
                            .range(low..=high)
                            .speed(0.01),
                    )
                    .labelled_by(label.id);
                })
                .response
                .on_hover_text("from the slider's current value to this one and back");
            }
            AnimationKind::Sequence => {
                ui.label("every frame of the loaded sequence, at its own rate");
            }
        }
        if r.kind != AnimationKind::Sequence {
            ui.horizontal(|ui| {
                let label = ui.label("frames:");
                ui.add(egui::DragValue::new(&mut r.frames).range(1..=10_000))
                    .labelled_by(label.id);
                let label = ui.label("fps:");
                ui.add(egui::DragValue::new(&mut r.fps).range(1.0..=120.0))
                    .labelled_by(label.id);
            });
        }
        ui.horizontal(|ui| {
            labelled_field(ui, "folder:", &mut r.folder_text);
        });
        let ffmpeg = r.ffmpeg;
        ui.add_enabled_ui(ffmpeg, |ui| {
            ui.checkbox(&mut r.video, "MP4 too")
                .on_disabled_hover_text("ffmpeg is not on the PATH: PNG frames only");
        });
        if ui
            .button("Record")
            .on_hover_text("renders every frame at full quality with the current settings")
            .clicked()
        {
            self.start_recording();
        }
    }

    pub(super) fn receive_recordings(&mut self, ctx: &egui::Context) {
        for update in self.worker.recordings() {
            let Some(running) = &mut self.record.running else {
                continue;
            };
            match update {
                RecordUpdate::Frame {
                    index,
                    count,
                    image,
                } => {
                    running.done = (index + 1, count);
                    self.show_image(ctx, &image);
                }
                RecordUpdate::Done(recorded) => {
                    self.record.running = None;
                    self.forget_sent();
                    let mut text = format!(
                        "recorded {} frames to {}",
                        recorded.frames,
                        recorded.dir.display()
                    );
                    if let Some(video) = &recorded.video {
                        text += &format!(" and {}", video.display());
                    }
                    if let Some(note) = &recorded.video_note {
                        text += &format!(" ({note})");
                    }
                    self.message = Some((false, text));
                }
                RecordUpdate::Cancelled => {
                    self.record.running = None;
                    self.forget_sent();
                    self.message = Some((false, "recording cancelled; nothing was kept".into()));
                }
                RecordUpdate::Failed(e) => {
                    self.record.running = None;
                    self.forget_sent();
                    self.message = Some((true, format!("the recording failed: {e}")));
                }
            }
        }
    }
}

/// `folder`, or `folder-2`, `folder-3`, … when it exists and is not empty, so a second
/// recording never runs into the first.
fn free_folder(folder: PathBuf) -> PathBuf {
    let taken = |p: &PathBuf| std::fs::read_dir(p).is_ok_and(|mut d| d.next().is_some());
    if !taken(&folder) {
        return folder;
    }
    let name = folder
        .file_name()
        .map_or("recording".into(), |n| n.to_string_lossy().into_owned());
    (2..)
        .map(|k| folder.with_file_name(format!("{name}-{k}")))
        .find(|p| !taken(p))
        .expect("some folder name is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_folder_gets_a_new_name() {
        let dir = std::env::temp_dir().join(format!("neuralhead-free-{}", std::process::id()));
        let base = dir.join("rec");
        assert_eq!(free_folder(base.clone()), base);
        std::fs::create_dir_all(&base).unwrap();
        assert_eq!(free_folder(base.clone()), base, "an empty folder is free");
        std::fs::write(base.join("frame_00000.png"), b"x").unwrap();
        assert_eq!(free_folder(base.clone()), dir.join("rec-2"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
