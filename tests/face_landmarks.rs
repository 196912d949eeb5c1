//! Face detection and landmarks on the two public-domain portraits against the values the
//! assets README reports for MediaPipe's own pipeline, and the portrait reader's handling of
//! bad, odd and awkward images.

use neuralhead::invert::face::portrait::{self, PortraitError};
use neuralhead::invert::face::{Face, FaceChoice, FaceError, FaceModels, Range};

fn asset(name: &str) -> String {
    format!("{}/assets/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn face_of(name: &str) -> Face {
    let (image, _) = portrait::load(asset(name).as_ref()).unwrap();
    FaceModels::embedded().unwrap().find_face(&image).unwrap()
}

fn distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// Box (x, y, w, h) and score as MediaPipe 0.10.14 found them (assets README §4), within
/// 1.5 px and 0.01.
fn assert_detection(face: &Face, want: [f32; 4], score: f32) {
    let d = &face.detection;
    let got = [d.bounds[0], d.bounds[1], d.width(), d.height()];
    eprintln!("box {got:?} score {} (MediaPipe {want:?} {score})", d.score);
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= 1.5, "box {got:?}, MediaPipe {want:?}");
    }
    assert!((d.score - score).abs() <= 0.01, "score {}", d.score);
    assert_eq!(face.faces_found, 1);
}

#[test]
fn astronaut_matches_mediapipe() {
    let face = face_of("astronaut.png");
    assert_detection(&face, [177.6, 82.9, 95.3, 95.3], 0.9217);
    let p = &face.landmarks.points;
    assert_eq!(p.len(), 468);
    assert!(face.landmarks.presence > 0.9);
    // Nose (1) at (224, 131), chin (152) at (221, 176), outer eye corners 62 px apart.
    let near = |i: usize, x: f32, y: f32| distance(p[i], [x, y, 0.0]);
    eprintln!(
        "nose {:?} chin {:?} eyes {:.1} px apart",
        p[1],
        p[152],
        distance(p[33], p[263])
    );
    assert!(near(1, 224.0, 131.0) < 1.5 && near(152, 221.0, 176.0) < 1.5);
    assert!((distance(p[33], p[263]) - 62.0).abs() < 1.5);
}

#[test]
fn grace_hopper_matches_mediapipe() {
    let face = face_of("grace_hopper.jpg");
    assert_detection(&face, [171.4, 146.9, 194.5, 194.5], 0.9352);
    assert!(face.landmarks.presence > 0.9);
}

#[test]
fn the_largest_of_several_faces_is_used_and_counted() {
    let (astronaut, _) = portrait::load(asset("astronaut.png").as_ref()).unwrap();
    // The head (box at 177…273, 83…178) in a 256² crop, and the same crop at ¾ size.
    let head = image::imageops::crop_imm(&astronaut, 97, 20, 256, 256).to_image();
    let small = image::imageops::resize(&head, 192, 192, image::imageops::FilterType::Triangle);
    let mut pair = image::RgbImage::from_pixel(480, 256, image::Rgb([128, 128, 128]));
    image::imageops::replace(&mut pair, &head, 0, 0);
    image::imageops::replace(&mut pair, &small, 272, 32);
    let face = FaceModels::embedded().unwrap().find_face(&pair).unwrap();
    assert_eq!(face.faces_found, 2);
    assert!(face.detection.bounds[0] < 256.0 && face.detection.width() > 80.0);
}

