// The viewer's fused path for one frame's triplanes: for each plane pixel, sample the
// neural texture through every raster view that feeds the slot (oriented as the layout
// says), sum, and blend with the static plane by the slot's alpha. With IMAGES = 4,
// invocations 3·R²…4·R² write the unmasked front view (what the mouth networks read).
// The differentiable path is `sample` + `blend` in src/raster/gpu.rs (burn ops); a test
// holds the two equal. Keep the layout encoding in sync with `encode_layout` there.

@group(0) @binding(0) var<storage, read_write> raster: array<f32>;       // [4, 4, R, R]
@group(0) @binding(1) var<storage, read_write> texture: array<f32>;      // [C, T, T]
@group(0) @binding(2) var<storage, read_write> view_alphas: array<f32>;  // [4, R, R] filled
@group(0) @binding(3) var<storage, read_write> static_planes: array<f32>; // [3, C, R, R]
@group(0) @binding(4) var<storage, read_write> slots: array<f32>;        // [3, 13]
// One buffer: planes [3, C, R, R] (holding the static planes on entry), then slot alphas
// [3, R, R], then (IMAGES = 4) the front view [C, R, R].
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

const C: u32 = {{ channels }}u;
const T: u32 = {{ texture_size }}u;
const RES: u32 = {{ resolution }}u;
const ZERO_BACKGROUND: bool = {{ zero_background }};
const IMAGES: u32 = {{ images }}u;
const WORKGROUP_SIZE: u32 = {{ workgroup_size }}u;
// Per slot: 2 raster sources and 2 alpha sources as (view or −1, flip_u, flip_v), then the
// alpha rule (0 fractional, 1 binarized).
const SLOT_STRIDE: u32 = 13u;

// The pixel of `view`'s image that lands on (row, col), after the source's flips.
fn source_pixel(row: u32, col: u32, flip_u: f32, flip_v: f32) -> u32 {
    let r = select(row, RES - 1u - row, flip_v > 0.5);
    let c = select(col, RES - 1u - col, flip_u > 0.5);
    return r * RES + c;
}

const PLANES: u32 = 0u;
const SLOT_ALPHAS: u32 = 3u * C * RES * RES;
const FRONT: u32 = SLOT_ALPHAS + 3u * RES * RES;

// This invocation's features, summed over the views of its slot; written out once.
var<private> acc: array<f32, C>;

// Adds texture(u', v') (bilinear, zero padding, align_corners = false) to `acc`.
fn accumulate(u: f32, v: f32) {
    let x = ((u + 1.0) * f32(T) - 1.0) * 0.5;
    let y = ((v + 1.0) * f32(T) - 1.0) * 0.5;
    let x0 = floor(x);
    let y0 = floor(y);
    for (var corner = 0u; corner < 4u; corner++) {
        let xi = x0 + f32(corner & 1u);
        let yi = y0 + f32(corner >> 1u);
        if (xi < 0.0 || yi < 0.0 || xi >= f32(T) || yi >= f32(T)) {
            continue;
        }
        let w = (1.0 - abs(x - xi)) * (1.0 - abs(y - yi));
        let texel = u32(yi) * T + u32(xi);
        for (var c = 0u; c < C; c++) {
            acc[c] += w * texture[c * T * T + texel];
        }
    }
}

// Adds view `view`'s sample at its image pixel `pixel` to `acc`.
fn sample_view(view: u32, pixel: u32) {
    let plane = RES * RES;
    let r = 4u * view * plane + pixel;
    let visible = raster[r + 2u * plane];
    if (ZERO_BACKGROUND && visible < 0.5) {
        return;
    }
    accumulate(raster[r], raster[r + plane]);
}

@compute @workgroup_size({{ workgroup_size }})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.y * groups.x * WORKGROUP_SIZE + gid.x;
    let plane = RES * RES;
    if (i >= IMAGES * plane) {
        return;
    }
    let slot = i / plane;
    let pixel = i % plane;
    let row = pixel / RES;
    let col = pixel % RES;
    for (var c = 0u; c < C; c++) {
        acc[c] = 0.0;
    }
    if (slot == 3u) {
        // The unmasked front view, with the reference's background quirk as configured.
        sample_view(0u, pixel);
        for (var c = 0u; c < C; c++) {
            out[FRONT + c * plane + pixel] = acc[c];
        }
        return;
    }
    let l = slot * SLOT_STRIDE;
    var alpha = 0.0;
    for (var k = 0u; k < 2u; k++) {
        let s = l + 6u + 3u * k;
        if (slots[s] >= 0.0) {
            var a = view_alphas[u32(slots[s]) * plane + source_pixel(row, col, slots[s + 1u], slots[s + 2u])];
            if (slots[l + 12u] > 0.5) {
                a = select(0.0, 1.0, a != 0.0);
            }
            alpha = max(alpha, a);
        }
    }
    out[SLOT_ALPHAS + slot * plane + pixel] = alpha;
    // Where the slot's alpha is 0 the plane is the static plane alone (α·features vanishes),
    // and the planes arrive holding the static planes (a device-side copy): most of each
    // plane, away from the head, is done.
    if (alpha == 0.0) {
        return;
    }
    let base = PLANES + slot * C * plane + pixel;
    for (var k = 0u; k < 2u; k++) {
        let s = l + 3u * k;
        if (slots[s] >= 0.0) {
            sample_view(u32(slots[s]), source_pixel(row, col, slots[s + 1u], slots[s + 2u]));
        }
    }
    for (var c = 0u; c < C; c++) {
        out[base + c * plane] = alpha * acc[c] + (1.0 - alpha) * static_planes[slot * C * plane + c * plane + pixel];
    }
}
