// The fused neural renderer: one invocation per ray, one dispatch. Coarse samples (density
// only), MipRayMarcher2 weights and EG3D's importance resampling give the importance
// depths; their densities are decoded, the merged samples composited, and the features
// decoded where their weight counts → features [C, R], depth [R], weight sum [R], sampled
// range [R, 2]. Samples never reach global memory. The reference is `render_reference` in
// src/render/volume.rs; tests hold the two equal.
//
// Loop budget: Mesa's llvmpipe (lavapipe) ends every loop of an invocation once 65535
// iterations have run in total, silently. Features and hidden units are therefore vec4s
// and the dot products are written out (dot64, add_texel), so a sample costs about seventy
// iterations, not thousands (with scalar loops the march stopped after ~29 samples).
// The hidden layer is read from planes already multiplied by the decoder's first layer
// (linear, like bilinear sampling), so a sample costs 12 texel reads and 64 softplus.

// The planes through the decoder's first layer (see src/render/hidden.rs):
// [3, H, W, HIDDEN / 4], each texel's 64 pre-activations contiguous.
@group(0) @binding(0) var<storage, read_write> planes: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> decoder: array<f32>;  // w0 [64,32], b0 [64], w1 [33,64], b1 [33]
@group(0) @binding(2) var<storage, read_write> frame: array<f32>;    // see FRAME_* below
@group(0) @binding(3) var<storage, read_write> draws: array<f32>;    // [R, D + DI]: jitter, then CDF draws (ascending)
@group(0) @binding(4) var<storage, read_write> output: array<f32>;   // the images

const C: u32 = 32u;
const HIDDEN: u32 = 64u;
const PLANE_H: u32 = {{ plane_height }}u;
const PLANE_W: u32 = {{ plane_width }}u;
const RES: u32 = {{ resolution }}u;
const D: u32 = {{ depth_samples }}u;
const DI: u32 = {{ importance_samples }}u;
const S: u32 = D + DI;
const RAYS: u32 = RES * RES;
const WORKGROUP_SIZE: u32 = {{ workgroup_size }}u;
// frame: cam2world rows 0..2 (12), fx fy cx cy skew (5), ray start, ray end, box_warp,
// then the plane projection [3, 3, 2] (18), then D, D + Di and 0.0 again: loops read a
// bound or start at run time so that the compiler cannot unroll them; unrolled copies of
// the decoder took llvmpipe's LLVM (coroutine frame building) many minutes to compile.
const FRAME_START: u32 = 17u;
const FRAME_Q: u32 = 20u;
const FRAME_COUNTS: u32 = 38u;
const FRAME_ZERO: u32 = 40u;
const B0: u32 = HIDDEN * C;
const W1: u32 = B0 + HIDDEN;
const B1: u32 = W1 + (C + 1u) * HIDDEN;

const C4: u32 = C / 4u;
// Transmittance below which a ray stops (see composite).
const OPAQUE: f32 = 1e-5;
const HIDDEN4: u32 = HIDDEN / 4u;

var<private> features: array<vec4<f32>, 8>; // C / 4
var<private> hidden: array<vec4<f32>, 16>;  // HIDDEN / 4

// 0, read at run time (see FRAME_ZERO).
fn zero() -> u32 {
    return u32(frame[FRAME_ZERO]);
}

fn softplus(x: f32) -> f32 {
    // torch's threshold of 20 keeps large values exact.
    return select(log(1.0 + exp(x)), x, x > 20.0);
}

fn softplus4(x: vec4<f32>) -> vec4<f32> {
    return select(log(1.0 + exp(x)), x, x > vec4<f32>(20.0));
}

// Four consecutive decoder weights from `offset`.
fn weights4(offset: u32) -> vec4<f32> {
    return weights[offset / 4u];
}

// hidden += w · the hidden-plane texel at `index` (all 64 pre-activations). Constant
// indices keep `hidden` in registers.
fn add_texel(index: u32, w: f32) {
    let i = index * HIDDEN4;
    hidden[0] += w * planes[i];
    hidden[1] += w * planes[i + 1u];
    hidden[2] += w * planes[i + 2u];
    hidden[3] += w * planes[i + 3u];
    hidden[4] += w * planes[i + 4u];
    hidden[5] += w * planes[i + 5u];
    hidden[6] += w * planes[i + 6u];
    hidden[7] += w * planes[i + 7u];
    hidden[8] += w * planes[i + 8u];
    hidden[9] += w * planes[i + 9u];
    hidden[10] += w * planes[i + 10u];
    hidden[11] += w * planes[i + 11u];
    hidden[12] += w * planes[i + 12u];
    hidden[13] += w * planes[i + 13u];
    hidden[14] += w * planes[i + 14u];
    hidden[15] += w * planes[i + 15u];
}

