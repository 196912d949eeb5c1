//! A hand-built test avatar that makes the pipeline's geometry visible: the rig's colour
//! texture becomes a head-shaped volume. The decoder sees the mean of the three planes'
//! features, and this avatar uses the first eight texture channels:
//!
//! * 0, "surface here" (+4 on the texture, −4 in the static planes): density only where the
//!   mean is high — where all three views saw the surface, the visual hull of the head;
//! * 1, how far forward the texel's surface lies at rest (its z across the rig's depth,
//!   −1 at the back, +1 at the front), frozen;
//! * 2, "inner" (+3 on texels no raster view sees at rest, `inner_texels.rs`), frozen;
//! * 3–5, the colour as logits;
//! * 6–8, the same colour for texels behind the front (the away set), zero for the front;
//! * 9–11, the same colour for inner texels (the inner set), zero for the rest.
//!
//! Why the last two sets: the front plane at (x, y) holds the face for every point along
//! the line of sight, the back of the head too, so a plain mean of the planes draws a third
//! of the face on the back of the head. Where the planes' mean depth says the point is not
//! at the front, the decoder takes the away set, to which the face contributes nothing,
//! scaled by 3/2 for the plane left out. (Depth rather than the normal's direction: the
//! front plane's value must not vary across the face, or the switch draws the face's
//! features on the back.) The switch is a pair of softplus units per colour:
//! softplus(a + m) − softplus(a) is m for a ≫ |m| and 0 for a ≪ −|m|.
//!
//! The inner set answers the same trap inside the head: when the jaw opens, the front plane
//! at the gap holds the teeth and tongue, but the side and top planes there hold the cheek
//! and the nose, and their mean is skin. Where the front plane holds an inner texel (the
//! mean "inner" channel near 1) and the point is at the front, the decoder takes the inner
//! set, to which only that plane contributes, ×3; the colour set is switched off there.

use super::inner_texels::inner_texels;
use super::{Array, Avatar, RigRef, SourceState, plane_axes_for};
use crate::invert::uv_fill::{Islands, push_pull};
use crate::raster::layout::PlaneLayout;
use crate::render::decoder::{FEATURES, HIDDEN};
use crate::rig::Rig;

const SURFACE: f32 = 4.0;
/// Keeps the density's hidden unit in softplus's linear range.
const OFFSET: f32 = 10.0;
/// σ = DENSITY_GAIN · (mean surface feature − DENSITY_THRESHOLD). Channel 0 is +4 where a
/// plane's views saw the surface and −4 elsewhere, but the side slot sums the left and right
/// views (+8 where both saw it): the mean of the three planes is at least 4 inside the hull
/// and at most 8/3 outside it (two planes covered, one of them the side's 8). The threshold
/// sits between, or a ghost of the head's front or sides appears wherever two planes agree.
const DENSITY_GAIN: f32 = 30.0;
const DENSITY_THRESHOLD: f32 = 10.0 / 3.0;
const PLANE_SIZE: usize = 64;

/// The channels described above.
pub const SURFACE_CHANNEL: usize = 0;
pub const DEPTH_CHANNEL: usize = 1;
pub const INNER_CHANNEL: usize = 2;
pub const COLOUR_CHANNELS: std::ops::Range<usize> = 3..6;
pub const AWAY_CHANNELS: std::ops::Range<usize> = 6..9;
pub const INNER_COLOURS: std::ops::Range<usize> = 9..12;
/// The inner channel's value on inner texels: their mean over the three planes is 1 where
/// the front plane alone holds them.
const INNER: f32 = 3.0;
/// A texel counts as inner for the sets above this share (texels between islands blend).
const INNER_SHARE: f32 = 0.5;

