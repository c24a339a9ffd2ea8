//! Factorization of a symmetric positive semi-definite matrix whose kernel is found
//! numerically: a floating subdomain's Neumann matrix in FETI, whose kernel (the constants of
//! each connected part for diffusion, whatever touches no Dirichlet boundary) must not be
//! assumed from the geometry.
//!
//! **Fixing pivots.** The sparse (simplicial) Cholesky factorization runs with dynamic
//! regularization: a
//! pivot at most `pivot_tol` times the largest diagonal entry is replaced by a huge value, which
//! fixes that unknown (its solve component becomes zero, its couplings to later pivots vanish).
//! For a semi-definite matrix a vanishing pivot means the Schur complement's row vanishes as a
//! whole, so with the fixed unknowns `F` and the others `f` the solve is the generalized inverse
//! `K⁺ = P [K_ff⁻¹ 0; 0 0] Pᵀ` with `K K⁺ K = K` (the "fixing nodes" of Farhat and Géradin,
//! chosen by the pivots rather than by hand).
//!
//! **Kernel.** `I − K⁺ K` maps onto `ker K`; applied to a few deterministic probe vectors (their
//! number doubled from one until one more probe than the kernel's dimension shows), orthonormalized with
//! rank detection, it gives the kernel basis `R`. Each basis vector is checked:
//! `‖K r‖∞ ≤ 1e-8 max|K_ii| ‖r‖∞`, so a pivot tolerance that fixed a nonsingular direction is an
//! error instead of a wrong inverse. The probes start with one, so a nonsingular matrix (most
//! subdomains of FETI-DP, every one touching a Dirichlet boundary) costs one solve to find its
//! kernel empty and `K⁺ = K⁻¹`. A matrix whose factor would be supernodal (3D) is first
//! factorized plainly, supernodal, and kept when that one probe is reproduced to 1e-8; only a
//! singular one falls back to the simplicial factorization with fixed pivots.

use super::{count_symbolic_setup, FaerLlt};
use crate::error::{Error, Result};
use crate::linalg::Csr;

/// Relative size of a pivot taken as zero by default: rounding leaves about 1e-13 of the
/// diagonal on the last pivot of a floating subdomain, while a subdomain held by a single
/// Dirichlet point keeps pivots many orders above this.
pub const DEFAULT_PIVOT_TOL: f64 = 1e-8;

/// A semi-definite matrix's generalized inverse and kernel; see the module documentation.
pub struct SemiDefinite {
    llt: FaerLlt,
    a: Csr,
    kernel: Vec<Vec<f64>>,
    pivot_tol: f64,
    work: Vec<f64>,
}

impl SemiDefinite {
    /// Symbolic and numeric factorization of the symmetric matrix `a` (both triangles stored),
    /// with pivots at most `pivot_tol · max|a_ii|` fixed, and its kernel.
    pub fn new(a: &Csr, pivot_tol: f64) -> Result<SemiDefinite> {
        if !(pivot_tol > 0.0 && pivot_tol < 1.0) {
            return Err(Error::Config(format!("pivot tolerance {pivot_tol} must lie in (0, 1)")));
        }
        if a.nrows != a.ncols || a.nrows == 0 {
            return Err(Error::input(format!(
                "semi-definite factorization: the matrix is {}x{}",
                a.nrows, a.ncols
            )));
        }
        count_symbolic_setup();
        let mut s = SemiDefinite {
            llt: FaerLlt::symbolic(a)?,
            a: a.clone(),
            kernel: Vec::new(),
            pivot_tol,
            work: vec![0.0; a.nrows],
        };
        s.refactor(a)?;
        Ok(s)
    }

