//! Small dense and sparse symmetric eigensolvers for the local eigenproblems of the coarse
//! spaces (GenEO). The sparse one is a restarted block Krylov (block Lanczos with full
//! reorthogonalization and Rayleigh–Ritz) for the *largest* eigenvalues of an operator `T` that
//! is self-adjoint in the inner product of an SPD matrix `M` — in GenEO `T = (S + σM)⁻¹ M`, the
//! shift-and-invert of the pencil, applied through one sparse factorization. A block (rather than
//! single-vector) method is used because the local problems of symmetric grids have multiple
//! eigenvalues, which single-vector Lanczos finds only one copy of.

use crate::error::{Error, Result};
use faer::{Mat, Side};

/// Eigenvalues (ascending) and eigenvectors (columns) of the dense symmetric matrix `h`.
pub(crate) fn symmetric_eigen(h: &Mat<f64>) -> Result<(Vec<f64>, Mat<f64>)> {
    let e = h
        .self_adjoint_eigen(Side::Lower)
        .map_err(|e| Error::input(format!("dense symmetric eigensolver failed: {e:?}")))?;
    let s = e.S().column_vector();
    Ok(((0..h.nrows()).map(|i| s[i]).collect(), e.U().to_owned()))
}

/// What the block iteration must converge.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target {
    /// The `k` largest eigenvalues.
    Count(usize),
    /// Every eigenvalue above `min` (at most `cap` of them), and the next one to prove it.
    Above { min: f64, cap: usize },
}

/// Converged Ritz pairs of the largest eigenvalues, descending.
pub(crate) struct Ritz {
    /// Ritz values θ, descending.
    pub values: Vec<f64>,
    /// `T u` for each Ritz vector `u`, as the operator returns it (its full length, possibly
    /// longer than `u`: GenEO's operator also returns the eliminated rows).
    pub images: Vec<Vec<f64>>,
    /// Restarts used.
    pub restarts: usize,
}

/// Parameters of [`largest_eigenpairs`].
pub(crate) struct BlockKrylov {
    /// Relative residual `‖T u − θ u‖_M / θ` a pair needs to count as converged.
    pub tol: f64,
    /// Maximum number of restarts.
    pub max_restarts: usize,
    /// Krylov blocks per cycle beyond the first.
    pub depth: usize,
}

/// Deterministic pseudo-random start vectors (an LCG), so runs are reproducible.
fn start_block(n: usize, b: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..b)
        .map(|_| {
            (0..n)
                .map(|_| {
                    s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((s >> 11) as f64 / (1u64 << 53) as f64) - 0.5
                })
                .collect()
        })
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// An `M`-orthonormal basis with the products `M v` kept alongside.
struct Basis {
    v: Vec<Vec<f64>>,
    mv: Vec<Vec<f64>>,
}

impl Basis {
    /// Orthonormalizes `x` against the basis (two Gram–Schmidt passes) and appends it; returns
    /// false (and appends nothing) when it is numerically in the span already.
    fn push(&mut self, mut x: Vec<f64>, mass: &dyn Fn(&[f64], &mut [f64])) -> bool {
        let mut mx = vec![0.0; x.len()];
        mass(&x, &mut mx);
        let norm0 = dot(&x, &mx).max(0.0).sqrt();
        if norm0 == 0.0 || !norm0.is_finite() {
            return false;
        }
        for _ in 0..2 {
            for (v, mv) in self.v.iter().zip(&self.mv) {
                let c = dot(&x, mv);
                x.iter_mut().zip(v).for_each(|(a, b)| *a -= c * b);
            }
        }
        mass(&x, &mut mx);
        let norm = dot(&x, &mx).max(0.0).sqrt();
        // Below this the vector is rounding noise of the span, not a new direction.
        if norm <= 1e-10 * norm0 {
            return false;
        }
        x.iter_mut().for_each(|a| *a /= norm);
        mx.iter_mut().for_each(|a| *a /= norm);
        self.v.push(x);
        self.mv.push(mx);
        true
    }
}

