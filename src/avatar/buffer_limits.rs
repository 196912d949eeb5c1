//! Refuses a frame whose buffers the adapter cannot hold, before anything is allocated: wgpu
//! reports an oversized buffer as a validation error, which would take the render thread down.

use super::pipeline::FrameOptions;
use crate::render::decoder::FEATURES;

/// Bytes of one f32.
const F32: u64 = 4;

/// A buffer the marcher allocates for a frame, and its size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameBuffer {
    pub what: &'static str,
    pub bytes: u64,
}

/// The largest buffers a frame at `options` allocates: the rays' sample draws and the marched
/// image (features, colour, depth and weight per ray).
pub fn frame_buffers(options: &FrameOptions) -> [FrameBuffer; 2] {
    let rays = (options.resolution * options.resolution) as u64;
    let samples = options.samples_per_ray() as u64;
    [
        FrameBuffer {
            what: "the rays' sample draws",
            bytes: rays * samples * F32,
        },
        FrameBuffer {
            what: "the marched image",
            bytes: rays * (FEATURES as u64 + 4) * F32,
        },
    ]
}

/// An error naming the settings when a buffer of `options` exceeds what the adapter allows for
/// one buffer bound to a shader.
pub fn check(options: &FrameOptions, limits: &wgpu::Limits) -> anyhow::Result<()> {
    let allowed = limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size);
    let Some(largest) = frame_buffers(options)
        .into_iter()
        .filter(|b| b.bytes > allowed)
        .max_by_key(|b| b.bytes)
    else {
        return Ok(());
    };
    anyhow::bail!(
        "neural resolution N = {} at ×{} samples needs {} MiB for {}, but this GPU allows {} MiB \
         per buffer: lower the neural resolution or the samples per ray",
        options.resolution,
        options.samples_scale,
        largest.bytes.div_ceil(1 << 20),
        largest.what,
        allowed >> 20,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(resolution: usize, samples_scale: f64) -> FrameOptions {
        FrameOptions {
            resolution,
            samples_scale,
            ..FrameOptions::default()
        }
    }

    /// lavapipe's limit, and wgpu's default.
    fn limits_128_mib() -> wgpu::Limits {
        wgpu::Limits {
            max_storage_buffer_binding_size: 128 << 20,
            ..wgpu::Limits::default()
        }
    }

    #[test]
    fn n_1024_at_four_times_the_samples_is_refused_with_the_settings_named() {
        let error = check(&options(1024, 4.0), &limits_128_mib()).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("N = 1024"), "{message}");
        assert!(message.contains("×4 samples"), "{message}");
        // 1024² rays × (192 + 192) draws × 4 bytes.
        assert!(message.contains("1536 MiB"), "{message}");
        assert!(message.contains("allows 128 MiB"), "{message}");
    }

    #[test]
    fn the_viewers_defaults_fit_and_the_limit_is_the_smaller_of_both() {
        let limits = limits_128_mib();
        check(&FrameOptions::default(), &limits).unwrap();
        check(&options(256, 4.0), &limits).unwrap();
        assert!(check(&options(512, 2.0), &limits).is_err());
        let small_buffers = wgpu::Limits {
            max_buffer_size: 1 << 20,
            ..limits
        };
        assert!(check(&options(128, 1.0), &small_buffers).is_err());
    }
}