    /// Numeric factorization for new values on the same pattern; the kernel is found anew.
    pub fn refactor(&mut self, a: &Csr) -> Result<()> {
        if a.rowptr != self.a.rowptr || a.cols != self.a.cols {
            return Err(Error::input(
                "semi-definite factorization: the pattern changed (a numeric update needs the pattern of the set-up)",
            ));
        }
        let scale = a.diagonal().iter().fold(0.0f64, |m, d| m.max(d.abs()));
        if !(scale.is_finite() && scale > 0.0) {
            return Err(Error::input(format!(
                "semi-definite factorization: the largest diagonal entry is {scale}"
            )));
        }
        self.a.vals.copy_from_slice(&a.vals);
        // A supernodal factor (3D) is tried plainly first: most subdomains are nonsingular, and
        // one probe tells. Fixing pivots needs the simplicial form (see `symbolic_simplicial`).
        if !self.llt.is_simplicial() {
            if self.llt.factor(a).is_ok() && self.probe_is_exact() {
                self.kernel = Vec::new();
                return Ok(());
            }
            count_symbolic_setup();
            self.llt = FaerLlt::symbolic_simplicial(a)?;
        }
        self.llt.factor_fixing(a, self.pivot_tol * scale, 1e32 * scale)?;
        self.kernel = self.find_kernel(scale)?;
        Ok(())
    }

    /// Whether `K⁻¹ K x = x` for the first probe `x` to 1e-8 (a nonsingular factorization).
    fn probe_is_exact(&mut self) -> bool {
        let x = probe(self.a.nrows, 0);
        self.a.spmv(&x, &mut self.work);
        self.llt.solve(&mut self.work);
        let off = x
            .iter()
            .zip(&self.work)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt();
        off <= 1e-8 * norm(&x)
    }

    /// `x ← K⁺ x`: the generalized inverse (the inverse when the kernel is empty).
    pub fn solve_in_place(&mut self, x: &mut [f64]) {
        self.llt.solve(x);
    }

    /// `X ← K⁺ X` for `k` right-hand sides stored column after column in `x` (set-up work:
    /// one pass over the factor, a workspace allocated for the call).
    pub fn solve_many(&mut self, x: &mut [f64], k: usize) -> Result<()> {
        self.llt.solve_many(x, k)
    }

    /// An orthonormal basis of the kernel (empty for a nonsingular matrix).
    pub fn kernel(&self) -> &[Vec<f64>] {
        &self.kernel
    }

    /// Number of rows.
    pub fn n(&self) -> usize {
        self.a.nrows
    }

    /// The kernel from `(I − K⁺K) X` for probe blocks `X` of doubling width.
    fn find_kernel(&mut self, scale: f64) -> Result<Vec<Vec<f64>>> {
        let n = self.a.nrows;
        let mut width = 1;
        loop {
            let mut basis: Vec<Vec<f64>> = Vec::new();
            for k in 0..width {
                let x = probe(n, k);
                let mut y = vec![0.0; n];
                self.a.spmv(&x, &mut y);
                self.llt.solve(&mut y);
                let mut r: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a - b).collect();
                if orthonormalize_against(&basis, &mut r, norm(&x)) {
                    basis.push(r);
                }
            }
            if basis.len() < width || width == n {
                for r in &basis {
                    self.check_kernel_vector(r, scale)?;
                }
                return Ok(basis);
            }
            width = (2 * width).min(n);
        }
    }

    fn check_kernel_vector(&mut self, r: &[f64], scale: f64) -> Result<()> {
        self.a.spmv(r, &mut self.work);
        let res = self.work.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let size = r.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if res > 1e-8 * scale * size {
            return Err(Error::input(format!(
                "semi-definite factorization: a fixed pivot is not a kernel direction (‖K r‖ = \
                 {res:.3e} for ‖r‖ = {size:.3e}, max|K_ii| = {scale:.3e}); the pivot tolerance \
                 {:.1e} is too large for this matrix",
                self.pivot_tol
            )));
        }
        Ok(())
    }
}

