// The shaded mesh preview: the rig's colour texture (or grey) under a UV checker,
// lit from the camera side with flat normals. Keep `Uniforms` in sync with
// `PreviewUniforms` in src/render/preview.rs.

struct Uniforms {
    world_to_clip: mat4x4<f32>,
    camera_position: vec4<f32>,
    // x: checker squares per UV unit, y: checker contrast
    checker: vec4<f32>,
}

@group(0) @binding(0) var<uniform> uniforms: Uniforms;
@group(0) @binding(1) var albedo: texture_2d<f32>;
@group(0) @binding(2) var albedo_sampler: sampler;

struct VertexOutput {
    @builtin(position) clip: vec4<f32>,
    @location(0) world: vec3<f32>,
    @location(1) uv: vec2<f32>,
}

@vertex
fn vs_main(@location(0) position: vec3<f32>, @location(1) uv: vec2<f32>) -> VertexOutput {
    var out: VertexOutput;
    out.clip = uniforms.world_to_clip * vec4<f32>(position, 1.0);
    out.world = position;
    out.uv = uv;
    return out;
}

@fragment
fn fs_main(in: VertexOutput) -> @location(0) vec4<f32> {
    let to_camera = normalize(uniforms.camera_position.xyz - in.world);
    var normal = normalize(cross(dpdx(in.world), dpdy(in.world)));
    if (dot(normal, to_camera) < 0.0) {
        normal = -normal;
    }
    // A key light above-left of the camera plus ambient.
    let key = normalize(to_camera + vec3<f32>(-0.3, 0.5, 0.0));
    let light = 0.3 + 0.7 * max(dot(normal, key), 0.0);
    // Texture rows run top (v = 1) to bottom.
    let colour = textureSample(albedo, albedo_sampler, vec2<f32>(in.uv.x, 1.0 - in.uv.y)).rgb;
    let cell = floor(in.uv * uniforms.checker.x);
    let odd = (i32(cell.x) + i32(cell.y)) & 1;
    let checker = 1.0 - uniforms.checker.y * f32(odd);
    return vec4<f32>(colour * checker * light, 1.0);
}
