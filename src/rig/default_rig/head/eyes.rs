//! Eye pivots: the centre of each sclera sphere, and the vertices that regress it.

use glam::{DMat4, DVec4};

use crate::rig::default_rig::surface::{V3, dot, sub};

/// The least-squares sphere through `points`: |p|² = 2c·p + k, linear in (c, k).
pub fn fit_sphere(points: &[V3]) -> (V3, f64) {
    let mut normal = DMat4::ZERO;
    let mut rhs = DVec4::ZERO;
    for p in points {
        let row = DVec4::new(2.0 * p[0], 2.0 * p[1], 2.0 * p[2], 1.0);
        normal += DMat4::from_cols(row * row.x, row * row.y, row * row.z, row * row.w);
        rhs += row * dot(*p, *p);
    }
    let x = normal.inverse() * rhs;
    let centre = [x.x, x.y, x.z];
    (centre, (x.w + dot(centre, centre)).sqrt())
}

/// The six vertices farthest from `centre` along ±x, ±y, ±z: on a sphere their affine
/// combination that gives the centre stays at the centre when the sphere moves or scales.
pub fn extreme_vertices(points: &[(u32, V3)], centre: V3) -> Vec<u32> {
    let mut chosen = Vec::new();
    for axis in 0..3 {
        for sign in [1.0, -1.0] {
            let (v, _) = points
                .iter()
                .max_by(|a, b| {
                    let key = |p: V3| sign * sub(p, centre)[axis];
                    key(a.1).total_cmp(&key(b.1))
                })
                .expect("an eyeball has vertices");
            chosen.push(*v);
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sampled_sphere_is_recovered() {
        let (c, r) = ([0.3, -1.2, 2.0], 1.58);
        let points: Vec<V3> = (0..200)
            .map(|i| {
                let (t, p) = (i as f64 * 0.37, i as f64 * 0.91);
                [
                    c[0] + r * t.sin() * p.cos(),
                    c[1] + r * t.sin() * p.sin(),
                    c[2] + r * t.cos(),
                ]
            })
            .collect();
        let (centre, radius) = fit_sphere(&points);
        assert!(sub(centre, c).iter().all(|d| d.abs() < 1e-9), "{centre:?}");
        assert!((radius - r).abs() < 1e-9);
    }
}
