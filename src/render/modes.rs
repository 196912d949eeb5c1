//! Turning a rendered frame into pixels: RGB (the first three features), depth
//! (colour-mapped), accumulated opacity, or chosen feature channels as false colour.

/// What to show of a neural render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenderMode {
    Rgb,
    Depth,
    Opacity,
    Features([usize; 3]),
}

/// A rendered frame read back to the CPU: features `[C, N, N]`, depth and opacity `[N, N]`.
pub struct Frame {
    pub channels: usize,
    pub size: usize,
    pub features: Vec<f32>,
    pub depth: Vec<f32>,
    pub opacity: Vec<f32>,
    /// The super-resolution network's image, when the avatar has one and it was asked for.
    pub super_resolved: Option<SuperResolved>,
}

/// An RGB image `[3, size, size]` in [−1, 1] (the generator's `image`).
pub struct SuperResolved {
    pub size: usize,
    pub rgb: Vec<f32>,
}

impl SuperResolved {
    /// As the reference saves it: (x·127.5 + 128) clamped to [0, 255].
    pub fn to_image(&self) -> image::RgbaImage {
        let plane = self.size * self.size;
        let byte = |v: f32| (v * 127.5 + 128.0).clamp(0.0, 255.0) as u8;
        image::RgbaImage::from_fn(self.size as u32, self.size as u32, |x, y| {
            let p = y as usize * self.size + x as usize;
            let [r, g, b] = [0, 1, 2].map(|c| byte(self.rgb[c * plane + p]));
            image::Rgba([r, g, b, 255])
        })
    }
}

/// Pixels seen through less opacity than this are background in the depth view.
const DEPTH_MIN_OPACITY: f32 = 0.5;
/// A perceptual dark-blue → yellow ramp for depth (near = bright).
const RAMP: [[f32; 3]; 5] = [
    [0.99, 0.91, 0.14],
    [0.53, 0.82, 0.33],
    [0.13, 0.57, 0.55],
    [0.23, 0.32, 0.55],
    [0.27, 0.0, 0.33],
];

pub fn to_image(frame: &Frame, mode: RenderMode) -> image::RgbaImage {
    let n = frame.size;
    let plane = n * n;
    let pixels: Vec<[f32; 3]> = match mode {
        RenderMode::Rgb => (0..plane)
            .map(|p| [0, 1, 2].map(|c| (frame.features[c * plane + p] + 1.0) * 0.5))
            .collect(),
        RenderMode::Opacity => frame.opacity.iter().map(|&a| [a; 3]).collect(),
        RenderMode::Depth => {
            let seen =
                |p: usize| frame.opacity[p] >= DEPTH_MIN_OPACITY && frame.depth[p].is_finite();
            let (lo, hi) = (0..plane)
                .filter(|&p| seen(p))
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), p| {
                    (lo.min(frame.depth[p]), hi.max(frame.depth[p]))
                });
            (0..plane)
                .map(|p| {
                    if seen(p) {
                        ramp((frame.depth[p] - lo) / (hi - lo).max(1e-6))
                    } else {
                        [0.05; 3]
                    }
                })
                .collect()
        }
        RenderMode::Features(channels) => {
            let ranges = channels.map(|c| {
                let values = &frame.features[c * plane..(c + 1) * plane];
                values
                    .iter()
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| {
                        (lo.min(x), hi.max(x))
                    })
            });
            (0..plane)
                .map(|p| {
                    [0, 1, 2].map(|k| {
                        let (lo, hi) = ranges[k];
                        (frame.features[channels[k] * plane + p] - lo) / (hi - lo).max(1e-6)
                    })
                })
                .collect()
        }
    };
    let mut image = image::RgbaImage::new(n as u32, n as u32);
    for (p, rgb) in pixels.iter().enumerate() {
        let [r, g, b] = rgb.map(|x| (x.clamp(0.0, 1.0) * 255.0).round() as u8);
        image.put_pixel((p % n) as u32, (p / n) as u32, image::Rgba([r, g, b, 255]));
    }
    image
}

fn ramp(t: f32) -> [f32; 3] {
    let x = t.clamp(0.0, 1.0) * (RAMP.len() - 1) as f32;
    let i = (x.floor() as usize).min(RAMP.len() - 2);
    let f = x - i as f32;
    [0, 1, 2].map(|c| RAMP[i][c] * (1.0 - f) + RAMP[i + 1][c] * f)
}

/// Depth units per world unit in the 16-bit depth PNG: the default orbit radius 2.7 becomes
/// 27 000, and depths up to 6.5 fit.
pub const DEPTH_PNG_SCALE: f32 = 10_000.0;

/// The depth as a 16-bit image: camera depth × [`DEPTH_PNG_SCALE`], 0 where the ray saw
/// less than half opacity (background).
pub fn depth_png(frame: &Frame) -> image::ImageBuffer<image::Luma<u16>, Vec<u16>> {
    let n = frame.size as u32;
    image::ImageBuffer::from_fn(n, n, |x, y| {
        let p = (y * n + x) as usize;
        let seen = frame.opacity[p] >= DEPTH_MIN_OPACITY && frame.depth[p].is_finite();
        let value = if seen {
            (frame.depth[p] * DEPTH_PNG_SCALE)
                .round()
                .clamp(1.0, 65_535.0) as u16
        } else {
            0
        };
        image::Luma([value])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_png_keeps_metric_depth_and_marks_background() {
        let frame = Frame {
            channels: 0,
            size: 2,
            features: Vec::new(),
            depth: vec![2.5, 3.1234, f32::INFINITY, 2.8],
            opacity: vec![1.0, 0.9, 1.0, 0.1],
            super_resolved: None,
        };
        let image = depth_png(&frame);
        let values: Vec<u16> = image.pixels().map(|p| p[0]).collect();
        assert_eq!(values, [25_000, 31_234, 0, 0]);
    }
}
