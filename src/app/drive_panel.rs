//! Drive → from a video file: the video is tracked on a background thread
//! (`drive::track_video`: the face's expression, gaze and head pose per frame), with progress
//! and Cancel; the motion then plays on the timeline, the video's own frame in an inset in
//! the viewport's corner. A video dropped on the window does the same.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, channel};

use crate::drive::track::TrackSettings;
use crate::drive::{Motion, track_video};
use crate::rig::{Rig, RigKind};

/// The inset's long side, in pixels and in points.
const INSET_SIDE: u32 = 160;
/// Source frames kept for the inset at most (~80 MB): a longer video keeps every second,
/// then every fourth… frame.
const MAX_INSET_FRAMES: usize = 1000;
/// File endings taken as videos when dropped on the window (anything else is a portrait).
pub const VIDEO_ENDINGS: [&str; 7] = ["mp4", "mov", "mkv", "webm", "avi", "m4v", "mpg"];

#[derive(Default)]
pub struct DriveState {
    pub video_text: String,
    running: Option<Tracking>,
    inset: Option<Inset>,
}

/// A video being tracked.
struct Tracking {
    video: PathBuf,
    /// Frames tracked so far, and the video's frame count when ffprobe knows it (0 if not).
    done: Arc<AtomicUsize>,
    total: Arc<AtomicUsize>,
    cancel: Arc<AtomicBool>,
    /// The motion, or the error (`None`: cancelled).
    result: Receiver<Result<Driven, Option<String>>>,
}

struct Driven {
    motion: Motion,
    frames: SourceFrames,
}

/// Thumbnails of a video's frames, every `stride`-th one.
#[derive(Default)]
struct SourceFrames {
    stride: usize,
    kept: Vec<egui::ColorImage>,
}

impl SourceFrames {
    fn offer(&mut self, index: usize, image: &image::RgbImage) {
        self.stride = self.stride.max(1);
        if !index.is_multiple_of(self.stride) {
            return;
        }
        self.kept.push(thumbnail(image));
        if self.kept.len() > MAX_INSET_FRAMES {
            let mut position = 0;
            self.kept.retain(|_| {
                position += 1;
                position % 2 == 1
            });
            self.stride *= 2;
        }
    }

    /// The kept frame nearest before video frame `index`.
    fn at(&self, index: usize) -> Option<&egui::ColorImage> {
        let kept = (index / self.stride.max(1)).min(self.kept.len().checked_sub(1)?);
        self.kept.get(kept)
    }
}

/// The video's frames beside the avatar while its motion plays.
struct Inset {
    /// The timeline entry it belongs to: another sequence loaded there ends the inset.
    name: String,
    frames: SourceFrames,
    texture: Option<(usize, egui::TextureHandle)>,
}

pub fn is_video(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| VIDEO_ENDINGS.contains(&e.to_ascii_lowercase().as_str()))
}

impl Tracking {
    fn start(video: PathBuf, rig: Arc<Rig>, ctx: &egui::Context) -> Self {
        let (sender, result) = channel();
        let done = Arc::new(AtomicUsize::new(0));
        let total = Arc::new(AtomicUsize::new(0));
        let cancel = Arc::new(AtomicBool::new(false));
        let (path, ctx) = (video.clone(), ctx.clone());
        let (shared_done, shared_total, shared_cancel) =
            (done.clone(), total.clone(), cancel.clone());
        std::thread::spawn(move || {
            let mut frames = SourceFrames::default();
            let motion = track_video(&path, &rig, TrackSettings::default(), |i, count, image| {
                frames.offer(i, image);
                shared_done.store(i + 1, Ordering::Relaxed);
                shared_total.store(count.unwrap_or(0), Ordering::Relaxed);
                ctx.request_repaint();
                !shared_cancel.load(Ordering::Relaxed)
            });
            let result = motion
                .map(|motion| Driven { motion, frames })
                .map_err(|e| (!e.is::<crate::Cancelled>()).then(|| format!("{e:#}")));
            let _ = sender.send(result);
            ctx.request_repaint();
        });
        Self {
            video,
            done,
            total,
            cancel,
            result,
        }
    }
}

/// A frame at the inset's size.
pub(super) fn thumbnail(image: &image::RgbImage) -> egui::ColorImage {
    let small = image::imageops::thumbnail(
        image,
        INSET_SIDE,
        INSET_SIDE * image.height() / image.width().max(1),
    );
    egui::ColorImage::from_rgb(
        [small.width() as usize, small.height() as usize],
        small.as_raw(),
    )
}

impl super::viewer::ViewerApp {
    /// How many source frames the inset holds while a tracked video's motion plays.
    pub fn drive_inset_frames(&self) -> Option<usize> {
        self.drive
            .inset
            .as_ref()
            .map(|inset| inset.frames.kept.len())
    }

    /// Driving fits the default head rig; on another rig it says so and returns false.
    pub(super) fn can_drive(&mut self) -> bool {
        let can = self.rig.kind == RigKind::Default;
        if !can {
            self.message = Some((
                true,
                "driving works on the default head rig: open an avatar of the default rig first"
                    .into(),
            ));
        }
        can
    }

    /// Whether a video is being tracked.
    pub fn tracking_video(&self) -> bool {
        self.drive.running.is_some()
    }

    /// Starts tracking `video` (the panel's button, or a video dropped on the window).
    pub fn drive_from_video(&mut self, video: PathBuf, ctx: &egui::Context) {
        if !self.can_drive() {
            return;
        }
        if self.tracking_video() {
            self.message = Some((true, "a video is already being tracked".into()));
            return;
        }
        self.drive.video_text = video.display().to_string();
        self.message = Some((false, format!("tracking the face in {}", video.display())));
        self.drive.running = Some(Tracking::start(video, self.rig.clone(), ctx));
    }

