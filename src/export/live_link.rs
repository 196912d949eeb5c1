//! Live Link Face's CSV, the file Epic's iPhone app records: `Timecode`, `BlendShapeCount`,
//! the 52 ARKit weights spelled `EyeBlinkLeft`…`TongueOut`, then head and eye rotations
//! (`HeadYaw`, `HeadPitch`, `HeadRoll`, `LeftEyeYaw`, … in radians).
//!
//! Read: each ARKit column sets the rig shapes it names (`BrowInnerUp` both sides of the
//! default rig's split shape); columns the rig lacks (`TongueOut`) and columns this layout
//! does not have are reported in the sequence's notes, not fatal. Eye rotations become the
//! eyes' axis-angles (ARKit's face axes are the rig's: x to the subject's left, y up, z
//! forward); the head's rotation becomes the camera that shows it (head pose is the camera):
//! turning the head to its left shows its right cheek, as the camera moving to the subject's
//! right would, so camera yaw = −HeadYaw, pitch = HeadPitch, roll = HeadRoll.
//! Written: the same columns; a shape split per side is written as the mean of its sides.

use crate::rig::sequence::{HeadPose, Sequence};
use crate::rig::{Rig, RigParams};

use super::arkit::{ARKIT_52, column_name, rig_targets};

const TIMECODE: &str = "Timecode";
const COUNT: &str = "BlendShapeCount";
/// Rotation columns after the 52 weights, in the app's order.
const ROTATIONS: [&str; 9] = [
    "HeadYaw",
    "HeadPitch",
    "HeadRoll",
    "LeftEyeYaw",
    "LeftEyePitch",
    "LeftEyeRoll",
    "RightEyeYaw",
    "RightEyePitch",
    "RightEyeRoll",
];
/// Timecode frame rates the app and editors use; a file's is the smallest that holds its
/// largest frame number.
const TIMECODE_RATES: [f64; 6] = [24.0, 25.0, 30.0, 48.0, 50.0, 60.0];
/// The app records at 60 frames per second; used when the timecodes cannot tell.
const APP_FPS: f64 = 60.0;

/// Whether a CSV header is Live Link Face's: its count column, or its timecode beside ARKit
/// weight columns.
pub fn is_live_link(header: &[String]) -> bool {
    let has = |name: &str| header.iter().any(|h| h.eq_ignore_ascii_case(name));
    has(COUNT) || (has(TIMECODE) && ARKIT_52.iter().any(|a| has(a)))
}

/// What one column holds.
enum Column {
    Timecode,
    Ignored,
    /// Rig expression components (empty: the rig lacks the shape).
    Weight(Vec<usize>),
    Rotation(usize),
}

