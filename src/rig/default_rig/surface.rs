//! Mesh tools for authoring: edge graph, geodesic distances, harmonic fields, mirroring.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

pub type V3 = [f64; 3];

pub fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
pub fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
pub fn scale(a: V3, s: f64) -> V3 {
    a.map(|x| x * s)
}
pub fn norm(a: V3) -> f64 {
    (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt()
}
pub fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
pub fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
pub fn mean(points: impl IntoIterator<Item = V3>) -> V3 {
    let (mut sum, mut n) = ([0.0; 3], 0.0);
    for p in points {
        sum = add(sum, p);
        n += 1.0;
    }
    scale(sum, 1.0 / n)
}

/// The vertex graph of a triangle mesh, edge lengths from the rest positions.
pub struct Surface {
    pub positions: Vec<V3>,
    pub neighbours: Vec<Vec<usize>>,
}

impl Surface {
    pub fn new(positions: &[V3], triangles: &[[u32; 3]]) -> Self {
        let mut neighbours = vec![Vec::new(); positions.len()];
        for t in triangles {
            for k in 0..3 {
                let (a, b) = (t[k] as usize, t[(k + 1) % 3] as usize);
                if !neighbours[a].contains(&b) {
                    neighbours[a].push(b);
                    neighbours[b].push(a);
                }
            }
        }
        Self {
            positions: positions.to_vec(),
            neighbours,
        }
    }

    /// Shortest path lengths along edges from the nearest of `sources` (Dijkstra).
    /// Across the opened mouth and eyes a path must go round the corners, which keeps
    /// upper-lip motion off the lower lip.
    pub fn geodesic(&self, sources: &[usize]) -> Vec<f64> {
        #[derive(PartialEq)]
        struct Item(f64, usize);
        impl Eq for Item {}
        impl Ord for Item {
            fn cmp(&self, other: &Self) -> Ordering {
                other.0.total_cmp(&self.0)
            }
        }
        impl PartialOrd for Item {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }
        let mut dist = vec![f64::INFINITY; self.positions.len()];
        let mut heap = BinaryHeap::new();
        for &s in sources {
            dist[s] = 0.0;
            heap.push(Item(0.0, s));
        }
        while let Some(Item(d, v)) = heap.pop() {
            if d > dist[v] {
                continue;
            }
            for &n in &self.neighbours[v] {
                let nd = d + norm(sub(self.positions[n], self.positions[v]));
                if nd < dist[n] {
                    dist[n] = nd;
                    heap.push(Item(nd, n));
                }
            }
        }
        dist
    }

    /// A displacement field that equals each control's displacement at the control, falls
    /// to zero smoothly at geodesic `radius`, and in between blends the controls by inverse
    /// squared geodesic distance. Controls with a zero displacement act as anchors.
    pub fn spread(&self, controls: &[(usize, V3)], radius: f64) -> Vec<V3> {
        let fields: Vec<Vec<f64>> = controls.iter().map(|&(c, _)| self.geodesic(&[c])).collect();
        let moving: Vec<usize> = controls
            .iter()
            .enumerate()
            .filter(|(_, (_, d))| norm(*d) > 0.0)
            .map(|(i, _)| i)
            .collect();
        (0..self.positions.len())
            .map(|v| {
                let nearest_moving = moving
                    .iter()
                    .map(|&i| fields[i][v])
                    .fold(f64::INFINITY, f64::min);
                if nearest_moving >= radius {
                    return [0.0; 3];
                }
                let mut sum = [0.0; 3];
                let mut total = 0.0;
                for (i, &(_, d)) in controls.iter().enumerate() {
                    let g = fields[i][v];
                    if g < 1e-12 {
                        return d;
                    }
                    if g < radius * 2.0 {
                        let w = 1.0 / (g * g);
                        sum = add(sum, scale(d, w));
                        total += w;
                    }
                }
                let t = 1.0 - nearest_moving / radius;
                let falloff = t * t * (3.0 - 2.0 * t);
                scale(sum, falloff / total)
            })
            .collect()
    }

    /// Solves the graph Laplace equation with `fixed` values held (Gauss–Seidel): the
    /// smoothest field that meets the constraints, used for the jaw's skin weights.
    pub fn harmonic(&self, fixed: &[Option<f64>], iterations: usize) -> Vec<f64> {
        let mut value: Vec<f64> = fixed.iter().map(|f| f.unwrap_or(0.5)).collect();
        for _ in 0..iterations {
            for v in 0..value.len() {
                if fixed[v].is_none() && !self.neighbours[v].is_empty() {
                    let n = &self.neighbours[v];
                    value[v] = n.iter().map(|&i| value[i]).sum::<f64>() / n.len() as f64;
                }
            }
        }
        value
    }

    /// For each vertex, the vertex nearest to its mirror image across x = 0.
    pub fn mirror_map(&self) -> Vec<usize> {
        self.positions
            .iter()
            .map(|p| {
                let m = [-p[0], p[1], p[2]];
                (0..self.positions.len())
                    .min_by(|&a, &b| {
                        norm(sub(self.positions[a], m)).total_cmp(&norm(sub(self.positions[b], m)))
                    })
                    .expect("non-empty mesh")
            })
            .collect()
    }

    /// The vertex nearest to a point.
    pub fn nearest(&self, point: V3) -> usize {
        (0..self.positions.len())
            .min_by(|&a, &b| {
                norm(sub(self.positions[a], point)).total_cmp(&norm(sub(self.positions[b], point)))
            })
            .expect("non-empty mesh")
    }
}
