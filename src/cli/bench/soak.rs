//! `bench --steps soak`: the viewer's render thread — the real worker, not a copy — driven by
//! random requests as a person at the panel makes them: slider states, camera moves, view
//! modes, neural size and samples, previews and full frames, full frames cancelled by the next
//! request before they are shown, and avatar switches. Every 500 frames (two periods) it prints the
//! process's resident memory, the GPU memory the allocator holds and the frame rate; at the
//! end, the growth after the warm-up and the frame rate of the last 1000 frames against the
//! first 1000 after it, against the limits (5 % growth, 20 % slower).

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::BenchAvatar;
use crate::app::{Request, View, Worker};
use crate::avatar::RigRef;
use crate::avatar::painted::painted_avatar;
use crate::avatar::pipeline::FrameOptions;
use crate::gpu::Gpu;
use crate::memory::cpu_seconds;
use crate::render::camera::OrbitCamera;
use crate::render::modes::RenderMode;

/// The requests repeat with this period (in frames), so that the frame rates of two windows
/// of whole periods compare the same work; the table has a row every two periods, and the
/// avatars switch once a period.
pub const PERIOD: usize = 250;
/// The limits the soak is held to.
const MAX_GROWTH: f64 = 0.05;
const MAX_SLOWDOWN: f64 = 0.20;
/// A frame that takes longer than this is a hang.
const FRAME_GUARD: Duration = Duration::from_secs(600);

/// One row of the table.
struct Reading {
    frame: usize,
    rss_mib: f64,
    gpu_mib: f64,
    fps: f64,
    /// The process's CPU time per frame (on a CPU device, the work itself: a busy host
    /// lowers the frame rate but not this).
    cpu_ms: f64,
}

/// The soak's length: `frames` in all, the first `warm_up` not judged, requests repeating
/// every `period` frames.
pub struct SoakLength {
    pub frames: usize,
    pub warm_up: usize,
    pub period: usize,
}

pub fn run(gpu: &Gpu, bench: &BenchAvatar, length: &SoakLength) -> anyhow::Result<()> {
    let SoakLength {
        frames,
        warm_up,
        period,
    } = *length;
    anyhow::ensure!(
        period > 0
            && warm_up >= 2 * period
            && warm_up.is_multiple_of(period)
            && frames >= warm_up + 2 * period,
        "the soak's warm-up must be a multiple of --soak-period ({period} frames), at least two \
         periods (both avatars drawn), followed by at least two periods more"
    );
    let report_every = 2 * period;
    let avatars = [
        bench.avatar.clone(),
        painted_avatar(&bench.rig, RigRef::default_rig()),
    ];
    let worker = Worker::start(gpu.clone(), bench.rig.clone(), avatars[0].clone(), || {});
    let seed = 0x50a4;
    println!(
        "Soak: {frames} random requests to the viewer's render thread ({}, seed {seed}); \
         warm-up {warm_up} frames.",
        bench.label
    );
    println!(
        "{:>7} {:>10} {:>10} {:>9} {:>12} {:>10}",
        "frame", "RSS MiB", "GPU MiB", "frames/s", "CPU ms/frame", "cancelled"
    );
    let mut readings = Vec::new();
    let mut cancelled = 0;
    let mut lap = Instant::now();
    let mut cpu_lap = cpu_seconds();
    let mut times = Vec::with_capacity(frames);
    for i in 1..=frames {
        let mut rng = StdRng::seed_from_u64(seed + (i % period) as u64);
        // An avatar switch once a period (the viewer's Open, or an inversion finishing).
        if i % period == 0 {
            worker.set_avatar(bench.rig.clone(), avatars[(i / period) % 2].clone());
        }
        // A full frame the hand interrupts: sent, then replaced before it is shown.
        if rng.random_bool(0.15) {
            worker.request(random_request(&mut rng, bench, false));
            cancelled += 1;
        }
        let preview = rng.random_bool(0.6);
        let request = random_request(&mut rng, bench, preview);
        let started = Instant::now();
        worker.request(request.clone());
        wait_for(&worker, &request)?;
        times.push(started.elapsed().as_secs_f64());
        if i % report_every == 0 || i == warm_up || i == frames {
            let since = i - readings.last().map_or(0, |r: &Reading| r.frame);
            let cpu = cpu_seconds();
            let reading = Reading {
                frame: i,
                rss_mib: resident_mib(),
                gpu_mib: pool_mib(gpu),
                fps: since as f64 / lap.elapsed().as_secs_f64(),
                cpu_ms: (cpu - cpu_lap) * 1e3 / since as f64,
            };
            (lap, cpu_lap) = (Instant::now(), cpu);
            println!(
                "{:>7} {:>10.1} {:>10.1} {:>9.2} {:>12.1} {cancelled:>10}",
                reading.frame, reading.rss_mib, reading.gpu_mib, reading.fps, reading.cpu_ms
            );
            readings.push(reading);
        }
    }
    verdict(&readings, &times, length)
}

