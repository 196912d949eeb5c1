//! Playing an expression sequence on a timeline: play, pause, scrub, loop.

use std::path::Path;
use std::time::Instant;

use crate::rig::sequence::{HeadPose, Sequence};
use crate::rig::{Rig, RigParams};

pub struct Playback {
    pub sequence: Sequence,
    pub name: String,
    pub playing: bool,
    pub looping: bool,
    /// Seconds from the start.
    pub position: f64,
    last_tick: Option<Instant>,
}

impl Playback {
    pub fn load(path: &Path, rig: &Rig) -> anyhow::Result<Self> {
        Ok(Self::of(
            Sequence::load(path, rig)?,
            path.display().to_string(),
        ))
    }

    /// Plays `sequence` (named `name` in the panel) from its start.
    pub fn of(sequence: Sequence, name: String) -> Self {
        Self {
            sequence,
            name,
            playing: true,
            looping: true,
            position: 0.0,
            last_tick: None,
        }
    }

    /// Advances the clock while playing; returns the frame's parameters.
    pub fn tick(&mut self) -> &RigParams {
        let now = Instant::now();
        if self.playing
            && let Some(last) = self.last_tick
        {
            self.position += (now - last).as_secs_f64();
            if !self.looping && self.position >= self.sequence.duration() {
                self.position = self.sequence.duration();
                self.playing = false;
            }
        }
        self.last_tick = Some(now);
        &self.sequence.frames[self.frame()]
    }

    /// The head pose of the current frame, if the sequence moves the head.
    pub fn head_pose(&self) -> Option<HeadPose> {
        self.sequence.head_pose(self.frame())
    }

    pub fn frame(&self) -> usize {
        self.sequence.frame_at(self.position, self.looping)
    }

    /// Jumps to frame `index` (scrubbing).
    pub fn seek(&mut self, index: usize) {
        self.position = index as f64 / self.sequence.fps;
    }

    /// Restarts from the beginning when a finished one-shot sequence is played again.
    pub fn toggle(&mut self) {
        if !self.playing && !self.looping && self.position >= self.sequence.duration() {
            self.position = 0.0;
        }
        self.playing = !self.playing;
    }
}
