//! The condition-number estimate of preconditioned CG from its own coefficients: CG's `α_k`,
//! `β_k` are the Lanczos tridiagonal `T` of the preconditioned operator in disguise,
//!
//! ```text
//! T[k,k]   = 1/α_k + β_{k−1}/α_{k−1}     T[k,k+1] = √β_k / α_k
//! ```
//!
//! and the extreme eigenvalues of `T` converge (from inside) to those of `M⁻¹A`, so
//! `λ_max(T) / λ_min(T)` is the estimate domain-decomposition papers compare (PETSc's
//! `-ksp_monitor_singular_value`). The eigenvalues come from Sturm-sequence bisection on `T`,
//! which needs no workspace: the estimate adds no allocation to a solve once the coefficient
//! arrays have their capacity.

/// The diagonal and off-diagonal of the Lanczos matrix, filled as CG iterates.
#[derive(Clone, Debug, Default)]
pub struct Lanczos {
    diag: Vec<f64>,
    off: Vec<f64>,
    last: Option<(f64, f64)>,
}

impl Lanczos {
    /// Forgets the previous solve's coefficients (keeping the capacity).
    pub fn clear(&mut self) {
        self.diag.clear();
        self.off.clear();
        self.last = None;
    }

    /// Adds CG's step length `alpha` of an iteration and the `beta` that builds its next
    /// direction.
    pub fn push(&mut self, alpha: f64, beta: f64) {
        let d = match self.last {
            Some((a_prev, b_prev)) => 1.0 / alpha + b_prev / a_prev,
            None => 1.0 / alpha,
        };
        if let Some((a_prev, b_prev)) = self.last {
            self.off.push(b_prev.sqrt() / a_prev);
        }
        self.diag.push(d);
        self.last = Some((alpha, beta));
    }

    /// `λ_max / λ_min` of the tridiagonal matrix so far (`None` before two iterations or for a
    /// matrix that is not positive definite to the bisection's accuracy).
    pub fn condition(&self) -> Option<f64> {
        let n = self.diag.len();
        if n < 2 {
            return None;
        }
        // Gershgorin bounds enclose every eigenvalue.
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for i in 0..n {
            let r = self.off.get(i).map_or(0.0, |v| v.abs()) + if i > 0 { self.off[i - 1].abs() } else { 0.0 };
            lo = lo.min(self.diag[i] - r);
            hi = hi.max(self.diag[i] + r);
        }
        let min = self.bisect(lo, hi, 1);
        let max = self.bisect(lo, hi, n);
        (min > 0.0 && max.is_finite()).then(|| max / min)
    }

    /// Number of eigenvalues below `x` (Sturm sequence of `T − x I`).
    fn count_below(&self, x: f64) -> usize {
        let mut count = 0;
        let mut q = 1.0f64;
        for i in 0..self.diag.len() {
            let off2 = if i > 0 { self.off[i - 1].powi(2) } else { 0.0 };
            q = self.diag[i] - x - if i > 0 { off2 / q } else { 0.0 };
            if q == 0.0 {
                q = f64::EPSILON * (self.diag[i].abs() + x.abs()).max(f64::MIN_POSITIVE);
            }
            if q < 0.0 {
                count += 1;
            }
        }
        count
    }

    /// The `k`-th smallest eigenvalue (1-based) in `[lo, hi]`, to relative accuracy 1e-10.
    fn bisect(&self, mut lo: f64, mut hi: f64, k: usize) -> f64 {
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if self.count_below(mid) >= k {
                hi = mid;
            } else {
                lo = mid;
            }
            if hi - lo <= 1e-10 * hi.abs().max(lo.abs()) {
                break;
            }
        }
        0.5 * (lo + hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CG on a diagonal matrix with eigenvalues 1..=n (identity preconditioner) run by hand:
    /// after n iterations the Lanczos matrix has exactly those eigenvalues.
    #[test]
    fn cg_coefficients_recover_the_spectrum_of_a_diagonal_matrix() {
        let n = 12;
        let a: Vec<f64> = (1..=n).map(|k| k as f64).collect();
        let b = vec![1.0; n];
        let (mut x, mut r, mut p) = (vec![0.0; n], b.clone(), b.clone());
        let mut rr: f64 = r.iter().map(|v| v * v).sum();
        let mut l = Lanczos::default();
        for _ in 0..n {
            let ap: Vec<f64> = p.iter().zip(&a).map(|(pi, ai)| pi * ai).collect();
            let alpha = rr / p.iter().zip(&ap).map(|(u, v)| u * v).sum::<f64>();
            x.iter_mut().zip(&p).for_each(|(xi, pi)| *xi += alpha * pi);
            r.iter_mut().zip(&ap).for_each(|(ri, api)| *ri -= alpha * api);
            let rr_new: f64 = r.iter().map(|v| v * v).sum();
            let beta = rr_new / rr;
            l.push(alpha, beta);
            p.iter_mut().zip(&r).for_each(|(pi, ri)| *pi = ri + beta * *pi);
            rr = rr_new;
        }
        let k = l.condition().unwrap();
        assert!((k - n as f64).abs() <= 1e-6 * n as f64, "estimate {k}");
        l.clear();
        assert!(l.condition().is_none());
    }
}