/// Whether a texel with this inner-channel value belongs to the inner set.
pub fn is_inner(channel_value: f32) -> bool {
    channel_value > INNER_SHARE * INNER
}
/// A texel deeper forward than this is "the front" and stays out of the away set.
pub const FRONT: f32 = 0.3;
/// The switch: a = DEPTH_GAIN · (mean depth − DEPTH_THRESHOLD). On the face the three
/// planes see points at about the same depth (mean ≈ 0.8); behind it the front plane's
/// +0.8 meets two values near −0.9 (mean ≈ −0.3).
const DEPTH_GAIN: f32 = 20.0;
const DEPTH_THRESHOLD: f32 = 0.3;
/// The second set misses the front plane's share.
const AWAY_SCALE: f32 = 1.5;
/// The inner set: only the front plane's share.
const INNER_SCALE: f32 = 3.0;
/// The switches by the mean inner channel m (0 on the skin, 1 at an opening):
/// colour set a = DEPTH_GAIN·(depth − DEPTH_THRESHOLD) − DEPTH_GAIN·COLOUR_OFF·m, off at
/// openings for every front depth (≤ 1); inner set a = INNER_GAIN·(depth − INNER_DEPTH) +
/// INNER_GAIN·INNER_ON·(m − ½): at the front of an opening (mean depth ≥ 0.6) on, on the
/// skin (m = 0, depth ≤ 1) and behind an opening (m = 1, depth ≈ −0.3) off.
const COLOUR_OFF: f32 = 1.0;
const INNER_DEPTH: f32 = 0.6;
const INNER_ON: f32 = 1.3;
/// Steeper than DEPTH_GAIN: the inner set's logits are ×3 and must not leak onto the skin.
const INNER_GAIN: f32 = 60.0;

fn logit(x: f32) -> f32 {
    let x = x.clamp(0.02, 0.98);
    (x / (1.0 - x)).ln()
}

pub fn painted_avatar(rig: &Rig, rig_ref: RigRef) -> Avatar {
    // The rig's colour texture, or mid grey.
    let (size, rgb): (usize, Vec<[f32; 3]>) = match &rig.albedo {
        Some(img) if img.channels == 3 && img.width == img.height => (
            img.width,
            img.data
                .chunks_exact(3)
                .map(|c| [c[0], c[1], c[2]].map(|x| f32::from(x) / 255.0))
                .collect(),
        ),
        _ => (64, vec![[0.6, 0.6, 0.6]; 64 * 64]),
    };
    painted_with_colours(rig, rig_ref, size, &rgb)
}

/// The painted avatar with `rgb` (a `size`² atlas, 0…1) for its colours.
pub fn painted_with_colours(rig: &Rig, rig_ref: RigRef, size: usize, rgb: &[[f32; 3]]) -> Avatar {
    let plane = size * size;
    let depth = texel_depth(rig, size);
    let inner = inner_texels(rig, size);
    let mut texture = vec![0.0f32; FEATURES * plane];
    for (p, colour) in rgb.iter().enumerate() {
        texture[SURFACE_CHANNEL * plane + p] = SURFACE;
        texture[DEPTH_CHANNEL * plane + p] = depth[p];
        texture[INNER_CHANNEL * plane + p] = INNER * inner[p];
        let inner_texel = is_inner(texture[INNER_CHANNEL * plane + p]);
        for c in 0..3 {
            let value = logit(colour[c]);
            texture[(COLOUR_CHANNELS.start + c) * plane + p] = value;
            if inner_texel {
                texture[(INNER_COLOURS.start + c) * plane + p] = value;
            } else if depth[p] < FRONT {
                texture[(AWAY_CHANNELS.start + c) * plane + p] = value;
            }
        }
    }
    let static_plane = PLANE_SIZE * PLANE_SIZE;
    let mut static_planes = vec![0.0f32; 3 * FEATURES * static_plane];
    for k in 0..3 {
        static_planes[(k * FEATURES + SURFACE_CHANNEL) * static_plane..][..static_plane]
            .fill(-SURFACE);
    }
    let layout = PlaneLayout::consistent();
    Avatar {
        name: "painted test avatar".into(),
        rig: rig_ref,
        source: SourceState::default(),
        texture: Array {
            shape: vec![FEATURES, size, size],
            data: texture,
        },
        static_planes: Array {
            shape: vec![3, FEATURES, PLANE_SIZE, PLANE_SIZE],
            data: static_planes,
        },
        decoder: decoder(),
        plane_axes: plane_axes_for(layout.plane_axes),
        layout,
        generator: None,
        styles: None,
    }
}

