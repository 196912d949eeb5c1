// Next3D's fill_mouth (OpenCV floodFill from pixel (0, 0), fixed range, 4-connected) for
// the four raster views in one dispatch: one workgroup per view sweeps rows and columns in
// both directions until a pass reaches no new pixel, so the result is exact and needs no
// CPU round trip. Reached pixels keep their alpha; all others become 1.
// The f64 reference is `fill_mouth` in src/raster/reference.rs.

@group(0) @binding(0) var<storage, read_write> alpha: array<f32>;          // [4, R, R]
@group(0) @binding(1) var<storage, read_write> reached: array<atomic<u32>>; // [4, R, R] scratch
@group(0) @binding(2) var<storage, read_write> filled: array<f32>;         // [4, R, R]

const RES: u32 = {{ resolution }}u;
const WORKGROUP_SIZE: u32 = {{ workgroup_size }}u;

var<workgroup> changed: atomic<u32>;
var<workgroup> go_on: u32;

// Pixels whose alpha·255 (in f32, as OpenCV sees the image) lies in [v00, v00 + 254].
fn passable(base: u32, pixel: u32, v00: f32) -> bool {
    let v = alpha[base + pixel] * 255.0;
    return v >= v00 && v <= v00 + 254.0;
}

fn is_reached(base: u32, row: i32, col: i32) -> bool {
    if (row < 0 || col < 0 || row >= i32(RES) || col >= i32(RES)) {
        return false;
    }
    return atomicLoad(&reached[base + u32(row) * RES + u32(col)]) != 0u;
}

// Visits pixel (row, col) coming from its neighbours; marks it when one of them is reached.
fn visit(base: u32, row: i32, col: i32, v00: f32) {
    let pixel = base + u32(row) * RES + u32(col);
    if (atomicLoad(&reached[pixel]) != 0u || !passable(base, u32(row) * RES + u32(col), v00)) {
        return;
    }
    if (is_reached(base, row - 1, col) || is_reached(base, row + 1, col)
        || is_reached(base, row, col - 1) || is_reached(base, row, col + 1)) {
        atomicStore(&reached[pixel], 1u);
        atomicStore(&changed, 1u);
    }
}

@compute @workgroup_size({{ workgroup_size }})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) thread: u32) {
    let base = group.x * RES * RES;
    let v00 = alpha[base] * 255.0;
    for (var p = thread; p < RES * RES; p += WORKGROUP_SIZE) {
        atomicStore(&reached[base + p], select(0u, 1u, p == 0u));
    }
    storageBarrier();
    workgroupBarrier();
    loop {
        if (thread == 0u) {
            atomicStore(&changed, 0u);
        }
        workgroupBarrier();
        // Each invocation sweeps whole rows, then whole columns, both ways.
        for (var line = thread; line < RES; line += WORKGROUP_SIZE) {
            for (var k = 0; k < i32(RES); k++) {
                visit(base, i32(line), k, v00);
            }
            for (var k = i32(RES) - 1; k >= 0; k--) {
                visit(base, i32(line), k, v00);
            }
        }
        storageBarrier();
        workgroupBarrier();
        for (var line = thread; line < RES; line += WORKGROUP_SIZE) {
            for (var k = 0; k < i32(RES); k++) {
                visit(base, k, i32(line), v00);
            }
            for (var k = i32(RES) - 1; k >= 0; k--) {
                visit(base, k, i32(line), v00);
            }
        }
        storageBarrier();
        workgroupBarrier();
        if (thread == 0u) {
            go_on = atomicLoad(&changed);
        }
        if (workgroupUniformLoad(&go_on) == 0u) {
            break;
        }
    }
    for (var p = thread; p < RES * RES; p += WORKGROUP_SIZE) {
        filled[base + p] = select(1.0, alpha[base + p], atomicLoad(&reached[base + p]) != 0u);
    }
}
