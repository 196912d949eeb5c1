//! The burn reference path of the neural renderer against the official implementation
//! (tests/fixtures/next3d_render.safetensors), fed the fixture's recorded random draws;
//! settings come from the fixture's metadata. Criteria from the fixture README:
//! max|a − b| ≤ 1e-4·max|ref| (1e-3 for the sorted-sample intermediates).

mod common;
#[path = "common/fixture.rs"]
mod fixture;

use std::collections::HashMap;

use burn::tensor::{Tensor, TensorData};
use common::to_vec;
use fixture::{Fixture, max_error};
use neuralhead::render::decoder::OsgDecoder;
use neuralhead::render::fused::render_fused;
use neuralhead::render::rays::CameraLabel;
use neuralhead::render::triplane::{PlaneProjection, sample_planes};
use neuralhead::render::volume::{Randomness, RenderSettings, render_reference};

fn part(fx: &Fixture, name: &str, b: usize, batch: usize) -> Vec<f32> {
    let d = fx.data(name);
    let per = d.len() / batch;
    d[b * per..(b + 1) * per]
        .iter()
        .map(|&x| x as f32)
        .collect()
}

#[test]
fn reference_renderer_matches_the_official_one() {
    let gpu = common::gpu();
    let device = &gpu.burn;
    let fx = Fixture::load("next3d_render.safetensors");
    let config = fx.json("config");
    let kwargs = fx.json("rendering_kwargs");
    let batch = config["batch"].as_u64().unwrap() as usize;
    let settings = RenderSettings {
        resolution: config["neural_res"].as_u64().unwrap() as usize,
        depth_samples: kwargs["depth_resolution"].as_u64().unwrap() as usize,
        importance_samples: kwargs["depth_resolution_importance"].as_u64().unwrap() as usize,
        ray_start: kwargs["ray_start"].as_f64().unwrap(),
        ray_end: kwargs["ray_end"].as_f64().unwrap(),
        box_warp: kwargs["box_warp"].as_f64().unwrap(),
    };
    let (decoder, projection_q) = decoder_and_projection(&fx, device);
    let projection = projection_q.tensor(device);
    let mut fused_renders = Vec::new();
    let plane_shape = fx.shape("in/planes")[1..].to_vec();
    let (n, d, di) = (
        settings.resolution,
        settings.depth_samples,
        settings.importance_samples,
    );
    let rays = n * n;

    let mut renders = Vec::new();
    for b in 0..batch {
        let c: [f32; 25] = part(&fx, "in/c", b, batch).try_into().unwrap();
        let camera = CameraLabel::from_eg3d(&c);
        let (origins, directions) = camera.rays(n);
        let flat = |v: Vec<[f32; 3]>| v.into_iter().flatten().map(f64::from).collect::<Vec<_>>();
        let (err, _) = max_error(
            &flat(origins),
            &fx.data("mid/ray_origins")[b * rays * 3..(b + 1) * rays * 3],
        );
        assert!(err <= 1e-5, "ray origins differ by {err:e}");
        let (err, _) = max_error(
            &flat(directions),
            &fx.data("mid/ray_directions")[b * rays * 3..(b + 1) * rays * 3],
        );
        assert!(err <= 1e-5, "ray directions differ by {err:e}");

        let planes = Tensor::<4>::from_data(
            TensorData::new(part(&fx, "in/planes", b, batch), plane_shape.clone()),
            device,
        );
        // Plane sampling and the decoder on the probe points.
        let probes = Tensor::<2>::from_data(
            TensorData::new(
                part(&fx, "in/probe_points", b, batch),
                [fx.shape("in/probe_points")[1], 3],
            ),
            device,
        );
        let features = sample_planes(planes.clone(), &projection, probes, settings.box_warp);
        let (err, scale) = max_error(
            &to_vec(features.clone()),
            &part(&fx, "mid/probe_plane_features", b, batch)
                .iter()
                .map(|&x| f64::from(x))
                .collect::<Vec<_>>(),
        );
        assert!(
            err <= 1e-4 * scale,
            "probe plane features differ by {err:e}"
        );
        let (sigma, rgb) = decoder.forward(features);
        for (name, ours) in [("mid/probe_sigma", sigma), ("mid/probe_rgb", rgb)] {
            let (err, scale) = max_error(
                &to_vec(ours),
                &part(&fx, name, b, batch)
                    .iter()
                    .map(|&x| f64::from(x))
                    .collect::<Vec<_>>(),
            );
            assert!(err <= 1e-4 * scale, "{name} differs by {err:e}");
        }

        let stratified = Tensor::<2>::from_data(
            TensorData::new(part(&fx, "rng/stratified_u", b, batch), [rays, d]),
            device,
        );
        let pdf = fx.data("rng/pdf_u")[b * rays * di..(b + 1) * rays * di]
            .iter()
            .map(|&x| x as f32)
            .collect::<Vec<_>>();
        let pdf = Tensor::<2>::from_data(TensorData::new(pdf, [rays, di]), device);
        // The fused kernel, fed the same draws, must agree with the official renderer too.
        let given = Randomness::Given {
            stratified: stratified.clone(),
            pdf: pdf.clone(),
        };
        fused_renders.push(render_fused(
            planes.clone(),
            &projection_q,
            &decoder,
            &camera,
            &settings,
            given,
        ));
        let rendered = render_reference(
            planes,
            &projection,
            &decoder,
            &camera,
            &settings,
            Randomness::Given { stratified, pdf },
            100,
        );
        let (err, scale) = max_error(
            &to_vec(rendered.fine_depths.clone()),
            &part(&fx, "mid/depths_fine", b, batch)
                .iter()
                .map(|&x| f64::from(x))
                .collect::<Vec<_>>(),
        );
        eprintln!("sample {b} importance depths: max error {err:.2e}");
        assert!(err <= 1e-3 * scale, "importance depths differ by {err:e}");
        renders.push(rendered);
    }
    // The reference clamps depth to the range sampled over the whole batch.
    let lowest = renders
        .iter()
        .map(|r| r.depth_range.0)
        .fold(f32::INFINITY, f32::min);
    let highest = renders
        .iter()
        .map(|r| r.depth_range.1)
        .fold(f32::NEG_INFINITY, f32::max);
    let mut failures: Vec<String> = Vec::new();
    let labelled = renders
        .into_iter()
        .map(|r| ("reference", r))
        .chain(fused_renders.into_iter().map(|r| ("fused", r)));
    for (k, (path, r)) in labelled.enumerate() {
        let b = k % batch;
        let reference = |name: &str| {
            part(&fx, name, b, batch)
                .iter()
                .map(|&x| f64::from(x))
                .collect::<Vec<_>>()
        };
        for (name, ours) in [
            ("out/feature_image", to_vec(r.features)),
            (
                "out/depth_image",
                to_vec(r.depth_unclamped.clamp(lowest, highest)),
            ),
            ("out/weights_sum", to_vec(r.weights_sum)),
        ] {
            let (err, scale) = max_error(&ours, &reference(name));
            eprintln!("{path} sample {b} {name}: max error {err:.2e} of {scale:.3}");
            if err > 1e-4 * scale {
                failures.push(format!("{path}: {name} of sample {b} differs by {err:e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The fixture's decoder (official key names) and plane projection (its `plane_axes`).
fn decoder_and_projection(
    fx: &Fixture,
    device: &burn::tensor::Device,
) -> (OsgDecoder, PlaneProjection) {
    let named: HashMap<String, (Vec<usize>, Vec<f32>)> = fx
        .tensors
        .iter()
        .filter(|(k, _)| k.starts_with("decoder."))
        .map(|(k, (s, v))| {
            (
                k.clone(),
                (s.clone(), v.iter().map(|&x| x as f32).collect()),
            )
        })
        .collect();
    let axes: Vec<f32> = fx
        .data("renderer.plane_axes")
        .iter()
        .map(|&x| x as f32)
        .collect();
    (
        OsgDecoder::from_named(&named, device).unwrap(),
        PlaneProjection::from_plane_axes(&axes).unwrap(),
    )
}

/// Finite differences of the reference path: gradients reach the planes and the decoder.
/// Coarse samples only and no jitter: the importance samples are detached in the reference,
/// so finite differences would also see them move.
#[test]
fn reference_renderer_gradients_match_finite_differences() {
    use rand::Rng;
    let gpu = common::gpu();
    let ad = gpu.burn.clone().autodiff();
    let mut rng = common::rng("render gradients");
    let settings = RenderSettings {
        resolution: 6,
        depth_samples: 8,
        importance_samples: 8,
        ..Default::default()
    };
    let (c, h) = (32, 8);
    let planes: Vec<f32> = (0..3 * c * h * h)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let random = |n: usize, s: f32, rng: &mut rand::rngs::StdRng| {
        (0..n)
            .map(|_| rng.random_range(-s..s))
            .collect::<Vec<f32>>()
    };
    let (w0, b0, w1, mut b1) = (
        random(64 * 32, 1.5, &mut rng),
        random(64, 0.3, &mut rng),
        random(33 * 64, 1.5, &mut rng),
        random(33, 0.3, &mut rng),
    );
    b1[0] = 2.0; // enough density for the rays to see something
    let camera = CameraLabel::from_eg3d(
        &neuralhead::render::camera::OrbitCamera {
            yaw: 0.2,
            pitch: -0.1,
            ..Default::default()
        }
        .eg3d_label(),
    );
    let projection = PlaneProjection::from_axes([[0, 1], [2, 1], [0, 2]]).tensor(&ad);
    let weights = Tensor::<3>::random(
        [c, 6, 6],
        burn::tensor::Distribution::Uniform(-1.0, 1.0),
        &ad,
    );
    let loss = |planes: &[f32], w1: &[f32], track: bool| {
        let mut p = Tensor::<4>::from_data(TensorData::new(planes.to_vec(), [3, c, h, h]), &ad);
        let mut w = Tensor::<2>::from_data(TensorData::new(w1.to_vec(), [33, 64]), &ad);
        if track {
            p = p.require_grad();
            w = w.require_grad();
        }
        let decoder = OsgDecoder {
            w0: Tensor::from_data(TensorData::new(w0.clone(), [64, 32]), &ad),
            b0: Tensor::from_data(TensorData::new(b0.clone(), [64]), &ad),
            w1: w.clone(),
            b1: Tensor::from_data(TensorData::new(b1.clone(), [33]), &ad),
        };
        let r = render_reference(
            p.clone(),
            &projection,
            &decoder,
            &camera,
            &settings,
            Randomness::Deterministic,
            64,
        );
        ((r.features * weights.clone()).sum(), p, w)
    };
    let (value, p, w) = loss(&planes, &w1, true);
    let grads = value.backward();
    let gp = to_vec(p.grad(&grads).expect("gradient reaches the planes"));
    let gw = to_vec(w.grad(&grads).expect("gradient reaches the decoder"));
    let scalar = |t: Tensor<1>| to_vec(t)[0];
    let h_step = 1e-2f32;
    let mut checked = 0;
    // Entries with a gradient worth checking (most plane texels are never sampled).
    let mut order: Vec<usize> = (0..gp.len()).collect();
    order.sort_by(|&a, &b| gp[b].abs().total_cmp(&gp[a].abs()));
    for &i in order.iter().take(4) {
        let (mut up, mut down) = (planes.clone(), planes.clone());
        up[i] += h_step;
        down[i] -= h_step;
        let fd = (scalar(loss(&up, &w1, false).0) - scalar(loss(&down, &w1, false).0))
            / (2.0 * f64::from(h_step));
        // 3 %: an f32 central difference at this step is that coarse — on fresh random inputs
        // one run in many (2026-12-04) met 2.1 % where 2 % was asked.
        assert!(
            (fd - gp[i]).abs() <= 3e-2 * fd.abs().max(1e-2),
            "plane[{i}]: grad {} vs fd {fd}",
            gp[i]
        );
        checked += 1;
    }
    // The density path (row 0) is curved (softplus, exp): a smaller step, 5%, and 3e-3 for the
    // f32 noise floor of a finite difference of this loss (a sum of ~1000 composited values).
    let h_decoder = 3e-3f32;
    for j in [0usize, 5, 64 + 3, 20 * 64 + 7] {
        let (mut up, mut down) = (w1.clone(), w1.clone());
        up[j] += h_decoder;
        down[j] -= h_decoder;
        let fd = (scalar(loss(&planes, &up, false).0) - scalar(loss(&planes, &down, false).0))
            / (2.0 * f64::from(h_decoder));
        assert!(
            (fd - gw[j]).abs() <= 5e-2 * fd.abs() + 3e-3,
            "decoder w1[{j}]: grad {} vs fd {fd}",
            gw[j]
        );
        checked += 1;
    }
    assert_eq!(checked, 8);
}

/// The fused kernel against the reference path on the fixture's planes and decoder: coarse
/// only, with importance samples, with fresh random draws (jitter and CDF samples) and with
/// many samples. Tolerance 1e-4 of the largest value (f32 sums in a different order).
#[test]
fn fused_renderer_equals_the_reference_path() {
    use rand::Rng;
    let gpu = common::gpu();
    let device = &gpu.burn;
    let fx = Fixture::load("next3d_render.safetensors");
    let (decoder, projection) = decoder_and_projection(&fx, device);
    let shape = fx.shape("in/planes")[1..].to_vec();
    let planes =
        Tensor::<4>::from_data(TensorData::new(part(&fx, "in/planes", 0, 2), shape), device);
    let camera = CameraLabel::from_eg3d(&part(&fx, "in/c", 1, 2).try_into().unwrap());
    let mut rng = common::rng("fused renderer");
    let mut draws = |rows: usize, columns: usize| {
        let values: Vec<f32> = (0..rows * columns).map(|_| rng.random()).collect();
        Tensor::<2>::from_data(TensorData::new(values, [rows, columns]), device)
    };
    let mut given = |n: usize, d: usize, di: usize| Randomness::Given {
        stratified: draws(n * n, d),
        pdf: draws(n * n, di),
    };
    // (N, D, Di, draws): coarse only; the fixture's counts; fresh random draws; and EG3D
    // viewer's ×4 preset, past lavapipe's 65535-iterations-per-invocation loop limit if the
    // kernel spent many iterations per sample.
    let cases = [
        (12, 16, 0, Randomness::Deterministic),
        (16, 24, 24, Randomness::Deterministic),
        (16, 24, 24, given(16, 24, 24)),
        (2, 192, 192, given(2, 192, 192)),
    ];
    let mut failures = Vec::new();
    for (case, (n, d, importance_samples, randomness)) in cases.into_iter().enumerate() {
        let settings = RenderSettings {
            resolution: n,
            depth_samples: d,
            importance_samples,
            ..Default::default()
        };
        let fused = render_fused(
            planes.clone(),
            &projection,
            &decoder,
            &camera,
            &settings,
            randomness.clone(),
        );
        let reference = render_reference(
            planes.clone(),
            &projection.tensor(device),
            &decoder,
            &camera,
            &settings,
            randomness,
            64,
        );
        for (name, a, b) in [
            (
                "features",
                to_vec(fused.features),
                to_vec(reference.features),
            ),
            (
                "weights",
                to_vec(fused.weights_sum),
                to_vec(reference.weights_sum),
            ),
            ("depth", to_vec(fused.depth), to_vec(reference.depth)),
        ] {
            let (err, scale) = max_error(&a, &b);
            eprintln!("case {case}: {name} max error {err:.2e} of {scale:.3}");
            if err > 1e-4 * scale {
                failures.push(format!("case {case}: {name} differs by {err:e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The fused kernel against the reference path on the embedded default avatar: a sharp
/// surface and empty space around it, so the kernel's early ray termination and its skipping
/// of negligible features are exercised (most rays either miss the head or stop at it).
#[test]
fn fused_renderer_equals_the_reference_path_on_the_default_avatar() {
    use neuralhead::avatar::pipeline::{FramePipeline, RASTER_RESOLUTION};
    use neuralhead::render::camera::OrbitCamera;
    let gpu = common::gpu();
    let device = &gpu.burn;
    let avatar = neuralhead::avatar::default::embedded().unwrap();
    let rig = neuralhead::rig::default_rig::embedded();
    let mut pipeline = FramePipeline::new(gpu, rig, &avatar, RASTER_RESOLUTION).unwrap();
    let planes = pipeline.planes(&avatar.source.params).unwrap();
    let decoder = avatar.osg_decoder(device).unwrap();
    let projection = PlaneProjection::from_plane_axes(&avatar.plane_axes).unwrap();
    let camera = OrbitCamera {
        yaw: 0.4,
        ..avatar.source.camera
    };
    let (ray_start, ray_end) = camera.ray_bounds();
    let settings = RenderSettings {
        resolution: 32,
        ray_start,
        ray_end,
        ..Default::default()
    };
    // The pipeline's hidden planes (copied where the head does not cover a plane) are the
    // first layer on every texel of its blended planes.
    let (err, scale) = max_error(
        &to_vec(planes.hidden.clone()),
        &to_vec(neuralhead::render::hidden::hidden_planes(
            planes.blended.clone(),
            &decoder,
        )),
    );
    eprintln!("hidden planes: max error {err:.2e} of {scale:.3}");
    assert!(
        err <= 1e-5 * scale,
        "the pipeline's hidden planes differ by {err:e}"
    );
    let label = CameraLabel::from_eg3d(&camera.eg3d_label());
    let fused = render_fused(
        planes.blended.clone(),
        &projection,
        &decoder,
        &label,
        &settings,
        Randomness::Deterministic,
    );
    let reference = render_reference(
        planes.blended,
        &projection.tensor(device),
        &decoder,
        &label,
        &settings,
        Randomness::Deterministic,
        1024,
    );
    let opacity = to_vec(reference.weights_sum.clone());
    let empty = opacity.iter().filter(|&&w| w < 1e-3).count();
    let opaque = opacity.iter().filter(|&&w| w > 0.99).count();
    eprintln!(
        "{empty} empty and {opaque} opaque rays of {}",
        opacity.len()
    );
    assert!(
        empty > 100 && opaque > 100,
        "the view should show both head and background"
    );
    let mut failures = Vec::new();
    for (name, a, b) in [
        (
            "features",
            to_vec(fused.features),
            to_vec(reference.features),
        ),
        ("weights", to_vec(fused.weights_sum), opacity),
        ("depth", to_vec(fused.depth), to_vec(reference.depth)),
    ] {
        // The surface is about one texel thick (density ×20), so σ changes by ~1e3 per unit
        // of depth: f32 rounding in the importance depths (~1e-6, summed in another order)
        // moves a grazing ray's opacity by up to a few 1e-4. Hence 2e-3 at the worst ray;
        // over the image the two must agree as closely as on the fixture (mean 1e-5).
        let (err, scale) = max_error(&a, &b);
        let mean = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64;
        eprintln!("{name}: max error {err:.2e} of {scale:.3}, mean {mean:.2e}");
        if err > 2e-3 * scale || mean > 1e-5 * scale {
            failures.push(format!(
                "{name} differs by {err:e} at most, {mean:e} on average"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The viewer's hidden planes (`shaders/hidden_planes.wgsl`: static texels copied, covered
/// ones projected) against the first layer as a matmul over every texel, on fresh random
/// planes whose texels equal the static planes where the random slot alpha is 0 (as the
/// rasterizer's blend leaves them). Tolerance 1e-5 of the largest value (f32, summed in
/// another order).
#[test]
fn hidden_planes_projected_where_covered_equal_the_matmul() {
    use burn::tensor::Distribution;
    use neuralhead::render::hidden::{hidden_planes, hidden_planes_covered};
    let gpu = common::gpu();
    let device = &gpu.burn;
    let fx = Fixture::load("next3d_render.safetensors");
    let (decoder, _) = decoder_and_projection(&fx, device);
    let (c, r) = (32, 40);
    let uniform =
        |shape: [usize; 4]| Tensor::<4>::random(shape, Distribution::Uniform(-2.0, 2.0), device);
    let static_planes = uniform([3, c, r, r]);
    let covered = Tensor::<3>::random([3, r, r], Distribution::Uniform(0.0, 1.0), device)
        .greater_elem(0.6)
        .float();
    let alphas =
        covered.clone() * Tensor::random([3, r, r], Distribution::Uniform(0.1, 1.0), device);
    let mask = covered.unsqueeze_dim::<4>(1);
    let blended = uniform([3, c, r, r]) * mask.clone() + static_planes.clone() * (mask.neg() + 1.0);
    let static_hidden = hidden_planes(static_planes, &decoder);
    let expected = to_vec(hidden_planes(blended.clone(), &decoder));
    let covered_fraction = to_vec(alphas.clone().greater_elem(0.0).float().mean())[0];
    let actual = to_vec(hidden_planes_covered(
        blended,
        alphas,
        static_hidden,
        &decoder,
    ));
    let (err, scale) = max_error(&actual, &expected);
    eprintln!(
        "hidden planes: max error {err:.2e} of {scale:.3}; {covered_fraction:.2} of the texels covered"
    );
    assert!((0.3..0.5).contains(&covered_fraction));
    assert!(
        err <= 1e-5 * scale,
        "hidden planes differ by {err:e} (scale {scale})"
    );
}
