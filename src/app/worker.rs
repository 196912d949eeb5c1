//! The render thread: all GPU work for the viewport runs here, one frame at a time. Requests
//! are latest-wins — a new request replaces one not yet started — so a dragging hand never
//! queues stale frames and the UI thread never waits on the GPU.

use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::time::Instant;

use super::bake_job::{self, BakeJob, BakeUpdate};
use super::export_job::{self, ExportJob, ExportUpdate};
use super::fault::{self, Channels, Failed};
use super::invert_job::{self, InvertJob, InvertUpdate};
use super::record_job::{self, RecordJob, RecordUpdate};
use super::refine_engine::{RefineEngine, RefineJob, RefineUpdate};
use crate::avatar::pipeline::{FrameOptions, FramePipeline, RASTER_RESOLUTION};
use crate::avatar::{Avatar, SourceState};
use crate::gpu::Gpu;
use crate::render::camera::OrbitCamera;
use crate::render::modes::{RenderMode, depth_png, to_image};
use crate::render::preview::PreviewRenderer;
use crate::rig::skin_gpu::{GpuSkinner, read_points};
use crate::rig::{Rig, RigParams};

/// Side of the shaded mesh view.
const MESH_SIZE: u32 = 512;

/// What to draw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum View {
    /// The neural render, shown as `RenderMode`.
    Neural(RenderMode),
    /// The skinned rig, shaded.
    Mesh,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub params: RigParams,
    pub camera: OrbitCamera,
    pub options: FrameOptions,
    pub view: View,
    /// A quick frame while the hand moves; the full one follows when it rests.
    pub preview: bool,
    /// Send the skinned mesh along, to be drawn over the neural frame.
    pub overlay: bool,
}

impl Request {
    /// Whether both show the same state (parameters, camera, view), whatever the quality.
    pub fn same_state(&self, other: &Request) -> bool {
        self.params == other.params
            && self.camera == other.camera
            && self.view == other.view
            && self.overlay == other.overlay
    }

    /// Whether both ask for the same frame: the same state at the same quality.
    pub fn same_frame(&self, other: &Request) -> bool {
        self.same_state(other) && self.options == other.options
    }
}

/// Milliseconds per stage of one frame.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageTimes {
    /// Skinning, rasterization and blending (zero when the expression was cached).
    pub planes: f64,
    pub march: f64,
    /// The generator's super-resolution network (zero when off).
    pub super_resolution: f64,
    /// Read back and colour mapping.
    pub image: f64,
    pub total: f64,
}

pub struct Rendered {
    pub request: Request,
    pub image: Result<image::RgbaImage, String>,
    /// The neural frame's depth as a 16-bit image (see `modes::depth_png`).
    pub depth: Option<DepthImage>,
    /// The skinned rig's vertices, when the request asked for the overlay.
    pub mesh: Option<Vec<[f32; 3]>>,
    pub times: StageTimes,
}

pub type DepthImage = image::ImageBuffer<image::Luma<u16>, Vec<u16>>;

/// What the worker is handed at start and when the avatar changes.
pub enum Job {
    Render(Box<Request>),
    /// An avatar and the rig it lives on.
    SetAvatar(Box<(Arc<Rig>, Avatar)>),
    Refine(Box<RefineJob>),
    Invert(Box<InvertJob>),
    Record(Box<RecordJob>),
    Bake(Box<BakeJob>),
    Export(Box<ExportJob>),
    /// See [`Worker::inject_panic`].
    InjectedPanic(Box<Request>),
}

#[derive(Default)]
struct Mailbox {
    render: Option<Request>,
    avatar: Option<(Arc<Rig>, Avatar)>,
    refine: Option<RefineJob>,
    invert: Option<InvertJob>,
    record: Option<RecordJob>,
    bake: Option<BakeJob>,
    export: Option<ExportJob>,
    panic: Option<Request>,
    stop: bool,
}

impl Mailbox {
    /// Whether anything newer than a running refinement waits.
    fn has_work(&self) -> bool {
        self.stop
            || self.render.is_some()
            || self.avatar.is_some()
            || self.refine.is_some()
            || self.invert.is_some()
            || self.record.is_some()
            || self.bake.is_some()
            || self.export.is_some()
            || self.panic.is_some()
    }
}

