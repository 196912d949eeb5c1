//! The avatar's radiance field at one expression, queried at arbitrary points: density and
//! colour, as the ray marcher sees them (the blended planes through the decoder).

use burn::tensor::{Tensor, TensorData};

use crate::avatar::pipeline::FramePipeline;
use crate::render::camera::rig_to_world;
use crate::render::decoder::OsgDecoder;
use crate::render::triplane::sample_planes;
use crate::render::volume::RenderSettings;
use crate::rig::RigParams;

/// Points per GPU batch: their plane features (3 × 32 floats each) stay within lavapipe's
/// 128 MiB buffers with room to spare.
const BATCH: usize = 1 << 16;

pub struct Field {
    planes: Tensor<4>,
    projection: Tensor<3>,
    decoder: OsgDecoder,
    box_warp: f64,
}

/// Density (the decoder's raw σ) and colour (0…1: the decoder's first three features, which
/// the marcher composites and then maps to −1…1 as EG3D does, and the viewer back) at each
/// point.
pub struct Samples {
    pub density: Vec<f32>,
    pub colour: Vec<[f32; 3]>,
}

impl Field {
    /// The field of `pipeline`'s avatar with the rig posed by `params`.
    pub fn new(pipeline: &mut FramePipeline, params: &RigParams) -> anyhow::Result<Self> {
        let planes = pipeline.planes(params)?.blended;
        let device = planes.device();
        Ok(Self {
            projection: pipeline.projection().tensor(&device),
            decoder: pipeline.decoder().clone(),
            box_warp: RenderSettings::default().box_warp,
            planes,
        })
    }

    /// The field at `points` in rig space (metres), batch by batch; `progress` hears the
    /// fraction done after each batch and stops the work by returning false.
    pub fn sample(
        &self,
        points: &[[f32; 3]],
        progress: &mut dyn FnMut(f32) -> bool,
    ) -> anyhow::Result<Samples> {
        let to_world = rig_to_world();
        let device = self.planes.device();
        let mut samples = Samples {
            density: Vec::with_capacity(points.len()),
            colour: Vec::with_capacity(points.len()),
        };
        for (i, batch) in points.chunks(BATCH).enumerate() {
            let world: Vec<f32> = batch
                .iter()
                .flat_map(|p| {
                    let w = to_world.transform_point3(glam::DVec3::new(
                        f64::from(p[0]),
                        f64::from(p[1]),
                        f64::from(p[2]),
                    ));
                    [w.x as f32, w.y as f32, w.z as f32]
                })
                .collect();
            let m = batch.len();
            let world = Tensor::<2>::from_data(TensorData::new(world, [m, 3]), &device);
            let features =
                sample_planes(self.planes.clone(), &self.projection, world, self.box_warp);
            let (sigma, features) = self.decoder.forward(features);
            let read = |t: Tensor<2>| {
                t.into_data().try_to_vec::<f32>().map_err(|e| {
                    anyhow::anyhow!("reading the field back from the GPU failed: {e:?}")
                })
            };
            samples.density.extend(read(sigma)?);
            let rgb = read(features.slice([0..m, 0..3]))?;
            samples.colour.extend(
                rgb.chunks_exact(3)
                    .map(|c| [c[0], c[1], c[2]].map(|x| x.clamp(0.0, 1.0))),
            );
            if !progress(((i + 1) * BATCH).min(points.len()) as f32 / points.len() as f32) {
                return Err(crate::Cancelled.into());
            }
        }
        Ok(samples)
    }
}
