//! The rig's UV islands at a texture size, and filling a texture's unknown texels from the
//! known ones of the same island (push-pull: weighted averages over a pyramid, each level
//! filling what the finer one lacks), so that colour never crosses from one material to
//! another.

use super::unwrap::for_each_pixel;
use crate::rig::Rig;

/// Which face covers each texel, and which island each face belongs to.
pub struct Islands {
    pub size: usize,
    /// Per texel: the covering face and its barycentrics, or `None` between islands.
    cover: Vec<Option<(usize, [f64; 3])>>,
    /// Per face: its island (faces that share texture coordinates are one island).
    island_of_face: Vec<usize>,
    count: usize,
}

impl Islands {
    pub fn of(rig: &Rig, size: usize) -> Self {
        let mut parent: Vec<usize> = (0..rig.uvs.len()).collect();
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        for t in &rig.uv_faces {
            for k in 1..3 {
                let (a, b) = (
                    root(&mut parent, t[0] as usize),
                    root(&mut parent, t[k] as usize),
                );
                parent[a] = b;
            }
        }
        let mut numbering = std::collections::HashMap::new();
        let island_of_face: Vec<usize> = rig
            .uv_faces
            .iter()
            .map(|t| {
                let r = root(&mut parent, t[0] as usize);
                let next = numbering.len();
                *numbering.entry(r).or_insert(next)
            })
            .collect();
        // Where faces overlap in UV (the fan around an eyeball's back pole, whose corners lie
        // on the disc's rim, spans its middle), the smallest face is the one mapped there.
        let mut cover = vec![None; size * size];
        let mut cover_area = vec![f64::INFINITY; size * size];
        for (face, t) in rig.uv_faces.iter().enumerate() {
            let corners = t.map(|i| {
                let [u, v] = rig.uvs[i as usize];
                [
                    f64::from(u) * size as f64,
                    (1.0 - f64::from(v)) * size as f64,
                ]
            });
            let [a, b, c] = corners;
            let area = ((b[0] - a[0]) * (c[1] - a[1]) - (c[0] - a[0]) * (b[1] - a[1])).abs();
            for_each_pixel(corners, size, |texel, bary| {
                if area <= cover_area[texel] {
                    cover_area[texel] = area;
                    cover[texel] = Some((face, bary));
                }
            });
        }
        Self {
            size,
            cover,
            island_of_face,
            count: numbering.len(),
        }
    }

    /// Every covered texel with its face and barycentrics.
    pub fn texels(&self) -> impl Iterator<Item = (usize, usize, [f64; 3])> + '_ {
        self.cover
            .iter()
            .enumerate()
            .filter_map(|(texel, c)| c.map(|(face, bary)| (texel, face, bary)))
    }

    /// How many islands the atlas has.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The island of a texel, or `None` between islands.
    pub fn island(&self, texel: usize) -> Option<usize> {
        self.cover[texel].map(|(face, _)| self.island_of_face[face])
    }
}

/// Replaces each texel of an island that shows anything by the push-pull blend of its own
/// colour (weighted by its confidence) and its island's known colours; islands with no known
/// texel are left as they are. Texels between islands take the nearest islands' colours, so
/// that bilinear lookups at island edges do not bleed the background in.
pub fn fill_islands(islands: &Islands, rgb: &mut [[f32; 3]], confidence: &[f32]) {
    let size = islands.size;
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); islands.count];
    for texel in 0..size * size {
        if let Some(k) = islands.island(texel) {
            members[k].push(texel);
        }
    }
    let mut weights = vec![0.0f32; size * size];
    for texels in members
        .iter()
        .filter(|t| t.iter().any(|&i| confidence[i] > 0.0))
    {
        for &t in texels {
            weights[t] = confidence[t];
        }
        let filled = push_pull(rgb, &weights, size);
        for &t in texels {
            rgb[t] = filled[t];
            weights[t] = 0.0;
        }
    }
    let covered: Vec<f32> = (0..size * size)
        .map(|t| f32::from(u8::from(islands.island(t).is_some())))
        .collect();
    let filled = push_pull(rgb, &covered, size);
    for (t, c) in covered.iter().enumerate() {
        if *c == 0.0 {
            rgb[t] = filled[t];
        }
    }
}