// The 64 decoder weights from `offset` · hidden.
fn dot64(offset: u32) -> f32 {
    return dot(weights4(offset), hidden[0]) + dot(weights4(offset + 4u), hidden[1])
        + dot(weights4(offset + 8u), hidden[2]) + dot(weights4(offset + 12u), hidden[3])
        + dot(weights4(offset + 16u), hidden[4]) + dot(weights4(offset + 20u), hidden[5])
        + dot(weights4(offset + 24u), hidden[6]) + dot(weights4(offset + 28u), hidden[7])
        + dot(weights4(offset + 32u), hidden[8]) + dot(weights4(offset + 36u), hidden[9])
        + dot(weights4(offset + 40u), hidden[10]) + dot(weights4(offset + 44u), hidden[11])
        + dot(weights4(offset + 48u), hidden[12]) + dot(weights4(offset + 52u), hidden[13])
        + dot(weights4(offset + 56u), hidden[14]) + dot(weights4(offset + 60u), hidden[15]);
}

// Bilinear sample of hidden plane k at (u, v), zero padding, align_corners = false, added
// to `hidden` (the 1/3 of the mean over planes is folded into the hidden planes).
fn sample_plane(k: u32, u: f32, v: f32) {
    let x = ((u + 1.0) * f32(PLANE_W) - 1.0) * 0.5;
    let y = ((v + 1.0) * f32(PLANE_H) - 1.0) * 0.5;
    let x0 = floor(x);
    let y0 = floor(y);
    for (var corner = zero(); corner < 4u; corner++) {
        let xi = x0 + f32(corner & 1u);
        let yi = y0 + f32(corner >> 1u);
        if (xi < 0.0 || yi < 0.0 || xi >= f32(PLANE_W) || yi >= f32(PLANE_H)) {
            continue;
        }
        let w = (1.0 - abs(x - xi)) * (1.0 - abs(y - yi));
        add_texel((k * PLANE_H + u32(yi)) * PLANE_W + u32(xi), w);
    }
}

// The decoder's hidden layer at point p: the bias, plus the three hidden planes sampled,
// through softplus.
fn decode_hidden(p: vec3<f32>) {
    hidden[0] = weights4(B0);
    hidden[1] = weights4(B0 + 4u);
    hidden[2] = weights4(B0 + 8u);
    hidden[3] = weights4(B0 + 12u);
    hidden[4] = weights4(B0 + 16u);
    hidden[5] = weights4(B0 + 20u);
    hidden[6] = weights4(B0 + 24u);
    hidden[7] = weights4(B0 + 28u);
    hidden[8] = weights4(B0 + 32u);
    hidden[9] = weights4(B0 + 36u);
    hidden[10] = weights4(B0 + 40u);
    hidden[11] = weights4(B0 + 44u);
    hidden[12] = weights4(B0 + 48u);
    hidden[13] = weights4(B0 + 52u);
    hidden[14] = weights4(B0 + 56u);
    hidden[15] = weights4(B0 + 60u);
    let coords = p * (2.0 / frame[FRAME_START + 2u]);
    for (var k = zero(); k < 3u; k++) {
        let q = FRAME_Q + 6u * k;
        let u = coords.x * frame[q] + coords.y * frame[q + 2u] + coords.z * frame[q + 4u];
        let v = coords.x * frame[q + 1u] + coords.y * frame[q + 3u] + coords.z * frame[q + 5u];
        sample_plane(k, u, v);
    }
    hidden[0] = softplus4(hidden[0]);
    hidden[1] = softplus4(hidden[1]);
    hidden[2] = softplus4(hidden[2]);
    hidden[3] = softplus4(hidden[3]);
    hidden[4] = softplus4(hidden[4]);
    hidden[5] = softplus4(hidden[5]);
    hidden[6] = softplus4(hidden[6]);
    hidden[7] = softplus4(hidden[7]);
    hidden[8] = softplus4(hidden[8]);
    hidden[9] = softplus4(hidden[9]);
    hidden[10] = softplus4(hidden[10]);
    hidden[11] = softplus4(hidden[11]);
    hidden[12] = softplus4(hidden[12]);
    hidden[13] = softplus4(hidden[13]);
    hidden[14] = softplus4(hidden[14]);
    hidden[15] = softplus4(hidden[15]);
}

