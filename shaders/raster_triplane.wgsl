// Next3D's orthographic rasterization of the head into its four views, with pytorch3d's
// semantics: faces reordered [0, 2, 1], back faces (negative area) and zero-area faces
// skipped, pixel (r, c) centred at NDC (1 − (2c+1)/R, 1 − (2r+1)/R), inside ⇔ all three
// barycentrics > 0, z ≥ 0, nearest wins and the lowest face index wins a tie.
// Keep in sync with src/raster/gpu.rs; the f64 reference is src/raster/reference.rs.
//
// One file, four stages chosen by the STAGE template value (same bindings for all):
//   0 clear   one invocation per (view, pixel)
//   1 depth   one per (view, face): atomicMin of the depth's bits over covered pixels
//   2 winner  one per (view, face): atomicMin of the face index where its depth won
//   3 resolve one per (view, pixel): barycentrics of the winner → (u', v', visible, face)

@group(0) @binding(0) var<storage, read_write> vertices: array<f32>;     // [V, 3] rig space
@group(0) @binding(1) var<storage, read_write> faces: array<f32>;        // [F, 3] vertex ids as f32
@group(0) @binding(2) var<storage, read_write> uv_corners: array<f32>;   // [F, 3, 2] grid coords
@group(0) @binding(3) var<storage, read_write> views: array<f32>;        // [4, 12]: rows of M, then b
@group(0) @binding(4) var<storage, read_write> depth: array<atomic<u32>>;  // [4, R, R]
@group(0) @binding(5) var<storage, read_write> winner: array<atomic<u32>>; // [4, R, R]
@group(0) @binding(6) var<storage, read_write> raster: array<f32>;       // [4, 4, R, R]

const NUM_FACES: u32 = {{ num_faces }}u;
const RES: u32 = {{ resolution }}u;
const NUM_VIEWS: u32 = 4u;
const STAGE: u32 = {{ stage }}u;
const WORKGROUP_SIZE: u32 = {{ workgroup_size }}u;
const NO_FACE: u32 = 0xffffffffu;
const FAR: u32 = 0x7f800000u; // +inf: non-negative floats order like their bits

// A point in the rasterizer's NDC for a view: p·M + b (the view rotation, shift, scale and
// every flip of the reference folded together on the CPU).
fn project(view: u32, vertex: u32) -> vec3<f32> {
    let o = 12u * view;
    let p = vec3<f32>(vertices[3u * vertex], vertices[3u * vertex + 1u], vertices[3u * vertex + 2u]);
    return p.x * vec3<f32>(views[o], views[o + 1u], views[o + 2u])
        + p.y * vec3<f32>(views[o + 3u], views[o + 4u], views[o + 5u])
        + p.z * vec3<f32>(views[o + 6u], views[o + 7u], views[o + 8u])
        + vec3<f32>(views[o + 9u], views[o + 10u], views[o + 11u]);
}

fn edge(p: vec2<f32>, a: vec2<f32>, b: vec2<f32>) -> f32 {
    return (p.x - a.x) * (b.y - a.y) - (p.y - a.y) * (b.x - a.x);
}

struct Triangle {
    v0: vec3<f32>,
    v1: vec3<f32>,
    v2: vec3<f32>,
    area: f32,
}

// The face with pytorch3d's corner order [0, 2, 1].
fn triangle(view: u32, face: u32) -> Triangle {
    var t: Triangle;
    t.v0 = project(view, u32(faces[3u * face]));
    t.v1 = project(view, u32(faces[3u * face + 2u]));
    t.v2 = project(view, u32(faces[3u * face + 1u]));
    t.area = edge(t.v2.xy, t.v0.xy, t.v1.xy);
    return t;
}

fn pixel_centre(i: u32) -> f32 {
    return 1.0 - (2.0 * f32(i) + 1.0) / f32(RES);
}