pub struct Worker {
    mailbox: Arc<(Mutex<Mailbox>, Condvar)>,
    results: mpsc::Receiver<Rendered>,
    refinements: mpsc::Receiver<RefineUpdate>,
    inversions: mpsc::Receiver<InvertUpdate>,
    recordings: mpsc::Receiver<RecordUpdate>,
    bakes: mpsc::Receiver<BakeUpdate>,
    exports: mpsc::Receiver<ExportUpdate>,
    /// Set once the GPU device is gone: only a new process can draw again.
    device_lost: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    /// Starts the thread; `repaint` is called after each finished frame.
    pub fn start(
        gpu: Gpu,
        rig: Arc<Rig>,
        avatar: Avatar,
        repaint: impl Fn() + Send + 'static,
    ) -> Self {
        let mailbox = Arc::new((Mutex::new(Mailbox::default()), Condvar::new()));
        let (frames, results) = mpsc::channel();
        let (refine_sender, refinements) = mpsc::channel();
        let (invert_sender, inversions) = mpsc::channel();
        let (record_sender, recordings) = mpsc::channel();
        let (bake_sender, bakes) = mpsc::channel();
        let (export_sender, exports) = mpsc::channel();
        let channels = Channels {
            frames,
            refinements: refine_sender,
            inversions: invert_sender,
            recordings: record_sender,
            bakes: bake_sender,
            exports: export_sender,
        };
        let device_lost = Arc::new(AtomicBool::new(false));
        let thread = RenderThread {
            mailbox: mailbox.clone(),
            channels,
            repaint: Box::new(repaint),
            device_lost: device_lost.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("render".into())
            .spawn(move || thread.run(gpu, rig, avatar))
            .expect("the render thread starts");
        Self {
            mailbox,
            results,
            refinements,
            inversions,
            recordings,
            bakes,
            exports,
            device_lost,
            thread: Some(thread),
        }
    }

    /// Whether the GPU device was lost (the panel offers to restart the app).
    pub fn device_lost(&self) -> bool {
        self.device_lost.load(Ordering::Relaxed)
    }

    /// Test hook: `request` is answered by a panic inside the render thread, as a wgpu
    /// validation error or a bug would be, to prove that the thread recovers.
    #[doc(hidden)]
    pub fn inject_panic(&self, request: Request) {
        self.post(|m| m.panic = Some(request));
    }

    /// Replaces any request not yet started.
    pub fn request(&self, request: Request) {
        self.post(|m| m.render = Some(request));
    }

    /// Shows `avatar`, on `rig` (the same rig or another one).
    pub fn set_avatar(&self, rig: Arc<Rig>, avatar: Avatar) {
        self.post(|m| m.avatar = Some((rig, avatar)));
    }

    /// Starts refining once the render thread is free; any later request stops it.
    pub fn refine(&self, job: RefineJob) {
        self.post(|m| m.refine = Some(job));
    }

    /// Inverts a portrait; render requests wait until it ends (its preview stands in).
    pub fn invert(&self, job: InvertJob) {
        self.post(|m| m.invert = Some(job));
    }

    /// Records an animation; render requests wait until it ends (its frames stand in).
    pub fn record(&self, job: RecordJob) {
        self.post(|m| m.record = Some(job));
    }

    /// Bakes an avatar from a generator checkpoint and shows it.
    pub fn bake(&self, job: BakeJob) {
        self.post(|m| m.bake = Some(job));
    }

    /// Exports the avatar (a glTF head, its volume as a mesh); renders wait until it ends.
    pub fn export(&self, job: ExportJob) {
        self.post(|m| m.export = Some(job));
    }

    /// Export progress that arrived since the last call, oldest first.
    pub fn exports(&self) -> Vec<ExportUpdate> {
        self.exports.try_iter().collect()
    }

    /// Finished bakes since the last call.
    pub fn bakes(&self) -> Vec<BakeUpdate> {
        self.bakes.try_iter().collect()
    }

    /// Recording progress that arrived since the last call, oldest first.
    pub fn recordings(&self) -> Vec<RecordUpdate> {
        self.recordings.try_iter().collect()
    }

    /// Inversion progress that arrived since the last call, oldest first.
    pub fn inversions(&self) -> Vec<InvertUpdate> {
        self.inversions.try_iter().collect()
    }

    /// Refinement progress that arrived since the last call, oldest first.
    pub fn refinements(&self) -> Vec<RefineUpdate> {
        self.refinements.try_iter().collect()
    }

    /// The next finished frame, waiting for it up to `timeout` (the soak bench).
    pub fn wait(&self, timeout: std::time::Duration) -> Option<Rendered> {
        self.results.recv_timeout(timeout).ok()
    }

    /// The newest finished frame, if any arrived since the last call.
    pub fn latest(&self) -> Option<Rendered> {
        self.results.try_iter().last()
    }

    fn post(&self, change: impl FnOnce(&mut Mailbox)) {
        let (lock, wake) = &*self.mailbox;
        change(&mut lock.lock().unwrap_or_else(|e| e.into_inner()));
        wake.notify_one();
    }
}

/// The render thread's side: its mailbox, the panels' channels and what it keeps across a
/// restart.
struct RenderThread {
    mailbox: Arc<(Mutex<Mailbox>, Condvar)>,
    channels: Channels,
    repaint: Box<dyn Fn() + Send>,
    device_lost: Arc<AtomicBool>,
}

impl RenderThread {
    /// Runs jobs until the window closes. A job that panics is answered as failed on its
    /// panel's channel and the state is built again from the avatar shown, so the next
    /// request draws; a lost device answers every later job at once.
    fn run(self, gpu: Gpu, rig: Arc<Rig>, avatar: Avatar) {
        let mut shown = (rig, Arc::new(avatar));
        let mut state: Option<WorkerState> = None;
        while let Some(job) = next_job(&self.mailbox) {
            if self.device_lost.load(Ordering::Relaxed) {
                self.channels
                    .report(Failed::of(&job), fault::describe("earlier", true));
                (self.repaint)();
                continue;
            }
            let failed = Failed::of(&job);
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let state = state.get_or_insert_with(|| {
                    WorkerState::new(gpu.clone(), shown.0.clone(), shown.1.clone())
                });
                let flow = self.run_job(state, job);
                shown = (state.rig.clone(), state.avatar.clone());
                flow
            }));
            match outcome {
                Ok(ControlFlow::Continue(())) => {}
                Ok(ControlFlow::Break(())) => break,
                Err(payload) => {
                    let message = fault::panic_message(&*payload);
                    let lost = fault::is_device_lost(&message);
                    log::error!("the render thread failed: {message}");
                    self.device_lost.store(lost, Ordering::Relaxed);
                    // Built again on the next job, from the avatar last shown.
                    state = None;
                    self.channels
                        .report(failed, fault::describe(&message, lost));
                    (self.repaint)();
                }
            }
        }
    }

    /// Runs one job; breaks when the window has gone.
    fn run_job(&self, state: &mut WorkerState, job: Job) -> ControlFlow<()> {
        let channels = &self.channels;
        let repaint = &self.repaint;
        let stopping = || read_mailbox(&self.mailbox, |m| m.stop);
        match job {
            Job::SetAvatar(change) => {
                let (rig, avatar) = *change;
                state.set_rig(rig);
                state.set_avatar(Arc::new(avatar));
            }
            Job::Render(request) => {
                let rendered = state.render(*request);
                if channels.frames.send(rendered).is_err() {
                    return ControlFlow::Break(());
                }
                repaint();
            }
            Job::InjectedPanic(_) => panic!("injected by Worker::inject_panic"),
            Job::Refine(job) => {
                let interrupted = || read_mailbox(&self.mailbox, Mailbox::has_work);
                state.refine(*job, interrupted, |update| {
                    let _ = channels.refinements.send(update);
                    repaint();
                });
            }
            Job::Invert(job) => {
                let (rig, _) = job.rig();
                let avatar = invert_job::run(&state.gpu, &rig, &job, stopping, |update| {
                    let _ = channels.inversions.send(update);
                    repaint();
                });
                if let Some(avatar) = avatar {
                    state.set_rig(rig);
                    state.set_avatar(Arc::new(avatar));
                }
                repaint();
            }
            Job::Bake(job) => {
                let (avatar, update) = bake_job::run(&state.gpu, &job);
                if let Some(avatar) = avatar {
                    state.set_rig(job.rig.clone());
                    state.set_avatar(Arc::new(avatar));
                }
                let _ = channels.bakes.send(update);
                repaint();
            }
            Job::Export(mut job) => {
                // The shown avatar's identity: the panel's parameters leave it to the pipeline.
                job.params.identity = state.source.params.identity.clone();
                let rig = state.rig.clone();
                let pipeline = state.pipeline.as_mut().map_err(|e| &*e);
                export_job::run(pipeline, &rig, &job, stopping, |update| {
                    let _ = channels.exports.send(update);
                    repaint();
                });
            }
            Job::Record(job) => {
                let pipeline = state.pipeline.as_mut().map_err(|e| &*e);
                record_job::run(pipeline, &job, stopping, |update| {
                    let _ = channels.recordings.send(update);
                    repaint();
                });
            }
        }
        ControlFlow::Continue(())
    }
}