// Output o of the decoder's last layer (0: raw σ, then the feature logits).
fn decode_output(o: u32) -> f32 {
    return dot64(W1 + o * HIDDEN) * inverseSqrt(f32(HIDDEN)) + weights[(B1 + o) / 4u][(B1 + o) % 4u];
}

// Raw σ at point p.
fn decode_sigma(p: vec3<f32>) -> f32 {
    decode_hidden(p);
    return decode_output(0u);
}

// The features at point p (sigmoid·1.002 − 0.001) into `features` (its σ is known).
fn decode_features(p: vec3<f32>) {
    decode_hidden(p);
    for (var c4 = zero(); c4 < C4; c4++) {
        let o = 1u + 4u * c4;
        let logits = vec4<f32>(
            decode_output(o),
            decode_output(o + 1u),
            decode_output(o + 2u),
            decode_output(o + 3u),
        );
        features[c4] = (1.0 / (1.0 + exp(-logits))) * 1.002 - 0.001;
    }
}

// MipRayMarcher2's α between two samples.
fn alpha_between(sigma_a: f32, sigma_b: f32, delta: f32) -> f32 {
    return 1.0 - exp(-softplus(0.5 * (sigma_a + sigma_b) - 1.0) * delta);
}

struct Ray {
    origin: vec3<f32>,
    direction: vec3<f32>,
}

// The ray through pixel (i, j): EG3D's lift through the intrinsics, then cam2world.
fn camera_ray(ray: u32) -> Ray {
    let x = (f32(ray % RES) + 0.5) / f32(RES);
    let y = (f32(ray / RES) + 0.5) / f32(RES);
    let fx = frame[12];
    let fy = frame[13];
    let cx = frame[14];
    let cy = frame[15];
    let skew = frame[16];
    let lift = vec3<f32>((x - cx + cy * skew / fy - skew * y / fy) / fx, (y - cy) / fy, 1.0);
    let r0 = vec4<f32>(frame[0], frame[1], frame[2], frame[3]);
    let r1 = vec4<f32>(frame[4], frame[5], frame[6], frame[7]);
    let r2 = vec4<f32>(frame[8], frame[9], frame[10], frame[11]);
    let origin = vec3<f32>(r0.w, r1.w, r2.w);
    let h = vec4<f32>(lift, 1.0);
    let direction = normalize(vec3<f32>(dot(r0, h), dot(r1, h), dot(r2, h)) - origin);
    return Ray(origin, direction);
}

// ---- sample depths ----

var<private> coarse_depth: array<f32, {{ depth_samples }}>;
var<private> coarse_sigma: array<f32, {{ depth_samples }}>;
var<private> pdf: array<f32, {{ depth_samples }}>;
var<private> fine_depth: array<f32, {{ importance_slots }}>;

// Stratified coarse depths with the ray's jitter draws.
fn coarse_depths(ray: u32) {
    let start = frame[FRAME_START];
    let step = (frame[FRAME_START + 1u] - start) / f32(D - 1u);
    for (var k = 0u; k < D; k++) {
        coarse_depth[k] = start + step * f32(k) + draws[ray * S + k] * step;
    }
}

// Marches the coarse densities and fills pdf[0 .. D − 3] with EG3D's smoothed weights
// (max_pool(2, 1, pad 1), avg_pool(2, 1), + 0.01, ends dropped); returns their sum.
// Smoothed weight m needs the coarse weights m − 1, m and m + 1: a rolling window of three.
fn smoothed_weights(r: Ray) -> f32 {
    var total = 0.0;
    var transmittance = 1.0;
    var w_prev2 = 0.0;
    var w_prev1 = 0.0;
    var prev_sigma = 0.0;
    let coarse = u32(frame[FRAME_COUNTS]);
    for (var k = 0u; k < coarse; k++) {
        let sigma = decode_sigma(r.origin + r.direction * coarse_depth[k]);
        coarse_sigma[k] = sigma;
        if (k > 0u) {
            // Weight of interval k − 1.
            let a = alpha_between(prev_sigma, sigma, coarse_depth[k] - coarse_depth[k - 1u]);
            let w = a * transmittance;
            transmittance *= 1.0 - a + 1e-10;
            // Interval k − 1 completes the window of smoothed weight m = k − 2; the kept
            // ones are m = 1 … D − 3.
            if (k >= 3u) {
                let smoothed = 0.5 * (max(w_prev2, w_prev1) + max(w_prev1, w)) + 0.01 + 1e-5;
                pdf[k - 3u] = smoothed;
                total += smoothed;
            }
            w_prev2 = w_prev1;
            w_prev1 = w;
        }
        prev_sigma = sigma;
    }
    return total;
}

