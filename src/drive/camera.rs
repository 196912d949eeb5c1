//! Webcams, read through ffmpeg as videos are (`video.rs`): the platform's capture device
//! (V4L2 on Linux, AVFoundation on macOS, DirectShow on Windows) decoded to raw RGB on a
//! pipe. ffmpeg is already what drives from a video file, so the camera adds no native
//! build dependency: the Rust camera crates reach V4L2 through bindgen-generated bindings,
//! which need libclang wherever the project is built.
//!
//! A live source must not queue: a reader thread keeps only the newest frame, and tracking
//! takes whatever is newest when it is ready for the next one.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use super::video::VideoError;

/// A capture device as ffmpeg names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Camera {
    /// What the person sees in the list.
    pub name: String,
    /// ffmpeg's input format (`v4l2`, `avfoundation`, `dshow`) and input name.
    format: &'static str,
    input: String,
}

/// The cameras this machine has, as far as the platform tells.
pub fn cameras() -> Vec<Camera> {
    if cfg!(target_os = "linux") {
        linux_cameras()
    } else if cfg!(target_os = "macos") {
        listed_by_ffmpeg("avfoundation", "", parse_avfoundation)
    } else if cfg!(target_os = "windows") {
        listed_by_ffmpeg("dshow", "dummy", parse_dshow)
    } else {
        Vec::new()
    }
}

/// V4L2 capture nodes: `/sys/class/video4linux/videoN` with index 0 (a camera's other nodes
/// carry metadata), named by the driver.
fn linux_cameras() -> Vec<Camera> {
    let Ok(entries) = std::fs::read_dir("/sys/class/video4linux") else {
        return Vec::new();
    };
    let mut found: Vec<(u32, Camera)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let node = entry.file_name().to_string_lossy().into_owned();
            let number: u32 = node.strip_prefix("video")?.parse().ok()?;
            let read = |file: &str| std::fs::read_to_string(entry.path().join(file)).ok();
            if read("index").is_some_and(|i| i.trim() != "0") {
                return None;
            }
            let name = read("name").map_or_else(|| node.clone(), |n| n.trim().to_string());
            let device = PathBuf::from("/dev").join(&node);
            Some((
                number,
                Camera {
                    name: format!("{name} ({})", device.display()),
                    format: "v4l2",
                    input: device.display().to_string(),
                },
            ))
        })
        .collect();
    found.sort_by_key(|(number, _)| *number);
    found.into_iter().map(|(_, camera)| camera).collect()
}

fn listed_by_ffmpeg(
    format: &'static str,
    dummy_input: &str,
    parse: fn(&str) -> Vec<String>,
) -> Vec<Camera> {
    let Ok(output) = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-list_devices",
            "true",
            "-f",
            format,
            "-i",
            dummy_input,
        ])
        .output()
    else {
        return Vec::new();
    };
    parse(&String::from_utf8_lossy(&output.stderr))
        .into_iter()
        .map(|name| Camera {
            input: if format == "dshow" {
                format!("video={name}")
            } else {
                name.clone()
            },
            name,
            format,
        })
        .collect()
}

/// `[AVFoundation indev @ 0x…] [0] FaceTime HD Camera` lines between the video and audio
/// headings; the input is the index.
fn parse_avfoundation(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.contains("AVFoundation video devices"))
        .skip(1)
        .take_while(|l| !l.contains("AVFoundation audio devices"))
        .filter_map(|l| {
            let rest = l.split("] [").nth(1)?;
            let (index, name) = rest.split_once("] ")?;
            index.parse::<u32>().ok()?;
            Some(name.trim().to_string())
        })
        .collect()
}

/// `[dshow @ 0x…] "Integrated Camera" (video)` lines.
fn parse_dshow(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.trim_end().ends_with("(video)"))
        .filter_map(|l| {
            let start = l.find('"')? + 1;
            let end = start + l[start..].find('"')?;
            Some(l[start..end].to_string())
        })
        .collect()
}

/// The newest frame of a live source, shared between its reader and the tracking.
#[derive(Default)]
struct Newest {
    frame: Option<image::RgbImage>,
    /// Frames read so far (a frame taken again is not new).
    count: u64,
    ended: Option<String>,
}

/// A camera (or any ffmpeg input read live) streaming RGB frames at a fixed size.
pub struct LiveFrames {
    child: Child,
    newest: Arc<(Mutex<Newest>, Condvar)>,
    taken: u64,
    reader: Option<JoinHandle<()>>,
}

