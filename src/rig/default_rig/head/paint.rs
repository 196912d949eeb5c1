//! A painted colour texture for the whole head (the shaded preview and the painted avatar):
//! skin, hair over the scalp, lips and brows from the landmarks, a dark mouth and eye
//! socket, gums, teeth, and eyes with iris and pupil. Triangles are filled in UV space with
//! per-corner colours, then the colour is grown into the empty margins so bilinear samples
//! at region edges do not pick up black.

use super::atlas;
use super::mesh::{HeadMesh, Part};
use crate::rig::default_rig::surface::{V3, sub};
use crate::rig::model::UvImage;

pub const SIZE: usize = 256;
type Rgb = [f64; 3];
const SKIN: Rgb = [222.0, 178.0, 152.0];
const HAIR: Rgb = [74.0, 52.0, 40.0];
const LIPS: Rgb = [186.0, 86.0, 88.0];
const BROWS: Rgb = [92.0, 64.0, 48.0];
const SOCKET: Rgb = [70.0, 24.0, 30.0];
const GUMS: Rgb = [178.0, 84.0, 92.0];
const TEETH: Rgb = [236.0, 230.0, 214.0];
const SCLERA: Rgb = [240.0, 236.0, 230.0];
const IRIS: Rgb = [70.0, 110.0, 150.0];
const PUPIL: Rgb = [16.0, 16.0, 20.0];
/// Polar angles (radians from the gaze axis) of the pupil's and the iris' edges on the
/// sclera sphere (r ≈ 1.58 cm: an iris of ≈ 12 mm and a pupil of ≈ 4 mm across).
pub const PUPIL_ANGLE: f64 = 0.13;
pub const IRIS_ANGLE: f64 = 0.39;
/// The ICT vertices of the mouth and eye sockets (inside M_BackHead).
const SOCKETS: std::ops::Range<u32> = 11248..14062;

/// `neutral`: ICT positions (cm); `landmarks`: the 68 ICT landmark vertices.
pub fn paint(mesh: &HeadMesh, neutral: &[V3], landmarks: &[u32]) -> UvImage {
    let mut canvas = Canvas::new();
    for ((face, uv_face), part) in mesh.faces.iter().zip(&mesh.uv_faces).zip(&mesh.parts) {
        let colours = face.map(|v| {
            let source = mesh.source_vertex[v as usize];
            vertex_colour(*part, source, neutral[source as usize])
        });
        canvas.fill(uv_face.map(|t| mesh.uvs[t as usize]), colours);
    }
    // Landmark vertices as atlas points (their face-tile UVs).
    let atlas_point = |ict: u32| -> [f64; 2] {
        let kept = mesh.kept_index[ict as usize].expect("landmarks are kept");
        let (f, corner) = mesh
            .faces
            .iter()
            .enumerate()
            .find_map(|(f, t)| {
                (mesh.parts[f] == Part::Face)
                    .then(|| t.iter().position(|&i| i == kept))
                    .flatten()
                    .map(|c| (f, c))
            })
            .expect("a landmark lies on the face");
        mesh.uvs[mesh.uv_faces[f][corner] as usize]
    };
    let outline = |range: std::ops::Range<usize>| -> Vec<[f64; 2]> {
        landmarks[range].iter().map(|&v| atlas_point(v)).collect()
    };
    let lips = outline(48..60);
    let brows = [outline(17..22), outline(22..27)];
    canvas.overlay(|uv| {
        if !atlas::FACE.contains(uv) {
            None
        } else if inside(&lips, uv) {
            Some(LIPS)
        } else if brows.iter().any(|b| near_polyline(b, uv, 0.006)) {
            Some(BROWS)
        } else {
            None
        }
    });
    canvas.overlay(|uv| {
        atlas::SCLERA
            .iter()
            .find_map(|r| atlas::sclera_polar_angle(r, uv))
            .map(eye_colour)
    });
    canvas.grow_into_empty(8);
    canvas.into_image()
}

fn vertex_colour(part: Part, source: u32, p: V3) -> Rgb {
    match part {
        Part::Face | Part::BackHead if SOCKETS.contains(&source) => SOCKET,
        Part::Face | Part::BackHead => mix(SKIN, HAIR, hair(p)),
        Part::GumsTongue => GUMS,
        Part::Teeth => TEETH,
        Part::Sclera(_) => SCLERA,
    }
}

/// How much of the scalp's hair covers an ICT point (cm): above the hairline, and over the
/// back of the head down to the nape, sparing the ears.
fn hair(p: V3) -> f64 {
    let top = smoothstep(8.0, 10.0, p[1]);
    let back = smoothstep(-1.0, -3.5, p[2]) * smoothstep(-5.0, -2.0, p[1]);
    let ear = smoothstep(6.0, 7.0, p[0].abs()) * smoothstep(6.0, 4.0, p[1]);
    top.max(back) * (1.0 - ear)
}

fn eye_colour(theta: f64) -> Rgb {
    if theta < PUPIL_ANGLE {
        PUPIL
    } else if theta < IRIS_ANGLE {
        // Darker toward the limbus, as irises are.
        let t = (theta - PUPIL_ANGLE) / (IRIS_ANGLE - PUPIL_ANGLE);
        mix(IRIS, [30.0, 50.0, 80.0], t * t)
    } else {
        SCLERA
    }
}