// EG3D's sample_pdf: the inverse CDF over bins at the coarse midpoints, for the ray's draws
// (sorted ascending by the caller, so one sweep serves them all) into fine_depth.
fn importance_depths(first_draw: u32, total: f32) {
    let bins = D - 3u;
    // searchsorted(right): b is the first bin whose upper CDF value `next` exceeds u;
    // `running` is its lower value (cdf[0] = 0).
    var b = 0u;
    var running = 0.0;
    var next = pdf[0] / total;
    for (var q = 0u; q < DI; q++) {
        let u = draws[first_draw + q];
        while (b < bins && !(next > u)) {
            running = next;
            b++;
            if (b < bins) {
                next = running + pdf[b] / total;
            }
        }
        // Past the last entry, below = above = the end.
        let cdf_above = select(running, next, b < bins);
        let mid_below = 0.5 * (coarse_depth[b] + coarse_depth[b + 1u]);
        let above = min(b + 1u, bins);
        let mid_above = 0.5 * (coarse_depth[above] + coarse_depth[above + 1u]);
        var denom = cdf_above - running;
        if (denom < 1e-5) {
            denom = 1.0;
        }
        fine_depth[q] = mid_below + (u - running) / denom * (mid_above - mid_below);
    }
}

// ---- decode and composite ----
//
// Invocations run in SIMD groups of neighbouring rays (8 on llvmpipe), and a group pays for
// a decode whenever any of its rays needs one. So every decode loop here is over the ray's
// own list (coarse samples, then importance samples, then the samples whose features
// count), never over the merged order, where neighbours would need decodes at different
// steps and each would pay for all of them.
//
// σ first, features only where they count: every sample's σ (the hidden layer and one
// output) is computed, which fixes every interval's weight exactly; the 32 feature outputs
// (half the decoder's work) are computed only for samples next to an interval whose
// weight is not negligible. The weights skipped add up to at most SKIPPED_WEIGHT per ray,
// and a feature lies in [−0.001, 1.001], so no output moves by more than 2·SKIPPED_WEIGHT
// (the ×2 − 1 mapping); depth and weight sum are exact. Rays through empty space skip
// nearly all their features.

const SKIPPED_WEIGHT: f32 = 2e-6;

var<private> fine_sigma: array<f32, {{ importance_slots }}>;
// Marks a σ never computed (the ray was opaque before it). Far below any σ the decoder's
// finite weights can give, it makes a zero α, should a sample past the end be composited.
const UNKNOWN: f32 = -3.0e38;
var<private> accumulated: array<vec4<f32>, 8>; // C / 4
var<private> depth_at: array<f32, {{ total_samples }}>;
var<private> sigma_at: array<f32, {{ total_samples }}>;
// Per sample: the compositing weight its features carry (half of each interval it bounds).
var<private> feature_weight: array<f32, {{ total_samples }}>;
// The samples whose features count, in order.
var<private> featured: array<u32, {{ total_samples }}>;

// The transmittance along the merged samples, advanced one sample at a time exactly as
// `composite` does, so that both stop at the same sample.
struct Transmittance {
    value: f32,
    depth: f32,
    sigma: f32,
    started: bool,
}

fn advance(t: ptr<function, Transmittance>, depth: f32, sigma: f32) {
    if ((*t).started) {
        let a = alpha_between((*t).sigma, sigma, depth - (*t).depth);
        (*t).value *= 1.0 - a + 1e-10;
    }
    (*t).depth = depth;
    (*t).sigma = sigma;
    (*t).started = true;
}

// The importance samples' σ in depth order, each once, until the transmittance along the
// merged samples is spent (early ray termination: all later samples together weigh less
// than what is left, so stopping changes every output by less than OPAQUE).
fn fine_sigmas(r: Ray) {
    var t = Transmittance(1.0, 0.0, 0.0, false);
    var i = 0u;
    for (var j = 0u; j < DI; j++) {
        fine_sigma[j] = UNKNOWN;
    }
    let fine = u32(frame[FRAME_COUNTS + 1u]) - D;
    for (var j = 0u; j < fine; j++) {
        // Coarse samples go first on equal depths, as in the merge below.
        while (i < D && coarse_depth[i] <= fine_depth[j]) {
            advance(&t, coarse_depth[i], coarse_sigma[i]);
            i++;
        }
        if (t.value < OPAQUE) {
            return;
        }
        fine_sigma[j] = decode_sigma(r.origin + r.direction * fine_depth[j]);
        advance(&t, fine_depth[j], fine_sigma[j]);
    }
}

