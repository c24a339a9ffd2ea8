//! The incomplete factorizations IC(0) and ILU(0), written here rather than taken from `faer`:
//! zero-fill factors on the pattern of `A` itself, so their set-up is one pass over the matrix and
//! their size is known in advance. [`LocalSolver`](super::LocalSolver) dispatches to them.

use super::Csr;
use crate::error::{Error, Result};

/// Diagonal shifts IC(0) tries in turn, relative to the diagonal (`A + α diag(A)`), when the
/// factorization meets a non-positive pivot (Manteuffel's shifted incomplete Cholesky). The
/// first succeeding shift is kept and reported by [`LocalSolver::shift`](super::LocalSolver::shift);
/// if the largest fails the set-up fails.
pub const IC0_SHIFTS: [f64; 4] = [0.0, 1e-3, 1e-2, 1e-1];

const NONE: usize = usize::MAX;

/// Incomplete Cholesky with zero fill: `L` on the lower-triangle pattern of `A`, stored by rows
/// with the diagonal last in each row.
pub(super) struct Ic0 {
    rowptr: Vec<usize>,
    cols: Vec<u32>,
    pub(super) vals: Vec<f64>,
    /// Position in `A.vals` of each entry of `L`.
    src: Vec<usize>,
    /// Column → position in the current row during the factorization (`NONE` elsewhere).
    marker: Vec<usize>,
    /// The relative diagonal shift the last successful factorization used (see [`IC0_SHIFTS`]).
    pub(super) shift: f64,
}

impl Ic0 {
    pub(super) fn new(a: &Csr) -> Result<Ic0> {
        let n = a.nrows;
        let mut rowptr = Vec::with_capacity(n + 1);
        rowptr.push(0);
        let (mut cols, mut src) = (Vec::new(), Vec::new());
        for i in 0..n {
            for p in a.rowptr[i]..a.rowptr[i + 1] {
                if a.cols[p] as usize <= i {
                    cols.push(a.cols[p]);
                    src.push(p);
                }
            }
            if cols.last().map(|&c| c as usize) != Some(i) {
                return Err(missing_diagonal(i));
            }
            rowptr.push(cols.len());
        }
        let mut f = Ic0 {
            rowptr,
            vals: vec![0.0; cols.len()],
            cols,
            src,
            marker: vec![NONE; n],
            shift: 0.0,
        };
        f.factor(a)?;
        Ok(f)
    }

    pub(super) fn factor(&mut self, a: &Csr) -> Result<()> {
        let mut first_failure = None;
        for &alpha in &IC0_SHIFTS {
            for (v, &p) in self.vals.iter_mut().zip(&self.src) {
                *v = a.vals[p];
            }
            if alpha != 0.0 {
                for i in 0..self.rowptr.len() - 1 {
                    self.vals[self.rowptr[i + 1] - 1] *= 1.0 + alpha;
                }
            }
            match self.factor_values() {
                Ok(()) => {
                    self.shift = alpha;
                    return Ok(());
                }
                Err(row) => {
                    first_failure.get_or_insert(row);
                }
            }
        }
        let row = first_failure.unwrap_or(0);
        Err(Error::input(format!(
            "local solver: IC(0) breakdown, non-positive pivot at row {row} of the local matrix (also \
             with diagonal shifts up to {}%): the matrix is not positive definite or IC(0) is \
             unstable for it; use 'cholesky' (SPD) or 'ilu0'/'lu'",
            IC0_SHIFTS[IC0_SHIFTS.len() - 1] * 100.0
        )))
    }

    /// IC(0) in place on `vals` (row-oriented): `l_ik = (a_ik − Σ_{j<k} l_ij l_kj) / l_kk`,
    /// `l_ii = sqrt(a_ii − Σ_{k<i} l_ik²)`. Returns the row of a non-positive pivot.
    fn factor_values(&mut self) -> std::result::Result<(), usize> {
        let (rowptr, cols, vals, marker) = (&self.rowptr, &self.cols, &mut self.vals, &mut self.marker);
        for i in 0..rowptr.len() - 1 {
            let (start, diag) = (rowptr[i], rowptr[i + 1] - 1);
            for p in start..diag {
                marker[cols[p] as usize] = p;
            }
            let mut d = vals[diag];
            for p in start..diag {
                let k = cols[p] as usize;
                let mut s = vals[p];
                for q in rowptr[k]..rowptr[k + 1] - 1 {
                    let m = marker[cols[q] as usize];
                    if m != NONE {
                        s -= vals[m] * vals[q];
                    }
                }
                let l = s / vals[rowptr[k + 1] - 1];
                vals[p] = l;
                d -= l * l;
            }
            for p in start..diag {
                marker[cols[p] as usize] = NONE;
            }
            if !(d > 0.0 && d.is_finite()) {
                return Err(i);
            }
            vals[diag] = d.sqrt();
        }
        Ok(())
    }

