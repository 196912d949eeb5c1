//! A take: the sliders and the camera recorded as the hand moves them, at a fixed rate, into
//! a sequence that plays on the timeline and saves as a Live Link Face CSV.

use std::time::Instant;

use crate::render::camera::OrbitCamera;
use crate::rig::RigParams;
use crate::rig::sequence::{HeadPose, Sequence};

/// Frames per second of a take (Live Link Face records at 60; sliders need less).
pub const TAKE_FPS: f64 = 30.0;
/// Ten minutes: beyond this a forgotten take stops growing.
const MAX_FRAMES: usize = 10 * 60 * TAKE_FPS as usize;

pub struct Take {
    started: Instant,
    sequence: Sequence,
}

impl Default for Take {
    fn default() -> Self {
        Self::new()
    }
}

impl Take {
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            sequence: Sequence {
                fps: TAKE_FPS,
                ..Default::default()
            },
        }
    }

    /// Holds the current state for every frame time that has passed since the last call.
    pub fn sample(&mut self, params: &RigParams, camera: &OrbitCamera) {
        let due = ((self.started.elapsed().as_secs_f64() * TAKE_FPS) as usize + 1).min(MAX_FRAMES);
        let frame = RigParams {
            identity: Default::default(),
            ..params.clone()
        };
        while self.sequence.frames.len() < due {
            self.sequence.frames.push(frame.clone());
            self.sequence.head_poses.push(HeadPose {
                yaw: camera.yaw,
                pitch: camera.pitch,
                roll: camera.roll,
            });
        }
    }

    pub fn frames(&self) -> usize {
        self.sequence.frames.len()
    }

    pub fn finish(self) -> Sequence {
        self.sequence
    }
}
