//! Recording animations (`neuralhead::record`, `neuralhead record`): every frame written,
//! frames that differ as the animation moves, an MP4 when ffmpeg is on the PATH (a clear
//! note when it is not), nothing left behind when a recording is cancelled or refused.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use neuralhead::avatar::pipeline::{FrameOptions, FramePipeline, RASTER_RESOLUTION};
use neuralhead::record::{Animation, Recording, ffmpeg_available, frame_name, record};
use neuralhead::render::camera::OrbitCamera;
use neuralhead::render::modes::RenderMode;
use neuralhead::rig::default_rig;

fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("neuralhead-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn pipeline() -> (FramePipeline, neuralhead::rig::RigParams) {
    let avatar = neuralhead::avatar::default::embedded().unwrap();
    let pipeline = FramePipeline::new(
        common::gpu(),
        default_rig::embedded(),
        &avatar,
        RASTER_RESOLUTION,
    )
    .unwrap();
    (pipeline, avatar.source.params)
}

fn recording(animation: Animation, frames: usize, out_dir: PathBuf) -> Recording {
    Recording {
        animation,
        frames,
        fps: 10.0,
        params: Default::default(),
        camera: OrbitCamera::default(),
        options: FrameOptions {
            resolution: 16,
            ..Default::default()
        },
        mode: RenderMode::Rgb,
        out_dir,
        video: true,
    }
}

fn frame(dir: &Path, i: usize) -> image::RgbaImage {
    image::open(dir.join(frame_name(i))).unwrap().into_rgba8()
}

fn mean_difference(a: &image::RgbaImage, b: &image::RgbaImage) -> f64 {
    let sum: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&p, &q)| (f64::from(p) - f64::from(q)).abs())
        .sum();
    sum / a.as_raw().len() as f64
}

/// No hidden `.NAME.PID.partial` folder stays behind.
fn no_partial_left(dir: &Path) {
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}

#[test]
fn an_orbit_is_recorded_frame_by_frame_with_a_video() {
    let dir = workdir("record-orbit");
    let out = dir.join("turn");
    let (mut pipeline, params) = pipeline();
    let mut rec = recording(Animation::Orbit { degrees: 60.0 }, 3, out.clone());
    rec.params = params;
    let mut seen = Vec::new();
    let recorded = record(&mut pipeline, &rec, |i, count, image| {
        seen.push((i, count, image.dimensions()));
        true
    })
    .unwrap();
    assert_eq!(
        seen,
        vec![(0, 3, (16, 16)), (1, 3, (16, 16)), (2, 3, (16, 16))]
    );
    assert_eq!(recorded.frames, 3);
    let frames: Vec<_> = (0..3).map(|i| frame(&out, i)).collect();
    for pair in frames.windows(2) {
        let change = mean_difference(&pair[0], &pair[1]);
        eprintln!("orbit step of 20°: mean |Δ| {change:.2}");
        assert!(change > 1.0, "the frames should turn with the camera");
    }
    if ffmpeg_available() {
        let video = recorded.video.expect("ffmpeg is on the PATH: an MP4");
        let bytes = std::fs::read(&video).unwrap();
        assert!(bytes.len() > 1000 && &bytes[4..8] == b"ftyp", "an MP4 file");
    } else {
        assert!(recorded.video.is_none());
        let note = recorded
            .video_note
            .expect("a note saying why there is no MP4");
        assert!(note.contains("ffmpeg"), "{note}");
    }
    no_partial_left(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_sweep_goes_there_and_back() {
    let rec = recording(
        Animation::Slider {
            name: "jawOpen".into(),
            from: 0.2,
            to: 1.0,
        },
        4,
        PathBuf::from("unused"),
    );
    let values: Vec<f32> = (0..4)
        .map(|i| rec.state(i).0.expression["jawOpen"])
        .collect();
    assert_eq!(values, vec![0.2, 0.6, 1.0, 0.6]);
}

#[test]
fn a_cancelled_or_refused_recording_leaves_nothing() {
    let dir = workdir("record-cancel");
    let (mut pipeline, _) = pipeline();
    let out = dir.join("cancelled");
    let rec = recording(Animation::Orbit { degrees: 90.0 }, 5, out.clone());
    let err = record(&mut pipeline, &rec, |i, _, _| i < 1).unwrap_err();
    assert!(err.is::<neuralhead::Cancelled>(), "{err:#}");
    assert!(!out.exists(), "a cancelled recording keeps no folder");
    no_partial_left(&dir);

    // A folder with files in it is never written into.
    let taken = dir.join("taken");
    std::fs::create_dir_all(&taken).unwrap();
    std::fs::write(taken.join("keep.txt"), b"mine").unwrap();
    let rec = recording(Animation::Orbit { degrees: 90.0 }, 2, taken.clone());
    let err = record(&mut pipeline, &rec, |_, _, _| true).unwrap_err();
    assert!(format!("{err}").contains("not empty"), "{err:#}");
    let names: Vec<_> = std::fs::read_dir(&taken).unwrap().collect();
    assert_eq!(names.len(), 1);
    assert_eq!(std::fs::read(taken.join("keep.txt")).unwrap(), b"mine");

    for (frames, fps) in [(0, 10.0), (3, 0.0)] {
        let mut rec = recording(Animation::Orbit { degrees: 90.0 }, frames, dir.join("bad"));
        rec.fps = fps;
        let err = record(&mut pipeline, &rec, |_, _, _| true).unwrap_err();
        eprintln!("{err}");
        assert!(!dir.join("bad").exists());
    }
    no_partial_left(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_command_line_records_a_sweep_and_refuses_bad_input() {
    let dir = workdir("record-cli");
    let bin = env!("CARGO_BIN_EXE_neuralhead");
    let out = dir.join("sweep");
    let run = |args: &[&str]| {
        let output = Command::new(bin)
            .args(args)
            .env("XDG_RUNTIME_DIR", std::env::temp_dir())
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr),
        )
    };
    let out_text = out.to_str().unwrap();
    let (ok, text) = run(&[
        "record",
        "--slider",
        "jawOpen=0..1",
        "--frames",
        "2",
        "--neural-size",
        "16",
        "--out",
        out_text,
        "--no-video",
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("wrote 2 frames"), "{text}");
    let change = mean_difference(&frame(&out, 0), &frame(&out, 1));
    assert!(
        change > 0.3,
        "the jaw should move between the frames ({change:.2})"
    );
    assert!(!out.join("recording.mp4").exists(), "--no-video");

    let (ok, text) = run(&["record", "--slider", "smile", "--out", out_text]);
    assert!(
        !ok && text.contains("jawOpen"),
        "unknown names list the valid ones: {text}"
    );
    let (ok, text) = run(&["record", "--out", dir.join("x").to_str().unwrap()]);
    assert!(
        !ok && text.contains("--orbit"),
        "an animation is required: {text}"
    );
    let (ok, text) = run(&["record", "--orbit", "90", "--out", out_text]);
    assert!(!ok && text.contains("not empty"), "{text}");
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        2,
        "the first recording is intact"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