/// The largest eigenpairs of `T` (size `n`, self-adjoint in the `M` inner product, `mass`
/// applying `M`), `op(x, y)` writing `T x` into `y[..n]` (and whatever else the caller wants in
/// the rest of `y`, of length `image_len`). Block size `block` grows (up to `n`) while a
/// [`Target::Above`] finds no eigenvalue below its bound inside the block.
pub(crate) fn largest_eigenpairs(
    n: usize,
    image_len: usize,
    op: &mut dyn FnMut(&[f64], &mut [f64]),
    mass: &dyn Fn(&[f64], &mut [f64]),
    target: Target,
    mut block: usize,
    p: &BlockKrylov,
) -> Result<Ritz> {
    block = block.clamp(1, n.max(1));
    let mut starts = start_block(n, block, 0x9e3779b97f4a7c15);
    for restart in 0..=p.max_restarts {
        // Krylov basis [X, TX, T²X, ...] and its images W = T V.
        let mut basis = Basis {
            v: Vec::new(),
            mv: Vec::new(),
        };
        let mut images: Vec<Vec<f64>> = Vec::new();
        let mut next = std::mem::take(&mut starts);
        for _ in 0..=p.depth {
            let first = basis.v.len();
            for x in next.drain(..) {
                basis.push(x, mass);
            }
            if basis.v.len() == first {
                break; // invariant subspace: the basis is complete
            }
            for j in first..basis.v.len() {
                let mut w = vec![0.0; image_len];
                op(&basis.v[j], &mut w);
                next.push(w[..n].to_vec());
                images.push(w);
            }
        }
        // Rayleigh–Ritz: H = Vᵀ M T V, symmetrized (T is M-self-adjoint up to rounding).
        let m = basis.v.len();
        let h = Mat::from_fn(m, m, |i, j| {
            0.5 * (dot(&basis.mv[i], &images[j][..n]) + dot(&basis.mv[j], &images[i][..n]))
        });
        let (theta, y) = symmetric_eigen(&h)?;
        let order: Vec<usize> = (0..m).rev().collect(); // descending θ
        let combine = |vs: &[Vec<f64>], k: usize, len: usize| -> Vec<f64> {
            let mut u = vec![0.0; len];
            for (j, v) in vs.iter().enumerate() {
                let c = y[(j, k)];
                u.iter_mut().zip(v).for_each(|(a, b)| *a += c * b);
            }
            u
        };
        let keep = block.min(m);
        let mut values = Vec::with_capacity(keep);
        let mut ritz_images = Vec::with_capacity(keep);
        let mut residuals = Vec::with_capacity(keep);
        let mut ritz_vectors = Vec::with_capacity(keep);
        for &k in order.iter().take(keep) {
            let u = combine(&basis.v, k, n);
            let tu = combine(&images, k, image_len);
            let r: Vec<f64> = tu[..n].iter().zip(&u).map(|(a, b)| a - theta[k] * b).collect();
            let mut mr = vec![0.0; n];
            mass(&r, &mut mr);
            residuals.push(dot(&r, &mr).max(0.0).sqrt() / theta[k].abs().max(f64::MIN_POSITIVE));
            values.push(theta[k]);
            ritz_images.push(tu);
            ritz_vectors.push(u);
        }
        let converged = |k: usize| residuals.iter().take(k).all(|&r| r <= p.tol);
        let complete = m >= n; // the basis spans everything: the Ritz pairs are exact
        let need = match target {
            Target::Count(k) => Some(k.min(keep)),
            Target::Above { min, cap } => {
                let above = values.iter().take_while(|&&t| t > min).count();
                if above >= cap.min(n) {
                    Some(cap.min(n))
                } else if above < keep || complete {
                    Some((above + 1).min(keep))
                } else {
                    None // every Ritz value of the block is above the bound: widen the block
                }
            }
        };
        match need {
            Some(k) if complete || converged(k) => {
                let k = match target {
                    Target::Count(_) => k,
                    Target::Above { min, cap } => values.iter().take(cap).take_while(|&&t| t > min).count(),
                };
                values.truncate(k);
                ritz_images.truncate(k);
                return Ok(Ritz {
                    values,
                    images: ritz_images,
                    restarts: restart,
                });
            }
            Some(_) => starts = ritz_vectors,
            None => {
                let wider = (2 * block).min(n);
                starts = ritz_vectors;
                starts.extend(start_block(n, wider - block, restart as u64 + 1));
                block = wider;
            }
        }
    }
    Err(Error::input(format!(
        "block Krylov eigensolver: no convergence to {:e} in {} restarts",
        p.tol, p.max_restarts
    )))
}