/// The full-range detector's best anchor against the assets README's reference (the TFLite
/// model on a portrait letterboxed with OpenCV's half-pixel resize where ours samples corner
/// to corner, as MediaPipe does): box within one pixel of the 192² input (the long side / 192
/// in the portrait's pixels: the two resamplings place the grid a fraction of one apart),
/// score within 0.02.
#[test]
fn the_full_range_detector_matches_its_reference() {
    let models = FaceModels::embedded().unwrap();
    for (name, want, score) in [
        ("astronaut.png", [173.4, 68.0, 106.4, 106.4], 0.9398),
        ("grace_hopper.jpg", [160.4, 121.7, 210.1, 210.1], 0.7897),
    ] {
        let (image, _) = portrait::load(asset(name).as_ref()).unwrap();
        let candidates = models.detector(Range::Full).candidates(&image).unwrap();
        let d = candidates
            .iter()
            .max_by(|a, b| a.score.total_cmp(&b.score))
            .unwrap();
        let got = [d.bounds[0], d.bounds[1], d.width(), d.height()];
        eprintln!(
            "{name}: {got:?} score {} (reference {want:?} {score})",
            d.score
        );
        for (g, w) in got.iter().zip(want) {
            let input_pixel = image.width().max(image.height()) as f32 / 192.0;
            assert!(
                (g - w).abs() <= input_pixel,
                "{name}: box {got:?}, reference {want:?}"
            );
        }
        assert!((d.score - score).abs() <= 0.02, "{name}: score {}", d.score);
    }
}

/// The astronaut's portrait pasted at `(x, y)` in a `side`² frame of grey noise: a
/// half-body photo in which the face is about a tenth of the frame.
fn small_in_frame(side: u32, x: i64, y: i64) -> (image::RgbImage, image::RgbImage) {
    let (astronaut, _) = portrait::load(asset("astronaut.png").as_ref()).unwrap();
    let mut frame = image::RgbImage::from_fn(side, side, |i, j| {
        let v = (100 + (i * 7 + j * 13) % 40) as u8;
        image::Rgb([v, v, v])
    });
    image::imageops::replace(&mut frame, &astronaut, x, y);
    (frame, astronaut)
}

/// Mean landmark distance between two faces as a share of the first one's eye distance.
fn landmark_error(a: &Face, b: &Face, offset: [f32; 2]) -> f32 {
    let (p, q) = (&a.landmarks.points, &b.landmarks.points);
    let eyes = distance(p[33], p[263]);
    let total: f32 = p
        .iter()
        .zip(q)
        .map(|(p, q)| distance(*p, [q[0] - offset[0], q[1] - offset[1], 0.0]))
        .sum();
    total / p.len() as f32 / eyes
}

#[test]
fn a_small_face_in_a_half_body_photo_is_found() {
    let models = FaceModels::embedded().unwrap();
    let (frame, astronaut) = small_in_frame(1000, 300, 420);
    // The short-range model alone (all there was before) finds nothing here.
    assert!(
        models
            .detector(Range::Short)
            .detect(&frame)
            .unwrap()
            .is_empty()
    );
    let face = models.find_face(&frame).unwrap();
    let own = models.find_face(&astronaut).unwrap();
    let error = landmark_error(&own, &face, [300.0, 420.0]);
    eprintln!(
        "box {:?} score {:.3}; landmarks {:.2} % of the eye distance from the portrait's own",
        face.detection.bounds,
        face.detection.score,
        100.0 * error
    );
    assert_eq!(face.faces_found, 1);
    assert!(error < 0.03, "landmarks {:.1} % off", 100.0 * error);
}

#[test]
fn a_face_is_chosen_by_number_or_by_a_drawn_box() {
    let models = FaceModels::embedded().unwrap();
    let (frame, astronaut) = small_in_frame(1000, 300, 420);
    // A second copy of the head at 1.5× at the top left.
    let mut pair = frame;
    let head = image::imageops::crop_imm(&astronaut, 97, 20, 256, 256).to_image();
    let head = image::imageops::resize(&head, 384, 384, image::imageops::FilterType::Triangle);
    image::imageops::replace(&mut pair, &head, 20, 20);
    let faces = models.detect(&pair).unwrap();
    assert_eq!(faces.len(), 2, "{faces:?}");
    assert!(faces[0].area() > faces[1].area());
    let second = models.choose_face(&pair, FaceChoice::Index(1)).unwrap();
    assert!(second.detection.bounds[0] > 300.0, "{:?}", second.detection);
    let err = models.choose_face(&pair, FaceChoice::Index(2)).unwrap_err();
    assert!(err.to_string().contains("no face 3: 2 found"), "{err}");

    // A box drawn loosely around the small face finds it again.
    let drawn = models
        .choose_face(&pair, FaceChoice::Drawn([600.0, 630.0, 455.0, 470.0]))
        .unwrap();
    assert!(landmark_error(&second, &drawn, [0.0, 0.0]) < 0.01);

    // Where no detector sees the face, the drawn box itself is the landmark model's crop.
    let own = models.find_face(&astronaut).unwrap();
    let boxed = models
        .landmarks_in_box(&astronaut, [160.0, 60.0, 290.0, 200.0])
        .unwrap();
    let error = landmark_error(&own, &boxed, [0.0, 0.0]);
    eprintln!(
        "drawn box alone: {:.2} % of the eye distance",
        100.0 * error
    );
    assert!(error < 0.03);
    // A box around no face is refused by the landmark model.
    let wall = models.choose_face(&pair, FaceChoice::Drawn([850.0, 50.0, 990.0, 190.0]));
    assert!(matches!(wall, Err(FaceError::NotAFace(_))), "{wall:?}");
}

