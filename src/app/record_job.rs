//! Recording on the render thread: every frame rendered at full quality, reported with its
//! image so the viewport can show the recording as it goes; cancelled by a flag the UI sets
//! (then nothing stays on disk, see `crate::record`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::Cancelled;
use crate::avatar::pipeline::FramePipeline;
use crate::record::{Recorded, Recording, record};

#[derive(Debug, Clone)]
pub struct RecordJob {
    pub recording: Recording,
    pub cancel: Arc<AtomicBool>,
}

/// What the render thread says about a running recording.
pub enum RecordUpdate {
    Frame {
        index: usize,
        count: usize,
        image: image::RgbaImage,
    },
    Done(Recorded),
    Cancelled,
    Failed(String),
}

pub fn run(
    pipeline: Result<&mut FramePipeline, &String>,
    job: &RecordJob,
    stop: impl Fn() -> bool,
    mut report: impl FnMut(RecordUpdate),
) {
    let pipeline = match pipeline {
        Ok(pipeline) => pipeline,
        Err(e) => return report(RecordUpdate::Failed(format!("nothing to record: {e}"))),
    };
    let result = record(pipeline, &job.recording, |index, count, image| {
        report(RecordUpdate::Frame {
            index,
            count,
            image: image.clone(),
        });
        !(job.cancel.load(Ordering::Relaxed) || stop())
    });
    report(match result {
        Ok(recorded) => RecordUpdate::Done(recorded),
        Err(e) if e.is::<Cancelled>() => RecordUpdate::Cancelled,
        Err(e) => RecordUpdate::Failed(format!("{e:#}")),
    });
}
