//! The portrait unwrapped into the default rig's atlas (issue 19): drawn back through the
//! fitted camera it is the portrait, and the unseen head is filled from what was seen.

use neuralhead::invert::face::FaceModels;
use neuralhead::invert::run::Prepared;
use neuralhead::invert::unwrap::{render_textured, unwrap};
use neuralhead::rig::default_rig;

/// Portrait pixels per side the unwrap reads, and the atlas it writes.
const PORTRAIT: usize = 512;
const ATLAS: usize = 256;
/// Mean |drawn − portrait| inside the face (0…1 colour), over pixels the mesh covers.
const MAX_REPROJECTION_ERROR: f32 = 0.04;

#[test]
fn the_unwrapped_portrait_drawn_through_the_fit_is_the_portrait() {
    let rig = default_rig::embedded();
    let image = image::open("assets/astronaut.png").unwrap().to_rgb8();
    let prepared = Prepared::new(image, &rig, &FaceModels::embedded().unwrap()).unwrap();
    let target = prepared.target(PORTRAIT);
    let unwrapped = unwrap(&rig, &prepared.fit, &target, ATLAS).unwrap();
    let drawn = render_textured(
        &rig,
        &prepared.fit.params,
        &prepared.fit.camera,
        &unwrapped,
        PORTRAIT,
    )
    .unwrap();

    let plane = PORTRAIT * PORTRAIT;
    let (mut error, mut count) = (0.0f32, 0usize);
    for (p, colour) in drawn.iter().enumerate() {
        if let (Some(c), true) = (colour, target.face_mask[p] > 0.5) {
            error += (0..3)
                .map(|k| (c[k] - (target.rgb[k * plane + p] + 1.0) / 2.0).abs())
                .sum::<f32>()
                / 3.0;
            count += 1;
        }
    }
    let error = error / count as f32;
    let seen = unwrapped.seen_fraction();
    eprintln!(
        "reprojection error {error:.4} over {count} face pixels; {seen:.3} of the atlas seen"
    );
    if let Ok(dir) = std::env::var("NEURALHEAD_TEST_IMAGES") {
        unwrapped
            .image()
            .save(format!("{dir}/unwrapped.png"))
            .unwrap();
    }
    assert!(count > plane / 20, "the face covers {count} pixels");
    assert!(error < MAX_REPROJECTION_ERROR, "reprojection error {error}");
    assert!((0.05..0.6).contains(&seen), "seen fraction {seen}");
}