/// What a person at the panel might ask for next.
fn random_request(rng: &mut StdRng, bench: &BenchAvatar, preview: bool) -> Request {
    let names = &bench.rig.expression_names;
    let mut params = bench.avatar.source.params.clone();
    for _ in 0..3 {
        let name = &names[rng.random_range(0..names.len())];
        params = params.with_expression(name, rng.random_range(0.0..1.0));
    }
    params.eyes.left[1] = rng.random_range(-0.3..0.3);
    params.eyes.right[1] = params.eyes.left[1];
    let camera = OrbitCamera {
        yaw: rng.random_range(-0.8..0.8),
        pitch: rng.random_range(-0.3..0.3),
        radius: rng.random_range(2.4..3.4),
        ..Default::default()
    };
    let full = FrameOptions {
        resolution: [32, 48, 64][rng.random_range(0..3)],
        samples_scale: [0.5, 1.0][rng.random_range(0..2)],
        ..Default::default()
    };
    let view = match rng.random_range(0..5) {
        0 => View::Mesh,
        1 => View::Neural(RenderMode::Depth),
        2 => View::Neural(RenderMode::Opacity),
        3 => View::Neural(RenderMode::Features([3, 4, 5])),
        _ => View::Neural(RenderMode::Rgb),
    };
    Request {
        params,
        camera,
        options: if preview { full.preview() } else { full },
        view,
        preview,
        overlay: rng.random_bool(0.3),
    }
}

/// Blocks until the frame of `request` arrives (frames of replaced requests are skipped).
fn wait_for(worker: &Worker, request: &Request) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let left = FRAME_GUARD.saturating_sub(started.elapsed());
        let rendered = worker.wait(left).ok_or_else(|| {
            anyhow::anyhow!("no frame within {FRAME_GUARD:?}: the render thread hangs")
        })?;
        if rendered.request.same_frame(request) {
            return rendered.image.map(drop).map_err(anyhow::Error::msg);
        }
    }
}

/// Growth after the warm-up and the late frame rate against the early one, judged.
fn verdict(readings: &[Reading], times: &[f64], length: &SoakLength) -> anyhow::Result<()> {
    let SoakLength {
        warm_up, period, ..
    } = *length;
    let after: Vec<&Reading> = readings.iter().filter(|r| r.frame >= warm_up).collect();
    let (Some(first), Some(last)) = (after.first(), after.last()) else {
        anyhow::bail!("no reading after the warm-up: run more frames");
    };
    let growth = |a: f64, b: f64| (b - a) / a.max(1e-9);
    let rss = growth(first.rss_mib, last.rss_mib);
    let pool = growth(first.gpu_mib, last.gpu_mib);
    // Frame rates over the first and last thousand frames after the warm-up (in a short soak,
    // as many whole periods as fit twice).
    let span = 1000.min((times.len() - warm_up) / 2) / period * period;
    let rate = |t: &[f64]| t.len() as f64 / t.iter().sum::<f64>();
    let early = rate(&times[warm_up..warm_up + span]);
    // The last window starts at the same place in the period as the first.
    let end = warm_up + (times.len() - warm_up) / period * period;
    let late = rate(&times[end - span..end]);
    let slowdown = 1.0 - late / early;
    println!(
        "after the warm-up (frame {} → {}): RSS {:+.1} %, GPU pool {:+.1} % (limit {:.0} %); \
         frames/s {early:.2} over the first {span}, {late:.2} over the last {span}: {:+.1} % \
         (limit −{:.0} %)",
        first.frame,
        last.frame,
        100.0 * rss,
        100.0 * pool,
        100.0 * MAX_GROWTH,
        -100.0 * slowdown,
        100.0 * MAX_SLOWDOWN
    );
    anyhow::ensure!(
        rss <= MAX_GROWTH && pool <= MAX_GROWTH && slowdown <= MAX_SLOWDOWN,
        "the soak failed its limits"
    );
    println!("soak: within the limits");
    Ok(())
}

/// The process's resident set, from /proc (0 where there is none).
fn resident_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// MiB the GPU memory pool holds.
fn pool_mib(gpu: &Gpu) -> f64 {
    super::render::reserved_mib(gpu)
}
