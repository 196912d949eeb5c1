//! The viewer: a panel of controls beside the viewport. The UI thread only gathers the
//! wanted state and shows the newest finished frame; the render thread does the GPU work.
//! While the hand moves, frames are quick previews; the full frame follows when it rests.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::settings::{Settings, ViewChoice};
use super::sharpen;
use super::worker::{Rendered, Request, StageTimes, View, Worker};
use crate::avatar::Avatar;
use crate::avatar::pipeline::FrameOptions;
use crate::gpu::Gpu;
use crate::render::camera::OrbitCamera;
use crate::render::modes::RenderMode;
use crate::rig::{Rig, RigParams};

/// Radians of orbit per dragged point.
const DRAG_SPEED: f64 = 0.008;
/// How long the hand must rest before the full frame is asked for.
pub const REST: Duration = Duration::from_millis(100);

/// How the viewer starts.
#[derive(Debug, Clone, Default)]
pub struct ViewerOptions {
    /// Save the first full frame of the window here, then close (smoke tests).
    pub screenshot: Option<PathBuf>,
    /// Where settings persist; `None` starts from defaults and saves nothing.
    pub settings_path: Option<PathBuf>,
    /// Said in the window at start (e.g. the remembered adapter did not open).
    pub notice: Option<String>,
}

/// Where the shown avatar came from.
pub struct AvatarSource {
    pub label: String,
    /// Said in the window, e.g. why a test avatar is shown.
    pub notice: Option<String>,
}

pub struct ViewerApp {
    pub(super) rig: Arc<Rig>,
    pub(super) adapter: String,
    pub(super) adapter_is_cpu: bool,
    /// The adapters offered for the next start (names, as `--adapter NAME` matches them).
    pub(super) adapters: Vec<String>,
    pub(super) source: AvatarSource,
    pub(super) params: RigParams,
    pub(super) settings: Settings,
    settings_path: Option<PathBuf>,
    settings_dirty: bool,
    pub(super) worker: Worker,
    texture: Option<egui::TextureHandle>,
    /// The request behind the shown frame.
    pub(super) shown: Option<Request>,
    pub(super) last_image: Option<image::RgbaImage>,
    pub(super) last_depth: Option<super::worker::DepthImage>,
    /// The last request sent, to send each state once.
    sent: Option<Request>,
    pub(super) last_change: Instant,
    pub(super) refine: super::refine_panel::RefineState,
    pub(super) inversion: super::invert_panel::InvertState,
    pub(super) record: super::record_panel::RecordState,
    pub(super) generator: super::generator_panel::GeneratorState,
    pub(super) export: super::export_panel::ExportState,
    pub(super) drive: super::drive_panel::DriveState,
    pub(super) webcam: super::webcam_panel::WebcamState,
    /// The FLAME rig file the current rig came from (`None` for the default rig).
    pub(super) rig_file: Option<String>,
    /// Whether the shown avatar has a generator's networks (mouth, blending, SR).
    pub(super) has_generator: bool,
    /// The skinned mesh of the frame on screen, for the overlay.
    pub(super) shown_mesh: Option<Vec<[f32; 3]>>,
    pub(super) times: StageTimes,
    pub(super) fps: f64,
    last_frame_at: Option<Instant>,
    pub(super) message: Option<(bool, String)>,
    pub(super) preset_name: String,
    pub(super) capture_path: String,
    pub(super) avatar_path: String,
    pub(super) sequence_path: String,
    pub(super) playback: Option<super::playback::Playback>,
    /// A take being recorded from the sliders and camera.
    pub(super) take: Option<super::take::Take>,
    pub(super) live_link_path: String,
    screenshot: Option<PathBuf>,
    screenshot_receiver: Option<std::sync::mpsc::Receiver<Arc<egui::ColorImage>>>,
}

