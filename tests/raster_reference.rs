//! The CPU reference of the rasterization step against the official implementation
//! (tests/fixtures/next3d_raster_uv.safetensors: pytorch3d 0.7.6 + OpenCV flood fill),
//! stage by stage, with the criteria of the fixture README: `pix_to_face` identical except
//! on triangle edges, barycentrics within 1e-3, everything downstream of the raster within
//! 1e-4·max|ref| when fed the reference raster, the mouth box exact.

#[path = "common/fixture.rs"]
mod fixture;

use fixture::{Fixture, max_error};
use neuralhead::raster::reference::{self, Image, RasterView};
use neuralhead::raster::views::{self, View};

struct Setup {
    fx: Fixture,
    batch: usize,
    resolution: usize,
    vertices: usize,
    views: Vec<View>,
    scale: f64,
    faces: Vec<[u32; 3]>,
    uv_corners: Vec<[[f64; 2]; 3]>,
}

fn setup() -> Setup {
    let fx = Fixture::load("next3d_raster_uv.safetensors");
    let config = fx.json("config");
    let batch = config["batch"].as_u64().unwrap() as usize;
    let resolution = config["raster_res"].as_u64().unwrap() as usize;
    let shift = fx.data("orth_shift");
    let views = fx
        .json("views")
        .as_array()
        .unwrap()
        .iter()
        .map(|v| View {
            angles: [0, 1, 2].map(|i| v[i].as_f64().unwrap()),
            shift: [shift[0], shift[1], shift[2]],
        })
        .collect();
    let faces: Vec<[u32; 3]> = fx
        .data("faces")
        .chunks_exact(3)
        .map(|c| [c[0] as u32, c[1] as u32, c[2] as u32])
        .collect();
    let uv_corners = fx
        .data("face_uvcoords")
        .chunks_exact(9)
        .map(|c| [[c[0], c[1]], [c[3], c[4]], [c[6], c[7]]])
        .collect();
    let vertices = fx.shape("in/v")[1];
    Setup {
        scale: fx.data("orth_scale")[0],
        batch,
        resolution,
        vertices,
        views,
        faces,
        uv_corners,
        fx,
    }
}

fn points(s: &Setup, b: usize) -> (Vec<[f64; 3]>, Vec<[f64; 3]>) {
    let v = &s.fx.data("in/v")[b * s.vertices * 3..(b + 1) * s.vertices * 3];
    let all: Vec<[f64; 3]> = v.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
    let split = all.len() - 68;
    (all[..split].to_vec(), all[split..].to_vec())
}

fn image(s: &Setup, name: &str, b: usize) -> Image {
    let shape = s.fx.shape(name);
    let (c, h, w) = (shape[1], shape[2], shape[3]);
    let data = s.fx.data(name)[b * c * h * w..(b + 1) * c * h * w].to_vec();
    Image {
        channels: c,
        height: h,
        width: w,
        data,
    }
}

fn slice<'a>(s: &'a Setup, name: &str, b: usize) -> &'a [f64] {
    let data = s.fx.data(name);
    let per = data.len() / s.batch;
    &data[b * per..(b + 1) * per]
}

/// The reference's raster (u', v', vis, vis) as a RasterView.
fn reference_raster(s: &Setup, view: usize, b: usize) -> RasterView {
    let r = slice(s, &format!("mid/view{view}.raster"), b);
    let n = s.resolution * s.resolution;
    RasterView {
        resolution: s.resolution,
        face: (0..n).map(|p| (r[3 * n + p] > 0.5).then_some(0)).collect(),
        bary: vec![[0.0; 3]; n],
        uv: (0..n).map(|p| [r[p], r[n + p]]).collect(),
    }
}

