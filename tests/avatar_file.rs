//! The avatar file format: round trip, validation with clear errors, rig checks.

use neuralhead::avatar::file::{self, AvatarError};
use neuralhead::avatar::random::random_avatar;
use neuralhead::avatar::{RigRef, plane_axes_for};
use neuralhead::raster::layout::PlaneLayout;
use neuralhead::render::triplane::PlaneProjection;
use neuralhead::rig::{default_rig, synthetic};

#[test]
fn round_trip_keeps_everything() {
    let avatar = random_avatar(
        RigRef::Flame {
            sha256: "ab12".into(),
        },
        7,
        32,
        16,
    );
    let dir = std::env::temp_dir().join(format!("neuralhead-avatar-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("me.safetensors");
    file::save(&avatar, &path).unwrap();
    file::save(&avatar, &path).unwrap(); // overwriting works, atomically
    let back = file::load(&path).unwrap();
    assert_eq!(back.rig, avatar.rig);
    assert_eq!(back.texture, avatar.texture);
    assert_eq!(back.static_planes, avatar.static_planes);
    assert_eq!(back.decoder, avatar.decoder);
    assert_eq!(back.layout, avatar.layout);
    assert_eq!(back.plane_axes, avatar.plane_axes);
    assert_eq!(back.source, avatar.source);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name() != "me.safetensors")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn plane_axes_encode_each_layout() {
    for layout in [
        PlaneLayout::released(),
        PlaneLayout::front_only(),
        PlaneLayout::consistent(),
    ] {
        let from_matrices =
            PlaneProjection::from_plane_axes(&plane_axes_for(layout.plane_axes)).unwrap();
        assert_eq!(from_matrices, PlaneProjection::from_axes(layout.plane_axes));
    }
    // EG3D/Next3D's released generate_planes(): (x, y), (x, z), (z, y).
    let released = [
        1., 0., 0., 0., 1., 0., 0., 0., 1., 1., 0., 0., 0., 0., 1., 0., 1., 0., 0., 0., 1., 0., 1.,
        0., 1., 0., 0.,
    ];
    assert_eq!(
        PlaneProjection::from_plane_axes(&released).unwrap(),
        PlaneProjection::from_axes(PlaneLayout::released().plane_axes)
    );
}

fn error_of(bytes: &[u8]) -> String {
    match file::from_bytes(bytes, "bad.safetensors") {
        Ok(_) => panic!("accepted a bad avatar"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_avatars_give_clear_errors() {
    assert!(matches!(
        file::load(std::path::Path::new("/nonexistent/a.safetensors")),
        Err(AvatarError::Io { .. })
    ));
    assert!(error_of(b"garbage").contains("not an avatar file"));
    // A rig file is not an avatar.
    let rig_bytes = neuralhead::rig::file::to_bytes(&default_rig::embedded()).unwrap();
    assert!(error_of(&rig_bytes).contains("not an avatar file"));

    let good = random_avatar(RigRef::default_rig(), 1, 16, 8);
    let mut wrong_channels = good.clone();
    wrong_channels.texture.shape = vec![16, 32, 16];
    assert!(
        file::to_bytes(&wrong_channels)
            .unwrap_err()
            .contains("expected [32, H, W]")
    );
    let mut nan = good.clone();
    nan.static_planes.data[5] = f32::NAN;
    assert!(file::to_bytes(&nan).unwrap_err().contains("NaN"));

    let bytes = file::to_bytes(&good).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + header_len])
        .unwrap()
        .to_string();
    let with_header = |h: String| {
        let mut h = h;
        while h.len() < header_len {
            h.push(' ');
        }
        let mut out = (h.len() as u64).to_le_bytes().to_vec();
        out.extend(h.as_bytes());
        out.extend(&bytes[8 + header_len..]);
        out
    };
    assert!(
        error_of(&with_header(
            header.replace("\"version\":\"1\"", "\"version\":\"7\"")
        ))
        .contains("version 7")
    );
    assert!(
        error_of(&with_header(
            header.replace("\"decoder.net.2.bias\"", "\"decoder.net.2.bias_\"")
        ))
        .contains("`decoder.net.2.bias` is missing")
    );

    // A file written before the default rig had versions names the retired face mask: it
    // loads, and the whole-head rig refuses it with a message that says what to do.
    let unversioned = format!(
        r#"{{\"kind\":\"default\",\"version\":{}}}"#,
        default_rig::VERSION
    );
    assert!(header.contains(&unversioned), "{header}");
    let old = file::from_bytes(
        &with_header(header.replace(&unversioned, r#"{\"kind\":\"default\"}"#)),
        "old.safetensors",
    )
    .unwrap();
    let message = file::check_rig(&old, &default_rig::embedded(), None)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("retired face-mask") && message.contains("Invert the portrait again"),
        "{message}"
    );
    file::check_rig(&old, &default_rig::face_mask(), None).unwrap();
}

#[test]
fn avatars_refuse_the_wrong_rig() {
    let default_avatar = random_avatar(RigRef::default_rig(), 1, 16, 8);
    let default = default_rig::embedded();
    file::check_rig(&default_avatar, &default, None).unwrap();
    let flame = synthetic::flame_sized(1, 64);
    let err = file::check_rig(&default_avatar, &flame, Some("cafe"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the default rig") && err.contains("cafe"),
        "{err}"
    );
    let flame_avatar = random_avatar(
        RigRef::Flame {
            sha256: "cafe".into(),
        },
        1,
        16,
        8,
    );
    file::check_rig(&flame_avatar, &flame, Some("cafe")).unwrap();
    assert!(file::check_rig(&flame_avatar, &flame, Some("beef")).is_err());
}
