//! Sharper when the hand rests: once the full frame at N is on screen and nothing moves, the
//! viewer asks for the same frame at 2N, then 4N, each shown as it lands, for as long as the
//! adapter's measured speed says the next one arrives within `BUDGET_MS` (a ray count 4×
//! the last: 128 on lavapipe, 512 on a GPU). A moving hand replaces the pending request
//! with a quick one (the worker's requests are latest-wins).

use super::worker::Request;

/// The largest N a resting frame is sharpened to.
pub const LIMIT: usize = 512;
/// The longest a sharper frame may be predicted to take (milliseconds).
pub const BUDGET_MS: f64 = 2500.0;

/// Whether `shown` is the frame `full` asks for, or a sharper one of the same state.
pub fn covers(shown: &Request, full: &Request) -> bool {
    let same_but_resolution = crate::avatar::pipeline::FrameOptions {
        resolution: full.options.resolution,
        ..shown.options
    } == full.options;
    !shown.preview
        && shown.same_state(full)
        && same_but_resolution
        && shown.options.resolution >= full.options.resolution
}

/// The next sharper frame after `shown`, which took `shown_ms`, or `None` when it would be
/// too slow, is past `LIMIT`, or `shown` is not yet the full frame of `full`'s state.
/// Frames through the super-resolution network are not sharpened: its output size is fixed.
pub fn next(shown: &Request, shown_ms: f64, full: &Request) -> Option<Request> {
    if !covers(shown, full) || full.options.super_resolution {
        return None;
    }
    let resolution = shown.options.resolution * 2;
    // Rays grow with N², and so does the march that dominates the frame.
    let predicted_ms = shown_ms * 4.0;
    (resolution <= LIMIT && predicted_ms <= BUDGET_MS).then(|| Request {
        options: crate::avatar::pipeline::FrameOptions {
            resolution,
            ..shown.options
        },
        ..full.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::worker::View;
    use crate::avatar::pipeline::FrameOptions;
    use crate::render::modes::RenderMode;

    fn full(resolution: usize) -> Request {
        Request {
            params: Default::default(),
            camera: Default::default(),
            options: FrameOptions {
                resolution,
                ..Default::default()
            },
            view: View::Neural(RenderMode::Rgb),
            preview: false,
            overlay: false,
        }
    }

    /// The ladder each adapter climbs from N = 64, with its frame time growing 4× per step.
    fn ladder(ms_at_64: f64) -> Vec<usize> {
        let wanted = full(64);
        let (mut shown, mut ms) = (wanted.clone(), ms_at_64);
        let mut steps = vec![64];
        while let Some(sharper) = next(&shown, ms, &wanted) {
            assert!(covers(&sharper, &wanted));
            steps.push(sharper.options.resolution);
            (shown, ms) = (sharper, ms * 4.0);
        }
        steps
    }

    #[test]
    fn lavapipe_stops_at_128_and_a_gpu_goes_to_the_limit() {
        // Lavapipe's full frame at 64 is ~400 ms; a GPU's a few.
        assert_eq!(ladder(400.0), [64, 128]);
        assert_eq!(ladder(5.0), [64, 128, 256, 512]);
        assert_eq!(ladder(900.0), [64]);
    }

    #[test]
    fn previews_and_other_states_are_not_sharpened() {
        let wanted = full(64);
        let mut preview = wanted.clone();
        preview.preview = true;
        assert!(next(&preview, 10.0, &wanted).is_none());
        let mut elsewhere = wanted.clone();
        elsewhere.camera.yaw += 0.1;
        assert!(next(&elsewhere, 10.0, &wanted).is_none());
        let mut with_sr = wanted.clone();
        with_sr.options.super_resolution = true;
        assert!(next(&with_sr, 10.0, &with_sr).is_none());
        // A sharper frame already shown still counts as the full one.
        let sharper = next(&wanted, 10.0, &wanted).unwrap();
        assert!(covers(&sharper, &wanted) && !covers(&wanted, &sharper));
    }
}
