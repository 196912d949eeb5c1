//! The GPU rasterization step (shaders/raster_triplane.wgsl, shaders/mouth_fill.wgsl and the
//! burn sampling / blending) against the f64 CPU reference and the official fixture.

mod common;
#[path = "common/fixture.rs"]
mod fixture;
#[path = "common/meshes.rs"]
mod meshes;

use burn::tensor::{Tensor, TensorData};
use common::to_vec;
use fixture::{Fixture, max_error};
use neuralhead::raster::gpu::TriplaneRasterizer;
use neuralhead::raster::layout::PlaneLayout;
use neuralhead::raster::reference::{self, Image};
use neuralhead::raster::views::{self, ORTHO_SCALE};
use neuralhead::rig::Rig;
use rand::Rng;

fn vertices(rig: &Rig) -> Vec<[f64; 3]> {
    rig.template.iter().map(|p| p.map(f64::from)).collect()
}

/// How far inside its triangle (in pixels) a pixel centre must be for f32 and f64 to agree on
/// it. Barycentrics alone do not say: on a sliver, 1e-4 of a weight is a hair's breadth.
const CLEAR_PIXELS: f64 = 1e-3;

/// The distance from a point with barycentrics `bary` to the nearest edge of the 2-D triangle
/// `corners` (x, y of each; z ignored): weight i times the altitude from corner i.
fn inside_by(bary: [f64; 3], corners: [[f64; 3]; 3]) -> f64 {
    let [a, b, c] = corners;
    let area2 = ((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])).abs();
    let length = |p: [f64; 3], q: [f64; 3]| (p[0] - q[0]).hypot(p[1] - q[1]);
    let opposite = [length(b, c), length(c, a), length(a, b)];
    (0..3)
        .map(|i| bary[i] * area2 / opposite[i].max(1e-300))
        .fold(f64::INFINITY, f64::min)
}

/// GPU raster vs CPU reference: the same face wherever the pixel centre is clearly inside a
/// triangle (`CLEAR_PIXELS` from every edge in the reference), UVs within 1e-4 there.
#[test]
fn gpu_raster_matches_the_reference_on_random_heads() {
    let gpu = common::gpu();
    let mut rng = common::rng("raster");
    for resolution in [64, 96] {
        let rig = meshes::random_head(&mut rng, 24, 32);
        let layout = PlaneLayout::released();
        let rasterizer = TriplaneRasterizer::new(&rig, layout.clone(), resolution, &gpu.burn);
        let v = vertices(&rig);
        let flat: Vec<f32> = rig.template.iter().flatten().copied().collect();
        let gpu_raster = to_vec(rasterizer.rasterize(Tensor::from_data(
            TensorData::new(flat, [v.len(), 3]),
            &gpu.burn,
        )));
        let plane = resolution * resolution;
        let (mut compared, mut worst_uv) = (0, 0.0f64);
        for (k, view) in layout.views.iter().enumerate() {
            let projected = views::transform(&v, view, ORTHO_SCALE);
            let cpu = reference::rasterize(
                &projected,
                &rig.faces,
                &reference::face_uv_corners(&rig),
                resolution,
            );
            for p in 0..plane {
                let at = |ch: usize| gpu_raster[(4 * k + ch) * plane + p];
                let clear = match cpu.face[p] {
                    None => true,
                    Some(f) => {
                        let [a, b, c] = rig.faces[f as usize].map(|i| projected[i as usize]);
                        inside_by(cpu.bary[p], [a, b, c]) >= CLEAR_PIXELS * 2.0 / resolution as f64
                    }
                };
                let cpu_face = cpu.face[p].map_or(-1.0, f64::from);
                if !clear {
                    continue;
                }
                assert_eq!(at(3), cpu_face, "view {k} pixel {p}: face");
                if cpu_face >= 0.0 {
                    compared += 1;
                    worst_uv = worst_uv
                        .max((at(0) - cpu.uv[p][0]).abs())
                        .max((at(1) - cpu.uv[p][1]).abs());
                    assert_eq!(at(2), 1.0);
                }
            }
        }
        eprintln!("{resolution}²: {compared} covered pixels compared, max uv error {worst_uv:.2e}");
        assert!(
            compared > plane / 2,
            "too few covered pixels ({compared}) for a meaningful comparison"
        );
        assert!(worst_uv < 1e-4, "uv differs by {worst_uv:e}");
    }
}

