//! Bilinear sampling of an RGB image at pixel-index coordinates (pixel centres on integers),
//! with the two border rules MediaPipe's crops use.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Border {
    /// Outside the image is black (`BORDER_ZERO`).
    Zero,
    /// Outside the image repeats the edge pixels.
    Replicate,
}

/// RGB in 0…255 at (x, y).
pub fn bilinear(image: &image::RgbImage, x: f32, y: f32, border: Border) -> [f32; 3] {
    let (w, h) = (image.width() as i64, image.height() as i64);
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let pixel = |px: i64, py: i64| -> [f32; 3] {
        let inside = (0..w).contains(&px) && (0..h).contains(&py);
        if !inside && border == Border::Zero {
            return [0.0; 3];
        }
        let p = image.get_pixel(px.clamp(0, w - 1) as u32, py.clamp(0, h - 1) as u32);
        [p[0] as f32, p[1] as f32, p[2] as f32]
    };
    let (x0, y0) = (x0 as i64, y0 as i64);
    let (a, b, c, d) = (
        pixel(x0, y0),
        pixel(x0 + 1, y0),
        pixel(x0, y0 + 1),
        pixel(x0 + 1, y0 + 1),
    );
    std::array::from_fn(|i| {
        let top = a[i] + (b[i] - a[i]) * fx;
        let bottom = c[i] + (d[i] - c[i]) * fx;
        top + (bottom - top) * fy
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_and_applies_the_border_rule() {
        let image = image::RgbImage::from_fn(2, 1, |x, _| image::Rgb([x as u8 * 100, 0, 0]));
        assert_eq!(bilinear(&image, 0.25, 0.0, Border::Zero)[0], 25.0);
        assert_eq!(bilinear(&image, 1.5, 0.0, Border::Replicate)[0], 100.0);
        assert_eq!(bilinear(&image, 1.5, 0.0, Border::Zero)[0], 50.0);
        assert_eq!(bilinear(&image, -3.0, 0.0, Border::Zero)[0], 0.0);
    }
}
