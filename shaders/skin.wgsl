// FLAME linear blend skinning, one invocation per output point.
// Keep in sync with src/rig/skin_gpu.rs (buffer order, frame layout) and the f64
// reference in src/rig/skin_cpu.rs.
//
// Invocations 0..V skin vertex i; invocations V..V+L each skin the three vertices of
// landmark i − V and blend them, so vertices and landmarks come out of one dispatch.

@group(0) @binding(0) var<storage, read_write> rest: array<f32>;      // [V, 3] identity applied
@group(0) @binding(1) var<storage, read_write> basis: array<f32>;     // [K, V·3] expression ++ pose correctives
@group(0) @binding(2) var<storage, read_write> weights: array<f32>;   // [V, J]
@group(0) @binding(3) var<storage, read_write> landmarks: array<f32>; // [L, 6] vertex ids (as f32), barycentrics
@group(0) @binding(4) var<storage, read_write> frame: array<f32>;     // [K] coefficients ++ [J, 3, 4] transforms
@group(0) @binding(5) var<storage, read_write> skinned: array<f32>;   // [V + L, 3]

const NUM_VERTICES: u32 = {{ num_vertices }}u;
const NUM_COMPONENTS: u32 = {{ num_components }}u;
const NUM_JOINTS: u32 = {{ num_joints }}u;
const NUM_LANDMARKS: u32 = {{ num_landmarks }}u;
const WORKGROUP_SIZE: u32 = {{ workgroup_size }}u;

fn skin_vertex(v: u32) -> vec3<f32> {
    var p = vec3<f32>(rest[3u * v], rest[3u * v + 1u], rest[3u * v + 2u]);
    // Blendshapes and pose correctives. Most coefficients are zero while a user drags one
    // slider, and every invocation sees the same ones, so skipping them costs no divergence.
    for (var k = 0u; k < NUM_COMPONENTS; k++) {
        let c = frame[k];
        if (c != 0.0) {
            let b = k * NUM_VERTICES * 3u + 3u * v;
            p += c * vec3<f32>(basis[b], basis[b + 1u], basis[b + 2u]);
        }
    }
    // Linear blend of the joint transforms, then apply.
    var r0 = vec4<f32>(0.0);
    var r1 = vec4<f32>(0.0);
    var r2 = vec4<f32>(0.0);
    for (var j = 0u; j < NUM_JOINTS; j++) {
        let w = weights[v * NUM_JOINTS + j];
        if (w != 0.0) {
            let t = NUM_COMPONENTS + 12u * j;
            r0 += w * vec4<f32>(frame[t], frame[t + 1u], frame[t + 2u], frame[t + 3u]);
            r1 += w * vec4<f32>(frame[t + 4u], frame[t + 5u], frame[t + 6u], frame[t + 7u]);
            r2 += w * vec4<f32>(frame[t + 8u], frame[t + 9u], frame[t + 10u], frame[t + 11u]);
        }
    }
    let h = vec4<f32>(p, 1.0);
    return vec3<f32>(dot(r0, h), dot(r1, h), dot(r2, h));
}

fn store(i: u32, p: vec3<f32>) {
    skinned[3u * i] = p.x;
    skinned[3u * i + 1u] = p.y;
    skinned[3u * i + 2u] = p.z;
}

@compute @workgroup_size({{ workgroup_size }})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.y * groups.x * WORKGROUP_SIZE + gid.x;
    if (i < NUM_VERTICES) {
        store(i, skin_vertex(i));
    } else if (i < NUM_VERTICES + NUM_LANDMARKS) {
        let l = 6u * (i - NUM_VERTICES);
        var p = vec3<f32>(0.0);
        for (var c = 0u; c < 3u; c++) {
            p += landmarks[l + 3u + c] * skin_vertex(u32(landmarks[l + c]));
        }
        store(i, p);
    }
}
