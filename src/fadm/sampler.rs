//! The diffusion schedule (T = 100, linear β from 0.001 to 0.2, ε-prediction, images in
//! [0, 1]) and the sampler presets: the reference's 100-step DDIM η = 1 with fixed noise, and
//! deterministic DDIM η = 0 presets, one of which starts from the noised coarse frame.

use crate::nets::weights::Weights;

/// The reference's step count.
pub const STEPS: usize = 100;

/// ᾱ per step and what the reference's update needs (`alphas_cumprod_prev`, `ddim_c1`).
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub alphas_cumprod: Vec<f64>,
    pub alphas_cumprod_prev: Vec<f64>,
    pub ddim_c1: Vec<f64>,
}

impl Schedule {
    /// The reference's linear schedule: β from 1000/T·1e-4 to 1000/T·0.02, in f64.
    pub fn linear(steps: usize) -> Self {
        let scale = 1000.0 / steps as f64;
        let (start, end) = (scale * 1e-4, scale * 0.02);
        let betas = (0..steps).map(|i| start + (end - start) * i as f64 / (steps - 1) as f64);
        let mut alphas_cumprod = Vec::with_capacity(steps);
        let mut product = 1.0;
        for beta in betas {
            product *= 1.0 - beta;
            alphas_cumprod.push(product);
        }
        Self::from_alphas_cumprod(alphas_cumprod)
    }

    fn from_alphas_cumprod(alphas_cumprod: Vec<f64>) -> Self {
        let alphas_cumprod_prev: Vec<f64> = std::iter::once(1.0)
            .chain(alphas_cumprod[..alphas_cumprod.len() - 1].iter().copied())
            .collect();
        let ddim_c1 = alphas_cumprod
            .iter()
            .zip(&alphas_cumprod_prev)
            .map(|(&a, &p)| ((1.0 - a / p) * (1.0 - p) / (1.0 - a)).sqrt())
            .collect();
        Self {
            alphas_cumprod,
            alphas_cumprod_prev,
            ddim_c1,
        }
    }

    /// The checkpoint's own buffers (f32, as the reference computes with them) when present,
    /// else the linear schedule.
    pub fn from_weights(weights: &Weights) -> Self {
        let buffer = |name: &str| -> Option<Vec<f64>> {
            let values = weights.values(&format!("diffusion.{name}")).ok()?;
            Some(values.iter().map(|&v| v as f64).collect())
        };
        match (
            buffer("alphas_cumprod"),
            buffer("alphas_cumprod_prev"),
            buffer("ddim_c1"),
        ) {
            (Some(a), Some(p), Some(c)) if a.len() == p.len() && a.len() == c.len() => Self {
                alphas_cumprod: a,
                alphas_cumprod_prev: p,
                ddim_c1: c,
            },
            _ => Self::linear(STEPS),
        }
    }

    pub fn len(&self) -> usize {
        self.alphas_cumprod.len()
    }

    pub fn is_empty(&self) -> bool {
        self.alphas_cumprod.is_empty()
    }
}

/// One network evaluation and the update after it:
/// `x ← √ᾱ_prev·x0 + c1·z + √(1 − ᾱ_prev − c1²)·ε`, with `x0 = (x − √(1−ᾱ)·ε)/√ᾱ`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub t: usize,
    pub alpha: f64,
    pub alpha_prev: f64,
    /// The fresh-noise coefficient (the DDPM posterior σ for the reference; 0 for DDIM η = 0).
    pub c1: f64,
}

impl Step {
    /// Coefficients `(of x, of ε)` giving x0.
    pub fn x0_coefficients(&self) -> (f64, f64) {
        let root = self.alpha.sqrt();
        (1.0 / root, -(1.0 - self.alpha).sqrt() / root)
    }

