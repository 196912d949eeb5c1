//! tools/convert_next3d.py on a tiny training snapshot pickled by real torch with the official
//! checkpoint's structure (tests/fixtures/make_next3d_pickle.py made it, and the expected
//! tensors from torch's own state_dict): every tensor bit-exact, the metadata and the audited
//! sources present, and a malicious pickle refused without running anything.

#[path = "common/python.rs"]
mod python;

use std::path::Path;

use neuralhead::nets::weights::Weights;
use python::{malicious_pickle, python, tensors, tool, workdir};
use safetensors::SafeTensors;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs the converter on `pickle`, writing `out`.
fn convert(pickle: &Path, out: &Path) -> std::process::Output {
    python(&[
        &tool("convert_next3d.py"),
        pickle.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
}

#[test]
fn tiny_snapshot_converts_bit_exactly_with_metadata_and_sources() {
    let dir = workdir("next3d-convert");
    let out = dir.join("tiny.safetensors");
    let run = convert(fixture("next3d_tiny.pkl").as_ref(), &out);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let ours = std::fs::read(&out).unwrap();
    let expected = std::fs::read(fixture("next3d_tiny_expected.safetensors")).unwrap();
    let (ours_t, expected_t) = (tensors(&ours), tensors(&expected));
    assert_eq!(
        ours_t.keys().collect::<Vec<_>>(),
        expected_t.keys().collect::<Vec<_>>(),
        "tensor names"
    );
    for (key, want) in &expected_t {
        assert_eq!(&ours_t[key], want, "{key}");
    }
    assert!(
        !ours_t.contains_key("scratch"),
        "non-persistent buffers are not exported"
    );

    let (_, header) = SafeTensors::read_metadata(&ours).unwrap();
    let meta = header.metadata().clone().unwrap();
    let json = |k: &str| serde_json::from_str::<serde_json::Value>(&meta[k]).unwrap();
    assert_eq!(meta["format"], "neuralhead-next3d");
    assert_eq!(
        json("rendering_kwargs")["superresolution_noise_mode"],
        "none"
    );
    assert_eq!(json("neural_rendering_resolution"), 64);
    assert_eq!(json("init_kwargs")[""]["sr_num_fp16_res"], 4);
    assert_eq!(json("init_kwargs")["backbone.mapping"]["num_ws"], 28);
    assert_eq!(json("class_names")["decoder"], "OSGDecoder");

    let sources = dir.join("tiny.safetensors.sources");
    let generator = std::fs::read_to_string(sources.join("TriPlaneGenerator.py")).unwrap();
    assert!(generator.contains("TriPlaneGenerator"));

    // The Rust loader reads the float tensors by their official names.
    let weights = Weights::load(&out).unwrap();
    assert_eq!(weights.shape("renderer.plane_axes").unwrap(), [3, 3, 3]);
    assert_eq!(weights.shape("decoder.net.0.weight").unwrap(), [3, 2]);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn malicious_snapshot_is_refused_and_runs_nothing() {
    let dir = workdir("next3d-malicious");
    let marker = dir.join("pwned");
    let pickle = dir.join("evil.pkl");
    std::fs::write(&pickle, malicious_pickle(&marker)).unwrap();
    let run = convert(&pickle, &dir.join("out.safetensors"));
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("does not load"), "{stderr}");
    assert!(
        !marker.exists(),
        "the converter executed code from the pickle"
    );
    assert!(!dir.join("out.safetensors").exists());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn truncated_snapshot_gets_a_clear_error() {
    let dir = workdir("next3d-truncated");
    let bytes = std::fs::read(fixture("next3d_tiny.pkl")).unwrap();
    let pickle = dir.join("cut.pkl");
    std::fs::write(&pickle, &bytes[..bytes.len() / 2]).unwrap();
    let run = convert(&pickle, &dir.join("out.safetensors"));
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("is not a Next3D checkpoint"), "{stderr}");
    std::fs::remove_dir_all(dir).ok();
}

/// Pickles a snapshot whose persistent classes carry the names given as a JSON list (a G_ema with one submodule per
/// further name), built without torch: the persistence record is all the converter reads.
const HOSTILE_SNAPSHOT: &str = r##"
import json, pickle, sys, types
for name in ("torch_utils", "torch_utils.persistence"):
    sys.modules[name] = types.ModuleType(name)
def _reconstruct_persistent_obj(meta):
    raise RuntimeError("only pickling is needed here")
_reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
sys.modules["torch_utils.persistence"]._reconstruct_persistent_obj = _reconstruct_persistent_obj
class Persistent:
    def __init__(self, name, modules):
        self.meta = dict(type="class", version=6, class_name=name,
                         module_src=f"# source of {name!r}\n", state={"_modules": modules})
    def __reduce__(self):
        return (_reconstruct_persistent_obj, (self.meta,))
out = sys.argv[1]
first, *rest = json.loads(sys.argv[2])  # JSON: argv cannot carry a NUL
modules = {f"m{i}": Persistent(name, {}) for i, name in enumerate(rest)}
with open(out, "wb") as f:
    pickle.dump({"G_ema": Persistent(first, modules)}, f)
"##;

#[test]
fn embedded_source_names_from_the_checkpoint_never_leave_their_folder() {
    let dir = workdir("next3d-hostile-names");
    let script = dir.join("make_hostile.py");
    std::fs::write(&script, HOSTILE_SNAPSHOT).unwrap();
    let pickle = dir.join("hostile.pkl");
    let outside = dir.join("escaped");
    let absolute = dir.join("absolute");
    let hostile = [
        "TriPlaneGenerator".to_string(),
        format!("../../{}", outside.display()),
        "../escaped".to_string(),
        absolute.display().to_string(),
        "nul\0byte".to_string(),
        "..".to_string(),
    ];
    let names = serde_json::to_string(&hostile).unwrap();
    let made = python(&[script.to_str().unwrap(), pickle.to_str().unwrap(), &names]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );

    let out = dir.join("model").join("hostile.safetensors");
    let run = convert(&pickle, &out);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let sources = dir.join("model").join("hostile.safetensors.sources");
    let mut written: Vec<String> = std::fs::read_dir(&sources)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    // Every class's source is kept, each under a plain name inside the folder.
    assert_eq!(written.len(), hostile.len(), "{written:?}");
    for name in &written {
        assert!(
            name.ends_with(".py")
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
                && !name.starts_with('.'),
            "{name}"
        );
    }
    // Nothing was written beside or above the folder.
    let mut around: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    around.sort();
    assert_eq!(around, ["hostile.pkl", "make_hostile.py", "model"]);
    assert!(!outside.with_extension("py").exists() && !absolute.with_extension("py").exists());
    std::fs::remove_dir_all(dir).ok();
}