/// How long closing the window waits for the render thread to finish its job.
const STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

impl Drop for Worker {
    /// Asks the thread to stop and waits a little: inversions, recordings and refinements
    /// stop at their next step, but one frame through a large network can take minutes on a
    /// CPU device, and closing the window should not wait for it.
    fn drop(&mut self) {
        self.post(|m| m.stop = true);
        let Some(thread) = self.thread.take() else {
            return;
        };
        let asked = Instant::now();
        while !thread.is_finished() && asked.elapsed() < STOP_WAIT {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        if thread.is_finished() {
            let _ = thread.join();
        } else {
            log::info!("the render thread is still in a long frame; not waiting for it");
        }
    }
}

/// What `look` sees in the mailbox (how long jobs learn that they should stop).
fn read_mailbox(mailbox: &(Mutex<Mailbox>, Condvar), look: impl Fn(&Mailbox) -> bool) -> bool {
    let (lock, _) = mailbox;
    look(&lock.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Blocks until there is work: an avatar change first, then the latest render request.
fn next_job(mailbox: &(Mutex<Mailbox>, Condvar)) -> Option<Job> {
    let (lock, wake) = mailbox;
    let mut m = lock.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if m.stop {
            return None;
        }
        if let Some(avatar) = m.avatar.take() {
            return Some(Job::SetAvatar(Box::new(avatar)));
        }
        if let Some(job) = m.invert.take() {
            return Some(Job::Invert(Box::new(job)));
        }
        if let Some(job) = m.record.take() {
            return Some(Job::Record(Box::new(job)));
        }
        if let Some(job) = m.export.take() {
            return Some(Job::Export(Box::new(job)));
        }
        if let Some(job) = m.bake.take() {
            return Some(Job::Bake(Box::new(job)));
        }
        if let Some(request) = m.panic.take() {
            return Some(Job::InjectedPanic(Box::new(request)));
        }
        if let Some(request) = m.render.take() {
            return Some(Job::Render(Box::new(request)));
        }
        if let Some(job) = m.refine.take() {
            return Some(Job::Refine(Box::new(job)));
        }
        m = wake.wait(m).unwrap_or_else(|e| e.into_inner());
    }
}

struct WorkerState {
    gpu: Gpu,
    rig: Arc<Rig>,
    pipeline: Result<FramePipeline, String>,
    /// The avatar shown, kept to build the state again after a failure.
    avatar: Arc<Avatar>,
    /// The shown avatar's source state, FADM's reference attributes.
    source: SourceState,
    refiner: RefineEngine,
    skinner: GpuSkinner,
    mesh: PreviewRenderer,
}

impl WorkerState {
    fn new(gpu: Gpu, rig: Arc<Rig>, avatar: Arc<Avatar>) -> Self {
        let mut state = Self {
            avatar: avatar.clone(),
            skinner: neutral_skinner(&rig, &gpu),
            mesh: PreviewRenderer::new(&gpu, &rig),
            pipeline: Err("no avatar yet".into()),
            source: avatar.source.clone(),
            refiner: RefineEngine::default(),
            gpu,
            rig,
        };
        state.set_avatar(avatar);
        state
    }

    /// Switches to another rig (the mesh preview and skinning follow); the same rig is kept.
    fn set_rig(&mut self, rig: Arc<Rig>) {
        if Arc::ptr_eq(&rig, &self.rig) {
            return;
        }
        self.skinner = neutral_skinner(&rig, &self.gpu);
        self.mesh = PreviewRenderer::new(&self.gpu, &rig);
        self.rig = rig;
    }

    fn set_avatar(&mut self, avatar: Arc<Avatar>) {
        self.source = avatar.source.clone();
        self.pipeline = FramePipeline::new(&self.gpu, self.rig.clone(), &avatar, RASTER_RESOLUTION)
            .map_err(|e| format!("{e:#}"));
        self.avatar = avatar;
    }

    fn refine(
        &mut self,
        job: RefineJob,
        interrupted: impl Fn() -> bool,
        report: impl FnMut(RefineUpdate),
    ) {
        self.refiner
            .run(&self.gpu, &self.rig, &self.source, job, interrupted, report);
    }

    fn render(&mut self, request: Request) -> Rendered {
        let start = Instant::now();
        let mut times = StageTimes::default();
        let mut depth = None;
        let image = match request.view {
            View::Mesh => self.mesh_image(&request),
            View::Neural(mode) => self.neural_image(&request, mode, &mut times, &mut depth),
        };
        times.total = start.elapsed().as_secs_f64() * 1e3;
        let mesh = match (&request.view, request.overlay, &self.pipeline) {
            (View::Neural(_), true, Ok(pipeline)) => {
                pipeline.skinned_vertices(&request.params).ok()
            }
            _ => None,
        };
        Rendered {
            request,
            image: image.map_err(|e| format!("{e:#}")),
            depth,
            mesh,
            times,
        }
    }

    fn mesh_image(&mut self, request: &Request) -> anyhow::Result<image::RgbaImage> {
        let (resolved, _) = request.params.resolve(&self.rig)?;
        let (vertices, _) = self.skinner.skin(&resolved);
        let vertices = read_points(vertices)?;
        Ok(self
            .mesh
            .render(&self.gpu, &self.rig, &vertices, &request.camera, MESH_SIZE))
    }

    fn neural_image(
        &mut self,
        request: &Request,
        mode: RenderMode,
        times: &mut StageTimes,
        depth: &mut Option<DepthImage>,
    ) -> anyhow::Result<image::RgbaImage> {
        let pipeline = self.pipeline.as_mut().map_err(|e| anyhow::anyhow!("{e}"))?;
        pipeline.check_buffers(&request.options)?;
        let mut lap = Instant::now();
        let mut elapsed = |gpu: &Gpu| {
            gpu.sync();
            let ms = lap.elapsed().as_secs_f64() * 1e3;
            lap = Instant::now();
            ms
        };
        let planes = pipeline.planes_for(&request.params, &request.options)?;
        times.planes = elapsed(&self.gpu);
        let rendered = pipeline.march(planes, &request.camera, &request.options);
        times.march = elapsed(&self.gpu);
        let super_resolved = match request.options.super_resolution {
            true => pipeline.super_resolve(&rendered, request.options.resolution)?,
            false => None,
        };
        times.super_resolution = elapsed(&self.gpu);
        let frame = crate::avatar::pipeline::read_frame(rendered, request.options.resolution)?;
        let image = match &super_resolved {
            Some(sr) => sr.to_image(),
            None => to_image(&frame, mode),
        };
        *depth = Some(depth_png(&frame));
        times.image = elapsed(&self.gpu);
        Ok(image)
    }
}

/// A skinner for `rig` with its neutral identity (the mesh view's).
fn neutral_skinner(rig: &Arc<Rig>, gpu: &Gpu) -> GpuSkinner {
    let (neutral, _) = RigParams::default()
        .resolve(rig)
        .expect("neutral parameters resolve");
    GpuSkinner::new(rig.clone(), &neutral, &gpu.burn)
}
