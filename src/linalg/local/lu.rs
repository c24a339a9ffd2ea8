//! The exact sparse LU factorization (`faer`'s, partial pivoting) behind [`super::LocalSolver`].

use super::{csc_transpose_view, mem_buffer};
use crate::error::{Error, Result};
use crate::linalg::Csr;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::sparse::linalg::cholesky::simplicial::{
    prefactorize_symbolic_cholesky, prefactorize_symbolic_cholesky_scratch,
};
use faer::sparse::linalg::lu::{factorize_symbolic_lu, LuRef, NumericLu, SymbolicLu};
use faer::sparse::linalg::LuError;
use faer::sparse::SymbolicSparseColMatRef;
use faer::{Conj, MatMut, Par};

/// Sparse LU with partial pivoting from `faer` (COLAMD column ordering, simplicial or
/// supernodal as `faer` chooses). It factors the CSC view of the CSR arrays, which is `Aᵀ`, and
/// solves `A y = x` with the transposed factors, so no transposed copy of `A` is made.
pub(super) struct FaerLu {
    pub(super) row_idx: Vec<usize>,
    pub(super) symbolic: SymbolicLu<usize>,
    numeric: NumericLu<usize, f64>,
    par: Par,
    factor_mem: MemBuffer,
    solve_mem: MemBuffer,
    /// Right-hand side of the probe solve in [`FaerLu::check_finite`].
    probe: Vec<f64>,
}

impl FaerLu {
    pub(super) fn new(a: &Csr) -> Result<FaerLu> {
        let row_idx: Vec<usize> = a.cols.iter().map(|&c| c as usize).collect();
        let symbolic = factorize_symbolic_lu(csc_transpose_view(a, &row_idx).symbolic(), Default::default())
            .map_err(|e| Error::input(format!("local solver: symbolic LU failed: {e:?}")))?;
        let par = faer::get_global_parallelism();
        let factor_mem = mem_buffer(
            symbolic.factorize_numeric_lu_scratch::<f64>(par, Default::default()),
            "LU workspace",
        )?;
        let solve_mem = mem_buffer(symbolic.solve_transpose_in_place_scratch::<f64>(1, par), "LU workspace")?;
        let mut f = FaerLu {
            row_idx,
            symbolic,
            numeric: NumericLu::new(),
            par,
            factor_mem,
            solve_mem,
            probe: vec![0.0; a.nrows],
        };
        f.factor(a)?;
        Ok(f)
    }

    pub(super) fn factor(&mut self, a: &Csr) -> Result<()> {
        let res = self.symbolic.factorize_numeric_lu(
            &mut self.numeric,
            csc_transpose_view(a, &self.row_idx),
            self.par,
            MemStack::new(&mut self.factor_mem),
            Default::default(),
        );
        match res {
            Ok(_) => self.check_finite(),
            Err(LuError::SymbolicSingular { index }) => Err(Error::input(format!(
                "local solver: the local matrix is singular (no nonzero pivot at LU step {index})"
            ))),
            Err(LuError::Generic(e)) => Err(Error::input(format!("local solver: LU failed: {e:?}"))),
        }
    }

    /// `faer` takes an exactly zero pivot without complaint, so one probe solve after each
    /// factorization turns the resulting infinities into an error (a nearly singular matrix
    /// still passes).
    fn check_finite(&mut self) -> Result<()> {
        let mut probe = std::mem::take(&mut self.probe);
        probe.fill(1.0);
        self.solve(&mut probe);
        let ok = probe.iter().all(|v| v.is_finite());
        self.probe = probe;
        if ok {
            Ok(())
        } else {
            Err(Error::input(
                "local solver: the local matrix is singular (LU met a zero pivot)",
            ))
        }
    }

    /// The estimated factor size of [`super::LocalSolver::nnz_factor`]; `rowptr` is `A`'s.
    pub(super) fn nnz_factor(&self, rowptr: &[usize]) -> usize {
        lu_fill_estimate(rowptr, &self.row_idx, self.symbolic.col_perm().arrays().1)
    }

    pub(super) fn solve(&mut self, x: &mut [f64]) {
        let n = x.len();
        // The factors are of Aᵀ, so A y = x is a transposed solve.
        LuRef::new_unchecked(&self.symbolic, &self.numeric).solve_transpose_in_place_with_conj(
            Conj::No,
            MatMut::from_column_major_slice_mut(x, n, 1),
            self.par,
            MemStack::new(&mut self.solve_mem),
        );
    }
}

/// `nnz(L) + nnz(U) − n` of LU without row interchanges under the symmetric permutation
/// `P (A + Aᵀ) Pᵀ`, `P` being `faer`'s column ordering: `2 nnz(chol) − n`, from the elimination
/// tree and column counts only (O(n) memory, O(fill) time).
fn lu_fill_estimate(rowptr: &[usize], row_idx: &[usize], perm_inv: &[usize]) -> usize {
    let n = rowptr.len() - 1;
    // Upper triangle of the permuted symmetrized pattern, by columns; duplicates are harmless.
    let mut colptr = vec![0usize; n + 1];
    for i in 0..n {
        for &j in &row_idx[rowptr[i]..rowptr[i + 1]] {
            colptr[perm_inv[i].max(perm_inv[j]) + 1] += 1;
        }
    }
    for c in 0..n {
        colptr[c + 1] += colptr[c];
    }
    let mut next = colptr.clone();
    let mut rows = vec![0usize; colptr[n]];
    for i in 0..n {
        for &j in &row_idx[rowptr[i]..rowptr[i + 1]] {
            let (p, q) = (perm_inv[i], perm_inv[j]);
            rows[next[p.max(q)]] = p.min(q);
            next[p.max(q)] += 1;
        }
    }
    let pattern = SymbolicSparseColMatRef::new_unsorted_checked(n, n, &colptr, None, &rows);
    let mut etree = vec![0isize; n];
    let mut col_counts = vec![0usize; n];
    let mut mem = MemBuffer::new(prefactorize_symbolic_cholesky_scratch::<usize>(n, rows.len()));
    prefactorize_symbolic_cholesky(&mut etree, &mut col_counts, pattern, MemStack::new(&mut mem));
    (2 * col_counts.iter().sum::<usize>()).saturating_sub(n)
}
