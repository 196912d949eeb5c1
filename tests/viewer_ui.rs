//! The real viewer driven through egui_kittest on the shared lavapipe device: moving a
//! slider and dragging the image change the frame as they should, and the window renders
//! to a snapshot.

mod common;

use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use neuralhead::app::{ViewerApp, ViewerOptions, startup_avatar};

use common::HANG_GUARD;

fn harness() -> Harness<'static, ViewerApp> {
    harness_with(ViewerOptions::default())
}

fn harness_with(options: ViewerOptions) -> Harness<'static, ViewerApp> {
    let gpu = common::gpu().clone();
    let setup = gpu.wgpu_setup();
    Harness::builder()
        .with_size([1180.0, 760.0])
        .wgpu_setup(egui_wgpu::WgpuSetup::Existing(
            egui_wgpu::WgpuSetupExisting {
                instance: setup.instance,
                adapter: setup.adapter,
                device: setup.device,
                queue: setup.queue,
            },
        ))
        .build_eframe(move |cc| {
            let (rig, avatar, source) = startup_avatar();
            ViewerApp::new(&cc.egui_ctx, gpu, rig, avatar, source, options)
        })
}

/// Steps the UI until the full frame of the current state is shown.
fn settle(harness: &mut Harness<'_, ViewerApp>) -> image::RgbaImage {
    let start = Instant::now();
    loop {
        harness.step();
        if harness.state().is_settled() {
            return harness.state().last_image().expect("a frame").clone();
        }
        assert!(
            start.elapsed() < HANG_GUARD,
            "no full frame within {HANG_GUARD:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Steps the UI while a job of the render thread runs (`running`), up to HANG_GUARD.
fn step_while(harness: &mut Harness<'_, ViewerApp>, running: fn(&ViewerApp) -> bool, job: &str) {
    let start = Instant::now();
    while running(harness.state()) {
        harness.step();
        assert!(start.elapsed() < HANG_GUARD, "{job} did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Mean absolute difference of the RGB channels over rows `rows` (fractions of the height).
fn mean_difference(a: &image::RgbaImage, b: &image::RgbaImage, rows: (f32, f32)) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let (w, h) = a.dimensions();
    let (top, bottom) = ((rows.0 * h as f32) as u32, (rows.1 * h as f32) as u32);
    let mut sum = 0.0;
    let mut count = 0.0;
    for y in top..bottom {
        for x in 0..w {
            let (p, q) = (a.get_pixel(x, y), b.get_pixel(x, y));
            sum += (0..3)
                .map(|c| (f64::from(p[c]) - f64::from(q[c])).abs())
                .sum::<f64>();
            count += 3.0;
        }
    }
    sum / count
}

/// A corrupt settings file: the viewer starts on defaults, says so in the panel (and the
/// notice outlives the first frames), and keeps the bad file beside it for the user.
#[test]
fn a_corrupt_settings_file_starts_on_defaults_with_a_notice() {
    let _serial = common::one_heavy_test_at_a_time();
    let dir = std::env::temp_dir().join(format!("neuralhead-bad-settings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("settings.json");
    std::fs::write(&path, b"{ \"resolution\": 64, oops").unwrap();
    let mut harness = harness_with(ViewerOptions {
        settings_path: Some(path.clone()),
        ..Default::default()
    });
    settle(&mut harness);
    let message = harness.state().message().unwrap_or_default().to_string();
    assert!(
        message.contains("could not be read") && message.contains("settings.json.unreadable"),
        "{message}"
    );
    assert_eq!(
        std::fs::read(dir.join("settings.json.unreadable")).unwrap(),
        b"{ \"resolution\": 64, oops"
    );
    drop(harness);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn jaw_slider_opens_the_mouth_and_dragging_orbits() {
    let _serial = common::one_heavy_test_at_a_time();
    let mut harness = harness();
    let neutral = settle(&mut harness);

    // Open the jaw with its slider: the lower face changes, the forehead does not.
    harness
        .get_by_role_and_label(Role::Slider, "jawOpen")
        .set_value_accesskit(1.0);
    let open = settle(&mut harness);
    let mouth = mean_difference(&neutral, &open, (0.6, 0.85));
    let forehead = mean_difference(&neutral, &open, (0.1, 0.3));
    eprintln!("jaw open: mouth region {mouth:.2}, forehead {forehead:.2} (mean |ΔRGB|)");
    assert!(
        mouth > 4.0 && forehead < mouth / 4.0,
        "jaw open: mouth region changed by {mouth:.2}, forehead by {forehead:.2}"
    );

    // Drag the image to the right: the camera yaws and the frame changes everywhere.
    let yaw = harness.state().camera().yaw;
    let centre = egui::pos2(780.0, 400.0);
    harness.drag_at(centre);
    harness.step();
    harness.hover_at(centre + egui::vec2(60.0, 0.0));
    harness.step();
    harness.drop_at(centre + egui::vec2(60.0, 0.0));
    let turned = settle(&mut harness);
    assert!(
        harness.state().camera().yaw < yaw - 0.2,
        "dragging right turned the camera from {yaw} to {}",
        harness.state().camera().yaw
    );
    let change = mean_difference(&open, &turned, (0.0, 1.0));
    eprintln!("orbit: frame changed by {change:.2} (mean |ΔRGB|)");
    assert!(
        change > 3.0,
        "orbiting changed the frame by only {change:.2}"
    );

    // The whole window, rendered on the same device; the timings differ run to run.
    for changing in ["frames/s", "ms · march"] {
        let rect = harness.get_by_label_contains(changing).rect();
        harness.mask(rect);
    }
    harness.snapshot("viewer_after_orbit");
}

#[test]
fn a_loaded_sequence_plays_and_scrubs() {
    let _serial = common::one_heavy_test_at_a_time();
    let csv = std::env::temp_dir().join(format!("neuralhead-ui-{}.csv", std::process::id()));
    std::fs::write(&csv, "frame,jawOpen\n0,0\n1,1\n").unwrap();
    let mut harness = harness();
    let neutral = settle(&mut harness);

    // Below the fold of the panel: accesskit actions reach it wherever it is.
    harness
        .get_by_label("Expression sequence")
        .click_accesskit();
    harness.step();
    harness
        .get_by_role_and_label(Role::TextInput, "sequence file:")
        .focus();
    harness.step();
    harness
        .get_by_role_and_label(Role::TextInput, "sequence file:")
        .type_text(&csv.display().to_string());
    harness.step();
    harness.get_by_label("Load").click_accesskit();
    harness.step();
    assert!(
        harness.state().sequence_frame().is_some(),
        "the sequence did not load: {:?}",
        harness.state().message()
    );
    harness.get_by_label("Pause").click_accesskit();
    harness.step();
    harness
        .get_by_role_and_label(Role::Slider, "frame")
        .set_value_accesskit(1.0);
    let open = settle(&mut harness);
    assert_eq!(harness.state().sequence_frame(), Some(1));
    let mouth = mean_difference(&neutral, &open, (0.6, 0.85));
    eprintln!("sequence frame 1: mouth region changed by {mouth:.2}");
    assert!(
        mouth > 4.0,
        "frame 1 (jaw open) changed the mouth by only {mouth:.2}"
    );

    // Capture: the depth of this frame as a 16-bit PNG beside the chosen file name.
    let png = std::env::temp_dir().join(format!("neuralhead-ui-{}.png", std::process::id()));
    harness.get_by_label("Capture").click_accesskit();
    harness.step();
    harness
        .get_by_role_and_label(Role::TextInput, "save as:")
        .set_text_value_accesskit(&png.display().to_string());
    harness.step();
    harness
        .get_by_label("Save depth (16-bit)")
        .click_accesskit();
    harness.step();
    let depth_file = png.with_file_name(format!(
        "{}-depth.png",
        png.file_stem().unwrap().to_string_lossy()
    ));
    let depth = image::open(&depth_file)
        .unwrap_or_else(|e| panic!("{:?}: {e}", harness.state().message()))
        .into_luma16();
    let (w, h) = depth.dimensions();
    let centre = depth.get_pixel(w / 2, h / 2)[0];
    let corner = depth.get_pixel(0, 0)[0];
    // The face is ~0.4 in front of the look-at point, 2.7 from the camera: depth ≈ 2.3–2.6.
    assert!(
        (20_000..=30_000).contains(&centre) && corner == 0,
        "depth PNG: centre {centre}, corner {corner}"
    );
    for path in [csv, depth_file] {
        std::fs::remove_file(path).ok();
    }
}

/// Refine on idle with a small random-weight FADM model (the fadm_unet fixture, 64²): once
/// the frame has settled, switching the toggle on refines it step by step; a new state shows
/// its own render until its refinement arrives.
#[test]
fn refinement_toggle_refines_the_settled_frame() {
    let _serial = common::one_heavy_test_at_a_time();
    let mut harness = harness();
    let weights = format!(
        "{}/tests/fixtures/fadm_unet.safetensors",
        env!("CARGO_MANIFEST_DIR")
    );
    {
        let settings = harness.state_mut().refinement_settings();
        settings.weights = weights.into();
        settings.preset = neuralhead::fadm::SamplerPreset::Fast;
    }
    let raw = settle(&mut harness);
    // Below the fold of the panel: accesskit actions reach it wherever it is.
    harness.get_by_label("Refinement (FADM)").click_accesskit();
    harness.step();
    harness.get_by_label("refine when idle").click_accesskit();

    let start = Instant::now();
    let refined = loop {
        harness.step();
        if let Some((image, true)) = harness.state().refined_image() {
            break image.clone();
        }
        assert!(
            start.elapsed() < HANG_GUARD,
            "no refinement within {HANG_GUARD:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(harness.query_by_label("refined by FADM").is_some());
    assert_eq!(refined.dimensions(), (64, 64), "the model's size");
    let change = mean_difference(&raw, &refined, (0.0, 1.0));
    eprintln!("refinement changed the frame by {change:.2} (mean |ΔRGB|)");
    assert!(
        change > 1.0,
        "the refinement is the render itself ({change:.2})"
    );

    harness
        .get_by_role_and_label(Role::Slider, "jawOpen")
        .set_value_accesskit(1.0);
    settle(&mut harness);
    assert!(
        harness.state().refined_image().is_none(),
        "a refinement of the old state is shown for the new one"
    );
}

#[test]
fn recording_an_orbit_from_the_window_writes_its_frames() {
    let _serial = common::one_heavy_test_at_a_time();
    let dir = std::env::temp_dir().join(format!("neuralhead-ui-record-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.join("orbit");
    let mut harness = harness();
    settle(&mut harness);
    {
        let plan = harness.state_mut().record_settings();
        plan.frames = 3;
        plan.degrees = 30.0;
        plan.folder_text = out.display().to_string();
        plan.video = false;
    }
    harness.get_by_label("Capture").click_accesskit();
    harness.step();
    harness.get_by_label("Record").click_accesskit();
    harness.step();
    assert!(harness.state().recording(), "the recording starts");
    step_while(&mut harness, ViewerApp::recording, "the recording");
    let message = harness.state().message().unwrap_or_default().to_string();
    assert!(message.contains("recorded 3 frames"), "{message}");
    let frames: Vec<_> = (0..3)
        .map(|i| image::open(out.join(neuralhead::record::frame_name(i))).unwrap())
        .collect();
    let size = harness.state().last_image().unwrap().dimensions();
    assert_eq!(
        frames[0].width(),
        size.0,
        "frames at the viewer's resolution"
    );
    assert_ne!(
        frames[0].as_bytes(),
        frames[2].as_bytes(),
        "the camera turned"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_adapter_for_the_next_start_is_chosen_in_the_panel() {
    let _serial = common::one_heavy_test_at_a_time();
    let mut harness = harness();
    harness.step();
    assert_eq!(harness.state().adapter_at_next_start(), "auto");
    // At the foot of the panel: scroll it into view so its list opens on screen.
    harness
        .get_by_role_and_label(Role::ComboBox, "adapter at next start")
        .scroll_to_me();
    harness.run_steps(2);
    harness
        .get_by_role_and_label(Role::ComboBox, "adapter at next start")
        .click_accesskit();
    harness.run_steps(2);
    harness.get_by_label("CPU device").click();
    harness.run_steps(2);
    assert_eq!(harness.state().adapter_at_next_start(), "cpu");
    let message = harness.state().message().unwrap_or_default().to_string();
    assert!(message.contains("starts again"), "{message}");
}

/// A random generator checkpoint (small channel counts, the viewer's 256² raster) baked from
/// the panel; its frame runs the mouth and blending networks, and the super-resolution
/// toggle becomes available. (The super-resolution network itself has the official widths
/// and takes minutes here; `tests/next3d_generator.rs` renders through it.)
#[test]
fn a_generator_checkpoint_is_baked_from_the_panel_with_super_resolution_offered() {
    let _serial = common::one_heavy_test_at_a_time();
    let dir = std::env::temp_dir().join(format!("neuralhead-ui-bake-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let checkpoint =
        common::write_random_generator(&dir, neuralhead::avatar::pipeline::RASTER_RESOLUTION);

    let mut harness = harness();
    let plain = settle(&mut harness);
    let sr_label = "super-resolution (the generator's 512² image)";
    assert!(
        harness
            .get_by_label(sr_label)
            .accesskit_node()
            .is_disabled(),
        "no generator yet: the toggle is disabled"
    );
    *harness.state_mut().generator_files().0 = checkpoint.display().to_string();
    harness.get_by_label("Next3D generator").click_accesskit();
    harness.step();
    harness.get_by_label("Bake").click_accesskit();
    harness.step();
    assert!(harness.state().baking(), "the bake starts");
    step_while(&mut harness, ViewerApp::baking, "the bake");
    let message = harness.state().message().unwrap_or_default().to_string();
    assert!(message.contains("baked seed 0"), "{message}");
    let baked = settle(&mut harness);
    assert_eq!(baked.dimensions(), plain.dimensions());

    let change = mean_difference(&plain, &baked, (0.0, 1.0));
    assert!(change > 5.0, "the baked avatar is shown ({change:.2})");

    assert!(!harness.state().super_resolution_requested());
    let toggle = harness.get_by_label(sr_label);
    assert!(
        !toggle.accesskit_node().is_disabled(),
        "a generator: the toggle is enabled"
    );
    toggle.click_accesskit();
    harness.step();
    assert!(
        harness.state().super_resolution_requested(),
        "full frames now ask for SR"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_mesh_overlay_lines_up_with_the_neural_frame() {
    let _serial = common::one_heavy_test_at_a_time();
    let mut harness = harness();
    settle(&mut harness);
    assert!(!harness.state().shows_mesh_overlay());
    harness.get_by_label("mesh overlay").click_accesskit();
    harness.step();
    settle(&mut harness);
    assert!(harness.state().shows_mesh_overlay());
    for changing in ["frames/s", "ms · march"] {
        let rect = harness.get_by_label_contains(changing).rect();
        harness.mask(rect);
    }
    harness.snapshot("viewer_mesh_overlay");
}

#[test]
fn a_portrait_is_inverted_by_pivotal_tuning_from_the_panel() {
    let _serial = common::one_heavy_test_at_a_time();
    use neuralhead::rig::{RigKind, synthetic};
    let dir = std::env::temp_dir().join(format!("neuralhead-ui-pti-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The new avatar is saved under the data folder: a scratch one here.
    // SAFETY: only this test reads XDG_DATA_HOME (where inversions save their avatars).
    unsafe { std::env::set_var("XDG_DATA_HOME", &dir) };
    let checkpoint =
        common::write_random_generator(&dir, neuralhead::avatar::pipeline::RASTER_RESOLUTION);
    // FLAME's structure with random contents (the licensed model cannot be shipped).
    let flame = dir.join("flame.safetensors");
    neuralhead::rig::file::save(&synthetic::flame_sized(3, 800), &flame).unwrap();

    let mut harness = harness();
    settle(&mut harness);
    let pti_label = "PTI with the Next3D generator";
    assert!(
        harness
            .get_by_label(pti_label)
            .accesskit_node()
            .is_disabled(),
        "no generator given: PTI is not offered"
    );
    {
        let (checkpoint_text, flame_text) = harness.state_mut().generator_files();
        *checkpoint_text = checkpoint.display().to_string();
        *flame_text = flame.display().to_string();
    }
    harness.step();
    harness.get_by_label(pti_label).click_accesskit();
    harness.step();
    let controls = harness.state_mut().inversion_controls();
    assert!(controls.pti, "the checkbox turns PTI on");
    controls.portrait_text = "assets/astronaut.png".into();
    (
        controls.latent_steps,
        controls.tuning_steps,
        controls.resolution,
    ) = (1, 1, 32);
    harness.step();
    harness.get_by_label("Invert").click_accesskit();
    harness.step();
    // One face: once it is found, the inversion starts without asking.
    step_while(&mut harness, ViewerApp::finding_faces, "the face search");
    harness.step();
    assert!(harness.state().inverting(), "the inversion starts");
    step_while(&mut harness, ViewerApp::inverting, "the inversion");
    let message = harness.state().message().unwrap_or_default().to_string();
    assert!(message.contains("saved the new avatar"), "{message}");
    assert!(
        dir.join("neuralhead/avatars/astronaut.safetensors")
            .exists()
    );
    assert_eq!(harness.state().rig_kind(), RigKind::Flame2020);
    assert!(
        harness.state().has_generator(),
        "the avatar keeps its generator"
    );
    let frame = settle(&mut harness);
    assert!(frame.width() > 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A photo with two faces opens the face window: a face is chosen by its number, or by a box
/// dragged around it, and the inversion goes on from it (cancelled here after its first
/// stage); a photo without a face asks for a box.
#[test]
fn the_face_to_invert_is_chosen_in_a_window() {
    let _serial = common::one_heavy_test_at_a_time();
    let dir = std::env::temp_dir().join(format!("neuralhead-ui-faces-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The astronaut at 1× and, at the top left, her head at 1.5×, on grey.
    let (astronaut, _) =
        neuralhead::invert::face::portrait::load("assets/astronaut.png".as_ref()).unwrap();
    let mut photo = image::RgbImage::from_pixel(1000, 1000, image::Rgb([120, 120, 120]));
    image::imageops::replace(&mut photo, &astronaut, 300, 420);
    let head = image::imageops::crop_imm(&astronaut, 97, 20, 256, 256).to_image();
    let head = image::imageops::resize(&head, 384, 384, image::imageops::FilterType::Triangle);
    image::imageops::replace(&mut photo, &head, 20, 20);
    let two = dir.join("two.png");
    photo.save(&two).unwrap();
    let blank = dir.join("blank.png");
    image::RgbImage::from_pixel(300, 300, image::Rgb([40, 90, 160]))
        .save(&blank)
        .unwrap();

    let mut harness = harness();
    settle(&mut harness);
    let ask = |harness: &mut Harness<'_, ViewerApp>, portrait: &std::path::Path| {
        harness.state_mut().inversion_controls().portrait_text = portrait.display().to_string();
        harness.state_mut().inversion_controls().resolution = 32;
        harness.step();
        harness.get_by_label("Invert").click_accesskit();
        harness.step();
        step_while(harness, ViewerApp::finding_faces, "the face search");
        harness.step();
        harness.step();
    };
    // Waits for the inversion's stage that names the face, then cancels.
    let named_then_cancelled = |harness: &mut Harness<'_, ViewerApp>, which: &str| {
        let start = Instant::now();
        loop {
            harness.step();
            let message = harness.state().message().unwrap_or_default().to_string();
            if message.contains(which) {
                break;
            }
            assert!(
                harness.state().inverting(),
                "the inversion ended: {message}"
            );
            assert!(start.elapsed() < HANG_GUARD, "no stage naming {which}");
            std::thread::sleep(Duration::from_millis(20));
        }
        harness.get_by_label("Cancel").click_accesskit();
        step_while(harness, ViewerApp::inverting, "the cancelled inversion");
    };

    ask(&mut harness, &two);
    assert_eq!(harness.state().faces_offered(), Some(2));
    assert!(
        !harness.state().inverting(),
        "nothing starts before a face is chosen"
    );
    harness.get_by_label("face 2").click_accesskit();
    harness.step();
    harness.get_by_label("Invert this face").click_accesskit();
    harness.step();
    assert_eq!(harness.state().faces_offered(), None, "the window closes");
    named_then_cancelled(&mut harness, "using face 2 of 2");

    // A box dragged around the smaller face (477…573, 503…598 in the photo's pixels).
    ask(&mut harness, &two);
    let shown = harness.get_by_label("the portrait").rect();
    let scale = shown.width() / 1000.0;
    let at = |x: f32, y: f32| shown.min + egui::vec2(x, y) * scale;
    harness.drag_at(at(455.0, 470.0));
    harness.step();
    harness.hover_at(at(520.0, 540.0));
    harness.step();
    harness.hover_at(at(600.0, 630.0));
    harness.step();
    harness.drop_at(at(600.0, 630.0));
    harness.step();
    harness.get_by_label("the drawn box");
    harness.get_by_label("Invert this face").click_accesskit();
    harness.step();
    named_then_cancelled(&mut harness, "using the face in the drawn box");

    // No face: the window asks for a box, and Cancel closes it with nothing started.
    ask(&mut harness, &blank);
    assert_eq!(harness.state().faces_offered(), Some(0));
    harness.get_by_label_contains("Drag a box around the face");
    harness.get_by_label("Cancel").click_accesskit();
    harness.step();
    assert_eq!(harness.state().faces_offered(), None);
    assert!(!harness.state().inverting());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A take recorded from the panel plays on the timeline and saves as Live Link Face; the
/// avatar is exported as a glTF head from the Export section.
#[test]
fn a_take_is_saved_as_live_link_face_and_the_head_is_exported() {
    let _serial = common::one_heavy_test_at_a_time();
    let dir = std::env::temp_dir().join(format!("neuralhead-ui-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (csv, glb) = (dir.join("take.csv"), dir.join("head.glb"));
    let mut harness = harness();
    settle(&mut harness);

    harness
        .get_by_label("Expression sequence")
        .click_accesskit();
    harness.step();
    harness.get_by_label("Record a take").click_accesskit();
    harness.step();
    harness
        .get_by_role_and_label(Role::Slider, "jawOpen")
        .set_value_accesskit(0.7);
    harness.step();
    std::thread::sleep(Duration::from_millis(100));
    harness.step();
    harness.get_by_label("Stop the take").click_accesskit();
    harness.step();
    let frames = harness.state().sequence_frame();
    assert!(frames.is_some(), "the take plays on the timeline");
    harness
        .get_by_role_and_label(Role::TextInput, "Live Link Face CSV:")
        .set_text_value_accesskit(&csv.display().to_string());
    harness.step();
    harness
        .get_by_label("Save as Live Link Face")
        .click_accesskit();
    harness.step();
    let text = std::fs::read_to_string(&csv)
        .unwrap_or_else(|e| panic!("{:?}: {e}", harness.state().message()));
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let jaw = header.iter().position(|h| *h == "JawOpen").unwrap();
    let last: Vec<&str> = text.lines().last().unwrap().split(',').collect();
    assert_eq!(
        last[jaw], "0.7",
        "the take's last frame holds the dragged jaw"
    );

    harness.get_by_label("Export").click_accesskit();
    harness.step();
    harness
        .get_by_role_and_label(Role::TextInput, "glTF:")
        .set_text_value_accesskit(&glb.display().to_string());
    harness.step();
    harness.get_by_label("Export head").click_accesskit();
    harness.step();
    assert!(harness.state().exporting(), "the export starts");
    step_while(&mut harness, ViewerApp::exporting, "the export");
    let message = harness.state().message().unwrap_or_default().to_string();
    assert!(message.contains("morph targets"), "{message}");
    let bytes = std::fs::read(&glb).unwrap();
    assert_eq!(&bytes[..4], b"glTF");
    std::fs::remove_dir_all(&dir).ok();
}

/// Drive → from a video: a short video of a face is tracked on a background thread and its
/// motion plays on the timeline with the source frame inset; a second tracking is cancelled
/// and leaves the timeline as it was.
#[test]
fn a_video_drives_the_avatar_from_the_panel() {
    let _serial = common::one_heavy_test_at_a_time();
    let dir = std::env::temp_dir().join(format!("neuralhead-ui-drive-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let short = face_video(&dir.join("short.mp4"), 320, 3);
    let long = face_video(&dir.join("long.mp4"), 320, 200);
    let mut harness = harness();
    settle(&mut harness);

    harness.get_by_label("Drive from a video").click_accesskit();
    harness.step();
    let track = |harness: &mut Harness<'_, ViewerApp>, path: &std::path::Path| {
        harness
            .get_by_role_and_label(Role::TextInput, "video:")
            .set_text_value_accesskit(&path.display().to_string());
        harness.step();
        harness.get_by_label("Track").click_accesskit();
        harness.step();
    };
    track(&mut harness, &short);
    assert!(
        harness.state().tracking_video(),
        "{:?}",
        harness.state().message()
    );
    step_while(&mut harness, ViewerApp::tracking_video, "tracking");
    let message = harness.state().message().unwrap_or_default().to_string();
    assert!(message.contains("tracked 3 frames"), "{message}");
    assert!(
        harness.state().sequence_frame().is_some(),
        "the motion plays"
    );
    assert_eq!(harness.state().drive_inset_frames(), Some(3));

    track(&mut harness, &long);
    assert!(harness.state().tracking_video());
    harness.step();
    harness.get_by_label("Cancel").click_accesskit();
    step_while(
        &mut harness,
        ViewerApp::tracking_video,
        "cancelling the tracking",
    );
    assert_eq!(harness.state().message(), Some("tracking cancelled"));
    assert_eq!(
        harness.state().drive_inset_frames(),
        Some(3),
        "the first video's motion still plays"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Drive → webcam: the machine's cameras are listed (or the panel says there are none), and
/// a live source — here a video read at its own rate, as a camera would send it — moves the
/// avatar frame by frame and turns its head, its frame inset, until the source ends.
#[test]
fn a_live_source_drives_the_avatar_until_it_ends() {
    use neuralhead::drive::camera::{LiveFrames, cameras};
    let _serial = common::one_heavy_test_at_a_time();
    let dir = std::env::temp_dir().join(format!("neuralhead-ui-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let video = face_video(&dir.join("live.mp4"), 480, 20);
    let mut harness = harness();
    settle(&mut harness);

    harness
        .get_by_label("Drive from a webcam")
        .click_accesskit();
    harness.step();
    harness.get_by_label("Find cameras").click_accesskit();
    harness.step();
    if cameras().is_empty() {
        harness.get_by_label("no camera found on this machine");
    } else {
        harness.get_by_label("Start");
    }

    let before = harness.state().params().clone();
    let frames = LiveFrames::open_file_live(&video, (640, 480)).unwrap();
    let ctx = harness.ctx.clone();
    harness
        .state_mut()
        .drive_live(frames, "live.mp4".into(), &ctx);
    step_while(&mut harness, ViewerApp::driving_live, "the live source");
    let message = harness.state().message().unwrap_or_default().to_string();
    assert!(message.contains("live.mp4 stopped"), "{message}");
    let after = harness.state().params().clone();
    assert_ne!(
        before.expression, after.expression,
        "the tracked face set the sliders"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A still of the astronaut as a 10 frames/s MP4 of `frames` frames, `side` pixels square.
fn face_video(path: &std::path::Path, side: u32, frames: usize) -> std::path::PathBuf {
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-loop",
            "1",
            "-i",
            "assets/astronaut.png",
            "-vf",
        ])
        .arg(format!("scale={side}:{side},format=yuv420p"))
        .args(["-r", "10", "-frames:v", &frames.to_string()])
        .arg(path)
        .status()
        .expect("ffmpeg on the PATH (the drive tests need it)");
    assert!(made.success());
    path.to_path_buf()
}
