// The fused marcher's hidden planes for one frame: the decoder's first layer (its gain and
// the 1/3 of the mean over planes folded in, no bias) on every texel of the blended planes,
// channel-last. Where a slot's alpha is 0 the blended plane is exactly the static plane,
// whose hidden planes the avatar computes once: `hidden` arrives as a device-side copy of
// those, and only the texels the head covers are projected into it. The reference is
// `hidden_planes` in src/render/hidden.rs (a matmul over every texel); a test holds the two
// equal.

@group(0) @binding(0) var<storage, read_write> planes: array<f32>;              // [3, C, R, R] blended
@group(0) @binding(1) var<storage, read_write> alphas: array<f32>;              // [3, R, R] slot alphas
@group(0) @binding(2) var<storage, read_write> layer: array<vec4<f32>>;         // [C, 64 / 4] scaled, transposed
@group(0) @binding(3) var<storage, read_write> hidden: array<vec4<f32>>;        // [3, R, R, 64 / 4], static ones in

const C: u32 = {{ channels }}u;
const RES: u32 = {{ resolution }}u;
const HIDDEN4: u32 = 16u;
const LAYER4: u32 = C * HIDDEN4;
const WORKGROUP_SIZE: u32 = {{ workgroup_size }}u;

// The layer, copied once per workgroup: every invocation reads all of it (as raymarch.wgsl
// does with the decoder, for the same reason: per-lane global reads are slow on llvmpipe).
var<workgroup> weights: array<vec4<f32>, LAYER4>;
// The texel's 64 pre-activations; constant indices keep them in registers.
var<private> acc: array<vec4<f32>, 16>;

// acc += x · the layer's row for channel c.
fn add_channel(c: u32, x: f32) {
    let w = c * HIDDEN4;
    acc[0] += x * weights[w];
    acc[1] += x * weights[w + 1u];
    acc[2] += x * weights[w + 2u];
    acc[3] += x * weights[w + 3u];
    acc[4] += x * weights[w + 4u];
    acc[5] += x * weights[w + 5u];
    acc[6] += x * weights[w + 6u];
    acc[7] += x * weights[w + 7u];
    acc[8] += x * weights[w + 8u];
    acc[9] += x * weights[w + 9u];
    acc[10] += x * weights[w + 10u];
    acc[11] += x * weights[w + 11u];
    acc[12] += x * weights[w + 12u];
    acc[13] += x * weights[w + 13u];
    acc[14] += x * weights[w + 14u];
    acc[15] += x * weights[w + 15u];
}

fn project(slot: u32, pixel: u32, texel: u32) {
    for (var k = 0u; k < HIDDEN4; k++) {
        acc[k] = vec4<f32>(0.0);
    }
    let plane = RES * RES;
    for (var c = 0u; c < C; c++) {
        add_channel(c, planes[(slot * C + c) * plane + pixel]);
    }
    let o = texel * HIDDEN4;
    for (var k = 0u; k < HIDDEN4; k++) {
        hidden[o + k] = acc[k];
    }
}

@compute @workgroup_size({{ workgroup_size }})
fn main(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) thread: u32,
) {
    for (var i = thread; i < LAYER4; i += WORKGROUP_SIZE) {
        weights[i] = layer[i];
    }
    workgroupBarrier();
    let texel = gid.y * groups.x * WORKGROUP_SIZE + gid.x;
    let plane = RES * RES;
    if (texel >= 3u * plane) {
        return;
    }
    if (alphas[texel] != 0.0) {
        project(texel / plane, texel % plane, texel);
    }
}
