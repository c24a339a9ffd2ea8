//! Small dense and sparse symmetric eigensolvers for the local eigenproblems of the coarse
//! spaces (GenEO). The sparse one is a restarted block Krylov (block Lanczos with full
//! reorthogonalization and Rayleigh–Ritz) for the *largest* eigenvalues of an operator `T` that
//! is self-adjoint in the inner product of an SPD matrix `M` — in GenEO `T = (S + σM)⁻¹ M`, the
//! shift-and-invert of the pencil, applied through one sparse factorization. A block (rather than
//! single-vector) method is used because the local problems of symmetric grids have multiple
//! eigenvalues, which single-vector Lanczos finds only one copy of.

use crate::error::{Error, Result};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};

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

/// An `M`-orthonormal basis with the products `M v` kept alongside, both stored column-major
/// in one buffer each, so that the Gram–Schmidt projections, the Rayleigh quotient and the Ritz
/// vectors are matrix products (faer's blocked kernels: the dense work of a cycle is
/// `O(m² n)` for `m` basis vectors of length `n`, and as plain dot-product loops it took more
/// time than the sparse solves of the operator).
struct Basis {
    n: usize,
    v: Vec<f64>,
    mv: Vec<f64>,
}

impl Basis {
    fn new(n: usize) -> Basis {
        Basis {
            n,
            v: Vec::new(),
            mv: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.v.len() / self.n.max(1)
    }

    fn v(&self) -> MatRef<'_, f64> {
        MatRef::from_column_major_slice(&self.v, self.n, self.len())
    }

