//! Axis-angle rotations and rigid transforms in f64, as FLAME's `lbs.py` defines them.

pub type Mat3 = [[f64; 3]; 3];
/// A rigid transform's top three rows: `[R | t]`.
pub type Affine = [[f64; 4]; 3];

pub const IDENTITY: Mat3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

/// Rodrigues' formula. FLAME adds 1e-8 to the vector before taking its norm; we instead
/// switch to the series form near zero, which agrees with it to far below f32 precision.
pub fn rodrigues(r: [f64; 3]) -> Mat3 {
    let theta2 = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
    let k = [[0.0, -r[2], r[1]], [r[2], 0.0, -r[0]], [-r[1], r[0], 0.0]];
    let (a, b) = if theta2 < 1e-12 {
        (1.0 - theta2 / 6.0, 0.5 - theta2 / 24.0)
    } else {
        let theta = theta2.sqrt();
        (theta.sin() / theta, (1.0 - theta.cos()) / theta2)
    };
    let k2 = mul3(&k, &k);
    let mut out = IDENTITY;
    for i in 0..3 {
        for j in 0..3 {
            out[i][j] += a * k[i][j] + b * k2[i][j];
        }
    }
    out
}

pub fn mul3(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut out = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            out[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

pub fn apply3(m: &Mat3, v: [f64; 3]) -> [f64; 3] {
    [0, 1, 2].map(|i| m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2])
}

/// `a ∘ b` for rigid transforms.
pub fn compose(a: &Affine, b: &Affine) -> Affine {
    let mut out = [[0.0; 4]; 3];
    for i in 0..3 {
        for j in 0..4 {
            out[i][j] =
                (0..3).map(|k| a[i][k] * b[k][j]).sum::<f64>() + if j == 3 { a[i][3] } else { 0.0 };
        }
    }
    out
}

pub fn transform(m: &Affine, p: [f64; 3]) -> [f64; 3] {
    [0, 1, 2].map(|i| m[i][0] * p[0] + m[i][1] * p[1] + m[i][2] * p[2] + m[i][3])
}

pub fn affine(r: &Mat3, t: [f64; 3]) -> Affine {
    [0, 1, 2].map(|i| [r[i][0], r[i][1], r[i][2], t[i]])
}