impl ViewerApp {
    pub fn new(
        ctx: &egui::Context,
        gpu: Gpu,
        rig: Arc<Rig>,
        avatar: Avatar,
        source: AvatarSource,
        options: ViewerOptions,
    ) -> Self {
        let ViewerOptions {
            screenshot,
            settings_path,
            notice,
        } = options;
        // `app::run` has read (and moved aside) a bad file already; here for other callers.
        let (settings, settings_notice) = settings_path
            .as_deref()
            .map(Settings::load)
            .unwrap_or_default();
        let notice = notice.or(settings_notice);
        let repaint = ctx.clone();
        let generator = super::generator_panel::GeneratorState::new(&settings.generator);
        let has_generator = avatar.generator.is_some();
        // Open on the avatar's own expression (its portrait's); the identity is the avatar's.
        let params = RigParams {
            identity: Default::default(),
            ..avatar.source.params.clone()
        };
        Self {
            adapter: gpu.describe(),
            adapter_is_cpu: gpu.is_cpu(),
            worker: Worker::start(gpu, rig.clone(), avatar, move || repaint.request_repaint()),
            rig,
            source,
            params,
            settings,
            settings_path,
            settings_dirty: false,
            texture: None,
            shown: None,
            last_image: None,
            last_depth: None,
            sent: None,
            last_change: Instant::now(),
            refine: Default::default(),
            inversion: Default::default(),
            record: Default::default(),
            generator,
            export: Default::default(),
            drive: Default::default(),
            webcam: Default::default(),
            rig_file: None,
            shown_mesh: None,
            has_generator,
            times: StageTimes::default(),
            fps: 0.0,
            last_frame_at: None,
            // Not an error: errors are cleared by the next good frame, a startup notice stays.
            message: notice.map(|n| (false, n)),
            adapters: crate::gpu::adapter_names(),
            preset_name: String::new(),
            capture_path: "neuralhead-frame.png".into(),
            avatar_path: String::new(),
            sequence_path: String::new(),
            playback: None,
            take: None,
            live_link_path: "neuralhead-take.csv".into(),
            screenshot,
            screenshot_receiver: None,
        }
    }

    /// The rig parameters the sliders (or a playing or live motion) set.
    pub fn params(&self) -> &RigParams {
        &self.params
    }

    /// The newest frame shown, as rendered.
    pub fn last_image(&self) -> Option<&image::RgbaImage> {
        self.last_image.as_ref()
    }

    /// Whether the shown frame is a full one (not a preview) of the current state.
    pub fn is_settled(&self) -> bool {
        self.shown
            .as_ref()
            .is_some_and(|shown| sharpen::covers(shown, &self.wanted(false)))
    }

    /// The message shown at the top of the panel (errors and confirmations).
    pub fn message(&self) -> Option<&str> {
        self.message.as_ref().map(|(_, m)| m.as_str())
    }

    /// The frame of the loaded expression sequence, if one is loaded.
    pub fn sequence_frame(&self) -> Option<usize> {
        self.playback.as_ref().map(|p| p.frame())
    }

    /// Whether the skinned mesh is drawn over the frame on screen.
    pub fn shows_mesh_overlay(&self) -> bool {
        self.settings.mesh_overlay && self.shown_mesh.is_some()
    }

    /// Whether full frames are asked for through the generator's super-resolution network.
    pub fn super_resolution_requested(&self) -> bool {
        self.wanted(false).options.super_resolution
    }

    /// The adapter the viewer will open at its next start (see the Performance section).
    pub fn adapter_at_next_start(&self) -> &str {
        &self.settings.adapter
    }

    /// The camera frames are rendered with: the panel's, turned as the playing sequence's
    /// head pose says when it has one.
    pub fn camera(&self) -> OrbitCamera {
        let camera = self.settings.camera;
        let pose = self.live_pose();
        match pose.or_else(|| self.playback.as_ref().and_then(|p| p.head_pose())) {
            Some(head) => head.on(camera),
            None => camera,
        }
    }

    /// Shows `avatar`, on `rig`; another rig than the current one resets the parameters
    /// (its expressions are others) and stops a sequence made for the old one.
    pub(super) fn set_avatar(
        &mut self,
        (rig, rig_file): (Arc<Rig>, Option<String>),
        avatar: Avatar,
        source: AvatarSource,
    ) {
        if !Arc::ptr_eq(&rig, &self.rig) {
            self.params = RigParams::default();
            self.playback = None;
            self.rig = rig.clone();
        }
        self.rig_file = rig_file;
        self.has_generator = avatar.generator.is_some();
        self.worker.set_avatar(rig, avatar);
        self.source = source;
        // The frame on screen is the old avatar's: not settled until the new one arrives.
        self.shown = None;
        self.forget_sent();
    }

    /// Makes the next frame be asked for even if the state did not change.
    pub(super) fn forget_sent(&mut self) {
        self.sent = None;
    }