    fn mv(&self) -> MatRef<'_, f64> {
        MatRef::from_column_major_slice(&self.mv, self.n, self.len())
    }

    fn col(&self, j: usize) -> &[f64] {
        &self.v[j * self.n..(j + 1) * self.n]
    }

    /// Orthonormalizes the block `xs` against the basis and appends what is new: two passes of
    /// block classical Gram–Schmidt against the existing basis as matrix products (BCGS2), then
    /// each vector against the ones of its block kept before it, twice. A vector whose
    /// `M`-norm falls below `1e-10` of its norm on entry is numerically in the span and is
    /// dropped.
    fn push_block(&mut self, xs: Vec<Vec<f64>>, mass: &dyn Fn(&[f64], &mut [f64])) {
        let (n, m0) = (self.n, self.len());
        let mut mx = vec![0.0; n];
        let norm0: Vec<f64> = xs
            .iter()
            .map(|x| {
                mass(x, &mut mx);
                dot(x, &mx).max(0.0).sqrt()
            })
            .collect();
        let mut x = Mat::from_fn(n, xs.len(), |i, j| xs[j][i]);
        if m0 > 0 {
            for _ in 0..2 {
                let c = self.mv().transpose() * &x; // Vᵀ M X
                matmul(x.as_mut(), Accum::Add, self.v(), &c, -1.0, Par::Seq);
            }
        }
        for (j, &nrm0) in norm0.iter().enumerate() {
            if nrm0 == 0.0 || !nrm0.is_finite() {
                continue;
            }
            let mut v: Vec<f64> = (0..n).map(|i| x[(i, j)]).collect();
            let (from, len) = (m0, self.len());
            if len > from {
                for _ in 0..2 {
                    let block = MatRef::from_column_major_slice(&self.mv[from * n..], n, len - from);
                    let c = block.transpose() * MatRef::from_column_major_slice(&v, n, 1);
                    let vs = MatRef::from_column_major_slice(&self.v[from * n..], n, len - from);
                    matmul(
                        MatMut::from_column_major_slice_mut(&mut v, n, 1),
                        Accum::Add,
                        vs,
                        &c,
                        -1.0,
                        Par::Seq,
                    );
                }
            }
            mass(&v, &mut mx);
            let norm = dot(&v, &mx).max(0.0).sqrt();
            // Below this the vector is rounding noise of the span, not a new direction.
            if norm <= 1e-10 * nrm0 {
                continue;
            }
            self.v.extend(v.iter().map(|a| a / norm));
            self.mv.extend(mx.iter().map(|a| a / norm));
        }
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
        let (basis, images) = krylov_basis(n, image_len, op, mass, std::mem::take(&mut starts), p.depth);
        let m = basis.len();
        let keep = block.min(m);
        let mut pairs = rayleigh_ritz(&basis, &images, image_len, mass, keep)?;
        let converged = |k: usize| pairs.residuals.iter().take(k).all(|&r| r <= p.tol);
        let complete = m >= n; // the basis spans everything: the Ritz pairs are exact
        match pairs_needed(target, &pairs.values, keep, n, complete) {
            Some(k) if complete || converged(k) => {
                let k = match target {
                    Target::Count(_) => k,
                    Target::Above { min, cap } => pairs.values.iter().take(cap).take_while(|&&t| t > min).count(),
                };
                pairs.values.truncate(k);
                pairs.images.truncate(k);
                return Ok(Ritz {
                    values: pairs.values,
                    images: pairs.images,
                    restarts: restart,
                });
            }
            Some(_) => starts = pairs.vectors,
            None => {
                let wider = (2 * block).min(n);
                starts = pairs.vectors;
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

/// One cycle's Krylov basis `V = [X, TX, T²X, ...]` (up to `depth` blocks beyond the start
/// block `starts`, fewer at an invariant subspace) and its images `W = T V`, column-major
/// `image_len × m`.
fn krylov_basis(
    n: usize,
    image_len: usize,
    op: &mut dyn FnMut(&[f64], &mut [f64]),
    mass: &dyn Fn(&[f64], &mut [f64]),
    starts: Vec<Vec<f64>>,
    depth: usize,
) -> (Basis, Vec<f64>) {
    let mut basis = Basis::new(n);
    let mut images: Vec<f64> = Vec::new(); // T V, column-major image_len × m
    let mut next = starts;
    for _ in 0..=depth {
        let first = basis.len();
        basis.push_block(std::mem::take(&mut next), mass);
        if basis.len() == first {
            break; // invariant subspace: the basis is complete
        }
        for j in first..basis.len() {
            let mut w = vec![0.0; image_len];
            op(basis.col(j), &mut w);
            next.push(w[..n].to_vec());
            images.extend_from_slice(&w);
        }
    }
    (basis, images)
}

/// The Ritz pairs of the `keep` largest Ritz values of one cycle, descending.
struct RitzPairs {
    /// Ritz values θ.
    values: Vec<f64>,
    /// `T u` of each Ritz vector, at the operator's full length.
    images: Vec<Vec<f64>>,
    /// Relative residuals `‖T u − θ u‖_M / |θ|`.
    residuals: Vec<f64>,
    /// The Ritz vectors `u`: the next cycle's start block.
    vectors: Vec<Vec<f64>>,
}

/// Rayleigh–Ritz on the basis: the `keep` largest eigenpairs of `H = Vᵀ M T V` (symmetrized:
/// `T` is `M`-self-adjoint up to rounding) lifted back to Ritz vectors, with their images and
/// residuals.
fn rayleigh_ritz(
    basis: &Basis,
    images: &[f64],
    image_len: usize,
    mass: &dyn Fn(&[f64], &mut [f64]),
    keep: usize,
) -> Result<RitzPairs> {
    let (n, m) = (basis.n, basis.len());
    let tv = MatRef::from_column_major_slice(images, image_len, m);
    let g = basis.mv().transpose() * tv.subrows(0, n);
    let h = Mat::from_fn(m, m, |i, j| 0.5 * (g[(i, j)] + g[(j, i)]));
    let (theta, y) = symmetric_eigen(&h)?;
    let order: Vec<usize> = (0..m).rev().collect(); // descending θ
                                                    // The Ritz vectors of the `keep` largest θ and their images, as products with Y.
    let yk = Mat::from_fn(m, keep, |j, k| y[(j, order[k])]);
    let (u_all, tu_all) = (basis.v() * &yk, tv * &yk);
    let column = |a: &Mat<f64>, k: usize| -> Vec<f64> { (0..a.nrows()).map(|i| a[(i, k)]).collect() };
    let combine = |k: usize| (column(&u_all, k), column(&tu_all, k));
    let mut pairs = RitzPairs {
        values: Vec::with_capacity(keep),
        images: Vec::with_capacity(keep),
        residuals: Vec::with_capacity(keep),
        vectors: Vec::with_capacity(keep),
    };
    for (kk, &k) in order.iter().take(keep).enumerate() {
        let (u, tu) = combine(kk);
        let r: Vec<f64> = tu[..n].iter().zip(&u).map(|(a, b)| a - theta[k] * b).collect();
        let mut mr = vec![0.0; n];
        mass(&r, &mut mr);
        pairs
            .residuals
            .push(dot(&r, &mr).max(0.0).sqrt() / theta[k].abs().max(f64::MIN_POSITIVE));
        pairs.values.push(theta[k]);
        pairs.images.push(tu);
        pairs.vectors.push(u);
    }
    Ok(pairs)
}

/// How many of the leading Ritz pairs must converge for `target`, or `None` when every Ritz
/// value of the block is above a [`Target::Above`] bound and the block must widen. `complete`:
/// the basis spans the whole space.
fn pairs_needed(target: Target, values: &[f64], keep: usize, n: usize, complete: bool) -> Option<usize> {
    match target {
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
    }
}