/// The two layers described in the module's doc. Hidden units: 0 density; 1–3 and 4 the
/// face's colours and their zero; 5–7 and 8 the away set's; 9–11 and 12 the inner set's.
fn decoder() -> Vec<(String, Array)> {
    // The decoder divides each layer by √(inputs); these gains cancel that.
    let (g0, g1) = ((FEATURES as f32).sqrt(), (HIDDEN as f32).sqrt());
    let mut w0 = vec![0.0f32; HIDDEN * FEATURES];
    let mut b0 = vec![0.0f32; HIDDEN];
    let mut input = |unit: usize, channel: usize, weight: f32| {
        w0[unit * FEATURES + channel] += weight * g0;
    };
    input(0, SURFACE_CHANNEL, 1.0);
    b0[0] = OFFSET;
    let switch =
        |input: &mut dyn FnMut(usize, usize, f32), b0: &mut [f32], unit: usize, sign: f32| {
            input(unit, DEPTH_CHANNEL, sign * DEPTH_GAIN);
            b0[unit] = -sign * DEPTH_GAIN * DEPTH_THRESHOLD;
        };
    let colour_switch = |input: &mut dyn FnMut(usize, usize, f32), b0: &mut [f32], unit| {
        switch(input, b0, unit, 1.0);
        input(unit, INNER_CHANNEL, -DEPTH_GAIN * COLOUR_OFF);
    };
    let inner_switch = |input: &mut dyn FnMut(usize, usize, f32), b0: &mut [f32], unit: usize| {
        input(unit, DEPTH_CHANNEL, INNER_GAIN);
        input(unit, INNER_CHANNEL, INNER_GAIN * INNER_ON);
        b0[unit] = -INNER_GAIN * (INNER_DEPTH + INNER_ON / 2.0);
    };
    for c in 0..3 {
        colour_switch(&mut input, &mut b0, 1 + c);
        input(1 + c, COLOUR_CHANNELS.start + c, 1.0);
        switch(&mut input, &mut b0, 5 + c, -1.0);
        input(5 + c, AWAY_CHANNELS.start + c, AWAY_SCALE);
        inner_switch(&mut input, &mut b0, 9 + c);
        input(9 + c, INNER_COLOURS.start + c, INNER_SCALE);
    }
    colour_switch(&mut input, &mut b0, 4);
    switch(&mut input, &mut b0, 8, -1.0);
    inner_switch(&mut input, &mut b0, 12);

    let mut w1 = vec![0.0f32; (FEATURES + 1) * HIDDEN];
    let mut b1 = vec![0.0f32; FEATURES + 1];
    w1[0] = DENSITY_GAIN * g1;
    b1[0] = -DENSITY_GAIN * (OFFSET + DENSITY_THRESHOLD);
    for c in 0..3 {
        let row = (1 + c) * HIDDEN;
        w1[row + 1 + c] = g1;
        w1[row + 4] = -g1;
        w1[row + 5 + c] = g1;
        w1[row + 8] = -g1;
        w1[row + 9 + c] = g1;
        w1[row + 12] = -g1;
    }
    let array = |shape: Vec<usize>, data| Array { shape, data };
    vec![
        (
            "decoder.net.0.weight".into(),
            array(vec![HIDDEN, FEATURES], w0),
        ),
        ("decoder.net.0.bias".into(), array(vec![HIDDEN], b0)),
        (
            "decoder.net.2.weight".into(),
            array(vec![FEATURES + 1, HIDDEN], w1),
        ),
        ("decoder.net.2.bias".into(), array(vec![FEATURES + 1], b1)),
    ]
}

