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
