//! Video frames through ffmpeg on the PATH (as recording encodes with it): `ffprobe` says the
//! size, rate and length, `ffmpeg` decodes to raw RGB on a pipe, scaled down so that the long
//! side is at most `max_side` (tracking does not need more, and it keeps the rate up).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    #[error(
        "driving from a video needs ffmpeg and ffprobe on the PATH (e.g. `apt install ffmpeg`): {0}"
    )]
    NoFfmpeg(String),
    #[error("{path} is not a video ffmpeg can read: {reason}")]
    NotAVideo { path: String, reason: String },
    #[error("reading {path}: {reason}")]
    Decode { path: String, reason: String },
}

/// What ffprobe says of the first video stream, and the size frames are decoded at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoInfo {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    /// Frames, when the container says (an estimate from the duration otherwise).
    pub frames: Option<usize>,
}

impl VideoInfo {
    /// The decoded size: at most `max_side` on the long side, even sides.
    pub fn scaled(&self, max_side: u32) -> (u32, u32) {
        let k = (max_side as f64 / self.width.max(self.height) as f64).min(1.0);
        let even = |v: u32| ((f64::from(v) * k).round() as u32 / 2 * 2).max(2);
        (even(self.width), even(self.height))
    }
}

/// Reads the first video stream's size, rate and length.
pub fn probe(path: &Path) -> Result<VideoInfo, VideoError> {
    let shown = path.display().to_string();
    if !path.is_file() {
        return Err(VideoError::NotAVideo {
            path: shown,
            reason: "there is no such file".into(),
        });
    }
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-count_packets"])
        .args([
            "-show_entries",
            "stream=width,height,avg_frame_rate,r_frame_rate,nb_read_packets",
        ])
        .args(["-of", "default=noprint_wrappers=1"])
        .arg(path)
        .output()
        .map_err(|e| VideoError::NoFfmpeg(e.to_string()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .map(str::trim)
    };
    let not_video = |reason: String| VideoError::NotAVideo {
        path: shown.clone(),
        reason,
    };
    if !output.status.success() || field("width").is_none() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason = stderr.lines().last().unwrap_or("no video stream").trim();
        return Err(not_video(if reason.is_empty() {
            "it has no video stream".into()
        } else {
            reason.to_string()
        }));
    }
    let number = |name: &str| field(name).and_then(|v| v.parse::<u32>().ok());
    let (Some(width), Some(height)) = (number("width"), number("height")) else {
        return Err(not_video("its video stream has no size".into()));
    };
    let fps = ["avg_frame_rate", "r_frame_rate"]
        .iter()
        .filter_map(|name| field(name).and_then(rate))
        .find(|fps| (1.0..=240.0).contains(fps))
        .ok_or_else(|| not_video("its frame rate is unknown or outside 1…240".into()))?;
    if width == 0 || height == 0 || width > 16_384 || height > 16_384 {
        return Err(not_video(format!("its frames are {width}×{height}")));
    }
    Ok(VideoInfo {
        width,
        height,
        fps,
        frames: field("nb_read_packets").and_then(|v| v.parse().ok()),
    })
}

/// `30000/1001` → 29.97.
fn rate(text: &str) -> Option<f64> {
    let (n, d) = text.split_once('/').unwrap_or((text, "1"));
    let (n, d) = (n.parse::<f64>().ok()?, d.parse::<f64>().ok()?);
    (d > 0.0 && n > 0.0).then(|| n / d)
}

/// Decoded frames, one RGB image at a time.
pub struct Frames {
    path: PathBuf,
    child: Child,
    stdout: ChildStdout,
    size: (u32, u32),
}

impl Frames {
    /// Starts decoding `path` at `info.scaled(max_side)`.
    pub fn open(path: &Path, info: &VideoInfo, max_side: u32) -> Result<Self, VideoError> {
        let size = info.scaled(max_side);
        let mut child = Command::new("ffmpeg")
            .args(["-v", "error", "-nostdin", "-i"])
            .arg(path)
            .args(["-map", "0:v:0", "-vf"])
            .arg(format!("scale={}:{}", size.0, size.1))
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| VideoError::NoFfmpeg(e.to_string()))?;
        let stdout = child.stdout.take().expect("piped");
        Ok(Self {
            path: path.to_path_buf(),
            child,
            stdout,
            size,
        })
    }

    pub fn size(&self) -> (u32, u32) {
        self.size
    }

    /// The next frame; `None` at the end of the stream.
    pub fn next_frame(&mut self) -> Result<Option<image::RgbImage>, VideoError> {
        let (w, h) = self.size;
        let mut bytes = vec![0; w as usize * h as usize * 3];
        let mut filled = 0;
        while filled < bytes.len() {
            match self.stdout.read(&mut bytes[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(VideoError::Decode {
                        path: self.path.display().to_string(),
                        reason: e.to_string(),
                    });
                }
            }
        }
        // A partial last frame (a truncated file) ends the stream.
        if filled < bytes.len() {
            return Ok(None);
        }
        Ok(image::RgbImage::from_raw(w, h, bytes))
    }
}

impl Drop for Frames {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_sizes_are_read() {
        assert_eq!(rate("30/1"), Some(30.0));
        assert!((rate("30000/1001").unwrap() - 29.97).abs() < 0.01);
        assert_eq!(rate("0/0"), None);
        let info = VideoInfo {
            width: 1920,
            height: 1080,
            fps: 30.0,
            frames: None,
        };
        assert_eq!(info.scaled(640), (640, 360));
        assert_eq!(info.scaled(4000), (1920, 1080));
    }
}