fn fixture_raster(fx: &Fixture, b: usize, n: usize) -> Vec<f32> {
    // [4, 4, R, R] from the reference's (u', v', vis, vis), face channel unused by sampling.
    (0..4)
        .flat_map(|k| {
            let r = fx.data(&format!("mid/view{k}.raster"));
            let per = r.len() / 2;
            r[b * per..(b + 1) * per]
                .iter()
                .map(|&x| x as f32)
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>()
        .into_iter()
        .take(16 * n * n)
        .collect()
}

#[test]
fn gpu_sampling_fill_and_mouth_box_match_the_official_fixture() {
    let gpu = common::gpu();
    let fx = Fixture::load("next3d_raster_uv.safetensors");
    let config = fx.json("config");
    let n = config["raster_res"].as_u64().unwrap() as usize;
    let batch = config["batch"].as_u64().unwrap() as usize;
    let (tc, ts) = (fx.shape("in/textures")[1], fx.shape("in/textures")[2]);
    let mask_size = fx.shape("uv_face_mask")[2];
    let rig = neuralhead::rig::synthetic::flame_sized(0, 16);
    let mask: Vec<f32> = fx.data("uv_face_mask").iter().map(|&x| x as f32).collect();
    let mask = Tensor::<4>::from_data(
        TensorData::new(mask, [1, 1, mask_size, mask_size]),
        &gpu.burn,
    );
    let rasterizer =
        TriplaneRasterizer::new(&rig, PlaneLayout::released(), n, &gpu.burn).with_mask(mask);
    for b in 0..batch {
        let raster = Tensor::<4>::from_data(
            TensorData::new(fixture_raster(&fx, b, n), [4, 4, n, n]),
            &gpu.burn,
        );
        let texture: Vec<f32> = fx.data("in/textures")[b * tc * ts * ts..(b + 1) * tc * ts * ts]
            .iter()
            .map(|&x| x as f32)
            .collect();
        let texture = Tensor::<3>::from_data(TensorData::new(texture, [tc, ts, ts]), &gpu.burn);
        let (renderings, masked) = rasterizer.sample(&raster, texture);
        let filled = rasterizer.fill(masked.clone());
        let (masked, filled, renderings) = (to_vec(masked), to_vec(filled), to_vec(renderings));
        let plane = n * n;
        for k in 0..4 {
            let per = |name: &str| {
                let d = fx.data(&format!("mid/view{k}.{name}"));
                d[b * plane..(b + 1) * plane].to_vec()
            };
            let (err, _) = max_error(&masked[k * plane..(k + 1) * plane], &per("alpha_masked"));
            assert!(err <= 1e-4, "view {k} masked alpha differs by {err:e}");
            let (err, _) = max_error(&filled[k * plane..(k + 1) * plane], &per("alpha_filled"));
            assert!(err <= 1e-4, "view {k} filled alpha differs by {err:e}");
        }
        let front_ref = &fx.data("out/front.rendering")[b * tc * plane..(b + 1) * tc * plane];
        let (err, scale) = max_error(&renderings[..tc * plane], front_ref);
        assert!(err <= 1e-4 * scale, "front rendering differs by {err:e}");
    }
    // The mouth box from the fixture's landmarks, through the GPU path.
    let verts = fx.shape("in/v")[1];
    for b in 0..batch {
        let v = &fx.data("in/v")[b * verts * 3..(b + 1) * verts * 3];
        let lm: Vec<f32> = v[(verts - 68) * 3..].iter().map(|&x| x as f32).collect();
        let lm = Tensor::<2>::from_data(TensorData::new(lm, [68, 3]), &gpu.burn);
        let big = TriplaneRasterizer::new(&rig, PlaneLayout::released(), 256, &gpu.burn);
        let ours: Vec<i64> = big
            .mouth_box(lm)
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .unwrap();
        let reference: Vec<i64> = fx.data("out/mouth_box")[b * 4..b * 4 + 4]
            .iter()
            .map(|&x| x as i64)
            .collect();
        assert_eq!(ours, reference, "mouth box of sample {b}");
    }
}

/// Crafted alpha images for the fill rule, GPU and CPU both.
#[test]
fn mouth_fill_rule_on_crafted_images() {
    let gpu = common::gpu();
    let n = 32;
    let mut images = Vec::new();
    // 1. A closed ring of 1s: the zeros inside it become 1, outside stay 0.
    let ring: Vec<f64> = (0..n * n)
        .map(|p| {
            let (r, c) = ((p / n) as i64 - 16, (p % n) as i64 - 16);
            f64::from(u8::from((r * r + c * c - 64).abs() < 12))
        })
        .collect();
    images.push(ring);
    // 2. v00 = 0.5: values in [127.5, 381.5] are passable, so 1s are passable too and zeros not.
    let mut half: Vec<f64> = (0..n * n)
        .map(|p| {
            if (p % n) < 10 {
                0.5
            } else if (p % n) < 20 {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    half[n * 5 + 25] = 0.0;
    images.push(half);
    // 3. Enclosed fractional pixels behind a wall of 1s become 1; 254/255 still passes.
    let wall: Vec<f64> = (0..n * n)
        .map(|p| {
            let c = p % n;
            if c == 12 {
                1.0
            } else if c > 12 {
                0.3
            } else if c == 3 {
                254.0 / 255.0
            } else {
                0.0
            }
        })
        .collect();
    images.push(wall);
    // 4. Random blobs.
    let mut rng = common::rng("fill");
    images.push(
        (0..n * n)
            .map(|_| {
                if rng.random::<f64>() < 0.45 {
                    1.0
                } else {
                    rng.random_range(0.0..0.5)
                }
            })
            .collect(),
    );

    let flat: Vec<f32> = images.iter().flatten().map(|&x| x as f32).collect();
    let rasterizer = TriplaneRasterizer::new(
        &meshes::random_head(&mut rng, 4, 4),
        PlaneLayout::released(),
        n,
        &gpu.burn,
    );
    let filled = to_vec(rasterizer.fill(Tensor::from_data(
        TensorData::new(flat, [4, n, n]),
        &gpu.burn,
    )));
    for (i, image) in images.iter().enumerate() {
        let cpu = reference::fill_mouth(image, n);
        let gpu_part = &filled[i * n * n..(i + 1) * n * n];
        let cpu32: Vec<f64> = cpu.iter().map(|&x| f64::from(x as f32)).collect();
        assert_eq!(
            gpu_part,
            &cpu32[..],
            "image {i}: GPU fill differs from the reference"
        );
    }
    let ring = reference::fill_mouth(&images[0], n);
    assert_eq!(ring[16 * n + 16], 1.0, "inside the ring is filled");
    assert_eq!(ring[0], 0.0, "outside stays");
    let half = reference::fill_mouth(&images[1], n);
    assert_eq!(
        (half[15], half[25], half[n * 5 + 25]),
        (1.0, 1.0, 1.0),
        "zeros are not passable when v00 = 127.5"
    );
    let wall = reference::fill_mouth(&images[2], n);
    assert_eq!((wall[3], wall[20]), (254.0 / 255.0, 1.0));
}

/// The differentiable part: gradients of the blended planes reach the texture and the
/// static planes, and agree with finite differences of the forward pass.
#[test]
fn sampling_and_blending_gradients_match_finite_differences() {
    let gpu = common::gpu();
    let mut rng = common::rng("gradients");
    let rig = meshes::random_head(&mut rng, 16, 24);
    let n = 32;
    let (c, t) = (3, 16);
    let plain = TriplaneRasterizer::new(&rig, PlaneLayout::consistent(), n, &gpu.burn);
    let flat: Vec<f32> = rig.template.iter().flatten().copied().collect();
    let raster = plain.rasterize(Tensor::from_data(
        TensorData::new(flat, [rig.template.len(), 3]),
        &gpu.burn,
    ));
    let texture = Tensor::<3>::from_data(
        TensorData::new(common::uniform(&mut rng, c * t * t), [c, t, t]),
        &gpu.burn,
    );
    let (_, masked) = plain.sample(&raster, texture);
    let alphas = plain.fill(masked);

    let ad = gpu.burn.clone().autodiff();
    let rasterizer = TriplaneRasterizer::new(&rig, PlaneLayout::consistent(), n, &ad);
    let raster = Tensor::<4>::from_data(raster.into_data(), &ad);
    let alphas = Tensor::<3>::from_data(alphas.into_data(), &ad);
    let weights = Tensor::<4>::random(
        [3, c, n, n],
        burn::tensor::Distribution::Uniform(-1.0, 1.0),
        &ad,
    );
    let texture_values: Vec<f32> = common::uniform(&mut rng, c * t * t);
    let static_values: Vec<f32> = common::uniform(&mut rng, 3 * c * n * n);
    let loss = |tex: &[f32], stat: &[f32], track: bool| {
        let mut texture = Tensor::<3>::from_data(TensorData::new(tex.to_vec(), [c, t, t]), &ad);
        let mut static_planes =
            Tensor::<4>::from_data(TensorData::new(stat.to_vec(), [3, c, n, n]), &ad);
        if track {
            texture = texture.require_grad();
            static_planes = static_planes.require_grad();
        }
        let (renderings, _) = rasterizer.sample(&raster, texture.clone());
        let (planes, _) = rasterizer.blend(renderings, alphas.clone(), static_planes.clone());
        ((planes * weights.clone()).sum(), texture, static_planes)
    };
    let (value, texture, static_planes) = loss(&texture_values, &static_values, true);
    let grads = value.backward();
    let texture_grad = to_vec(texture.grad(&grads).expect("gradient reaches the texture"));
    let static_grad = to_vec(
        static_planes
            .grad(&grads)
            .expect("gradient reaches the static planes"),
    );
    assert!(
        texture_grad.iter().any(|&g| g.abs() > 1e-3),
        "the texture gradient is all zero"
    );
    let scalar = |t: Tensor<1>| to_vec(t)[0];
    // The loss is linear in both, so a large step is exact up to rounding.
    let h = 0.5f32;
    let central = |values: &[f32], i: usize, loss_at: &dyn Fn(&[f32]) -> f64| {
        let (mut up, mut down) = (values.to_vec(), values.to_vec());
        up[i] += h;
        down[i] -= h;
        (loss_at(&up) - loss_at(&down)) / (2.0 * f64::from(h))
    };
    for _ in 0..6 {
        let i = rng.random_range(0..texture_values.len());
        let fd = central(&texture_values, i, &|t| {
            scalar(loss(t, &static_values, false).0)
        });
        assert!(
            (fd - texture_grad[i]).abs() <= 2e-3 * fd.abs().max(1.0),
            "texture[{i}]: grad {} vs fd {fd}",
            texture_grad[i]
        );
        let j = rng.random_range(0..static_values.len());
        let fd = central(&static_values, j, &|s| {
            scalar(loss(&texture_values, s, false).0)
        });
        assert!(
            (fd - static_grad[j]).abs() <= 2e-3 * fd.abs().max(1.0),
            "static[{j}]: grad {} vs fd {fd}",
            static_grad[j]
        );
    }
}

/// Merging and blending on the GPU equals the CPU reference for every layout, given the
/// same per-view renderings and alphas.
#[test]
fn gpu_blend_matches_the_reference_for_every_layout() {
    let gpu = common::gpu();
    let mut rng = common::rng("blend");
    let rig = meshes::random_head(&mut rng, 16, 24);
    let (n, c, t) = (48, 4, 32);
    let upload = |values: Vec<f32>, shape: Vec<usize>| TensorData::new(values, shape);
    let vertices: Vec<f32> = rig.template.iter().flatten().copied().collect();
    let texture: Vec<f32> = common::uniform(&mut rng, c * t * t);
    let static_values: Vec<f32> = common::uniform(&mut rng, 3 * c * n * n);
    for layout in common::layouts() {
        let rasterizer = TriplaneRasterizer::new(&rig, layout.clone(), n, &gpu.burn);
        let raster = rasterizer.rasterize(Tensor::from_data(
            upload(vertices.clone(), vec![rig.template.len(), 3]),
            &gpu.burn,
        ));
        let (renderings, masked) = rasterizer.sample(
            &raster,
            Tensor::from_data(upload(texture.clone(), vec![c, t, t]), &gpu.burn),
        );
        let view_alphas = rasterizer.fill(masked);
        let static_planes =
            Tensor::from_data(upload(static_values.clone(), vec![3, c, n, n]), &gpu.burn);
        let (planes, alphas) =
            rasterizer.blend(renderings.clone(), view_alphas.clone(), static_planes);

        let (renderings, view_alphas) = (to_vec(renderings), to_vec(view_alphas));
        let views: Vec<reference::ViewImages> = (0..4)
            .map(|k| reference::ViewImages {
                raster: reference::RasterView {
                    resolution: n,
                    face: vec![None; n * n],
                    bary: vec![[0.0; 3]; n * n],
                    uv: vec![[0.0; 2]; n * n],
                },
                rendering: Image {
                    channels: c,
                    height: n,
                    width: n,
                    data: renderings[k * c * n * n..(k + 1) * c * n * n].to_vec(),
                },
                alpha_masked: Vec::new(),
                alpha: view_alphas[k * n * n..(k + 1) * n * n].to_vec(),
                landmarks_2d: Vec::new(),
            })
            .collect();
        let statics = [0, 1, 2].map(|k| Image {
            channels: c,
            height: n,
            width: n,
            data: static_values[k * c * n * n..(k + 1) * c * n * n]
                .iter()
                .map(|&x| f64::from(x))
                .collect(),
        });
        let cpu_planes: Vec<f64> = neuralhead::raster::blend::blend(&layout, &views, &statics)
            .iter()
            .flat_map(|p| p.data.clone())
            .collect();
        let (err, scale) = max_error(&to_vec(planes), &cpu_planes);
        assert!(err <= 1e-5 * scale, "{layout:?}: planes differ by {err:e}");
        let cpu_alphas: Vec<f64> = (0..3)
            .flat_map(|k| neuralhead::raster::blend::merge_slot(&layout, k, &views).1)
            .collect();
        let (err, _) = max_error(&to_vec(alphas), &cpu_alphas);
        assert!(err <= 1e-6, "slot alphas differ by {err:e}");
        assert!(
            cpu_alphas.iter().any(|&a| a > 0.5),
            "no slot received raster features"
        );
    }
}

/// Static planes at another resolution are resampled bilinearly (align_corners = false):
/// a linear ramp stays the same ramp, sampled at the raster's pixel centres.
#[test]
fn static_planes_of_any_resolution_are_resampled() {
    let gpu = common::gpu();
    let mut rng = common::rng("resample");
    let rig = meshes::random_head(&mut rng, 8, 8);
    let (n, m) = (24, 64);
    let rasterizer = TriplaneRasterizer::new(&rig, PlaneLayout::front_only(), n, &gpu.burn);
    let ramp: Vec<f32> = (0..3 * m * m)
        .map(|i| ((i % m) as f32 + 0.5) / m as f32)
        .collect();
    let statics = Tensor::<4>::from_data(TensorData::new(ramp, [3, 1, m, m]), &gpu.burn);
    let renderings = Tensor::<4>::zeros([4, 1, n, n], &gpu.burn);
    let alphas = Tensor::<3>::zeros([4, n, n], &gpu.burn);
    let (planes, _) = rasterizer.blend(renderings, alphas, statics);
    let planes = to_vec(planes);
    for col in 0..n {
        let expected = (col as f64 + 0.5) / n as f64;
        assert!(
            (planes[5 * n + col] - expected).abs() < 1e-5,
            "column {col}: {} vs {expected}",
            planes[5 * n + col]
        );
    }
}

/// Two paths, one truth: the viewer's fused sample + merge + blend kernel equals the
/// differentiable burn path for every layout, including the front view and slot alphas.
#[test]
fn fused_path_equals_the_differentiable_path() {
    let gpu = common::gpu();
    let mut rng = common::rng("fused");
    let rig = meshes::random_head(&mut rng, 20, 28);
    let (n, c, t) = (64, 5, 40);
    let vertices: Vec<f32> = rig.template.iter().flatten().copied().collect();
    let texture: Vec<f32> = common::uniform(&mut rng, c * t * t);
    // Static planes at another resolution exercise the resampling too.
    let statics: Vec<f32> = common::uniform(&mut rng, 3 * c * 48 * 48);
    for layout in common::layouts() {
        let rasterizer = TriplaneRasterizer::new(&rig, layout.clone(), n, &gpu.burn);
        let inputs = || {
            (
                Tensor::<2>::from_data(
                    TensorData::new(vertices.clone(), [rig.template.len(), 3]),
                    &gpu.burn,
                ),
                Tensor::<3>::from_data(TensorData::new(texture.clone(), [c, t, t]), &gpu.burn),
                Tensor::<4>::from_data(TensorData::new(statics.clone(), [3, c, 48, 48]), &gpu.burn),
            )
        };
        let (v, tex, st) = inputs();
        let burn_path = rasterizer.forward(v, tex, st);
        let (v, tex, st) = inputs();
        let fused = rasterizer.forward_fused(v, tex, st, true);
        // Without the front view (avatars without mouth networks) the planes are the same.
        let (v, tex, st) = inputs();
        let planes_only = rasterizer.forward_fused(v, tex, st, false);
        assert!(planes_only.front.is_none());
        for (name, a, b) in [
            (
                "planes",
                to_vec(fused.planes),
                to_vec(burn_path.planes.clone()),
            ),
            (
                "alphas",
                to_vec(fused.alphas),
                to_vec(burn_path.alphas.clone()),
            ),
            (
                "front",
                to_vec(fused.front.unwrap()),
                to_vec(burn_path.front.unwrap()),
            ),
            (
                "planes without the front",
                to_vec(planes_only.planes),
                to_vec(burn_path.planes),
            ),
            (
                "alphas without the front",
                to_vec(planes_only.alphas),
                to_vec(burn_path.alphas),
            ),
        ] {
            let (err, scale) = max_error(&a, &b);
            assert!(
                err <= 1e-5 * scale.max(1.0),
                "{layout:?} {name}: fused differs by {err:e}"
            );
        }
    }
}