    /// Coefficients `(of x0, of z, of ε)` giving the next state.
    pub fn update_coefficients(&self) -> (f64, f64, f64) {
        let c2 = (1.0 - self.alpha_prev - self.c1 * self.c1).max(0.0).sqrt();
        (self.alpha_prev.sqrt(), self.c1, c2)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Start {
    /// Pure seeded Gaussian noise (the reference).
    Noise,
    /// `√ᾱ_t·coarse + √(1−ᾱ_t)·z`: keeps the coarse frame's layout and colour (SDEdit).
    NoisedCoarse { t: usize },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub start: Start,
    pub steps: Vec<Step>,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum SamplerPreset {
    /// The reference: 100 steps, DDIM η = 1 with seeded noise per step.
    Paper,
    /// DDIM η = 0 on 25 steps (t = 99, 95, …, 3).
    Quality,
    /// DDIM η = 0 on 10 steps (t = 99, 89, …, 9).
    #[default]
    Default,
    /// The coarse frame noised to t = 29, then DDIM η = 0 on t = 29, 22, 15, 8, 2.
    Fast,
}

impl SamplerPreset {
    pub const ALL: [SamplerPreset; 4] = [
        SamplerPreset::Default,
        SamplerPreset::Fast,
        SamplerPreset::Quality,
        SamplerPreset::Paper,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SamplerPreset::Paper => "paper (100 steps)",
            SamplerPreset::Quality => "quality (25 steps)",
            SamplerPreset::Default => "default (10 steps)",
            SamplerPreset::Fast => "fast (5 steps from the render)",
        }
    }

    pub fn plan(self, schedule: &Schedule) -> Plan {
        let last = schedule.len() - 1;
        match self {
            SamplerPreset::Paper => Plan {
                start: Start::Noise,
                steps: (0..=last)
                    .rev()
                    .map(|t| Step {
                        t,
                        alpha: schedule.alphas_cumprod[t],
                        alpha_prev: schedule.alphas_cumprod_prev[t],
                        c1: schedule.ddim_c1[t],
                    })
                    .collect(),
            },
            SamplerPreset::Quality => ddim(
                schedule,
                Start::Noise,
                (0..25).map(|k| last - 4 * k).collect(),
            ),
            SamplerPreset::Default => ddim(
                schedule,
                Start::Noise,
                (0..10).map(|k| last - 10 * k).collect(),
            ),
            SamplerPreset::Fast => {
                let ts: Vec<usize> = [29, 22, 15, 8, 2]
                    .into_iter()
                    .filter(|&t| t <= last)
                    .collect();
                ddim(schedule, Start::NoisedCoarse { t: ts[0] }, ts)
            }
        }
    }
}

/// Deterministic DDIM over descending `ts`; after the last step ᾱ = 1, so the result is x0.
fn ddim(schedule: &Schedule, start: Start, ts: Vec<usize>) -> Plan {
    let steps = ts
        .iter()
        .enumerate()
        .map(|(k, &t)| Step {
            t,
            alpha: schedule.alphas_cumprod[t],
            alpha_prev: ts
                .get(k + 1)
                .map_or(1.0, |&next| schedule.alphas_cumprod[next]),
            c1: 0.0,
        })
        .collect();
    Plan { start, steps }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_schedule_matches_the_reference_vectors() {
        let s = Schedule::linear(STEPS);
        for (t, want) in [
            (0, 0.999),
            (9, 0.90381),
            (19, 0.66537),
            (29, 0.39727),
            (49, 0.074197),
        ] {
            assert!((s.alphas_cumprod[t] - want).abs() < 5e-6, "ᾱ_{t}");
        }
        assert!((s.alphas_cumprod[99] / 2.039e-5 - 1.0).abs() < 1e-3);
        for (t, want) in [(1, 0.027408), (50, 0.31731), (99, 0.44721)] {
            assert!((s.ddim_c1[t] - want).abs() < 5e-6, "c1_{t}");
        }
        assert_eq!(s.ddim_c1[0], 0.0);
    }

    #[test]
    fn presets_descend_and_end_at_x0() {
        let s = Schedule::linear(STEPS);
        for preset in SamplerPreset::ALL {
            let plan = preset.plan(&s);
            assert!(plan.steps.windows(2).all(|w| w[0].t > w[1].t), "{preset:?}");
            assert_eq!(plan.steps.last().unwrap().alpha_prev, 1.0, "{preset:?}");
        }
        let default: Vec<usize> = SamplerPreset::Default
            .plan(&s)
            .steps
            .iter()
            .map(|s| s.t)
            .collect();
        assert_eq!(default, [99, 89, 79, 69, 59, 49, 39, 29, 19, 9]);
        let quality = SamplerPreset::Quality.plan(&s).steps;
        assert_eq!((quality.len(), quality[24].t), (25, 3));
        assert_eq!(
            SamplerPreset::Fast.plan(&s).start,
            Start::NoisedCoarse { t: 29 }
        );
        assert_eq!(SamplerPreset::Paper.plan(&s).steps.len(), 100);
    }
}
