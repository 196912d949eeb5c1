//! The rig file format, the committed face-mask rig, RigParams, and bad input (the whole-head
//! default rig has its own tests in head_rig.rs).

use neuralhead::rig::file::{self, RigFileError};
use neuralhead::rig::params::ParamError;
use neuralhead::rig::{Identity, RigParams, default_rig};

#[test]
fn committed_face_mask_rig_matches_its_builder() {
    let built = default_rig::build();
    let committed = default_rig::face_mask();
    assert_eq!(built.faces, committed.faces);
    assert_eq!(built.expression_names, committed.expression_names);
    let close = |a: &[f32], b: &[f32]| {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6)
    };
    assert!(close(
        built.template.as_flattened(),
        committed.template.as_flattened()
    ));
    assert!(close(
        &built.expression_basis.data,
        &committed.expression_basis.data
    ));
    assert!(close(&built.skin_weights, &committed.skin_weights));
    assert!(close(&built.joint_regressor, &committed.joint_regressor));
    assert_eq!(
        built.albedo, committed.albedo,
        "re-run `neuralhead build-face-mask-rig`"
    );
}

#[test]
fn face_mask_rig_has_the_promised_structure() {
    let rig = default_rig::face_mask();
    for name in [
        "jawOpen",
        "mouthSmile_L",
        "mouthSmile_R",
        "mouthFrown_L",
        "mouthFrown_R",
        "mouthPucker",
        "mouthFunnel",
        "browInnerUp",
        "browOuterUp_L",
        "browOuterUp_R",
        "browDown_L",
        "browDown_R",
        "eyeBlink_L",
        "eyeBlink_R",
        "eyeWide_L",
        "eyeWide_R",
        "cheekPuff",
        "mouthLeft",
        "mouthRight",
    ] {
        assert!(rig.expression_index(name).is_some(), "missing {name}");
    }
    assert_eq!(
        rig.expression_index("eyeBlinkLeft"),
        rig.expression_index("eyeBlink_L"),
        "Apple spelling"
    );
    // The first 468 vertices are MediaPipe's landmarks, unmoved (cm → m).
    let canonical: serde_json::Value =
        serde_json::from_str(include_str!("../assets/canonical_face.json")).unwrap();
    for (i, p) in canonical["positions"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        for a in 0..3 {
            let expected = p[a].as_f64().unwrap() * 0.01;
            assert!(
                (f64::from(rig.template[i][a]) - expected).abs() < 1e-7,
                "vertex {i} moved"
            );
        }
    }
    assert!(
        rig.num_vertices() > 468,
        "mouth interior and eyeballs are added after the landmarks"
    );
    // Skin weights form a partition of unity; the eyeballs hang on the eye joints.
    for v in 0..rig.num_vertices() {
        let sum: f32 = rig.skin_weights[v * 5..v * 5 + 5].iter().sum();
        assert!(
            (sum - 1.0).abs() < 1e-5,
            "weights of vertex {v} sum to {sum}"
        );
    }
    let eye_bound = (0..rig.num_vertices())
        .filter(|v| rig.skin_weights[v * 5 + 3] == 1.0)
        .count();
    assert!(
        eye_bound > 100,
        "the left eyeball should be bound to its joint"
    );
    // Lower lip on the jaw, upper lip not.
    assert!(rig.skin_weights[14 * 5 + 2] > 0.99 && rig.skin_weights[13 * 5 + 2] < 0.01);
}

#[test]
fn round_trip_through_bytes() {
    let rig = default_rig::face_mask();
    let bytes = file::to_bytes(&rig).unwrap();
    let back = file::from_bytes(&bytes, "memory").unwrap();
    assert_eq!(back.template, rig.template);
    assert_eq!(back.drivers, rig.drivers);
    assert_eq!(back.landmarks, rig.landmarks);
}

