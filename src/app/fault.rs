//! What the render thread does when a job panics: a wgpu validation or out-of-memory error
//! arrives as a panic (cubecl's error handler), and so does a bug. The job that failed is
//! answered on its own channel, so no panel waits for it forever, and the thread starts over.

use std::any::Any;

use super::bake_job::BakeUpdate;
use super::export_job::ExportUpdate;
use super::invert_job::InvertUpdate;
use super::record_job::RecordUpdate;
use super::refine_engine::{RefineJob, RefineUpdate};
use super::worker::{Job, Rendered, Request, StageTimes};

/// The text a panic carries.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    match (
        payload.downcast_ref::<&str>(),
        payload.downcast_ref::<String>(),
    ) {
        (Some(text), _) => text.to_string(),
        (_, Some(text)) => text.clone(),
        _ => "a panic without a message".into(),
    }
}

/// Whether the panic says the device itself is gone (cubecl marks a lost device "poisoned"
/// and fails every later operation), which no restart of the thread can mend.
pub fn is_device_lost(message: &str) -> bool {
    let message = message.to_lowercase();
    message.contains("device lost")
        || message.contains("devicelost")
        || message.contains("device was lost")
        || message.contains("poisoned")
}

/// The panel's text for a failed job.
pub fn describe(message: &str, device_lost: bool) -> String {
    match device_lost {
        true => format!(
            "The GPU device was lost ({message}). Nothing more can be drawn on it: restart \
             neuralhead (the button below does it; settings are kept)."
        ),
        false => format!(
            "The render thread failed ({message}) and was restarted; the last good frame \
             stays. If it happens again with these settings, lower the neural resolution or \
             the samples."
        ),
    }
}

/// Where the failure of a job is reported: the channel its panel reads.
pub enum Failed {
    Frame(Box<Request>),
    Refine(Box<RefineJob>),
    Invert,
    Record,
    Bake,
    Export,
    /// Showing another avatar (the error reaches the panel with the next frame).
    Avatar,
}

impl Failed {
    pub fn of(job: &Job) -> Self {
        match job {
            Job::Render(request) => Self::Frame(request.clone()),
            Job::Refine(job) => Self::Refine(job.clone()),
            Job::Invert(_) => Self::Invert,
            Job::Record(_) => Self::Record,
            Job::Bake(_) => Self::Bake,
            Job::Export(_) => Self::Export,
            Job::SetAvatar(_) => Self::Avatar,
            Job::InjectedPanic(request) => Self::Frame(request.clone()),
        }
    }
}

/// The senders of every panel's channel.
pub struct Channels {
    pub frames: std::sync::mpsc::Sender<Rendered>,
    pub refinements: std::sync::mpsc::Sender<RefineUpdate>,
    pub inversions: std::sync::mpsc::Sender<InvertUpdate>,
    pub recordings: std::sync::mpsc::Sender<RecordUpdate>,
    pub bakes: std::sync::mpsc::Sender<BakeUpdate>,
    pub exports: std::sync::mpsc::Sender<ExportUpdate>,
}

impl Channels {
    /// Tells the job's panel that it failed with `text`.
    pub fn report(&self, failed: Failed, text: String) {
        let _ = match failed {
            Failed::Frame(request) => self
                .frames
                .send(Rendered {
                    request: *request,
                    image: Err(text),
                    depth: None,
                    mesh: None,
                    times: StageTimes::default(),
                })
                .map_err(drop),
            Failed::Refine(job) => self
                .refinements
                .send(RefineUpdate {
                    job: *job,
                    result: Err(text),
                })
                .map_err(drop),
            Failed::Invert => self
                .inversions
                .send(InvertUpdate::Failed(text))
                .map_err(drop),
            Failed::Record => self
                .recordings
                .send(RecordUpdate::Failed(text))
                .map_err(drop),
            Failed::Bake => self.bakes.send(BakeUpdate::Failed(text)).map_err(drop),
            Failed::Export => self.exports.send(ExportUpdate::Failed(text)).map_err(drop),
            Failed::Avatar => {
                log::error!("{text}");
                Ok(())
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_payloads_of_both_kinds_are_read() {
        let literal = std::panic::catch_unwind(|| panic!("plain")).unwrap_err();
        assert_eq!(panic_message(&*literal), "plain");
        let formatted = std::panic::catch_unwind(|| panic!("size {}", 3)).unwrap_err();
        assert_eq!(panic_message(&*formatted), "size 3");
    }

    #[test]
    fn a_lost_device_is_told_apart_from_a_validation_error() {
        assert!(is_device_lost(
            "DevicePoisoned: Lost: the driver reset the GPU"
        ));
        assert!(!is_device_lost(
            "wgpu error: Validation Error: Buffer size 1610612736 is greater than the maximum"
        ));
    }
}