/// Reads a Live Link Face CSV into a sequence of the rig's parameters.
pub fn parse(bytes: &[u8], rig: &Rig) -> Result<Sequence, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("line 1: {e}"))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut notes = Vec::new();
    let mut dropped = Vec::new();
    let mut unknown = Vec::new();
    let columns: Vec<Column> = header
        .iter()
        .map(|name| {
            if name.eq_ignore_ascii_case(TIMECODE) {
                Column::Timecode
            } else if name.eq_ignore_ascii_case(COUNT) {
                Column::Ignored
            } else if let Some(arkit) = ARKIT_52.iter().find(|a| a.eq_ignore_ascii_case(name)) {
                let targets = rig_targets(rig, arkit);
                if targets.is_empty() {
                    dropped.push(name.clone());
                }
                Column::Weight(targets)
            } else if let Some(r) = ROTATIONS.iter().position(|r| r.eq_ignore_ascii_case(name)) {
                Column::Rotation(r)
            } else {
                unknown.push(name.clone());
                Column::Ignored
            }
        })
        .collect();
    if !dropped.is_empty() {
        notes.push(format!(
            "this rig has no {}: {} ignored",
            dropped.join(", "),
            if dropped.len() == 1 {
                "it is"
            } else {
                "they are"
            }
        ));
    }
    if !unknown.is_empty() {
        notes.push(format!(
            "columns not in the Live Link Face layout were ignored: {}",
            unknown.join(", ")
        ));
    }
    let has_head = columns.iter().any(|c| matches!(c, Column::Rotation(0..=2)));

    let mut frames = Vec::new();
    let mut head_poses = Vec::new();
    let mut times = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| match e.position() {
            Some(p) => format!("line {}: {e}", p.line()),
            None => e.to_string(),
        })?;
        let line = record
            .position()
            .map_or(frames.len() + 2, |p| p.line() as usize);
        let mut params = RigParams::default();
        let mut rotations = [0.0f32; ROTATIONS.len()];
        for ((column, field), name) in columns.iter().zip(record.iter()).zip(&header) {
            let number = || -> Result<f32, String> {
                field
                    .parse::<f32>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| format!("line {line}: `{name}` = `{field}` is not a number"))
            };
            match column {
                Column::Timecode => times.push(parse_timecode(field).ok_or_else(|| {
                    format!("line {line}: `{field}` is not a timecode (HH:MM:SS:FF.fff)")
                })?),
                Column::Ignored => {}
                Column::Weight(targets) => {
                    let value = number()?;
                    for &index in targets {
                        params
                            .expression
                            .insert(rig.expression_names[index].clone(), value);
                    }
                }
                Column::Rotation(r) => rotations[*r] = number()?,
            }
        }
        let [head_yaw, head_pitch, head_roll, ly, lp, lr, ry, rp, rr] = rotations;
        params.eyes.left = [lp, ly, lr];
        params.eyes.right = [rp, ry, rr];
        if has_head {
            head_poses.push(HeadPose {
                yaw: -f64::from(head_yaw),
                pitch: f64::from(head_pitch),
                roll: f64::from(head_roll),
            });
        }
        frames.push(params);
    }
    Ok(Sequence {
        fps: frame_rate(&times).unwrap_or(APP_FPS),
        frames,
        head_poses,
        notes,
    })
}

/// `HH:MM:SS:FF` with an optional `.fff` sub-frame: (seconds, frame number with its fraction).
fn parse_timecode(text: &str) -> Option<(f64, f64)> {
    let mut parts = text.split(':');
    let mut next = || {
        parts
            .next()?
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x >= 0.0)
    };
    let (h, m, s, frame) = (next()?, next()?, next()?, next()?);
    parts
        .next()
        .is_none()
        .then_some((h * 3600.0 + m * 60.0 + s, frame))
}

/// Rows per second from the timecodes: their span over the rows between.
fn frame_rate(times: &[(f64, f64)]) -> Option<f64> {
    let (first, last) = (times.first()?, times.last()?);
    let largest_frame = times.iter().map(|t| t.1).fold(0.0, f64::max);
    let rate = *TIMECODE_RATES.iter().find(|&&r| largest_frame < r)?;
    let seconds = |t: &(f64, f64)| t.0 + t.1 / rate;
    let span = seconds(last) - seconds(first);
    let fps = (times.len() - 1) as f64 / span;
    (span > 0.0 && fps.is_finite() && fps <= 240.0).then(|| (fps * 1000.0).round() / 1000.0)
}

/// `seconds` as `HH:MM:SS:FF.fff` at a timecode rate of `rate` frames per second.
fn timecode(seconds: f64, rate: u64) -> String {
    // In thousandths of a frame, so that whole frames print as whole frames.
    let ticks = (seconds * rate as f64 * 1000.0).round() as u64;
    let (frames, sub) = (ticks / 1000, ticks % 1000);
    let (whole, frame) = (frames / rate, frames % rate);
    let (h, m, s) = (whole / 3600, whole / 60 % 60, whole % 60);
    format!("{h:02}:{m:02}:{s:02}:{frame:02}.{sub:03}")
}