/// Per texel of a `size`² atlas, the z of its surface point on the rest mesh across the
/// mesh's depth (−1 back … +1 front; the face looks along +z); texels between UV islands
/// take their neighbours'.
fn texel_depth(rig: &Rig, size: usize) -> Vec<f32> {
    let (front, back) = rig
        .template
        .iter()
        .fold((f32::MIN, f32::MAX), |(f, b), v| (f.max(v[2]), b.min(v[2])));
    let (middle, half) = ((front + back) / 2.0, ((front - back) / 2.0).max(1e-6));
    let islands = Islands::of(rig, size);
    let mut depth = vec![[0.0f32; 3]; size * size];
    let mut known = vec![0.0f32; size * size];
    for (texel, face, bary) in islands.texels() {
        let z: f64 = (0..3)
            .map(|k| f64::from(rig.template[rig.faces[face][k] as usize][2]) * bary[k])
            .sum();
        depth[texel][0] = (z as f32 - middle) / half;
        known[texel] = 1.0;
    }
    push_pull(&depth, &known, size)
        .iter()
        .map(|d| d[0])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The decoder's colour logits (outputs 1…3) for a mean feature vector, on the CPU.
    fn colour_logits(x: &[f32; FEATURES]) -> [f32; 3] {
        let named = decoder();
        let get = |name: &str| &named.iter().find(|(k, _)| k == name).unwrap().1.data;
        let (w0, b0, w1, b1) = (
            get("decoder.net.0.weight"),
            get("decoder.net.0.bias"),
            get("decoder.net.2.weight"),
            get("decoder.net.2.bias"),
        );
        let softplus = |v: f32| v.max(0.0) + (-v.abs()).exp().ln_1p();
        let hidden: Vec<f32> = (0..HIDDEN)
            .map(|j| {
                let sum: f32 = (0..FEATURES).map(|i| w0[j * FEATURES + i] * x[i]).sum();
                softplus(sum / (FEATURES as f32).sqrt() + b0[j])
            })
            .collect();
        std::array::from_fn(|c| {
            let row = (1 + c) * HIDDEN;
            let sum: f32 = (0..HIDDEN).map(|j| w1[row + j] * hidden[j]).sum();
            sum / (HIDDEN as f32).sqrt() + b1[1 + c]
        })
    }

    /// Texels on the front of the head lie forward, those at the back behind.
    #[test]
    fn texel_depth_runs_from_the_back_to_the_front() {
        let rig = crate::rig::default_rig::embedded();
        let size = 128;
        let depth_of = texel_depth(&rig, size);
        let islands = Islands::of(&rig, size);
        let depth = |face: usize| {
            rig.faces[face]
                .iter()
                .map(|&v| rig.template[v as usize][2])
                .sum::<f32>()
                / 3.0
        };
        let (front, back) = rig
            .template
            .iter()
            .fold((f32::MIN, f32::MAX), |(f, b), v| (f.max(v[2]), b.min(v[2])));
        let span = front - back;
        let mean_where = |keep: &dyn Fn(f32) -> bool| {
            let values: Vec<f32> = islands
                .texels()
                .filter(|&(_, face, _)| keep(depth(face)))
                .map(|(texel, _, _)| depth_of[texel])
                .collect();
            values.iter().sum::<f32>() / values.len().max(1) as f32
        };
        let front_mean = mean_where(&|z| z > front - 0.15 * span);
        let back_mean = mean_where(&|z| z < back + 0.15 * span);
        assert!(front_mean > 0.7, "front {front_mean}");
        assert!(back_mean < -0.7, "back {back_mean}");
    }

    /// At the front the colour set passes through; behind it the away set, ×3/2, and the
    /// face's colours do not leak.
    #[test]
    fn the_depth_switch_picks_the_front_or_the_away_set() {
        let mut x = [0.0f32; FEATURES];
        let face = [2.0, -1.0, 0.5];
        let away = [-1.5, 1.0, 0.0];
        for c in 0..3 {
            x[COLOUR_CHANNELS.start + c] = face[c];
            x[AWAY_CHANNELS.start + c] = away[c];
        }
        x[DEPTH_CHANNEL] = 0.8;
        let on_face = colour_logits(&x);
        x[DEPTH_CHANNEL] = -0.3;
        let behind = colour_logits(&x);
        for c in 0..3 {
            assert!((on_face[c] - face[c]).abs() < 0.02, "{on_face:?}");
            assert!(
                (behind[c] - AWAY_SCALE * away[c]).abs() < 0.02,
                "{behind:?}"
            );
        }
    }

    /// At an opening (the front plane alone holds an inner texel: mean inner channel 1) the
    /// inner set ×3 replaces the colour set; on the skin and behind an opening it is off.
    #[test]
    fn the_inner_switch_takes_the_front_planes_inner_colour_at_openings() {
        let face = [2.0, -1.0, 0.5];
        let inner = [-1.0, 0.5, 1.5];
        let away = [-1.5, 1.0, 0.0];
        let features = |depth: f32, inner_mean: f32| {
            let mut x = [0.0f32; FEATURES];
            for c in 0..3 {
                x[COLOUR_CHANNELS.start + c] = face[c];
                x[AWAY_CHANNELS.start + c] = away[c];
                x[INNER_COLOURS.start + c] = inner[c];
            }
            x[DEPTH_CHANNEL] = depth;
            x[INNER_CHANNEL] = inner_mean;
            colour_logits(&x)
        };
        let close = |got: [f32; 3], want: [f32; 3]| (0..3).all(|c| (got[c] - want[c]).abs() < 0.05);
        for depth in [0.6, 0.8, 1.0] {
            let opening = features(depth, 1.0);
            assert!(
                close(opening, inner.map(|v| INNER_SCALE * v)),
                "opening at {depth}: {opening:?}"
            );
        }
        for depth in [0.8, 1.0] {
            let skin = features(depth, 0.0);
            assert!(close(skin, face), "skin at {depth}: {skin:?}");
        }
        let behind = features(-0.3, 1.0);
        assert!(
            close(behind, away.map(|v| AWAY_SCALE * v)),
            "behind an opening: {behind:?}"
        );
    }
}