    /// `x ← (L Lᵀ)⁻¹ x`: forward substitution by rows, backward by columns of `L` (rows of `Lᵀ`).
    pub(super) fn solve(&self, x: &mut [f64]) {
        let n = x.len();
        for i in 0..n {
            let diag = self.rowptr[i + 1] - 1;
            let mut s = x[i];
            for p in self.rowptr[i]..diag {
                s -= self.vals[p] * x[self.cols[p] as usize];
            }
            x[i] = s / self.vals[diag];
        }
        for i in (0..n).rev() {
            let diag = self.rowptr[i + 1] - 1;
            let xi = x[i] / self.vals[diag];
            x[i] = xi;
            for p in self.rowptr[i]..diag {
                x[self.cols[p] as usize] -= self.vals[p] * xi;
            }
        }
    }
}

fn missing_diagonal(i: usize) -> Error {
    Error::input(format!(
        "local solver: row {i} of the local matrix has no diagonal entry (incomplete factorizations need one)"
    ))
}

/// Incomplete LU with zero fill on the pattern of `A` (IKJ variant): unit lower `L` strictly
/// below the diagonal, `U` on and above it, both in one value array over `A`'s CSR pattern.
pub(super) struct Ilu0 {
    pub(super) vals: Vec<f64>,
    /// Position of the diagonal entry of each row.
    diag: Vec<usize>,
    inv_diag: Vec<f64>,
    marker: Vec<usize>,
}

impl Ilu0 {
    pub(super) fn new(a: &Csr) -> Result<Ilu0> {
        let n = a.nrows;
        let diag = (0..n)
            .map(|i| {
                let (c, _) = a.row(i);
                c.binary_search(&(i as u32))
                    .map(|k| a.rowptr[i] + k)
                    .map_err(|_| missing_diagonal(i))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut f = Ilu0 {
            vals: vec![0.0; a.nnz()],
            diag,
            inv_diag: vec![0.0; n],
            marker: vec![NONE; n],
        };
        f.factor(a)?;
        Ok(f)
    }

    /// `for i, for k < i in row i: a_ik /= u_kk; a_ij −= a_ik u_kj for j > k in both patterns`.
    pub(super) fn factor(&mut self, a: &Csr) -> Result<()> {
        let (rowptr, cols) = (&a.rowptr, &a.cols);
        let (vals, diag, marker) = (&mut self.vals, &self.diag, &mut self.marker);
        vals.copy_from_slice(&a.vals);
        for i in 0..a.nrows {
            let row = rowptr[i]..rowptr[i + 1];
            for p in row.clone() {
                marker[cols[p] as usize] = p;
            }
            for p in row.start..diag[i] {
                let k = cols[p] as usize;
                let l = vals[p] / vals[diag[k]];
                vals[p] = l;
                for q in diag[k] + 1..rowptr[k + 1] {
                    let m = marker[cols[q] as usize];
                    if m != NONE {
                        vals[m] -= l * vals[q];
                    }
                }
            }
            for p in row.clone() {
                marker[cols[p] as usize] = NONE;
            }
            let scale = a.vals[row].iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let pivot = vals[diag[i]];
            if !(pivot.abs() > f64::EPSILON * scale && pivot.is_finite()) {
                return Err(Error::input(format!(
                    "local solver: ILU(0) zero pivot at row {i} of the local matrix (u_ii = {pivot:e}); \
                     use 'lu'"
                )));
            }
            self.inv_diag[i] = 1.0 / pivot;
        }
        Ok(())
    }

    /// `x ← U⁻¹ L⁻¹ x`, both substitutions by rows.
    pub(super) fn solve(&self, x: &mut [f64], rowptr: &[usize], cols: &[u32]) {
        let n = x.len();
        for i in 0..n {
            let mut s = x[i];
            for p in rowptr[i]..self.diag[i] {
                s -= self.vals[p] * x[cols[p] as usize];
            }
            x[i] = s;
        }
        for i in (0..n).rev() {
            let mut s = x[i];
            for p in self.diag[i] + 1..rowptr[i + 1] {
                s -= self.vals[p] * x[cols[p] as usize];
            }
            x[i] = s * self.inv_diag[i];
        }
    }
}