/// The sequence in Live Link Face's layout, and what it could not carry (the jaw's and
/// neck's rotations, the identity).
pub fn write(sequence: &Sequence, rig: &Rig) -> (String, Vec<String>) {
    let mut notes = Vec::new();
    let mut text = format!("{TIMECODE},{COUNT}");
    for name in ARKIT_52
        .iter()
        .map(|a| column_name(a))
        .chain(ROTATIONS.iter().map(|r| r.to_string()))
    {
        text.push(',');
        text.push_str(&name);
    }
    text.push('\n');
    let rate = sequence.fps.round().max(1.0) as u64;
    let mut jaw_or_neck = false;
    for (i, params) in sequence.frames.iter().enumerate() {
        text.push_str(&timecode(i as f64 / sequence.fps, rate));
        text.push_str(&format!(",{}", ARKIT_52.len() + ROTATIONS.len()));
        for arkit in ARKIT_52 {
            let targets = rig_targets(rig, arkit);
            let value = if targets.is_empty() {
                0.0
            } else {
                targets
                    .iter()
                    .map(|&t| {
                        params
                            .expression
                            .get(&rig.expression_names[t])
                            .copied()
                            .unwrap_or(0.0)
                    })
                    .sum::<f32>()
                    / targets.len() as f32
            };
            text.push_str(&format!(",{value}"));
        }
        let head = sequence.head_poses.get(i).copied().unwrap_or_default();
        let (l, r) = (params.eyes.left, params.eyes.right);
        let rotations = [
            -head.yaw as f32,
            head.pitch as f32,
            head.roll as f32,
            l[1],
            l[0],
            l[2],
            r[1],
            r[0],
            r[2],
        ];
        for value in rotations {
            text.push_str(&format!(",{}", value + 0.0));
        }
        text.push('\n');
        jaw_or_neck |= params.jaw != [0.0; 3] || params.neck != [0.0; 3];
    }
    if jaw_or_neck {
        notes.push(
            "jaw and neck rotations have no Live Link Face column and were left out (jawOpen carries the mouth)"
                .into(),
        );
    }
    (text, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rig::default_rig;
    use rand::{Rng, SeedableRng};

    /// A recording as the app writes it: random weights at four decimals, 60 rows per
    /// second under a 30 fps timecode with sub-frames, an unknown column at the end.
    fn recording(rows: usize, seed: u64) -> String {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut text = format!("{TIMECODE},{COUNT}");
        for name in ARKIT_52
            .iter()
            .map(|a| column_name(a))
            .chain(ROTATIONS.iter().map(|r| r.to_string()))
        {
            text.push_str(&format!(",{name}"));
        }
        text.push_str(",Battery\n");
        for row in 0..rows {
            let frame = row as f64 / 2.0;
            text.push_str(&format!(
                "17:25:{:02}:{:02}.{:03},61",
                10 + (frame / 30.0) as u32,
                (frame % 30.0) as u32,
                if row % 2 == 1 { 500 } else { 0 }
            ));
            for _ in 0..ARKIT_52.len() {
                text.push_str(&format!(",{:.4}", rng.random_range(0.0..1.0f32)));
            }
            for _ in 0..ROTATIONS.len() {
                text.push_str(&format!(",{:.4}", rng.random_range(-0.4..0.4f32)));
            }
            text.push_str(",0.9\n");
        }
        text
    }

    fn table(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
        let mut lines = text
            .lines()
            .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>());
        let header = lines.next().unwrap();
        (header, lines.collect())
    }

    #[test]
    fn a_recording_round_trips_through_a_sequence() {
        let rig = default_rig::embedded();
        let input = recording(90, 7);
        let sequence = parse(input.as_bytes(), &rig).unwrap();
        let (in_header, in_rows) = table(&input);
        assert_eq!(sequence.frames.len(), in_rows.len());
        assert_eq!(
            sequence.fps, 60.0,
            "60 rows per second under a 30 fps timecode"
        );
        assert!(
            sequence.notes.iter().any(|n| n.contains("TongueOut")),
            "{:?}",
            sequence.notes
        );
        assert!(
            sequence.notes.iter().any(|n| n.contains("Battery")),
            "{:?}",
            sequence.notes
        );
        // The split shapes take the one column on both sides.
        let first = &sequence.frames[0];
        let brow: f32 = in_rows[0][2 + 43].parse().unwrap();
        assert_eq!(first.expression["browInnerUp_L"], brow);
        assert_eq!(first.expression["browInnerUp_R"], brow);

        let (output, notes) = write(&sequence, &rig);
        assert!(notes.is_empty(), "{notes:?}");
        let (out_header, out_rows) = table(&output);
        assert_eq!(out_rows.len(), in_rows.len());
        let mut compared = 0;
        for (c, name) in out_header.iter().enumerate() {
            let Some(source) = in_header.iter().position(|h| h == name) else {
                continue;
            };
            if name == TIMECODE || name == COUNT || name == "TongueOut" {
                continue;
            }
            for (a, b) in in_rows.iter().zip(&out_rows) {
                let (x, y): (f32, f32) = (a[source].parse().unwrap(), b[c].parse().unwrap());
                // Printed with four decimals: equal to that precision.
                assert!((x - y).abs() <= 0.5e-4, "{name}: {x} → {y}");
                compared += 1;
            }
        }
        assert_eq!(
            compared,
            in_rows.len() * (ARKIT_52.len() - 1 + ROTATIONS.len())
        );
        // The dropped column is written as zero, the timecode at the sequence's rate.
        let tongue = out_header.iter().position(|h| h == "TongueOut").unwrap();
        assert!(out_rows.iter().all(|r| r[tongue] == "0"));
        let again = parse(output.as_bytes(), &rig).unwrap();
        assert_eq!(again.fps, sequence.fps);
        assert_eq!(again.frames, sequence.frames);
        assert_eq!(again.head_poses, sequence.head_poses);
    }

    #[test]
    fn malformed_files_say_which_line() {
        let rig = default_rig::embedded();
        let good = recording(3, 1);
        let bad_number = good.replacen(",0.", ",zero", 1);
        let message = parse(bad_number.as_bytes(), &rig).unwrap_err();
        assert!(
            message.starts_with("line 2:") && message.contains("zero"),
            "{message}"
        );
        let mut lines: Vec<&str> = good.lines().collect();
        lines[3] = "17:25:10:01.000,61,0.5";
        let short = lines.join("\n");
        let message = parse(short.as_bytes(), &rig).unwrap_err();
        assert!(message.starts_with("line 4:"), "{message}");
        let bad_time = good.replacen("17:25:10:00.000", "yesterday", 1);
        let message = parse(bad_time.as_bytes(), &rig).unwrap_err();
        assert!(
            message.starts_with("line 2:") && message.contains("timecode"),
            "{message}"
        );
    }

    #[test]
    fn head_turns_become_the_camera() {
        let rig = default_rig::embedded();
        let text = "Timecode,BlendShapeCount,JawOpen,HeadYaw,HeadPitch,LeftEyeYaw\n\
                    00:00:00:00.000,61,0.5,0.3,-0.1,0.2\n";
        let sequence = parse(text.as_bytes(), &rig).unwrap();
        assert_eq!(sequence.frames[0].expression["jawOpen"], 0.5);
        assert_eq!(sequence.frames[0].eyes.left, [0.0, 0.2, 0.0]);
        let head = sequence.head_poses[0];
        assert!((head.yaw + 0.3).abs() < 1e-7 && (head.pitch + 0.1).abs() < 1e-7);
        assert_eq!(sequence.fps, APP_FPS, "one row: the app's rate");
        assert!(is_live_link(&["Timecode".into(), "EyeBlinkLeft".into()]));
        assert!(!is_live_link(&["frame".into(), "jawOpen".into()]));
    }
}
