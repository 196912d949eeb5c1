//! Expression sequences: per-frame rig parameters to play on a timeline.
//!
//! * JSON: a list of [`RigParams`], or `{ "fps": 25, "frames": [ … ], "head_poses": [ … ] }`.
//! * CSV: a header, then one row per frame. Columns are expression names (default rig) or
//!   component indices (FLAME), plus `jaw_open`, `jaw_sideways`, `gaze_yaw`, `gaze_pitch`,
//!   `neck_pitch`, `neck_yaw`, `neck_roll` and the head pose `camera_yaw`, `camera_pitch`,
//!   `camera_roll` in radians; `frame` and `time` are ignored.
//! * Live Link Face's CSV (an iPhone's ARKit capture), recognised by its header: see
//!   [`crate::export::live_link`].

use std::path::Path;

use serde::Deserialize;

use super::{Rig, RigParams};
use crate::render::camera::OrbitCamera;

/// Frames per second when the file does not say.
pub const DEFAULT_FPS: f64 = 25.0;
/// The largest sequence file read: hours of motion at a few dozen columns fit well inside;
/// a file that claims more is refused before anything is read.
pub const MAX_BYTES: u64 = 256 << 20;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sequence {
    pub fps: f64,
    pub frames: Vec<RigParams>,
    /// The head's pose per frame, played as camera moves; empty when the file has none.
    pub head_poses: Vec<HeadPose>,
    /// What loading skipped and the user should know (columns the rig has no use for).
    pub notes: Vec<String>,
}

/// The head's pose in one frame as the camera that shows it (head pose is the camera):
/// the camera panel's yaw, pitch and roll, in radians.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, Deserialize)]
pub struct HeadPose {
    pub yaw: f64,
    pub pitch: f64,
    pub roll: f64,
}