fn smoothstep(edge0: f64, edge1: f64, x: f64) -> f64 {
    let t = ((x - edge0) / (edge1 - edge0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

fn mix(a: Rgb, b: Rgb, t: f64) -> Rgb {
    [0, 1, 2].map(|i| a[i] + (b[i] - a[i]) * t)
}

/// Even–odd point-in-polygon test.
fn inside(polygon: &[[f64; 2]], p: [f64; 2]) -> bool {
    let mut inside = false;
    for (i, a) in polygon.iter().enumerate() {
        let b = polygon[(i + 1) % polygon.len()];
        if (a[1] > p[1]) != (b[1] > p[1])
            && p[0] < a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
        {
            inside = !inside;
        }
    }
    inside
}

fn near_polyline(line: &[[f64; 2]], p: [f64; 2], width: f64) -> bool {
    line.windows(2).any(|w| {
        let (a, b) = (w[0], w[1]);
        let ab = [b[0] - a[0], b[1] - a[1]];
        let t = (((p[0] - a[0]) * ab[0] + (p[1] - a[1]) * ab[1]) / (ab[0] * ab[0] + ab[1] * ab[1]))
            .clamp(0.0, 1.0);
        let d = sub([p[0], p[1], 0.0], [a[0] + t * ab[0], a[1] + t * ab[1], 0.0]);
        d[0].hypot(d[1]) < width
    })
}

/// An RGB canvas over the atlas; row 0 is the top (v = 1).
struct Canvas {
    colour: Vec<Option<Rgb>>,
}

impl Canvas {
    fn new() -> Self {
        Self {
            colour: vec![None; SIZE * SIZE],
        }
    }

    fn texel_uv(index: usize) -> [f64; 2] {
        let (row, col) = (index / SIZE, index % SIZE);
        [
            (col as f64 + 0.5) / SIZE as f64,
            1.0 - (row as f64 + 0.5) / SIZE as f64,
        ]
    }

    /// Fills the texels whose centres lie in the UV triangle, colours interpolated.
    fn fill(&mut self, uv: [[f64; 2]; 3], colours: [Rgb; 3]) {
        let px = uv.map(|t| [t[0] * SIZE as f64 - 0.5, (1.0 - t[1]) * SIZE as f64 - 0.5]);
        let area = (px[1][0] - px[0][0]) * (px[2][1] - px[0][1])
            - (px[2][0] - px[0][0]) * (px[1][1] - px[0][1]);
        if area.abs() < 1e-12 {
            return;
        }
        let lo = |a: usize| {
            px.iter()
                .map(|p| p[a])
                .fold(f64::MAX, f64::min)
                .floor()
                .max(0.0) as usize
        };
        let hi = |a: usize| {
            (px.iter().map(|p| p[a]).fold(f64::MIN, f64::max).ceil() as usize).min(SIZE - 1)
        };
        for row in lo(1)..=hi(1) {
            for col in lo(0)..=hi(0) {
                let (x, y) = (col as f64, row as f64);
                let edge = |a: [f64; 2], b: [f64; 2]| {
                    (b[0] - a[0]) * (y - a[1]) - (x - a[0]) * (b[1] - a[1])
                };
                let w = [
                    edge(px[1], px[2]) / area,
                    edge(px[2], px[0]) / area,
                    edge(px[0], px[1]) / area,
                ];
                if w.iter().all(|&w| w >= -1e-9) {
                    let c = [0, 1, 2].map(|i| (0..3).map(|k| w[k] * colours[k][i]).sum());
                    self.colour[row * SIZE + col] = Some(c);
                }
            }
        }
    }

    fn overlay(&mut self, paint: impl Fn([f64; 2]) -> Option<Rgb>) {
        for (i, texel) in self.colour.iter_mut().enumerate() {
            if let Some(c) = paint(Self::texel_uv(i)) {
                *texel = Some(c);
            }
        }
    }

    /// Copies painted colours into empty neighbours, `steps` texels out.
    fn grow_into_empty(&mut self, steps: usize) {
        for _ in 0..steps {
            let before = self.colour.clone();
            for (i, texel) in self
                .colour
                .iter_mut()
                .enumerate()
                .filter(|(_, t)| t.is_none())
            {
                let (row, col) = ((i / SIZE) as isize, (i % SIZE) as isize);
                *texel = [(-1, 0), (1, 0), (0, -1), (0, 1)]
                    .iter()
                    .map(|(dr, dc)| (row + dr, col + dc))
                    .filter(|&(r, c)| {
                        (0..SIZE as isize).contains(&r) && (0..SIZE as isize).contains(&c)
                    })
                    .find_map(|(r, c)| before[r as usize * SIZE + c as usize]);
            }
        }
    }

    fn into_image(self) -> UvImage {
        let data = self
            .colour
            .iter()
            .flat_map(|c| c.unwrap_or(SKIN).map(|x| x.round().clamp(0.0, 255.0) as u8))
            .collect();
        UvImage {
            width: SIZE,
            height: SIZE,
            channels: 3,
            data,
        }
    }
}