/// Each texel's colour blended with its neighbourhood's by how little weight it has itself:
/// weight 1 keeps the colour, weight 0 takes the weighted mean of the nearest weighted texels.
pub(crate) fn push_pull(rgb: &[[f32; 3]], weight: &[f32], size: usize) -> Vec<[f32; 3]> {
    // Level 0 is the texture; each next level sums 2×2 blocks of weight and weighted colour.
    let mut levels: Vec<(usize, Vec<f32>, Vec<[f32; 3]>)> = vec![(
        size,
        weight.to_vec(),
        rgb.iter()
            .zip(weight)
            .map(|(c, &w)| c.map(|x| x * w))
            .collect(),
    )];
    while levels.last().unwrap().0 > 1 {
        let (n, w, c) = levels.last().unwrap();
        let half = n.div_ceil(2);
        let mut sw = vec![0.0; half * half];
        let mut sc = vec![[0.0; 3]; half * half];
        for row in 0..*n {
            for col in 0..*n {
                let (from, to) = (row * n + col, (row / 2) * half + col / 2);
                sw[to] += w[from];
                (0..3).for_each(|k| sc[to][k] += c[from][k]);
            }
        }
        levels.push((half, sw, sc));
    }
    let (_, w, c) = levels.last().unwrap();
    let mut filled: Vec<[f32; 3]> = vec![c[0].map(|x| x / w[0].max(1e-12))];
    for (n, w, c) in levels.iter().rev().skip(1) {
        let half = n.div_ceil(2);
        filled = (0..n * n)
            .map(|p| {
                let coarse = upsampled(&filled, half, p / n, p % n);
                let rest = (1.0 - w[p]).max(0.0);
                std::array::from_fn(|k| (c[p][k] + rest * coarse[k]) / (w[p] + rest))
            })
            .collect();
    }
    filled
}

/// The coarse level (`half`² texels) bilinearly at the centre of fine texel (row, col), so
/// that filled regions are smooth rather than blocks.
fn upsampled(coarse: &[[f32; 3]], half: usize, row: usize, col: usize) -> [f32; 3] {
    let at = |i: usize| ((i as f32 + 0.5) / 2.0 - 0.5).clamp(0.0, (half - 1) as f32);
    let (y, x) = (at(row), at(col));
    let (y0, x0) = (y.floor() as usize, x.floor() as usize);
    let (y1, x1) = ((y0 + 1).min(half - 1), (x0 + 1).min(half - 1));
    let (fy, fx) = (y - y0 as f32, x - x0 as f32);
    std::array::from_fn(|k| {
        let c = |r: usize, q: usize| coarse[r * half + q][k];
        (c(y0, x0) * (1.0 - fx) + c(y0, x1) * fx) * (1.0 - fy)
            + (c(y1, x0) * (1.0 - fx) + c(y1, x1) * fx) * fy
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A known texel keeps its colour, unknown ones take the known ones' colours, nearer
    /// ones more.
    #[test]
    fn push_pull_keeps_known_texels_and_fills_from_the_nearest() {
        let size = 16;
        let mut rgb = vec![[0.5; 3]; size * size];
        let mut weight = vec![0.0; size * size];
        rgb[0] = [1.0, 0.0, 0.0];
        weight[0] = 1.0;
        let far = size * size - 1;
        rgb[far] = [0.0, 0.0, 1.0];
        weight[far] = 1.0;
        let filled = push_pull(&rgb, &weight, size);
        assert_eq!(filled[0], [1.0, 0.0, 0.0]);
        assert_eq!(filled[far], [0.0, 0.0, 1.0]);
        let near_first = filled[size + 1];
        assert!(near_first[0] > near_first[2], "{near_first:?}");
        let near_last = filled[far - size - 1];
        assert!(near_last[2] > near_last[0], "{near_last:?}");
        for c in &filled {
            assert!(
                (c[0] + c[2] - 1.0).abs() < 1e-5 && c[1].abs() < 1e-6,
                "{c:?}"
            );
        }
    }
}
