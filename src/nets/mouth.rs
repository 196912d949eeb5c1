//! The mouth stitching of Next3D's synthesis: crop the (unmasked) front raster at the mouth
//! box, resize it to the mouth network's input (antialiased bilinear), and later resize the
//! network's patch back to the box and paste it into a copy of the front raster before the
//! blending network.

use burn::tensor::{Int, Tensor};

use super::NoiseMode;
use super::resize::resize_aa;
use super::styleunet::StyleUNet;

/// `[row0, row1, col0, col1]`, square, in raster pixels (as `gen_mouth_mask`).
pub type MouthBox = [i64; 4];

/// The box clipped to a `size`² raster, or `None` when nothing of it is inside.
pub fn clip(mouth: MouthBox, size: usize) -> Option<[usize; 4]> {
    let c = |v: i64| v.clamp(0, size as i64) as usize;
    let [r0, r1, c0, c1] = mouth.map(c);
    (r1 > r0 && c1 > c0).then_some([r0, r1, c0, c1])
}

/// Per sample, `front[b, :, rows, cols]` resized to `size`² → `[B, C, size, size]`.
pub fn crop_resized(front: &Tensor<4>, boxes: &[[usize; 4]], size: usize) -> Tensor<4> {
    let [_, c, _, _] = front.dims();
    let crops = boxes
        .iter()
        .enumerate()
        .map(|(b, &[r0, r1, c0, c1])| {
            let crop = front.clone().slice([b..b + 1, 0..c, r0..r1, c0..c1]);
            resize_aa(crop, size, size)
        })
        .collect();
    Tensor::cat(crops, 0)
}

/// Resizes each patch to its box (side `row1 − row0`, as the reference) and writes it into a
/// copy of `front`.
pub fn paste(front: Tensor<4>, patches: Tensor<4>, boxes: &[[usize; 4]]) -> Tensor<4> {
    let [_, c, _, _] = front.dims();
    boxes
        .iter()
        .enumerate()
        .fold(front, |front, (b, &[r0, r1, c0, _])| {
            let side = r1 - r0;
            let patch = resize_aa(patches.clone().narrow(0, b, 1), side, side);
            front.slice_assign([b..b + 1, 0..c, r0..r1, c0..c0 + side], patch)
        })
}

/// The front raster `[C, R, R]` after the mouth network (crop at the mouth box, resize, paste
/// back) and the blending network, both fed the EG3D ws `styles` (`[1, 14, w]`). A box outside
/// the raster skips the mouth network.
pub fn fix_front(
    mouth: &StyleUNet,
    blend: &StyleUNet,
    front: Tensor<3>,
    mouth_box: MouthBox,
    styles: Tensor<3>,
) -> Tensor<3> {
    let [c, r, _] = front.dims();
    let front = front.reshape([1, c, r, r]);
    let stitched = match clip(mouth_box, r) {
        Some(clipped) => {
            let boxes = [clipped];
            let crop = crop_resized(&front, &boxes, mouth.config().in_size);
            let patch = mouth.forward(crop, styles.clone(), NoiseMode::Const);
            paste(front, patch, &boxes)
        }
        None => front,
    };
    blend
        .forward(stitched, styles, NoiseMode::Const)
        .reshape([c, r, r])
}

/// The box the rasterizer computed on the GPU (`TriplaneRasterizer::mouth_box`), read back.
pub fn read_box(corners: Tensor<1, Int>) -> anyhow::Result<MouthBox> {
    let corners = corners
        .into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .map_err(|e| anyhow::anyhow!("reading the mouth box: {e:?}"))?;
    match corners[..] {
        [r0, r1, c0, c1] => Ok([r0, r1, c0, c1]),
        _ => anyhow::bail!("the mouth box has {} corners, expected 4", corners.len()),
    }
}