    pub(super) fn drive_section(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        ui.collapsing("Drive from a video", |ui| {
            ui.label(
                egui::RichText::new(
                    "Your own face moves the avatar: a video of a face (or drop one on the \
                     window) is tracked frame by frame — expression, gaze and head pose, the \
                     first frame taken as neutral — and played on the timeline. Needs ffmpeg.",
                )
                .weak(),
            );
            if let Some(running) = &self.drive.running {
                let done = running.done.load(Ordering::Relaxed);
                let total = running.total.load(Ordering::Relaxed);
                let (fraction, text) = if total > 0 {
                    (
                        done as f32 / total as f32,
                        format!("tracking frame {done} of {total}"),
                    )
                } else {
                    (0.0, format!("tracking frame {done}"))
                };
                ui.add(egui::ProgressBar::new(fraction).text(text));
                if ui.button("Cancel").clicked() {
                    running.cancel.store(true, Ordering::Relaxed);
                }
                return;
            }
            ui.horizontal(|ui| {
                let chosen = super::panel::file_field(
                    ui,
                    "video:",
                    &mut self.drive.video_text,
                    "video",
                    &VIDEO_ENDINGS,
                );
                if (ui.button("Track").clicked() || chosen)
                    && !self.drive.video_text.trim().is_empty()
                {
                    let video = PathBuf::from(self.drive.video_text.trim());
                    self.drive_from_video(video, &ctx);
                }
            });
        });
    }

    /// Takes the tracked motion when it has come: it plays on the timeline.
    pub(super) fn receive_drive(&mut self) {
        let Some(running) = &self.drive.running else {
            return;
        };
        let result = match running.result.try_recv() {
            Ok(result) => result,
            Err(TryRecvError::Empty) => return,
            Err(TryRecvError::Disconnected) => Err(Some("the tracking stopped".into())),
        };
        let video = running.video.clone();
        self.drive.running = None;
        match result {
            Ok(Driven { motion, frames }) => {
                let name = video
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "video".into());
                self.message = Some((
                    false,
                    format!(
                        "tracked {} frames of {name} (no face in {}): playing",
                        motion.sequence.frames.len(),
                        motion.missed
                    ),
                ));
                self.take = None;
                self.playback = Some(super::playback::Playback::of(motion.sequence, name.clone()));
                self.drive.inset = Some(Inset {
                    name,
                    frames,
                    texture: None,
                });
            }
            Err(None) => self.message = Some((false, "tracking cancelled".into())),
            Err(Some(e)) => {
                self.message = Some((true, format!("cannot drive from the video: {e}")))
            }
        }
    }

    /// The source frame of the playing motion, in the viewport's top-right corner.
    pub(super) fn drive_inset(&mut self, ui: &egui::Ui, viewport: egui::Rect) {
        let (Some(inset), Some(playback)) = (&mut self.drive.inset, &self.playback) else {
            self.drive.inset = None;
            return;
        };
        if playback.name != inset.name {
            self.drive.inset = None;
            return;
        }
        let index = playback.frame();
        let Some(image) = inset.frames.at(index) else {
            return;
        };
        let texture = match &mut inset.texture {
            Some((shown, texture)) => {
                if *shown != index {
                    texture.set(image.clone(), egui::TextureOptions::LINEAR);
                    *shown = index;
                }
                texture
            }
            None => {
                let texture = ui.ctx().load_texture(
                    "drive-source",
                    image.clone(),
                    egui::TextureOptions::LINEAR,
                );
                &mut inset.texture.insert((index, texture)).1
            }
        };
        paint_inset(ui, viewport, texture);
    }
}

/// A source frame in the viewport's top-right corner, at its own size, outlined.
pub(super) fn paint_inset(ui: &egui::Ui, viewport: egui::Rect, texture: &egui::TextureHandle) {
    let size = texture.size_vec2();
    let rect =
        egui::Rect::from_min_size(viewport.right_top() + egui::vec2(-size.x - 8.0, 8.0), size);
    let painter = ui.painter_at(viewport);
    painter.image(
        texture.id(),
        rect,
        egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
        egui::Color32::WHITE,
    );
    painter.rect_stroke(
        rect,
        2.0,
        egui::Stroke::new(1.0, egui::Color32::from_gray(200)),
        egui::StrokeKind::Outside,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long video keeps at most MAX_INSET_FRAMES thumbnails, evenly spread, and every
    /// frame of the motion still finds the one kept nearest before it.
    #[test]
    fn a_long_video_keeps_a_bounded_number_of_source_frames() {
        let mut frames = SourceFrames::default();
        let count = 3 * MAX_INSET_FRAMES + 7;
        for i in 0..count {
            let shade = (i % 251) as u8;
            frames.offer(
                i,
                &image::RgbImage::from_pixel(4, 3, image::Rgb([shade, 0, 0])),
            );
        }
        assert!(frames.kept.len() <= MAX_INSET_FRAMES);
        assert_eq!(frames.stride, 4);
        for index in [0, 5, 1234, count - 1] {
            let shown = frames.at(index).unwrap();
            let kept_index = (index / 4).min(frames.kept.len() - 1) * 4;
            assert_eq!(
                shown.pixels[0].r(),
                (kept_index % 251) as u8,
                "frame {index}"
            );
        }
    }
}