impl LiveFrames {
    /// Opens `camera` at 640×480 (the tracking size).
    pub fn open(camera: &Camera) -> Result<Self, VideoError> {
        let mut command = Command::new("ffmpeg");
        command
            .args(["-v", "error", "-nostdin", "-f", camera.format])
            .args(["-video_size", "640x480", "-i", &camera.input]);
        Self::spawn(command, &camera.name, (640, 480))
    }

    /// Reads a video file at its own rate as if it were a camera (tests, demos).
    pub fn open_file_live(path: &std::path::Path, size: (u32, u32)) -> Result<Self, VideoError> {
        let mut command = Command::new("ffmpeg");
        command
            .args(["-v", "error", "-nostdin", "-re", "-i"])
            .arg(path);
        Self::spawn(command, &path.display().to_string(), size)
    }

    fn spawn(mut command: Command, name: &str, size: (u32, u32)) -> Result<Self, VideoError> {
        let mut child = command
            .args(["-map", "0:v:0", "-vf"])
            .arg(format!(
                "scale={0}:{1}:force_original_aspect_ratio=decrease,pad={0}:{1}:-1:-1",
                size.0, size.1
            ))
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| VideoError::NoFfmpeg(e.to_string()))?;
        let mut stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        let newest = Arc::new((Mutex::new(Newest::default()), Condvar::new()));
        let shared = newest.clone();
        let name = name.to_string();
        let reader = std::thread::spawn(move || {
            use std::io::Read;
            let (w, h) = size;
            let ended = loop {
                let mut bytes = vec![0u8; w as usize * h as usize * 3];
                if let Err(e) = stdout.read_exact(&mut bytes) {
                    let mut said = String::new();
                    let _ = stderr.read_to_string(&mut said);
                    let reason = said.lines().last().map(str::trim).unwrap_or_default();
                    break if reason.is_empty() {
                        format!("{name} stopped sending frames ({e})")
                    } else {
                        format!("{name}: {reason}")
                    };
                }
                let (lock, ready) = &*shared;
                let mut newest = lock.lock().unwrap_or_else(|p| p.into_inner());
                newest.frame = image::RgbImage::from_raw(w, h, bytes);
                newest.count += 1;
                ready.notify_all();
            };
            let (lock, ready) = &*shared;
            lock.lock().unwrap_or_else(|p| p.into_inner()).ended = Some(ended);
            ready.notify_all();
        });
        Ok(Self {
            child,
            newest,
            taken: 0,
            reader: Some(reader),
        })
    }

    /// Waits for a frame newer than the last one taken; frames that came meanwhile are
    /// skipped. `Err` with ffmpeg's reason once the source has ended.
    pub fn next_frame(&mut self) -> Result<image::RgbImage, String> {
        let (lock, ready) = &*self.newest;
        let mut newest = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if newest.count > self.taken
                && let Some(frame) = &newest.frame
            {
                self.taken = newest.count;
                return Ok(frame.clone());
            }
            if let Some(ended) = &newest.ended {
                return Err(ended.clone());
            }
            newest = ready.wait(newest).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Frames the source sent that tracking never took.
    pub fn skipped(&self) -> u64 {
        let (lock, _) = &*self.newest;
        let sent = lock.lock().unwrap_or_else(|p| p.into_inner()).count;
        sent.saturating_sub(self.taken)
    }
}

impl Drop for LiveFrames {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_lists_are_read_from_ffmpeg() {
        let mac = "[AVFoundation indev @ 0x1] AVFoundation video devices:\n\
                   [AVFoundation indev @ 0x1] [0] FaceTime HD Camera\n\
                   [AVFoundation indev @ 0x1] [1] Capture screen 0\n\
                   [AVFoundation indev @ 0x1] AVFoundation audio devices:\n\
                   [AVFoundation indev @ 0x1] [0] MacBook Pro Microphone\n";
        assert_eq!(
            parse_avfoundation(mac),
            ["FaceTime HD Camera", "Capture screen 0"]
        );
        let windows = "[dshow @ 0x1] \"Integrated Camera\" (video)\n\
                       [dshow @ 0x1]   Alternative name \"@device_pnp_…\"\n\
                       [dshow @ 0x1] \"Microphone (Realtek)\" (audio)\n";
        assert_eq!(parse_dshow(windows), ["Integrated Camera"]);
    }
}