#[test]
fn an_image_without_a_face_says_so() {
    let gradient = image::RgbImage::from_fn(300, 200, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let models = FaceModels::embedded().unwrap();
    let err = models.find_face(&gradient).unwrap_err();
    assert!(matches!(err, FaceError::NoFace), "{err}");
    assert!(err.to_string().contains("no face found"));
}

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `jpeg` with an APP1 Exif segment holding only the orientation tag.
fn with_exif_orientation(jpeg: &[u8], orientation: u8) -> Vec<u8> {
    let mut tiff = b"II*\0\x08\0\0\0\x01\0".to_vec();
    tiff.extend([
        0x12,
        0x01,
        3,
        0,
        1,
        0,
        0,
        0,
        orientation,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let length = (app1.len() + 2) as u16;
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(length.to_be_bytes());
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}

#[test]
fn odd_portraits_are_read_or_refused_clearly() {
    let dir = std::env::temp_dir().join(format!("neuralhead-portraits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (astronaut, _) = portrait::load(asset("astronaut.png").as_ref()).unwrap();

    // Greyscale becomes RGB, and the face is still found.
    let grey = image::DynamicImage::ImageRgb8(astronaut.clone()).to_luma8();
    let mut png = Vec::new();
    grey.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let (rgb, scaled) = portrait::load(&write(&dir, "grey.png", &png)).unwrap();
    assert_eq!((rgb.dimensions(), scaled), ((512, 512), None));
    assert!(FaceModels::embedded().unwrap().find_face(&rgb).is_ok());

    // EXIF orientation 6 (rotate 90° clockwise) turns a 300×200 JPEG upright to 200×300.
    let wide = image::imageops::resize(&astronaut, 300, 200, image::imageops::FilterType::Triangle);
    let mut jpeg = Vec::new();
    wide.write_to(
        &mut std::io::Cursor::new(&mut jpeg),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    let rotated = with_exif_orientation(&jpeg, 6);
    let (upright, _) = portrait::load(&write(&dir, "rotated.jpg", &rotated)).unwrap();
    assert_eq!(upright.dimensions(), (200, 300));

    // A huge image is scaled down to 2048 on its long side.
    let huge = image::RgbImage::from_pixel(3000, 2400, image::Rgb([10, 20, 30]));
    let mut png = Vec::new();
    huge.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let (scaled, original) = portrait::load(&write(&dir, "huge.png", &png)).unwrap();
    assert_eq!(
        (scaled.dimensions(), original),
        ((2048, 1638), Some((3000, 2400)))
    );

    // Not an image, too small, missing.
    let text = write(&dir, "notes.jpg", b"hello");
    assert!(matches!(
        portrait::load(&text),
        Err(PortraitError::NotAnImage { .. })
    ));
    let tiny = image::RgbImage::from_pixel(40, 40, image::Rgb([0, 0, 0]));
    let mut png = Vec::new();
    tiny.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let err = portrait::load(&write(&dir, "tiny.png", &png)).unwrap_err();
    assert!(err.to_string().contains("at least 64"), "{err}");
    assert!(matches!(
        portrait::load(&dir.join("missing.png")),
        Err(PortraitError::Io { .. })
    ));
    std::fs::remove_dir_all(dir).ok();
}