fn error_of(bytes: &[u8]) -> String {
    match file::from_bytes(bytes, "bad.safetensors") {
        Ok(_) => panic!("accepted a bad rig file"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_rig_files_give_clear_errors() {
    let missing = file::load(std::path::Path::new("/nonexistent/flame.safetensors")).unwrap_err();
    assert!(matches!(missing, RigFileError::Io { .. }), "{missing}");
    assert!(error_of(b"this is not a safetensors file").contains("convert_flame.py"));
    let plain = safetensors::serialize(
        Vec::<(String, safetensors::tensor::TensorView)>::new(),
        None,
    )
    .unwrap();
    assert!(error_of(&plain).contains("not a neuralhead rig"));

    let rig = default_rig::face_mask();
    let good = file::to_bytes(&rig).unwrap();
    // Rewrite one header field at a time: version, a shape, a missing tensor.
    let header_len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&good[8..8 + header_len]).unwrap();
    let with_header = |h: &str| {
        let mut h = h.to_string();
        while h.len() < header_len {
            h.push(' ');
        }
        let mut bytes = (h.len() as u64).to_le_bytes().to_vec();
        bytes.extend(h.as_bytes());
        bytes.extend(&good[8 + header_len..]);
        bytes
    };
    assert!(
        error_of(&with_header(
            &header.replace("\"version\":\"1\"", "\"version\":\"9\"")
        ))
        .contains("version 9")
    );
    assert!(
        error_of(&with_header(&header.replace("\"parents\"", "\"parentz\"")))
            .contains("`parents` is missing")
    );
    let e = error_of(&with_header(&header.replace(
        "\"lmk_faces_idx\":{\"dtype\":\"I32\",\"shape\":[68]",
        "\"lmk_faces_idx\":{\"dtype\":\"I32\",\"shape\":[34,2]",
    )));
    assert!(e.contains("lmk_faces_idx") && e.contains("shape"), "{e}");
}

#[test]
fn params_resolve_clamp_and_reject() {
    let rig = default_rig::face_mask();
    let params = RigParams::default()
        .with_expression("eyeBlink_L", 1.7)
        .with_expression("jawOpen", 0.5);
    let (resolved, warnings) = params.resolve(&rig).unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("eyeBlink_L"));
    assert_eq!(
        resolved.expression[rig.expression_index("eyeBlink_L").unwrap()],
        1.0
    );
    // jawOpen drives the jaw joint.
    assert!((resolved.joints[2][0] - 0.5 * f64::from(default_rig::JAW_OPEN_ANGLE)).abs() < 1e-7);

    let err = RigParams::default()
        .with_expression("smile", 1.0)
        .resolve(&rig)
        .unwrap_err();
    assert!(
        matches!(&err, ParamError::UnknownExpression { .. })
            && err.to_string().contains("mouthSmile_L"),
        "{err}"
    );
    let wrong = RigParams {
        identity: Identity::Coefficients(vec![0.5; 10]),
        ..Default::default()
    };
    assert!(
        wrong
            .resolve(&rig)
            .unwrap_err()
            .to_string()
            .contains("offset field")
    );
    let big_jaw = RigParams {
        jaw: [3.0, 0.0, 0.0],
        ..Default::default()
    };
    let (r, w) = big_jaw.resolve(&rig).unwrap();
    assert!(r.joints[2][0] <= 0.7 + 1e-9 && w.len() == 1);
}

#[test]
fn params_json_schema() {
    let p: RigParams = serde_json::from_str(
        r#"{"expression": {"jawOpen": 0.4}, "jaw": [0.1, 0, 0], "eyes": {"left": [0, 0.2, 0], "right": [0, 0.2, 0]}}"#,
    )
    .unwrap();
    assert_eq!(p.expression["jawOpen"], 0.4);
    let flame: RigParams =
        serde_json::from_str(r#"{"expression": [0.5, -1.0], "identity": [0.1, 0.2]}"#).unwrap();
    assert_eq!(flame.expression["1"], -1.0);
    assert_eq!(flame.identity, Identity::Coefficients(vec![0.1, 0.2]));
    assert!(
        serde_json::from_str::<RigParams>(r#"{"expresion": {}}"#).is_err(),
        "typos are errors"
    );
}