impl HeadPose {
    /// `camera` turned to this pose (its distance and field of view kept).
    pub fn on(self, camera: OrbitCamera) -> OrbitCamera {
        OrbitCamera {
            yaw: self.yaw,
            pitch: self.pitch,
            roll: self.roll,
            ..camera
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SequenceError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a sequence: {message}")]
    Format { path: String, message: String },
    #[error("{path}, frame {frame}: {message}")]
    Frame {
        path: String,
        frame: usize,
        message: String,
    },
}

impl Sequence {
    /// Reads a `.json` or `.csv` sequence and checks every frame against the rig.
    pub fn load(path: &Path, rig: &Rig) -> Result<Self, SequenceError> {
        let name = path.display().to_string();
        let read_error = |source| SequenceError::Read {
            path: name.clone(),
            source,
        };
        let format = |message: String| SequenceError::Format {
            path: name.clone(),
            message,
        };
        let size = std::fs::metadata(path).map_err(read_error)?.len();
        if size > MAX_BYTES {
            return Err(format(format!(
                "it is {} MB; sequences of up to {} MB are read (split it, or drop unused columns)",
                size >> 20,
                MAX_BYTES >> 20
            )));
        }
        let bytes = std::fs::read(path).map_err(read_error)?;
        let is_csv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        Self::from_bytes(&bytes, is_csv, &name, rig)
    }

    /// Reads a sequence from memory (`name` says where it came from in messages): CSV (our
    /// columns or Live Link Face's) when `is_csv`, else JSON.
    pub fn from_bytes(
        bytes: &[u8],
        is_csv: bool,
        name: &str,
        rig: &Rig,
    ) -> Result<Self, SequenceError> {
        let format = |message: String| SequenceError::Format {
            path: name.to_string(),
            message,
        };
        let mut sequence = if is_csv {
            parse_csv(bytes, rig).map_err(format)?
        } else {
            parse_json(bytes).map_err(format)?
        };
        if sequence.frames.is_empty() {
            return Err(format("it has no frames".into()));
        }
        if !(sequence.fps.is_finite() && sequence.fps > 0.0 && sequence.fps <= 240.0) {
            return Err(format(format!("fps {} is outside 0…240", sequence.fps)));
        }
        if !sequence.head_poses.is_empty() && sequence.head_poses.len() != sequence.frames.len() {
            return Err(format(format!(
                "it has {} head poses for {} frames",
                sequence.head_poses.len(),
                sequence.frames.len()
            )));
        }
        if let Some(bad) = sequence
            .head_poses
            .iter()
            .position(|h| ![h.yaw, h.pitch, h.roll].iter().all(|x| x.is_finite()))
        {
            return Err(format(format!("head pose {bad} is not a number")));
        }
        for (frame, params) in sequence.frames.iter().enumerate() {
            params.resolve(rig).map_err(|e| SequenceError::Frame {
                path: name.to_string(),
                frame,
                message: e.to_string(),
            })?;
        }
        // Under the rig's own names, so the panel's sliders show what plays.
        sequence.frames = std::mem::take(&mut sequence.frames)
            .into_iter()
            .map(|params| params.canonical(rig))
            .collect();
        Ok(sequence)
    }

    /// The frame shown `seconds` after the start, wrapping when `looping`.
    pub fn frame_at(&self, seconds: f64, looping: bool) -> usize {
        let index = (seconds.max(0.0) * self.fps).floor() as usize;
        if looping {
            index % self.frames.len()
        } else {
            index.min(self.frames.len() - 1)
        }
    }

    pub fn duration(&self) -> f64 {
        self.frames.len() as f64 / self.fps
    }

    /// The head pose of frame `index`, if the sequence moves the head.
    pub fn head_pose(&self, index: usize) -> Option<HeadPose> {
        self.head_poses.get(index).copied()
    }

    /// The sequence as our CSV: `frame`, `time`, a column per expression the rig has, the
    /// jaw, gaze and neck columns any frame moves, and the head pose when there is one.
    pub fn to_csv(&self, rig: &Rig) -> String {
        type Column = (&'static str, fn(&RigParams) -> f32);
        const JOINTS: [Column; 7] = [
            ("jaw_open", |p| p.jaw[0]),
            ("jaw_sideways", |p| p.jaw[1]),
            ("gaze_pitch", |p| p.eyes.left[0]),
            ("gaze_yaw", |p| p.eyes.left[1]),
            ("neck_pitch", |p| p.neck[0]),
            ("neck_yaw", |p| p.neck[1]),
            ("neck_roll", |p| p.neck[2]),
        ];
        let joints: Vec<&Column> = JOINTS
            .iter()
            .filter(|(_, get)| self.frames.iter().any(|p| get(p) != 0.0))
            .collect();
        let head = !self.head_poses.is_empty();
        let mut header = vec!["frame".to_string(), "time".to_string()];
        header.extend(rig.expression_names.iter().cloned());
        header.extend(joints.iter().map(|(name, _)| name.to_string()));
        if head {
            header.extend(["camera_yaw", "camera_pitch", "camera_roll"].map(String::from));
        }
        let mut text = header.join(",");
        text.push('\n');
        for (i, params) in self.frames.iter().enumerate() {
            let mut row = vec![i.to_string(), format!("{:.9}", i as f64 / self.fps)];
            row.extend(
                rig.expression_names.iter().map(|name| {
                    format!("{:.5}", params.expression.get(name).copied().unwrap_or(0.0))
                }),
            );
            row.extend(joints.iter().map(|(_, get)| format!("{:.5}", get(params))));
            if let Some(pose) = head.then(|| self.head_poses.get(i).copied().unwrap_or_default()) {
                row.extend([pose.yaw, pose.pitch, pose.roll].map(|v| format!("{v:.6}")));
            }
            text.push_str(&row.join(","));
            text.push('\n');
        }
        text
    }

    /// Writes [`Self::to_csv`] atomically.
    pub fn save_csv(&self, path: &Path, rig: &Rig) -> anyhow::Result<()> {
        crate::io::write_atomically(path, self.to_csv(rig).as_bytes()).map_err(|e| {
            anyhow::anyhow!(
                "cannot write {}: {e} (nothing was changed there)",
                path.display()
            )
        })
    }

    /// Writes the sequence in Live Link Face's layout (atomically); returns what that layout
    /// could not carry.
    pub fn save_live_link(&self, path: &Path, rig: &Rig) -> anyhow::Result<Vec<String>> {
        let (text, notes) = crate::export::live_link::write(self, rig);
        crate::io::write_atomically(path, text.as_bytes()).map_err(|e| {
            anyhow::anyhow!(
                "cannot write {}: {e} (nothing was changed there)",
                path.display()
            )
        })?;
        Ok(notes)
    }
}

fn parse_json(bytes: &[u8]) -> Result<Sequence, String> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum File {
        Frames(Vec<RigParams>),
        WithRate {
            fps: f64,
            frames: Vec<RigParams>,
            #[serde(default)]
            head_poses: Vec<HeadPose>,
        },
    }
    Ok(
        match serde_json::from_slice::<File>(bytes).map_err(|e| e.to_string())? {
            File::Frames(frames) => Sequence {
                fps: DEFAULT_FPS,
                frames,
                ..Default::default()
            },
            File::WithRate {
                fps,
                frames,
                head_poses,
            } => Sequence {
                fps,
                frames,
                head_poses,
                notes: Vec::new(),
            },
        },
    )
}

fn parse_csv(bytes: &[u8], rig: &Rig) -> Result<Sequence, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(str::to_string)
        .collect();
    if crate::export::live_link::is_live_link(&header) {
        return crate::export::live_link::parse(bytes, rig);
    }
    let has_head = header.iter().any(|h| h.starts_with("camera_"));
    let mut frames = Vec::new();
    let mut head_poses = Vec::new();
    let mut times = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(|e| e.to_string())?;
        let mut params = RigParams::default();
        let mut head = HeadPose::default();
        for (column, field) in header.iter().zip(record.iter()) {
            if column == "time" {
                times.extend(field.parse::<f64>().ok().filter(|t| t.is_finite()));
            }
            if column == "frame" || column == "time" || field.is_empty() {
                continue;
            }
            let value: f32 = field
                .parse()
                .map_err(|_| format!("row {}: `{column}` = `{field}` is not a number", row + 1))?;
            match column.as_str() {
                "jaw_open" => params.jaw[0] = value,
                "jaw_sideways" => params.jaw[1] = value,
                "gaze_pitch" => {
                    params.eyes.left[0] = value;
                    params.eyes.right[0] = value;
                }
                "gaze_yaw" => {
                    params.eyes.left[1] = value;
                    params.eyes.right[1] = value;
                }
                "neck_pitch" => params.neck[0] = value,
                "neck_yaw" => params.neck[1] = value,
                "neck_roll" => params.neck[2] = value,
                "camera_yaw" => head.yaw = f64::from(value),
                "camera_pitch" => head.pitch = f64::from(value),
                "camera_roll" => head.roll = f64::from(value),
                name => {
                    params.expression.insert(name.to_string(), value);
                }
            }
        }
        frames.push(params);
        if has_head {
            head_poses.push(head);
        }
    }
    Ok(Sequence {
        fps: rate_of(&times, frames.len()).unwrap_or(DEFAULT_FPS),
        frames,
        head_poses,
        notes: Vec::new(),
    })
}