#[test]
fn views_and_rasterization_match_pytorch3d() {
    let s = setup();
    let n = s.resolution;
    for b in 0..s.batch {
        let (mesh, landmarks) = points(&s, b);
        for (k, view) in s.views.iter().enumerate() {
            let lm: Vec<f64> = views::transform(&landmarks, view, s.scale)
                .iter()
                .flat_map(|p| [p[0], p[1]])
                .collect();
            let (err, scale) = max_error(&lm, slice(&s, &format!("out/view{k}.lm2d"), b));
            assert!(err <= 1e-5 * scale, "view {k} landmarks: {err:e}");

            let raster = reference::rasterize(
                &views::transform(&mesh, view, s.scale),
                &s.faces,
                &s.uv_corners,
                n,
            );
            let faces_ref = slice(&s, &format!("mid/view{k}.pix_to_face"), b);
            let bary_ref = slice(&s, &format!("mid/view{k}.bary"), b);
            let mut worst_bary = 0.0f64;
            for p in 0..n * n {
                let ours = raster.face[p].map_or(-1.0, f64::from);
                if ours != faces_ref[p] {
                    // Allowed only when the pixel centre sits on an edge of either face.
                    let on_edge = raster.bary[p]
                        .iter()
                        .chain(&bary_ref[3 * p..3 * p + 3])
                        .any(|w| w.abs() < 1e-4);
                    assert!(
                        on_edge,
                        "view {k} sample {b}: pixel {p} face {ours} vs {}",
                        faces_ref[p]
                    );
                } else if ours >= 0.0 {
                    for i in 0..3 {
                        worst_bary =
                            worst_bary.max((raster.bary[p][i] - bary_ref[3 * p + i]).abs());
                    }
                }
            }
            assert!(
                worst_bary <= 1e-3,
                "view {k}: barycentrics differ by {worst_bary:e}"
            );
        }
    }
}

#[test]
fn sampling_masking_and_fill_match_from_the_reference_raster() {
    let s = setup();
    let n = s.resolution;
    let mask = image(&s, "uv_face_mask", 0);
    for b in 0..s.batch {
        let texture = image(&s, "in/textures", b);
        let rasters: Vec<RasterView> = (0..s.views.len())
            .map(|k| reference_raster(&s, k, b))
            .collect();
        for (k, raster) in rasters.iter().enumerate() {
            let alpha = reference::masked_alpha(raster, &mask);
            let (err, scale) =
                max_error(&alpha, slice(&s, &format!("mid/view{k}.alpha_masked"), b));
            assert!(
                err <= 1e-4 * scale.max(1.0),
                "view {k} masked alpha: {err:e}"
            );
            // The fill starts from the reference's own masked alpha, so only the rule is tested.
            let filled =
                reference::fill_mouth(slice(&s, &format!("mid/view{k}.alpha_masked"), b), n);
            let (err, _) = max_error(&filled, slice(&s, &format!("mid/view{k}.alpha_filled"), b));
            assert!(err == 0.0, "view {k} fill differs by {err:e}");
        }
        let front = reference::sample_texture(&rasters[0], &texture, false);
        let (err, scale) = max_error(&front.data, slice(&s, "out/front.rendering", b));
        assert!(err <= 1e-4 * scale, "front rendering: {err:e} of {scale}");
        let side: Vec<f64> = reference::sample_texture(&rasters[1], &texture, false)
            .data
            .iter()
            .zip(&reference::sample_texture(&rasters[2], &texture, false).data)
            .map(|(a, b)| a + b)
            .collect();
        let (err, scale) = max_error(&side, slice(&s, "out/side.rendering", b));
        assert!(err <= 1e-4 * scale, "side rendering: {err:e} of {scale}");
        let top = reference::sample_texture(&rasters[3], &texture, false);
        let (err, scale) = max_error(&top.data, slice(&s, "out/top.rendering", b));
        assert!(err <= 1e-4 * scale, "top rendering: {err:e} of {scale}");
    }
}

#[test]
fn mouth_box_matches_exactly() {
    let s = setup();
    for b in 0..s.batch {
        let (_, landmarks) = points(&s, b);
        let lm: Vec<[f64; 2]> = views::transform(&landmarks, &s.views[0], s.scale)
            .iter()
            .map(|p| [p[0], p[1]])
            .collect();
        let ours = reference::mouth_box_256(&lm).map(|x| x as f64);
        assert_eq!(&ours[..], slice(&s, "out/mouth_box", b));
    }
}
