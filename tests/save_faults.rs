//! Saves that fail lose nothing: a read-only folder and a full disk give a clear error and
//! leave the existing file as it was; a process killed with SIGKILL in the middle of `record`,
//! `invert` or `export` leaves nothing under the final name.
//!
//! A read-only folder and a full disk are real where this process may mount (a small tmpfs,
//! remounted read-only); elsewhere a folder without write permission and a file size limit
//! (`ulimit -f`, the write fails with EFBIG) stand in for them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_neuralhead");

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("neuralhead-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A tmpfs of `size` mounted on `dir`, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Self> {
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Self(dir.to_path_buf()))
    }

    fn remount_read_only(&self) {
        let status = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success(), "remounting read-only failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// A sequence of `frames` rows that the CLI can turn into a Live Link Face CSV (CPU only).
fn write_sequence(path: &Path, frames: usize) {
    let mut text = String::from("jawOpen,eyeBlinkLeft,camera_yaw\n");
    for i in 0..frames {
        let t = i as f64 / frames as f64;
        text += &format!("{t:.4},{:.4},{:.4}\n", 1.0 - t, 0.3 * t);
    }
    std::fs::write(path, text).unwrap();
}

/// `neuralhead export --sequence … --live-link out`, optionally under a shell prefix.
fn export_live_link(sequence: &Path, out: &Path, shell_prefix: Option<&str>) -> Output {
    let command = format!(
        "'{BIN}' export --sequence '{}' --live-link '{}'",
        sequence.display(),
        out.display()
    );
    Command::new("bash")
        .arg("-c")
        .arg(match shell_prefix {
            Some(prefix) => format!("{prefix}; exec {command}"),
            None => format!("exec {command}"),
        })
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

/// Writes a first file to `out`, then runs the failing save and checks the message and that
/// the first file is intact.
fn assert_failed_save_keeps_the_file(
    out: &Path,
    failing: impl FnOnce() -> Output,
    expected: &[&str],
) {
    let before = std::fs::read(out).expect("the first save wrote the file");
    let output = failing();
    let said = text(&output);
    assert!(
        !output.status.success(),
        "the failing save succeeded: {said}"
    );
    assert!(
        said.contains(&out.display().to_string()),
        "the message names the file: {said}"
    );
    assert!(
        expected.iter().any(|e| said.contains(e)),
        "the message says why ({expected:?}): {said}"
    );
    assert!(!said.contains("panicked"), "{said}");
    assert_eq!(
        std::fs::read(out).unwrap(),
        before,
        "the existing file changed"
    );
}

#[test]
fn a_save_to_a_read_only_folder_fails_clearly_and_keeps_the_existing_file() {
    let dir = scratch("read-only");
    let sequence = dir.join("take.csv");
    write_sequence(&sequence, 10);
    let folder = dir.join("folder");
    std::fs::create_dir_all(&folder).unwrap();
    let out = folder.join("take_llf.csv");
    let mount = Tmpfs::mount(&folder, "1m");
    assert!(
        mount.is_some() || !is_root(),
        "as root a read-only folder needs a read-only mount, and mounting failed"
    );
    let first = export_live_link(&sequence, &out, None);
    assert!(first.status.success(), "{}", text(&first));
    // A second take, longer, is to replace it.
    write_sequence(&sequence, 40);
    match &mount {
        Some(tmpfs) => tmpfs.remount_read_only(),
        None => set_mode(&folder, 0o555),
    }
    assert_failed_save_keeps_the_file(
        &out,
        || export_live_link(&sequence, &out, None),
        &["Read-only file system", "Permission denied"],
    );
    drop(mount);
    set_mode(&folder, 0o755);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_save_to_a_full_disk_fails_clearly_and_keeps_the_existing_file() {
    let dir = scratch("full-disk");
    let sequence = dir.join("take.csv");
    write_sequence(&sequence, 10);
    let folder = dir.join("folder");
    std::fs::create_dir_all(&folder).unwrap();
    let out = folder.join("take_llf.csv");
    // 64 KiB: the first take fits, the second (≈ 2 000 rows of 61 columns) does not.
    let mount = Tmpfs::mount(&folder, "64k");
    let first = export_live_link(&sequence, &out, None);
    assert!(first.status.success(), "{}", text(&first));
    write_sequence(&sequence, 2000);
    // Without a mount: writes past 64 KiB fail with EFBIG (SIGXFSZ ignored, as a full disk
    // fails a write rather than killing the writer).
    let prefix = mount.is_none().then_some("trap '' XFSZ; ulimit -f 64");
    assert_failed_save_keeps_the_file(
        &out,
        || export_live_link(&sequence, &out, prefix),
        &["No space left on device", "File too large"],
    );
    let leftovers: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "the failed save left {leftovers:?}");
    drop(mount);
    let _ = std::fs::remove_dir_all(&dir);
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

/// Starts `args`, waits until `started` says the work is under way, kills the process with
/// SIGKILL and checks that nothing lies under `final_name`.
fn kill_mid_run(args: &[String], started: impl Fn() -> bool, final_name: &Path) {
    let mut child = Command::new(BIN)
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let begun = Instant::now();
    while !started() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "{args:?} ended before it could be killed mid-run"
        );
        assert!(
            begun.elapsed() < Duration::from_secs(15 * 60),
            "{args:?} never got under way"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "{args:?} finished before the kill");
    assert!(
        !final_name.exists(),
        "killed mid-run, {args:?} left {}",
        final_name.display()
    );
}

/// Whether `dir` holds an entry whose name ends with `.partial` (a save under way).
fn partial_in(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".partial"))
    })
}

#[test]
fn a_process_killed_mid_run_leaves_nothing_under_the_final_name() {
    let dir = scratch("sigkill");
    let arg = |p: &Path| p.display().to_string();
    let s = |t: &str| t.to_string();

    // record: killed once frames are being written into its hidden folder.
    let frames = dir.join("frames");
    let record = [
        s("record"),
        s("--slider"),
        s("jawOpen=0..1"),
        s("--frames"),
        s("200"),
        s("--neural-size"),
        s("16"),
        s("--out"),
        arg(&frames),
    ];
    kill_mid_run(&record, || partial_in(&dir), &frames);

    // invert: killed while it optimises (its avatar is written at the end).
    let avatar = dir.join("me.safetensors");
    let invert = [
        s("invert"),
        s("assets/astronaut.png"),
        s("--steps"),
        s("100000"),
        s("--resolution"),
        s("16"),
        s("--out"),
        arg(&avatar),
    ];
    let begun = Instant::now();
    kill_mid_run(
        &invert,
        || begun.elapsed() > Duration::from_secs(20),
        &avatar,
    );

    // export: killed while it bakes the head's texture.
    let head = dir.join("head.glb");
    let export = [s("export"), s("--gltf"), arg(&head)];
    let begun = Instant::now();
    kill_mid_run(&export, || begun.elapsed() > Duration::from_secs(5), &head);
    let _ = std::fs::remove_dir_all(&dir);
}
