//! One frame's refinement, run step by step so that a caller can show each intermediate x0
//! estimate and stop between steps. Noise is seeded, so a still frame refines the same way
//! every time (and, as in the reference, the same noise serves every frame).

use burn::tensor::{Device, Tensor, TensorData};

use super::condition::attribute_tensor;
use super::model::{Conditioning, Fadm};
use super::sampler::{Plan, SamplerPreset, Start, Step};
use crate::nets::seed::numpy_randn;

/// Seeded standard normal noise of shape `[1, 3, size, size]`; `stream` 0 is the start, step
/// t uses stream t + 1.
pub fn seeded_noise(seed: u32, stream: u32, size: usize, device: &Device) -> Tensor<4> {
    let stream_seed = seed ^ stream.wrapping_mul(0x9E37_79B9);
    let values: Vec<f32> = numpy_randn(stream_seed, 3 * size * size)
        .into_iter()
        .map(|v| v as f32)
        .collect();
    Tensor::from_data(TensorData::new(values, [1, 3, size, size]), device)
}

/// The sampler update after one ε: returns (next state, x0 estimate).
pub fn update(
    x: Tensor<4>,
    eps: Tensor<4>,
    step: &Step,
    noise: Option<Tensor<4>>,
) -> (Tensor<4>, Tensor<4>) {
    let (of_x, of_eps) = step.x0_coefficients();
    let x0 = x * of_x + eps.clone() * of_eps;
    let (keep, fresh, direction) = step.update_coefficients();
    let mut next = x0.clone() * keep + eps * direction;
    if let Some(z) = noise.filter(|_| fresh != 0.0) {
        next = next + z * fresh;
    }
    (next, x0)
}

pub struct Refinement {
    conditioning: Conditioning,
    plan: Plan,
    state: Tensor<4>,
    estimate: Tensor<4>,
    done: usize,
    seed: u32,
}

impl Refinement {
    /// `coarse` is the frame `[1, 3, S, S]` in [0, 1] at the model's size; `attribute` the
    /// 56-d source − driving difference.
    pub fn new(
        model: &Fadm,
        coarse: Tensor<4>,
        attribute: [f32; 56],
        preset: SamplerPreset,
        seed: u32,
    ) -> Self {
        let device = coarse.device();
        let size = coarse.dims()[2];
        let conditioning = model.condition(&coarse, attribute_tensor(&[attribute], &device));
        let plan = preset.plan(&model.schedule);
        let noise = seeded_noise(seed, 0, size, &device);
        let state = match plan.start {
            Start::Noise => noise,
            Start::NoisedCoarse { t } => {
                let a = model.schedule.alphas_cumprod[t];
                coarse.clone() * a.sqrt() + noise * (1.0 - a).sqrt()
            }
        };
        Self {
            conditioning,
            plan,
            state,
            estimate: coarse,
            done: 0,
            seed,
        }
    }

    pub fn steps(&self) -> usize {
        self.plan.steps.len()
    }

    pub fn steps_done(&self) -> usize {
        self.done
    }

    pub fn is_finished(&self) -> bool {
        self.done == self.plan.steps.len()
    }

    /// Runs the next network evaluation and update; false once finished.
    pub fn step(&mut self, model: &Fadm) -> bool {
        let Some(step) = self.plan.steps.get(self.done).copied() else {
            return false;
        };
        let device = self.state.device();
        let eps = model.eps(self.state.clone(), &[step.t], &self.conditioning);
        let size = self.state.dims()[2];
        let noise =
            (step.c1 != 0.0).then(|| seeded_noise(self.seed, step.t as u32 + 1, size, &device));
        let (next, x0) = update(self.state.clone(), eps, &step, noise);
        self.state = next;
        self.estimate = x0;
        self.done += 1;
        true
    }

    /// The current x0 estimate clamped to [0, 1] (the coarse frame before the first step; the
    /// result once finished).
    pub fn estimate(&self) -> Tensor<4> {
        self.estimate.clone().clamp(0.0, 1.0)
    }
}
