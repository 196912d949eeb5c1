//! The One Euro filter (Casiez, Roussel and Vogel, CHI 2012): a low-pass filter whose cut-off
//! rises with the signal's speed, so a still face does not jitter while a blink or a jaw
//! opening passes with little lag.

use std::f64::consts::TAU;

/// The filter's settings, shared by every tracked channel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OneEuroSettings {
    /// Cut-off (Hz) of a still signal: lower is smoother and laggier.
    pub min_cutoff: f64,
    /// How fast the cut-off rises with speed: higher follows quick moves more closely.
    pub beta: f64,
    /// Cut-off (Hz) of the speed estimate.
    pub derivative_cutoff: f64,
}

impl Default for OneEuroSettings {
    fn default() -> Self {
        Self {
            min_cutoff: 1.5,
            beta: 0.5,
            derivative_cutoff: 1.0,
        }
    }
}

/// The lids' cut-off over the other channels'. A blink closes and opens within a tenth of a
/// second or two, and its reading moves a few tenths (the landmark model never sees a lid
/// fully shut), too little for the speed term to open the filter: at the shared cut-off a
/// four-frame blink of 0.3 was at 60 % of its height by its second frame and still at 40 %
/// two frames after it ended (the test below).
const EYELID_SPEEDUP: f64 = 8.0;

/// One channel's state.
#[derive(Debug, Clone, Copy, Default)]
pub struct OneEuro {
    last: Option<(f64, f64)>,
}

impl OneEuro {
    /// The filtered value of `value`, `dt` seconds after the previous one.
    pub fn filter(&mut self, value: f64, dt: f64, settings: &OneEuroSettings) -> f64 {
        let Some((previous, speed)) = self.last else {
            self.last = Some((value, 0.0));
            return value;
        };
        let alpha = |cutoff: f64| {
            let tau = 1.0 / (TAU * cutoff);
            1.0 / (1.0 + tau / dt)
        };
        let raw_speed = (value - previous) / dt;
        let speed = speed + alpha(settings.derivative_cutoff) * (raw_speed - speed);
        let cutoff = settings.min_cutoff + settings.beta * speed.abs();
        let filtered = previous + alpha(cutoff) * (value - previous);
        self.last = Some((filtered, speed));
        filtered
    }
}

/// A One Euro filter per named channel.
#[derive(Debug, Clone, Default)]
pub struct Smoother {
    pub settings: OneEuroSettings,
    channels: std::collections::BTreeMap<String, OneEuro>,
}

impl Smoother {
    pub fn new(settings: OneEuroSettings) -> Self {
        Self {
            settings,
            channels: Default::default(),
        }
    }

    pub fn filter(&mut self, channel: &str, value: f64, dt: f64) -> f64 {
        let mut settings = self.settings;
        if channel.starts_with("eyeBlink") {
            settings.min_cutoff *= EYELID_SPEEDUP;
        }
        self.channels
            .entry(channel.to_string())
            .or_default()
            .filter(value, dt, &settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Noise on a still value is damped; a step is followed within a few frames.
    #[test]
    fn damps_jitter_and_follows_a_step() {
        let settings = OneEuroSettings::default();
        let mut filter = OneEuro::default();
        let dt = 1.0 / 30.0;
        let noisy = |i: usize| 0.2 + if i.is_multiple_of(2) { 0.02 } else { -0.02 };
        let out: Vec<f64> = (0..60)
            .map(|i| filter.filter(noisy(i), dt, &settings))
            .collect();
        let late_jitter = out[40..]
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f64::max);
        assert!(late_jitter < 0.02, "jitter {late_jitter} (input 0.04)");
        // A blink: 0.2 → 1.0, reached within 80 % in four frames.
        let stepped: Vec<f64> = (0..4).map(|_| filter.filter(1.0, dt, &settings)).collect();
        assert!(stepped[3] > 0.2 + 0.8 * 0.8, "{stepped:?}");
    }

    /// A blink as the landmark model reads it — a few tenths, four frames at 25 frames/s —
    /// is at 80 % of its height by its second frame through the lids' filter and under 20 %
    /// two frames after it ends; the shared settings give 60 % and 40 % (another channel).
    #[test]
    fn a_short_shallow_blink_passes_the_lids_filter() {
        let dt = 1.0 / 25.0;
        let (start, end, height) = (5, 9, 0.3);
        let pulse = |i: usize| {
            if (start..end).contains(&i) {
                height
            } else {
                0.0
            }
        };
        let filtered = |channel: &str| -> Vec<f64> {
            let mut smoother = Smoother::new(OneEuroSettings::default());
            (0..20)
                .map(|i| smoother.filter(channel, pulse(i), dt))
                .collect()
        };
        let passes = |out: &[f64]| out[start + 1] > 0.8 * height && out[end + 1] < 0.2 * height;
        let (lid, other) = (filtered("eyeBlink_L"), filtered("mouthSmile_L"));
        eprintln!(
            "lid {:?}\nother {:?}",
            &lid[start..end + 2],
            &other[start..end + 2]
        );
        assert!(passes(&lid), "lid {lid:?}");
        assert!(!passes(&other), "other {other:?}");
    }
}
