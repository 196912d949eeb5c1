//! Drive → webcam: the cameras the machine has are listed (`drive::camera`); the chosen one
//! is tracked live on a background thread (`drive::track_live`, the newest frame each time,
//! so the avatar never lags behind the camera), and every tracked frame sets the sliders and
//! turns the camera as the head turns, rendered with the preview settings of a dragged
//! slider. The camera's frame shows in the viewport's corner.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::time::Instant;

use crate::drive::camera::{Camera, LiveFrames, cameras};
use crate::drive::track::{TrackSettings, Tracked};
use crate::drive::track_live;
use crate::rig::RigParams;
use crate::rig::sequence::HeadPose;

/// The rate the smoothing assumes for a live source (tracking's own pace in release).
const LIVE_FPS: f64 = 15.0;

#[derive(Default)]
pub struct WebcamState {
    /// `None` until the person asks for the list.
    cameras: Option<Vec<Camera>>,
    chosen: usize,
    live: Option<Live>,
}

struct Live {
    name: String,
    stop: Arc<AtomicBool>,
    updates: Receiver<Update>,
    pose: Option<HeadPose>,
    inset: Option<egui::TextureHandle>,
    tracked: usize,
    started: Instant,
}

enum Update {
    Frame(Box<(Tracked, egui::ColorImage)>),
    /// The source ended or failed (`None`: stopped by the person).
    Ended(Option<String>),
}

impl Live {
    fn start(
        frames: LiveFrames,
        name: String,
        app: &super::viewer::ViewerApp,
        ctx: &egui::Context,
    ) -> Self {
        let (sender, updates) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let (rig, ctx, stopping) = (app.rig.clone(), ctx.clone(), stop.clone());
        std::thread::spawn(move || {
            let result = track_live(
                frames,
                &rig,
                TrackSettings::default(),
                LIVE_FPS,
                |tracked, image| {
                    let thumbnail = super::drive_panel::thumbnail(image);
                    let sent = sender.send(Update::Frame(Box::new((tracked.clone(), thumbnail))));
                    ctx.request_repaint();
                    sent.is_ok() && !stopping.load(Ordering::Relaxed)
                },
            );
            let ended = match result {
                Ok(()) => None,
                Err(e) => Some(format!("{e:#}")),
            };
            let _ = sender.send(Update::Ended(ended));
            ctx.request_repaint();
        });
        Self {
            name,
            stop,
            updates,
            pose: None,
            inset: None,
            tracked: 0,
            started: Instant::now(),
        }
    }
}

impl super::viewer::ViewerApp {
    /// Whether a live source drives the avatar.
    pub fn driving_live(&self) -> bool {
        self.webcam.live.is_some()
    }

    /// Frames tracked from the live source so far.
    pub fn live_frames_tracked(&self) -> Option<usize> {
        self.webcam.live.as_ref().map(|live| live.tracked)
    }

    /// The head pose the live source gives the camera.
    pub(super) fn live_pose(&self) -> Option<HeadPose> {
        self.webcam.live.as_ref().and_then(|live| live.pose)
    }

    /// Drives the avatar from `frames` (a camera, or a video read live).
    pub fn drive_live(&mut self, frames: LiveFrames, name: String, ctx: &egui::Context) {
        if !self.can_drive() {
            return;
        }
        self.stop_live();
        self.playback = None;
        self.take = None;
        self.message = Some((false, format!("following the face in {name}")));
        self.webcam.live = Some(Live::start(frames, name, self, ctx));
    }

    pub(super) fn stop_live(&mut self) {
        if let Some(live) = self.webcam.live.take() {
            live.stop.store(true, Ordering::Relaxed);
        }
    }

    pub(super) fn webcam_section(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        ui.collapsing("Drive from a webcam", |ui| {
            if let Some(live) = &self.webcam.live {
                let seconds = live.started.elapsed().as_secs_f64().max(1e-3);
                ui.label(format!(
                    "{}: {} frames tracked, {:.1} frames/s",
                    live.name,
                    live.tracked,
                    live.tracked as f64 / seconds
                ));
                if ui.button("Stop").clicked() {
                    self.stop_live();
                    self.message = Some((false, "the webcam stopped driving".into()));
                }
                return;
            }
            if ui.button("Find cameras").clicked() {
                self.webcam.cameras = Some(cameras());
                self.webcam.chosen = 0;
            }
            match &self.webcam.cameras {
                None => {}
                Some(list) if list.is_empty() => {
                    ui.label("no camera found on this machine");
                }
                Some(list) => {
                    let chosen = &mut self.webcam.chosen;
                    egui::ComboBox::from_label("camera")
                        .selected_text(list[(*chosen).min(list.len() - 1)].name.clone())
                        .show_ui(ui, |ui| {
                            for (i, camera) in list.iter().enumerate() {
                                ui.selectable_value(chosen, i, &camera.name);
                            }
                        });
                    if ui.button("Start").clicked() {
                        let camera = list[(*chosen).min(list.len() - 1)].clone();
                        match LiveFrames::open(&camera) {
                            Ok(frames) => self.drive_live(frames, camera.name, &ctx),
                            Err(e) => self.message = Some((true, e.to_string())),
                        }
                    }
                }
            }
        });
    }

    /// Takes the newest tracked frame: the sliders and the head pose follow it.
    pub(super) fn receive_live(&mut self, ctx: &egui::Context) {
        let Some(live) = &mut self.webcam.live else {
            return;
        };
        let mut newest = None;
        loop {
            match live.updates.try_recv() {
                Ok(Update::Frame(frame)) => {
                    live.tracked += 1;
                    newest = Some(frame);
                }
                Ok(Update::Ended(reason)) => {
                    let name = live.name.clone();
                    self.webcam.live = None;
                    if let Some(reason) = reason {
                        self.message = Some((true, format!("{name} stopped: {reason}")));
                    }
                    return;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.webcam.live = None;
                    return;
                }
            }
        }
        let Some(frame) = newest else {
            return;
        };
        let (tracked, thumbnail) = *frame;
        live.pose = Some(tracked.pose);
        match &mut live.inset {
            Some(texture) => texture.set(thumbnail, egui::TextureOptions::LINEAR),
            None => {
                live.inset =
                    Some(ctx.load_texture("webcam", thumbnail, egui::TextureOptions::LINEAR))
            }
        }
        self.params = RigParams {
            identity: self.params.identity.clone(),
            ..tracked.params
        };
    }

    /// The camera's frame in the viewport's top-right corner.
    pub(super) fn webcam_inset(&self, ui: &egui::Ui, viewport: egui::Rect) {
        if let Some(texture) = self.webcam.live.as_ref().and_then(|l| l.inset.as_ref()) {
            super::drive_panel::paint_inset(ui, viewport, texture);
        }
    }
}