    /// The request for the current state, quick while `moving`.
    pub(super) fn wanted(&self, moving: bool) -> Request {
        let s = &self.settings;
        let preview = moving && s.preview_while_dragging;
        let full = FrameOptions {
            resolution: s.resolution,
            samples_scale: s.samples_scale,
            marcher: s.marcher,
            jitter: false,
            // Only for avatars with a generator, in the RGB view.
            super_resolution: s.generator.super_resolution
                && self.has_generator
                && s.view == ViewChoice::Rgb,
            draft_planes: false,
        };
        let options = if preview { full.preview() } else { full };
        let view = match s.view {
            ViewChoice::Rgb => View::Neural(RenderMode::Rgb),
            ViewChoice::Depth => View::Neural(RenderMode::Depth),
            ViewChoice::Opacity => View::Neural(RenderMode::Opacity),
            ViewChoice::Features => View::Neural(RenderMode::Features(s.channels)),
            ViewChoice::Mesh => View::Mesh,
        };
        Request {
            params: self.params.clone(),
            camera: self.camera(),
            options,
            view,
            preview,
            overlay: s.mesh_overlay,
        }
    }

    /// Sends the state when it changed; the full frame once the hand has rested.
    fn schedule(&mut self, ctx: &egui::Context, moving: bool) {
        let quick = self.wanted(true);
        let full = self.wanted(false);
        let state_changed = self.sent.as_ref().is_none_or(|s| !s.same_state(&full));
        if state_changed {
            self.last_change = Instant::now();
        }
        let rested = !moving && self.last_change.elapsed() >= REST;
        let request = match rested {
            true => self.sharper(&full).unwrap_or(full),
            false => quick,
        };
        let settings_changed = self
            .sent
            .as_ref()
            .is_none_or(|s| s.options != request.options || s.preview != request.preview);
        // At rest, a sharper frame of this state already asked for stands.
        let sharper_sent = rested
            && self
                .sent
                .as_ref()
                .is_some_and(|s| sharpen::covers(s, &request));
        if state_changed || (settings_changed && !sharper_sent) {
            self.worker.request(request.clone());
            self.sent = Some(request);
        }
        if !rested {
            ctx.request_repaint_after(REST);
        }
    }

    /// The shown frame at twice the rays, when the hand rests and the adapter is fast enough.
    fn sharper(&self, full: &Request) -> Option<Request> {
        let shown = self.shown.as_ref()?;
        self.settings
            .sharpen_when_resting
            .then(|| sharpen::next(shown, self.times.total, full))
            .flatten()
    }

    fn receive(&mut self, ctx: &egui::Context) {
        let Some(Rendered {
            request,
            image,
            depth,
            mesh,
            times,
        }) = self.worker.latest()
        else {
            return;
        };
        match image {
            Ok(image) => {
                // A refinement of this very frame, finished earlier, is shown in its place.
                match self.refined_for(&request) {
                    Some(refined) => self.show_image(ctx, &refined),
                    None => self.show_image(ctx, &image),
                }
                self.last_image = Some(image);
                self.last_depth = depth;
                if matches!(self.message, Some((true, _))) {
                    self.message = None;
                }
            }
            Err(e) => self.message = Some((true, e)),
        }
        let now = Instant::now();
        if let Some(previous) = self.last_frame_at {
            let rate = 1.0 / (now - previous).as_secs_f64().max(1e-6);
            self.fps = if self.fps == 0.0 {
                rate
            } else {
                0.8 * self.fps + 0.2 * rate
            };
        }
        self.last_frame_at = Some(now);
        self.times = times;
        self.shown_mesh = mesh;
        self.shown = Some(request);
    }

    /// Puts `image` in the viewport.
    pub(super) fn show_image(&mut self, ctx: &egui::Context, image: &image::RgbaImage) {
        let size = [image.width() as usize, image.height() as usize];
        let pixels = egui::ColorImage::from_rgba_unmultiplied(size, image.as_raw());
        let options = egui::TextureOptions::LINEAR;
        match &mut self.texture {
            Some(t) => t.set(pixels, options),
            None => self.texture = Some(ctx.load_texture("viewport", pixels, options)),
        }
    }

