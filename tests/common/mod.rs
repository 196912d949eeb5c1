//! Shared test helpers: the GPU every test in a binary shares, random rigs, seeds.
#![allow(dead_code)]

use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use burn::tensor::Tensor;
use neuralhead::gpu::{AdapterChoice, Gpu, kernel};
use neuralhead::raster::layout::PlaneLayout;
use neuralhead::rig::{Rig, synthetic};
use rand::{Rng, SeedableRng, rngs::StdRng};

/// How long a test waits on the render thread or a background job before calling it hung.
/// A hang guard, not a speed check: a fresh machine with a cold shader cache, two cores and
/// other tests beside it can take minutes for what takes seconds when warm.
pub const HANG_GUARD: Duration = Duration::from_secs(15 * 60);

/// Held by tests that each keep lavapipe busy for minutes (the viewer's render thread, an
/// inversion), so that they run one after another instead of starving each other's threads.
pub fn one_heavy_test_at_a_time() -> MutexGuard<'static, ()> {
    static HEAVY: Mutex<()> = Mutex::new(());
    // A failed test poisons the lock; the next one still runs.
    HEAVY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The shared GPU (lavapipe on CI). Set NEURALHEAD_ADAPTER to pick another. With no adapter
/// the tests fail with the message that says what to install; they never skip.
pub fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| {
        let choice: AdapterChoice = std::env::var("NEURALHEAD_ADAPTER")
            .unwrap_or_default()
            .parse()
            .unwrap();
        let gpu = Gpu::new(&choice).unwrap_or_else(|e| panic!("GPU tests need an adapter: {e}"));
        kernel::set_poison_outputs(true);
        eprintln!("test GPU: {}", gpu.describe());
        gpu
    })
}

/// A fresh seed per run (printed, so a failure can be replayed with NEURALHEAD_SEED).
pub fn rng(test: &str) -> StdRng {
    let seed = std::env::var("NEURALHEAD_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("{test}: seed {seed}");
    StdRng::seed_from_u64(seed)
}

/// A rig with FLAME 2020's structure and sizes, random contents.
pub fn random_flame_like_rig(rng: &mut StdRng) -> Rig {
    let rig = synthetic::flame_sized(rng.random(), synthetic::FLAME_VERTICES);
    rig.validate().unwrap();
    rig
}

/// A tensor's values, read back as f64.
pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data()
        .try_to_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

/// `n` values drawn uniformly from [−1, 1).
pub fn uniform(rng: &mut StdRng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// Every plane layout the project offers.
pub fn layouts() -> [PlaneLayout; 3] {
    [
        PlaneLayout::released(),
        PlaneLayout::front_only(),
        PlaneLayout::consistent(),
    ]
}

/// Runs the `neuralhead` binary with `args`.
pub fn neuralhead(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_neuralhead"))
        .args(args)
        .output()
        .unwrap()
}

/// A random Next3D generator (small widths, official names) whose StyleUNets take rasters of
/// `unet_resolution`, saved as `dir/generator.safetensors`.
pub fn write_random_generator(dir: &std::path::Path, unet_resolution: usize) -> std::path::PathBuf {
    use neuralhead::nets::random::{RandomGeneratorSpec, random_generator};
    let path = dir.join("generator.safetensors");
    let spec = RandomGeneratorSpec {
        unet_resolution,
        ..Default::default()
    };
    random_generator(&spec).save(&path).unwrap();
    path
}
