//! tools/convert_fadm.py on a tiny state_dict saved by real torch in the zip format the
//! official diffusion.pth uses (tests/fixtures/make_fadm_pth.py made it, and the expected
//! tensors from torch's own values): every tensor bit-exact, the metadata present, and bad
//! files refused without running anything or leaving output.

#[path = "common/python.rs"]
mod python;

use std::path::Path;

use neuralhead::fadm::FadmConfig;
use neuralhead::nets::weights::Weights;
use python::{malicious_pickle, python, tensors, tool, workdir};

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn convert(pth: &Path, out: &Path) -> std::process::Output {
    python(&[
        &tool("convert_fadm.py"),
        pth.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
}

fn stderr(run: &std::process::Output) -> String {
    String::from_utf8_lossy(&run.stderr).into_owned()
}

#[test]
fn tiny_state_dict_converts_bit_exactly() {
    let dir = workdir("fadm-convert");
    let out = dir.join("fadm.safetensors");
    let run = convert(fixture("fadm_tiny.pth").as_ref(), &out);
    assert!(run.status.success(), "{}", stderr(&run));

    let ours = tensors(&std::fs::read(&out).unwrap());
    let expected = tensors(&std::fs::read(fixture("fadm_tiny_expected.safetensors")).unwrap());
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (key, want) in &expected {
        assert_eq!(&ours[key], want, "{key}");
    }
    let weights = Weights::load(&out).unwrap();
    assert_eq!(weights.metadata()["format"], "neuralhead-fadm");
    assert_eq!(FadmConfig::from_metadata(&weights), FadmConfig::default());
    std::fs::remove_dir_all(dir).ok();
}

/// A zip checkpoint whose data.pkl would run `touch marker`.
fn malicious_zip(path: &Path, marker: &Path) {
    let script = format!(
        "import zipfile\nwith zipfile.ZipFile({:?}, 'w') as z:\n    z.writestr('evil/data.pkl', {:?})",
        path.to_str().unwrap(),
        malicious_pickle(marker)
    );
    assert!(python(&["-c", &script]).status.success());
}

#[test]
fn malicious_checkpoint_is_refused_and_runs_nothing() {
    let dir = workdir("fadm-malicious");
    let marker = dir.join("pwned");
    let pth = dir.join("evil.pth");
    malicious_zip(&pth, &marker);
    let out = dir.join("out.safetensors");
    let run = convert(&pth, &out);
    assert!(!run.status.success());
    assert!(stderr(&run).contains("does not need"), "{}", stderr(&run));
    assert!(
        !marker.exists(),
        "the converter executed code from the pickle"
    );
    assert!(!out.exists());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn wrong_files_get_clear_errors_and_keep_the_old_output() {
    let dir = workdir("fadm-wrong");
    let out = dir.join("out.safetensors");
    std::fs::write(&out, b"previous").unwrap();

    let text = dir.join("notes.pth");
    std::fs::write(&text, b"not a checkpoint").unwrap();
    let run = convert(&text, &out);
    assert!(!run.status.success());
    assert!(
        stderr(&run).contains("is not a torch zip checkpoint"),
        "{}",
        stderr(&run)
    );

    // A torch zip checkpoint of another network: the fixture with a required key renamed.
    let script = format!(
        "import zipfile\nsrc = zipfile.ZipFile({:?})\nwith zipfile.ZipFile({:?}, 'w') as z:\n    for n in src.namelist():\n        data = src.read(n)\n        if n.endswith('data.pkl'):\n            data = data.replace(b'downs.0.weight', b'downs.9.weight')\n        z.writestr(n, data)",
        fixture("fadm_tiny.pth"),
        dir.join("other.pth").to_str().unwrap()
    );
    assert!(python(&["-c", &script]).status.success());
    let run = convert(&dir.join("other.pth"), &out);
    assert!(!run.status.success());
    assert!(
        stderr(&run).contains("is not FADM's DiffusionGenerator state_dict"),
        "{}",
        stderr(&run)
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        b"previous",
        "a failed run overwrote the output"
    );
    std::fs::remove_dir_all(dir).ok();
}