    /// The image; orbit by drag, zoom by wheel.
    fn viewport(&mut self, ui: &mut egui::Ui) {
        if let Some(notice) = &self.source.notice {
            ui.label(egui::RichText::new(notice).weak());
        }
        let Some(texture) = &self.texture else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("rendering the first frame…");
            });
            return;
        };
        let side = ui.available_width().min(ui.available_height()).max(64.0);
        let response = ui.add(
            egui::Image::new((texture.id(), egui::vec2(side, side))).sense(egui::Sense::drag()),
        );
        let camera = &mut self.settings.camera;
        if response.dragged() {
            let delta = response.drag_delta();
            camera.yaw -= f64::from(delta.x) * DRAG_SPEED;
            camera.pitch = (camera.pitch + f64::from(delta.y) * DRAG_SPEED).clamp(-1.2, 1.2);
        }
        if response.hovered() {
            let scroll = ui.input(|i| i.smooth_scroll_delta.y);
            if scroll != 0.0 {
                camera.radius = (camera.radius * (1.0 - f64::from(scroll) * 0.002)).clamp(1.5, 6.0);
            }
        }
        if self.settings.mesh_overlay
            && let (Some(mesh), Some(shown)) = (&self.shown_mesh, &self.shown)
        {
            draw_mesh(ui.painter_at(response.rect), &self.rig, mesh, &shown.camera);
        }
        if let Some(label) = self.refine.viewport_label() {
            ui.label(egui::RichText::new(label).weak());
        }
        if self.shown.as_ref().is_some_and(|r| r.preview) {
            ui.label(
                egui::RichText::new("preview — the full frame follows when you let go").weak(),
            );
        }
        self.drive_inset(ui, response.rect);
        self.webcam_inset(ui, response.rect);
    }

    /// The window size and panel width, whole points (so that they settle), for the next
    /// start.
    fn remember_layout(&mut self, ctx: &egui::Context, panel_width: f32) {
        let window = &mut self.settings.window;
        window.panel_width = panel_width.round();
        if let Some(rect) = ctx.input(|i| i.viewport().inner_rect) {
            window.size = [rect.width().round(), rect.height().round()];
        }
    }

    pub(super) fn save_settings(&self) {
        if let Some(path) = &self.settings_path
            && let Err(e) = self.settings.save(path)
        {
            log::warn!("could not save the settings to {}: {e:#}", path.display());
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
        } else if self.shown.as_ref().is_some_and(|r| !r.preview) {
            let (sender, receiver) = std::sync::mpsc::channel();
            ctx.request_screenshot(move |image| {
                let _ = sender.send(image);
            });
            self.screenshot_receiver = Some(receiver);
        }
        ctx.request_repaint();
    }
}

impl eframe::App for ViewerApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.receive(&ctx);
        self.receive_refinements(&ctx);
        self.receive_faces(&ctx);
        self.receive_inversions(&ctx);
        self.receive_recordings(&ctx);
        self.receive_bakes();
        self.receive_exports();
        self.receive_drive();
        self.receive_live(&ctx);
        self.handle_dropped_files(&ctx);
        let before = self.settings.clone();
        let panel = egui::Panel::left("controls")
            .resizable(true)
            .default_size(self.settings.window.sane().panel_width)
            .show(ui, |ui| self.controls(ui));
        self.remember_layout(&ctx, panel.response.rect.width());
        egui::CentralPanel::default().show(ui, |ui| self.viewport(ui));
        self.face_window(&ctx);
        // After the panel, so that play, pause and scrubbing show in this very frame.
        if let Some(playback) = &mut self.playback {
            let identity = self.params.identity.clone();
            self.params = RigParams {
                identity,
                ..playback.tick().clone()
            };
            if playback.playing {
                ctx.request_repaint();
            }
        }
        if let Some(take) = &mut self.take {
            take.sample(&self.params, &self.settings.camera);
            ctx.request_repaint();
        }
        // A pressed button anywhere: a slider or the image is being dragged.
        // A live face moves the avatar as a dragged slider does: preview frames.
        let moving = ctx.input(|i| i.pointer.any_down()) || self.driving_live();
        self.schedule(&ctx, moving);
        self.schedule_refinement(&ctx, moving);
        self.settings_dirty |= self.settings != before;
        if self.settings_dirty && !moving {
            self.save_settings();
            self.settings_dirty = false;
        }
        self.handle_screenshot(&ctx);
    }
}

/// The rig's triangle edges over the frame, projected with the frame's camera (the neural
/// render's own projection, so the two line up).
fn draw_mesh(painter: egui::Painter, rig: &Rig, vertices: &[[f32; 3]], camera: &OrbitCamera) {
    let points: Vec<[f64; 3]> = vertices.iter().map(|v| v.map(f64::from)).collect();
    let rect = painter.clip_rect();
    let screen: Vec<egui::Pos2> = crate::invert::fit::project(camera, &points)
        .into_iter()
        .map(|[x, y]| rect.min + egui::vec2(x as f32 * rect.width(), y as f32 * rect.height()))
        .collect();
    let stroke = egui::Stroke::new(
        0.6,
        egui::Color32::from_rgba_unmultiplied(90, 220, 255, 140),
    );
    for face in &rig.faces {
        let [a, b, c] = face.map(|i| screen.get(i as usize).copied());
        if let (Some(a), Some(b), Some(c)) = (a, b, c) {
            painter.line_segment([a, b], stroke);
            painter.line_segment([b, c], stroke);
            painter.line_segment([c, a], stroke);
        }
    }
}