// Barycentrics at pixel (row, col); any ≤ 0 means outside.
fn barycentrics(t: Triangle, row: u32, col: u32) -> vec3<f32> {
    let p = vec2<f32>(pixel_centre(col), pixel_centre(row));
    return vec3<f32>(edge(p, t.v1.xy, t.v2.xy), edge(p, t.v2.xy, t.v0.xy), edge(p, t.v0.xy, t.v1.xy)) / t.area;
}

// First and one-past-last pixel index whose centre lies in [lo, hi] (centres decrease).
fn pixel_span(lo: f32, hi: f32) -> vec2<u32> {
    let first = max(floor(((1.0 - hi) * f32(RES) - 1.0) / 2.0), 0.0);
    let last = min(ceil(((1.0 - lo) * f32(RES) - 1.0) / 2.0), f32(RES) - 1.0);
    if (last < first) {
        return vec2<u32>(0u, 0u);
    }
    return vec2<u32>(u32(first), u32(last) + 1u);
}

// Stages 1 and 2: visit the face's covered pixels with their depth.
fn cover(view: u32, face: u32) {
    let t = triangle(view, face);
    if (!(t.area > 1e-8)) {
        return; // back-facing, degenerate or NaN
    }
    let rows = pixel_span(min(min(t.v0.y, t.v1.y), t.v2.y), max(max(t.v0.y, t.v1.y), t.v2.y));
    let cols = pixel_span(min(min(t.v0.x, t.v1.x), t.v2.x), max(max(t.v0.x, t.v1.x), t.v2.x));
    for (var row = rows.x; row < rows.y; row++) {
        for (var col = cols.x; col < cols.y; col++) {
            let w = barycentrics(t, row, col);
            if (w.x <= 0.0 || w.y <= 0.0 || w.z <= 0.0) {
                continue;
            }
            let z = dot(w, vec3<f32>(t.v0.z, t.v1.z, t.v2.z));
            if (z < 0.0) {
                continue;
            }
            let pixel = (view * RES + row) * RES + col;
            if (STAGE == 1u) {
                atomicMin(&depth[pixel], bitcast<u32>(z));
            } else if (bitcast<u32>(z) == atomicLoad(&depth[pixel])) {
                atomicMin(&winner[pixel], face);
            }
        }
    }
}

fn resolve(view: u32, pixel: u32) {
    let plane = RES * RES;
    let out = 4u * view * plane + pixel;
    let face = atomicLoad(&winner[view * plane + pixel]);
    if (face == NO_FACE) {
        raster[out] = 0.0;
        raster[out + plane] = 0.0;
        raster[out + 2u * plane] = 0.0;
        raster[out + 3u * plane] = -1.0;
        return;
    }
    let t = triangle(view, face);
    let w = barycentrics(t, pixel / RES, pixel % RES);
    // Corner UVs in the same [0, 2, 1] order as the vertices.
    let c = 6u * face;
    let uv = w.x * vec2<f32>(uv_corners[c], uv_corners[c + 1u])
        + w.y * vec2<f32>(uv_corners[c + 4u], uv_corners[c + 5u])
        + w.z * vec2<f32>(uv_corners[c + 2u], uv_corners[c + 3u]);
    raster[out] = uv.x;
    raster[out + plane] = uv.y;
    raster[out + 2u * plane] = 1.0;
    raster[out + 3u * plane] = f32(face);
}

@compute @workgroup_size({{ workgroup_size }})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.y * groups.x * WORKGROUP_SIZE + gid.x;
    let plane = RES * RES;
    if (STAGE == 0u) {
        if (i < NUM_VIEWS * plane) {
            atomicStore(&depth[i], FAR);
            atomicStore(&winner[i], NO_FACE);
        }
    } else if (STAGE == 3u) {
        if (i < NUM_VIEWS * plane) {
            resolve(i / plane, i % plane);
        }
    } else if (i < NUM_VIEWS * NUM_FACES) {
        cover(i / NUM_FACES, i % NUM_FACES);
    }
}