// The ray's sample depths and σ, coarse and importance merged in order, into depth_at and
// sigma_at (UNKNOWN past the point where the ray became opaque).
fn sample_depths(ray: u32, r: Ray) {
    coarse_depths(ray);
    if (DI == 0u) {
        for (var k = 0u; k < D; k++) {
            depth_at[k] = coarse_depth[k];
            sigma_at[k] = decode_sigma(r.origin + r.direction * coarse_depth[k]);
        }
        return;
    }
    importance_depths(ray * S + D, smoothed_weights(r));
    fine_sigmas(r);
    var i = 0u;
    var j = 0u;
    for (var k = 0u; k < S; k++) {
        let take_coarse = j >= DI || (i < D && coarse_depth[i] <= fine_depth[j]);
        if (take_coarse) {
            depth_at[k] = coarse_depth[i];
            sigma_at[k] = coarse_sigma[i];
            i++;
        } else {
            depth_at[k] = fine_depth[j];
            sigma_at[k] = fine_sigma[j];
            j++;
        }
    }
}

fn sample_point(r: Ray, s: u32) -> vec3<f32> {
    return r.origin + r.direction * depth_at[s];
}

// MipRayMarcher2 over the merged samples: writes depth, weight sum and sampled range, fills
// feature_weight and returns how many samples were needed.
fn composite_weights(ray: u32) -> u32 {
    var transmittance = 1.0;
    var weight_sum = 0.0;
    var depth_sum = 0.0;
    var skip_budget = SKIPPED_WEIGHT;
    var count = S;
    for (var s = 0u; s < S; s++) {
        feature_weight[s] = 0.0;
    }
    for (var s = 1u; s < S; s++) {
        let near = depth_at[s - 1u];
        let far = depth_at[s];
        let a = alpha_between(sigma_at[s - 1u], sigma_at[s], far - near);
        let w = a * transmittance;
        transmittance *= 1.0 - a + 1e-10;
        weight_sum += w;
        depth_sum += w * 0.5 * (near + far);
        if (w < skip_budget) {
            skip_budget -= w;
        } else {
            // The interval's features are the mean of its two samples'.
            feature_weight[s - 1u] += 0.5 * w;
            feature_weight[s] += 0.5 * w;
        }
        if (transmittance < OPAQUE) {
            count = s + 1u;
            break;
        }
    }
    output[C * RAYS + ray] = depth_sum / weight_sum;
    output[(C + 1u) * RAYS + ray] = weight_sum;
    output[(C + 2u) * RAYS + 2u * ray] = depth_at[0];
    output[(C + 2u) * RAYS + 2u * ray + 1u] = depth_at[S - 1u];
    return count;
}

fn march(ray: u32) {
    let r = camera_ray(ray);
    sample_depths(ray, r);
    let count = composite_weights(ray);
    var n = 0u;
    for (var s = 0u; s < count; s++) {
        if (feature_weight[s] > 0.0) {
            featured[n] = s;
            n++;
        }
    }
    for (var c4 = zero(); c4 < C4; c4++) {
        accumulated[c4] = vec4<f32>(0.0);
    }
    for (var k = 0u; k < n; k++) {
        let s = featured[k];
        decode_features(sample_point(r, s));
        for (var c4 = zero(); c4 < C4; c4++) {
            accumulated[c4] += feature_weight[s] * features[c4];
        }
    }
    for (var c4 = zero(); c4 < C4; c4++) {
        let value = accumulated[c4] * 2.0 - 1.0;
        for (var i = 0u; i < 4u; i++) {
            output[(4u * c4 + i) * RAYS + ray] = value[i];
        }
    }
}

// The decoder's weights, copied once per workgroup: every invocation reads all of them for
// every sample, and from global memory those reads took 80% of the time on lavapipe.
const WEIGHTS4: u32 = (B1 + C + 1u + 3u) / 4u;
var<workgroup> weights: array<vec4<f32>, WEIGHTS4>;

fn load_weights(thread: u32) {
    for (var i = thread; i < WEIGHTS4; i += WORKGROUP_SIZE) {
        var w = vec4<f32>(0.0);
        for (var k = 0u; k < 4u; k++) {
            if (4u * i + k < B1 + C + 1u) {
                w[k] = decoder[4u * i + k];
            }
        }
        weights[i] = w;
    }
    workgroupBarrier();
}

@compute @workgroup_size({{ workgroup_size }})
fn main(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) thread: u32,
) {
    load_weights(thread);
    let ray = gid.y * groups.x * WORKGROUP_SIZE + gid.x;
    if (ray >= RAYS) {
        return;
    }
    march(ray);
}
