//! Latent codes from integer seeds as the official scripts draw them:
//! `np.random.RandomState(seed).randn(1, z_dim)` (MT19937 seeded with `init_genrand`, 53-bit
//! doubles, the legacy polar Box–Muller that hands out its second value next), so that a seed
//! names the same identity here as in the paper's scripts.

use rand_mt::Mt;

pub fn numpy_randn(seed: u32, count: usize) -> Vec<f64> {
    let mut mt = Mt::new(seed);
    let mut double = move || {
        let (a, b) = (mt.next_u32() >> 5, mt.next_u32() >> 6);
        (a as f64 * 67_108_864.0 + b as f64) / 9_007_199_254_740_992.0
    };
    let mut out = Vec::with_capacity(count + 1);
    while out.len() < count {
        let (x1, x2, r2) = loop {
            let x1 = 2.0 * double() - 1.0;
            let x2 = 2.0 * double() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                break (x1, x2, r2);
            }
        };
        let f = (-2.0 * r2.ln() / r2).sqrt();
        // The legacy generator returns f·x2 first and keeps f·x1 for the next call.
        out.push(f * x2);
        out.push(f * x1);
    }
    out.truncate(count);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_numpy_random_state() {
        // np.random.RandomState(42).randn(5) and RandomState(0).randn(3)
        let want42 = [
            0.4967141530112327,
            -0.13826430117118466,
            0.6476885381006925,
            1.5230298564080254,
            -0.23415337472333597,
        ];
        for (a, b) in numpy_randn(42, 5).iter().zip(want42) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        let want0 = [1.764052345967664, 0.4001572083672233, 0.9787379841057392];
        for (a, b) in numpy_randn(0, 3).iter().zip(want0) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
}
