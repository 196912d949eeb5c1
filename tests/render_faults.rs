//! The viewer's render thread under faults: a job that panics (as a wgpu validation error or a
//! bug does) is answered as failed and the next request draws; a frame too large for the
//! adapter's buffers is refused before allocation with the settings named.

mod common;

use common::{HANG_GUARD, gpu, one_heavy_test_at_a_time};
use neuralhead::app::{Request, View, Worker};
use neuralhead::avatar::RigRef;
use neuralhead::avatar::buffer_limits;
use neuralhead::avatar::painted::painted_avatar;
use neuralhead::avatar::pipeline::FrameOptions;
use neuralhead::render::camera::OrbitCamera;
use neuralhead::render::modes::RenderMode;
use neuralhead::rig::{RigParams, default_rig};

fn start_worker() -> Worker {
    let rig = default_rig::embedded();
    let avatar = painted_avatar(&rig, RigRef::default_rig());
    Worker::start(gpu().clone(), rig, avatar, || {})
}

fn request(options: FrameOptions) -> Request {
    Request {
        params: RigParams::default().with_expression("jawOpen", 0.5),
        camera: OrbitCamera::default(),
        options,
        view: View::Neural(RenderMode::Rgb),
        preview: false,
        overlay: false,
    }
}

fn small() -> FrameOptions {
    FrameOptions {
        resolution: 32,
        samples_scale: 0.5,
        ..FrameOptions::default()
    }
}

/// The answer to `request`, failing the test after the hang guard.
fn answer(worker: &Worker, request: Request) -> Result<image::RgbaImage, String> {
    worker.request(request);
    worker
        .wait(HANG_GUARD)
        .expect("the render thread answers within the hang guard")
        .image
}

#[test]
fn a_panic_on_the_render_thread_is_reported_and_the_next_request_draws() {
    let _heavy = one_heavy_test_at_a_time();
    let worker = start_worker();
    let before = answer(&worker, request(small())).expect("a first frame");

    worker.inject_panic(request(small()));
    let failure = worker
        .wait(HANG_GUARD)
        .expect("the failed frame is answered")
        .image
        .expect_err("the injected panic is reported as an error");
    assert!(failure.contains("restarted"), "{failure}");
    assert!(!worker.device_lost(), "a panic is not a lost device");

    // The state is built again from the avatar shown: the same request draws the same frame.
    let after = answer(&worker, request(small())).expect("a frame after the restart");
    assert_eq!(before.dimensions(), after.dimensions());
    let largest_difference = before
        .as_raw()
        .iter()
        .zip(after.as_raw())
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(
        largest_difference <= 2,
        "the restarted thread draws another avatar (a channel differs by {largest_difference})"
    );
}

#[test]
fn a_frame_over_the_adapters_buffer_limit_is_refused_naming_the_setting() {
    let _heavy = one_heavy_test_at_a_time();
    let limits = gpu().device.limits();
    let allowed = limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size);
    // The smallest power-of-two N past this adapter's limit at ×4 samples (1024 on lavapipe).
    let too_large = (5..16)
        .map(|k| FrameOptions {
            resolution: 1 << k,
            samples_scale: 4.0,
            ..FrameOptions::default()
        })
        .find(|o| {
            buffer_limits::frame_buffers(o)
                .iter()
                .any(|b| b.bytes > allowed)
        })
        .expect("some N exceeds the adapter's buffer limit");
    let worker = start_worker();
    let refusal = answer(&worker, request(too_large)).expect_err("the frame is refused");
    let n = format!("N = {}", too_large.resolution);
    assert!(
        refusal.contains(&n) && refusal.contains("×4 samples"),
        "{refusal}"
    );
    assert!(!worker.device_lost());
    answer(&worker, request(small())).expect("the thread still draws after the refusal");
}
