//! Every WGSL file in shaders/ is embedded, and every kernel validates with naga after the
//! same template substitution as at run time.

use neuralhead::gpu::shaders;
use neuralhead::rig::default_rig;

fn validate(name: &str, source: &str) -> Result<(), String> {
    if source.contains("{{") {
        return Err(format!(
            "{name}: a template placeholder was left unsubstituted"
        ));
    }
    let module = naga::front::wgsl::parse_str(source)
        .map_err(|e| format!("{name}: {}", e.emit_to_string(source)))?;
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&module)
    .map_err(|e| format!("{name}: {}", e.emit_to_string(source)))?;
    Ok(())
}

#[test]
fn every_shader_file_is_embedded() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "wgsl") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let embedded = shaders::ALL_FILES.iter().find(|(n, _)| *n == name);
            let embedded = embedded
                .unwrap_or_else(|| panic!("{name} is not listed in gpu::shaders::ALL_FILES"));
            assert_eq!(
                embedded.1,
                std::fs::read_to_string(&path).unwrap(),
                "{name} differs from its embedded copy"
            );
        }
    }
}

#[test]
fn every_kernel_validates_as_instantiated() {
    let default = default_rig::embedded();
    let instances = [
        // The default rig, and FLAME 2020 with 100 expressions + 36 pose correctives.
        shaders::skin(
            default.num_vertices(),
            default.expression_basis.count + default.pose_basis.count,
            default.num_joints(),
            default.landmarks.len(),
        ),
        shaders::skin(5023, 136, 5, 68),
        shaders::mouth_fill(256, 256),
        shaders::sample_blend(32, 256, 256, false, 4),
        shaders::sample_blend(32, 256, 256, true, 3),
        shaders::raymarch([256, 256], 128, 48, 48),
        shaders::raymarch([64, 64], 64, 24, 0),
        shaders::hidden_planes(32, 256),
    ];
    // Every rasterizer stage at FLAME's face count and the default resolution.
    let instances: Vec<_> = instances
        .into_iter()
        .chain((0..4).map(|stage| shaders::raster_triplane(9976, 256, stage)))
        .collect();
    let mut errors: Vec<String> = instances
        .iter()
        .filter_map(|k| validate(k.name, &k.wgsl()).err())
        .collect();
    // Render shaders have no template.
    errors.extend(validate(shaders::MESH_PREVIEW.0, shaders::MESH_PREVIEW.1).err());
    assert!(errors.is_empty(), "{}", errors.join("\n\n"));
}