/// The frame rate a `time` column (seconds, one per row) gives, when every row has one.
fn rate_of(times: &[f64], rows: usize) -> Option<f64> {
    let (first, last) = (times.first()?, times.last()?);
    let fps = (rows as f64 - 1.0) / (last - first);
    (times.len() == rows && rows > 1 && fps.is_finite() && fps > 0.0).then_some(fps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rig::default_rig;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("neuralhead-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn csv_and_json_sequences_load_and_bad_ones_say_where() {
        let rig = default_rig::embedded();
        let csv = write(
            "seq.csv",
            "frame, jawOpen, mouthSmile_L, gaze_yaw, camera_yaw\n0, 0.0, 0.5, 0.1, 0.3\n1, 0.5, , -0.1, -0.2\n",
        );
        let sequence = Sequence::load(&csv, &rig).unwrap();
        assert_eq!(sequence.frames.len(), 2);
        let turned = sequence.head_pose(1).unwrap().on(OrbitCamera::default());
        assert!((turned.yaw + 0.2).abs() < 1e-7 && turned.radius == OrbitCamera::default().radius);
        assert_eq!(sequence.frames[1].expression["jawOpen"], 0.5);
        assert!(!sequence.frames[1].expression.contains_key("mouthSmile_L"));
        assert_eq!(sequence.frames[0].eyes.right[1], 0.1);

        let json = write(
            "seq.json",
            r#"{ "fps": 10, "frames": [ { "expression": { "jawOpen": 1 } }, {} ] }"#,
        );
        let sequence = Sequence::load(&json, &rig).unwrap();
        assert_eq!(sequence.fps, 10.0);
        assert!(sequence.head_pose(0).is_none());
        assert_eq!(sequence.frame_at(0.15, true), 1);
        assert_eq!(sequence.frame_at(0.25, true), 0);
        assert_eq!(sequence.frame_at(5.0, false), 1);

        let unknown = write("bad.csv", "jawOpen, smirk\n0.1, 0.2\n");
        let message = Sequence::load(&unknown, &rig).unwrap_err().to_string();
        assert!(
            message.contains("frame 0") && message.contains("smirk"),
            "{message}"
        );
        let not_number = write("nan.csv", "jawOpen\nwide\n");
        let message = Sequence::load(&not_number, &rig).unwrap_err().to_string();
        assert!(
            message.contains("row 1") && message.contains("wide"),
            "{message}"
        );
        // A file that claims gigabytes is refused before it is read (sparse: nothing written).
        let huge = write("huge.csv", "jawOpen\n");
        std::fs::File::options()
            .write(true)
            .open(&huge)
            .unwrap()
            .set_len(MAX_BYTES + 1)
            .unwrap();
        let message = Sequence::load(&huge, &rig).unwrap_err().to_string();
        assert!(
            message.contains("MB") && message.contains("up to 256"),
            "{message}"
        );
        for path in [csv, json, unknown, not_number, huge] {
            std::fs::remove_file(path).ok();
        }
    }

    /// A sequence written as CSV reads back with its rate, weights, gaze and head pose.
    #[test]
    fn csv_written_reads_back() {
        let rig = default_rig::embedded();
        let mut first = RigParams::default().with_expression("jawOpen", 0.25);
        first.eyes.left[1] = 0.1;
        first.eyes.right[1] = 0.1;
        let second = RigParams::default().with_expression("eyeBlink_L", 1.0);
        let sequence = Sequence {
            fps: 30.0,
            frames: vec![first, second],
            head_poses: vec![
                HeadPose {
                    yaw: 0.3,
                    pitch: -0.1,
                    roll: 0.05,
                },
                HeadPose::default(),
            ],
            notes: Vec::new(),
        };
        let text = sequence.to_csv(&rig);
        let back = Sequence::from_bytes(text.as_bytes(), true, "written", &rig).unwrap();
        // Times are written to the nanosecond: the rate comes back within 1e-5.
        assert!((back.fps - 30.0).abs() < 1e-5, "fps {}", back.fps);
        assert_eq!(back.head_poses.len(), 2);
        assert!((back.head_poses[0].yaw - 0.3).abs() < 1e-6);
        assert_eq!(back.frames[0].eyes.left[1], 0.1);
        let weight = |i: usize, name: &str| back.frames[i].expression.get(name).copied();
        assert_eq!(weight(0, "jawOpen"), Some(0.25));
        assert_eq!(weight(1, "eyeBlink_L"), Some(1.0));
        assert_eq!(weight(1, "jawOpen"), Some(0.0));
    }
}
