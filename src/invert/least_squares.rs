//! Levenberg–Marquardt for the landmark fits: small dense problems (tens of unknowns, a few
//! hundred residuals) solved through the normal equations, in f64.

use super::fit::FitError;

/// A least-squares problem over a vector of unknowns.
pub trait LeastSquares {
    fn residual(&self, x: &[f64]) -> Result<Vec<f64>, FitError>;
    /// `jacobian[unknown][residual]` for the first `active` unknowns.
    fn jacobian(&self, x: &[f64], active: usize) -> Result<Vec<Vec<f64>>, FitError>;
    /// Moves `x` back inside the unknowns' ranges.
    fn clamp(&self, x: &mut [f64]);
}

/// Levenberg–Marquardt over the first `active` unknowns, at most `iterations` steps.
pub fn solve(
    problem: &impl LeastSquares,
    mut x: Vec<f64>,
    active: usize,
    iterations: usize,
) -> Result<Vec<f64>, FitError> {
    let cost = |r: &[f64]| r.iter().map(|v| v * v).sum::<f64>();
    let mut r = problem.residual(&x)?;
    let mut lambda = 1e-3;
    for _ in 0..iterations {
        let jacobian = problem.jacobian(&x, active)?;
        let (mut normal, gradient) = normal_equations(&jacobian, &r);
        for (i, row) in normal.iter_mut().enumerate() {
            row[i] = row[i] * (1.0 + lambda) + 1e-12;
        }
        let Some(step) = solve_linear(normal, gradient.iter().map(|g| -g).collect()) else {
            break;
        };
        let mut trial = x.clone();
        for (t, s) in trial.iter_mut().zip(&step) {
            *t += s;
        }
        problem.clamp(&mut trial);
        let trial_r = problem.residual(&trial)?;
        if cost(&trial_r) < cost(&r) {
            let gain = cost(&r) - cost(&trial_r);
            (x, r) = (trial, trial_r);
            lambda = (lambda * 0.3).max(1e-9);
            if gain < 1e-14 {
                break;
            }
        } else {
            lambda *= 10.0;
            if lambda > 1e8 {
                break;
            }
        }
    }
    Ok(x)
}

/// Central differences of `residual` for the first `active` unknowns.
pub fn central_differences(
    residual: impl Fn(&[f64]) -> Result<Vec<f64>, FitError>,
    x: &[f64],
    active: usize,
) -> Result<Vec<Vec<f64>>, FitError> {
    const H: f64 = 1e-6;
    (0..active)
        .map(|i| {
            let (mut plus, mut minus) = (x.to_vec(), x.to_vec());
            plus[i] += H;
            minus[i] -= H;
            let (a, b) = (residual(&plus)?, residual(&minus)?);
            Ok(a.iter().zip(&b).map(|(p, m)| (p - m) / (2.0 * H)).collect())
        })
        .collect()
}

/// `JᵀJ` and `Jᵀr` for column-major `jacobian[unknown][residual]`.
fn normal_equations(jacobian: &[Vec<f64>], r: &[f64]) -> (Vec<Vec<f64>>, Vec<f64>) {
    let n = jacobian.len();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let normal = (0..n)
        .map(|i| (0..n).map(|j| dot(&jacobian[i], &jacobian[j])).collect())
        .collect();
    let gradient = jacobian.iter().map(|column| dot(column, r)).collect();
    (normal, gradient)
}

/// Gaussian elimination with partial pivoting; `None` when singular.
fn solve_linear(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let factor = a[row][col] / a[col][col];
            let pivot_row = a[col].clone();
            for (value, p) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *value -= factor * p;
            }
            b[row] -= factor * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let sum: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - sum) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_small_system() {
        let x = solve_linear(vec![vec![2.0, 1.0], vec![1.0, 3.0]], vec![3.0, 5.0]).unwrap();
        assert!((x[0] - 0.8).abs() < 1e-12 && (x[1] - 1.4).abs() < 1e-12);
    }
}