/// Deterministic probe vector `k` of length `n`, entries in [−1, 1) from a hash of `(i, k)`
/// (SplitMix64): no arithmetic pattern that the fixed unknowns of repeated parts (equal local
/// positions in blocks of equal size) could line up with.
fn probe(n: usize, k: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let mut z = (i as u64) ^ ((k as u64) << 40);
            z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

fn norm(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// Removes from `r` its components along the orthonormal `basis` (twice, for stability) and
/// normalizes it; false when what is left is below 1e-5 of `reference` (no new direction:
/// rounding leaves about ε·cond(K) of the probe, a kernel direction about |x_k| ≥ 1e-5 of it).
fn orthonormalize_against(basis: &[Vec<f64>], r: &mut [f64], reference: f64) -> bool {
    for _ in 0..2 {
        for q in basis {
            let d: f64 = q.iter().zip(r.iter()).map(|(a, b)| a * b).sum();
            r.iter_mut().zip(q).for_each(|(x, qi)| *x -= d * qi);
        }
    }
    let nr = norm(r);
    if nr <= 1e-5 * reference {
        return false;
    }
    r.iter_mut().for_each(|x| *x /= nr);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Graph Laplacian of `parts` disjoint m × m grids (5-point, Neumann: zero row sums), with
    /// `anchor` added to the first diagonal entry.
    fn neumann_grids(m: usize, parts: usize, anchor: f64) -> Csr {
        let mut t = Vec::new();
        for p in 0..parts {
            let id = |i: usize, j: usize| (p * m * m + i * m + j) as u32;
            for i in 0..m {
                for j in 0..m {
                    let mut deg = 0.0;
                    for (di, dj) in [(0i64, 1i64), (1, 0), (0, -1), (-1, 0)] {
                        let (a, b) = (i as i64 + di, j as i64 + dj);
                        if a >= 0 && b >= 0 && a < m as i64 && b < m as i64 {
                            t.push((id(i, j), id(a as usize, b as usize), -1.0));
                            deg += 1.0;
                        }
                    }
                    t.push((id(i, j), id(i, j), deg));
                }
            }
        }
        t.push((0, 0, anchor));
        let n = parts * m * m;
        Csr::from_triplets(n, n, &t)
    }

    fn residual(a: &Csr, x: &[f64], b: &[f64]) -> f64 {
        let mut y = vec![0.0; b.len()];
        a.spmv(x, &mut y);
        let r = y.iter().zip(b).map(|(p, q)| (p - q).powi(2)).sum::<f64>().sqrt();
        r / norm(b)
    }

    /// A right-hand side orthogonal to the constants of each of `parts` blocks of size `block`.
    fn compatible(n: usize, block: usize) -> Vec<f64> {
        let mut b: Vec<f64> = (0..n).map(|i| ((i * 7919) % 23) as f64 - 11.0).collect();
        for chunk in b.chunks_mut(block) {
            let mean = chunk.iter().sum::<f64>() / chunk.len() as f64;
            chunk.iter_mut().for_each(|v| *v -= mean);
        }
        b
    }

    #[test]
    fn a_floating_grid_has_the_constants_as_kernel_and_a_generalized_inverse() {
        let a = neumann_grids(30, 1, 0.0);
        let mut s = SemiDefinite::new(&a, DEFAULT_PIVOT_TOL).unwrap();
        assert_eq!(s.kernel().len(), 1);
        let r = &s.kernel()[0];
        let mean = r.iter().sum::<f64>() / r.len() as f64;
        assert!(r.iter().all(|v| (v - mean).abs() <= 1e-10 * mean.abs()), "not constant");
        let b = compatible(a.nrows, a.nrows);
        let mut x = b.clone();
        s.solve_in_place(&mut x);
        assert!(residual(&a, &x, &b) <= 1e-10, "K K⁺ b = b: {}", residual(&a, &x, &b));
    }

    #[test]
    fn disconnected_parts_give_one_kernel_vector_each_beyond_the_first_probe_block() {
        // Five parts: the probe block doubles from one to eight.
        let a = neumann_grids(6, 5, 0.0);
        let mut s = SemiDefinite::new(&a, DEFAULT_PIVOT_TOL).unwrap();
        assert_eq!(s.kernel().len(), 5);
        for r in s.kernel() {
            // Each basis vector is constant on every part (a combination of the indicators).
            for part in r.chunks(36) {
                assert!(
                    part.iter().all(|v| (v - part[0]).abs() <= 1e-10),
                    "not piecewise constant"
                );
            }
        }
        let b = compatible(a.nrows, 36);
        let mut x = b.clone();
        s.solve_in_place(&mut x);
        assert!(residual(&a, &x, &b) <= 1e-10);
    }

    /// Graph Laplacian of an m³ grid (7-point, Neumann), with `anchor` on the first diagonal
    /// entry: a 3D matrix, whose factor is supernodal.
    fn neumann_cube(m: usize, anchor: f64) -> Csr {
        let id = |i: usize, j: usize, k: usize| ((i * m + j) * m + k) as u32;
        let mut t = vec![(0, 0, anchor)];
        for (i, j, k) in (0..m * m * m).map(|p| (p / (m * m), (p / m) % m, p % m)) {
            let mut deg = 0.0;
            for (di, dj, dk) in [
                (1i64, 0i64, 0i64),
                (-1, 0, 0),
                (0, 1, 0),
                (0, -1, 0),
                (0, 0, 1),
                (0, 0, -1),
            ] {
                let (a, b, c) = (i as i64 + di, j as i64 + dj, k as i64 + dk);
                if [a, b, c].iter().all(|&x| x >= 0 && x < m as i64) {
                    t.push((id(i, j, k), id(a as usize, b as usize, c as usize), -1.0));
                    deg += 1.0;
                }
            }
            t.push((id(i, j, k), id(i, j, k), deg));
        }
        Csr::from_triplets(m * m * m, m * m * m, &t)
    }

    #[test]
    fn a_floating_3d_block_falls_back_to_the_simplicial_factor_and_one_held_keeps_the_supernodal_one() {
        // faer's supernodal factorization with fixed pivots is not a generalized inverse; the
        // floating cube must come out of the simplicial fallback with its kernel.
        let floating = neumann_cube(14, 0.0);
        let mut s = SemiDefinite::new(&floating, DEFAULT_PIVOT_TOL).unwrap();
        assert_eq!(s.kernel().len(), 1);
        assert!(s.llt.is_simplicial());
        let b = compatible(floating.nrows, floating.nrows);
        let mut x = b.clone();
        s.solve_in_place(&mut x);
        assert!(residual(&floating, &x, &b) <= 1e-10, "{}", residual(&floating, &x, &b));
        let held = neumann_cube(14, 1.0);
        let mut s = SemiDefinite::new(&held, DEFAULT_PIVOT_TOL).unwrap();
        assert!(s.kernel().is_empty() && !s.llt.is_simplicial());
        let mut x = b.clone();
        s.solve_in_place(&mut x);
        assert!(residual(&held, &x, &b) <= 1e-10, "{}", residual(&held, &x, &b));
    }

    #[test]
    fn a_grid_held_at_one_point_is_nonsingular() {
        // The discrete analogue of a subdomain touching the Dirichlet boundary at one point: a
        // small anchor makes the smallest pivot small but far above rounding.
        let a = neumann_grids(40, 1, 1e-3);
        let mut s = SemiDefinite::new(&a, DEFAULT_PIVOT_TOL).unwrap();
        assert!(s.kernel().is_empty());
        let b: Vec<f64> = (0..a.nrows).map(|i| (i % 5) as f64).collect();
        let mut x = b.clone();
        s.solve_in_place(&mut x);
        assert!(residual(&a, &x, &b) <= 1e-9, "{}", residual(&a, &x, &b));
    }

    #[test]
    fn refactor_finds_the_kernel_of_the_new_values_and_refuses_another_pattern() {
        let floating = neumann_grids(12, 1, 0.0);
        let held = neumann_grids(12, 1, 1.0);
        // Same pattern: the anchor is an existing diagonal entry.
        assert_eq!(floating.cols, held.cols);
        let mut s = SemiDefinite::new(&held, DEFAULT_PIVOT_TOL).unwrap();
        assert!(s.kernel().is_empty());
        s.refactor(&floating).unwrap();
        assert_eq!(s.kernel().len(), 1);
        let other = neumann_grids(11, 1, 0.0);
        assert!(s.refactor(&other).is_err());
    }

    #[test]
    fn an_indefinite_matrix_is_refused() {
        let a = Csr::from_triplets(
            3,
            3,
            &[(0, 0, 2.0), (1, 1, -1.0), (2, 2, 1.0), (0, 2, 0.5), (2, 0, 0.5)],
        );
        let e = SemiDefinite::new(&a, DEFAULT_PIVOT_TOL).err().expect("refused");
        assert!(e.to_string().contains("not a kernel direction"), "{e}");
        assert!(SemiDefinite::new(&a, 0.0).is_err());
    }
}
