//! `neuralhead export` end to end on the default avatar: the rigged glTF head read back with
//! the `gltf` crate (and checked by the Khronos validator where CI provides it), the volume
//! as a PLY mesh, and a sequence written as Live Link Face CSV.

mod common;

use std::collections::HashSet;
use std::path::Path;

use neuralhead::export::arkit::{ARKIT_52, rig_targets};
use neuralhead::rig::skin_cpu::skin;
use neuralhead::rig::{RigParams, default_rig};

/// The rig's vertex under each glTF vertex and the mesh's morph displacements, read back.
struct ReadBack {
    document: gltf::Document,
    blob: Vec<u8>,
}

fn read(path: &Path) -> ReadBack {
    let bytes = std::fs::read(path).unwrap();
    let gltf = gltf::Gltf::from_slice(&bytes).expect("a well-formed GLB");
    let blob = gltf.blob.clone().expect("a binary chunk");
    ReadBack {
        document: gltf.document,
        blob,
    }
}

fn workdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("neuralhead-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn export(dir: &Path, extra: &[&str]) -> String {
    let mut args = vec!["export", "default"];
    args.extend(extra);
    let result = common::neuralhead(&args);
    let stdout = String::from_utf8_lossy(&result.stdout).into_owned();
    assert!(
        result.status.success(),
        "export failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(dir.exists());
    stdout
}

#[test]
fn the_glb_carries_the_rig_every_morph_and_a_texture() {
    let dir = workdir("export-gltf");
    let path = dir.join("head.glb");
    let stdout = export(
        &dir,
        &["--gltf", path.to_str().unwrap(), "--texture-size", "128"],
    );
    eprintln!("{stdout}");
    let rig = default_rig::embedded();
    let ReadBack { document, blob } = read(&path);

    let mesh = document.meshes().next().expect("one mesh");
    let primitive = mesh.primitives().next().expect("one primitive");
    let reader = primitive.reader(|_| Some(&blob[..]));
    let positions: Vec<[f32; 3]> = reader.read_positions().unwrap().collect();
    let indices: Vec<u32> = reader.read_indices().unwrap().into_u32().collect();

    // One vertex per distinct (vertex, UV) corner of the rig, and the triangles in its order.
    let corners: HashSet<(u32, u32)> = rig
        .faces
        .iter()
        .zip(&rig.uv_faces)
        .flat_map(|(f, t)| (0..3).map(move |k| (f[k], t[k])))
        .collect();
    assert_eq!(positions.len(), corners.len());
    assert_eq!(indices.len(), rig.faces.len() * 3);
    let mut rig_vertex = vec![u32::MAX; positions.len()];
    for (corner, &i) in indices.iter().enumerate() {
        rig_vertex[i as usize] = rig.faces[corner / 3][corner % 3];
    }

    // Names: every ARKit name the rig can play, the rig's split halves, nothing else.
    let extras: serde_json::Value =
        serde_json::from_str(mesh.extras().as_ref().expect("mesh extras").get()).unwrap();
    let names: Vec<String> = serde_json::from_value(extras["targetNames"].clone()).unwrap();
    let shapes: Vec<Vec<String>> =
        serde_json::from_value(extras["targetRigShapes"].clone()).unwrap();
    let playable: Vec<&str> = ARKIT_52
        .iter()
        .filter(|a| !rig_targets(&rig, a).is_empty())
        .copied()
        .collect();
    let split = ARKIT_52
        .iter()
        .filter(|a| rig_targets(&rig, a).len() == 2)
        .count();
    assert_eq!(names.len(), rig.expression_names.len() + split);
    for a in &playable {
        assert!(names.iter().any(|n| n == a), "no morph target named {a}");
    }
    let targets: Vec<_> = reader.read_morph_targets().collect();
    assert_eq!(targets.len(), names.len());

    // Every target moves the vertices as the rig does at weight 1 (skinning included).
    let identity = neuralhead::avatar::default::embedded()
        .unwrap()
        .source
        .params
        .identity;
    let posed = |names: &[String]| {
        let params = names.iter().fold(
            RigParams {
                identity: identity.clone(),
                ..Default::default()
            },
            |p, n| p.with_expression(n, 1.0),
        );
        skin(&rig, &params.resolve(&rig).unwrap().0).vertices
    };
    let rest = posed(&[]);
    let mut worst = 0.0f64;
    for (v, p) in positions.iter().enumerate() {
        let r = rest[rig_vertex[v] as usize];
        for a in 0..3 {
            worst = worst.max((f64::from(p[a]) - r[a]).abs());
        }
    }
    for ((target, rig_names), name) in targets.into_iter().zip(&shapes).zip(&names) {
        let moved = posed(rig_names);
        let displacement: Vec<[f32; 3]> = target.0.expect("position displacements").collect();
        assert_eq!(displacement.len(), positions.len(), "{name}");
        let mut largest = 0.0f64;
        for (v, d) in displacement.iter().enumerate() {
            let i = rig_vertex[v] as usize;
            for a in 0..3 {
                let expected = moved[i][a] - rest[i][a];
                largest = largest.max(expected.abs());
                worst = worst.max((f64::from(d[a]) - expected).abs());
            }
        }
        assert!(largest > 1e-4, "{name} moves nothing");
    }
    // f32 rounding of metres-sized values.
    assert!(worst < 1e-6, "largest difference {worst} m");

    // The skin: the rig's joints; the texture: decoded, the baked colours, not blank.
    let skin_ = document.skins().next().expect("a skin");
    let joints: Vec<String> = skin_
        .joints()
        .map(|j| j.name().unwrap_or_default().to_string())
        .collect();
    assert_eq!(joints, neuralhead::rig::model::JOINT_NAMES);
    let image = document.images().next().expect("a texture");
    let gltf::image::Source::View { view, mime_type } = image.source() else {
        panic!("the texture is not embedded");
    };
    assert_eq!(mime_type, "image/png");
    let png = &blob[view.offset()..view.offset() + view.length()];
    let texture = image::load_from_memory(png).unwrap().to_rgb8();
    assert_eq!(texture.width(), 128);
    let luminance: Vec<f64> = texture
        .pixels()
        .map(|p| p.0.iter().map(|&c| f64::from(c)).sum::<f64>() / 3.0)
        .collect();
    let mean = luminance.iter().sum::<f64>() / luminance.len() as f64;
    let spread =
        (luminance.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / luminance.len() as f64).sqrt();
    // Black only where the avatar is (the astronaut's dark suit at the shoulders): never the
    // whole unseen rest of the atlas.
    let black = luminance.iter().filter(|&&l| l < 2.0).count() as f64 / luminance.len() as f64;
    eprintln!(
        "texture: mean {mean:.1}, spread {spread:.1}, {:.2} % black",
        100.0 * black
    );
    assert!(
        spread > 5.0 && (40.0..200.0).contains(&mean) && black < 0.1,
        "mean {mean}, spread {spread}, black {black}"
    );

    validate(&path);
    std::fs::remove_dir_all(dir).ok();
}

/// The Khronos validator, where CI installs it (NEURALHEAD_GLTF_VALIDATOR: the folder that
/// holds its node_modules); CI also sets NEURALHEAD_REQUIRE_GLTF_VALIDATOR so that its
/// absence fails there.
fn validate(path: &Path) {
    let Ok(modules) = std::env::var("NEURALHEAD_GLTF_VALIDATOR") else {
        assert!(
            std::env::var_os("NEURALHEAD_REQUIRE_GLTF_VALIDATOR").is_none(),
            "NEURALHEAD_GLTF_VALIDATOR is not set"
        );
        eprintln!("the Khronos glTF validator was not run (set NEURALHEAD_GLTF_VALIDATOR)");
        return;
    };
    let output = std::process::Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/validate_gltf.mjs"))
        .arg(path)
        .env("NODE_PATH", modules)
        .output()
        .expect("node runs");
    let report = String::from_utf8_lossy(&output.stdout);
    eprintln!(
        "glTF validator: {report}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && report.contains("errors 0"),
        "{report}"
    );
}

#[test]
fn the_shape_is_a_closed_coloured_head() {
    let dir = workdir("export-shape");
    let path = dir.join("head.ply");
    export(
        &dir,
        &[
            "--shape",
            path.to_str().unwrap(),
            "--shape-resolution",
            "64",
            "--exp",
            "jawOpen=0.5",
        ],
    );
    let bytes = std::fs::read(&path).unwrap();
    let end = bytes
        .windows(11)
        .position(|w| w == b"end_header\n")
        .unwrap()
        + 11;
    let header = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let count = |element: &str| -> usize {
        header
            .lines()
            .find_map(|l| l.strip_prefix(&format!("element {element} ")))
            .unwrap()
            .parse()
            .unwrap()
    };
    let (vertices, faces) = (count("vertex"), count("face"));
    assert!(
        vertices > 1000 && faces > 2000,
        "{vertices} vertices, {faces} faces"
    );
    assert_eq!(bytes.len() - end, vertices * 15 + faces * 13);
    let records: Vec<&[u8]> = bytes[end..end + vertices * 15].chunks_exact(15).collect();
    let position = |r: &[u8], a: usize| f32::from_le_bytes(r[4 * a..4 * a + 4].try_into().unwrap());
    // Head-sized (metres, as the rig) and coloured by the avatar, not one flat colour.
    let extent = |a: usize| {
        let (lo, hi) = records.iter().fold((f32::MAX, f32::MIN), |(lo, hi), r| {
            (lo.min(position(r, a)), hi.max(position(r, a)))
        });
        hi - lo
    };
    for a in 0..3 {
        assert!(
            (0.1..0.45).contains(&extent(a)),
            "axis {a}: {} m",
            extent(a)
        );
    }
    let colours: HashSet<[u8; 3]> = records.iter().map(|r| [r[12], r[13], r[14]]).collect();
    assert!(colours.len() > 100, "{} distinct colours", colours.len());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_sequence_is_written_as_live_link_face_and_bad_requests_say_what_to_do() {
    let dir = workdir("export-motion");
    let input = dir.join("take.csv");
    std::fs::write(
        &input,
        "jawOpen,browInnerUp_L,browInnerUp_R,camera_yaw\n0.5,0.25,0.25,-0.2\n0,1,1,0.1\n",
    )
    .unwrap();
    let output = dir.join("take_llf.csv");
    export(
        &dir,
        &[
            "--sequence",
            input.to_str().unwrap(),
            "--live-link",
            output.to_str().unwrap(),
        ],
    );
    let text = std::fs::read_to_string(&output).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header.len(), 2 + 52 + 9);
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(column("JawOpen"), "0.5");
    assert_eq!(column("BrowInnerUp"), "0.25");
    assert_eq!(
        column("HeadYaw"),
        "0.2",
        "the camera's yaw is the head's, turned back"
    );

    let nothing = common::neuralhead(&["export", "default"]);
    let message = String::from_utf8_lossy(&nothing.stderr);
    assert!(
        !nothing.status.success() && message.contains("--gltf"),
        "{message}"
    );
    std::fs::remove_dir_all(dir).ok();
}
