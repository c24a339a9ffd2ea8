//! A preconditioner's own copy of this rank's rows of `A`, for the products and residuals that
//! Schwarz methods need between their solves — the multiplicative sweep's `r − A z` on some rows
//! — and for the coarse spaces' set-up product `W = A Z` (whose result the two-level methods keep
//! instead of multiplying by `A` in each application). A
//! [`Preconditioner`](crate::linalg::Preconditioner) sees the matrix only at set-up, so it keeps
//! what it multiplies by; this is the one place that does it.

use crate::comm::{Comm, Halo, SparseRow};
use crate::error::Result;
use crate::linalg::{Csr, DistMatrix};

/// This rank's rows of `A` with their own exchange plan and a vector over `A`'s layout. Memory: a
/// copy of the `diag` and `offd` blocks (12 bytes per nonzero plus row pointers), one vector over
/// `A`'s layout and the exchange buffers.
pub(crate) struct RowsOfA {
    diag: Csr,
    offd: Csr,
    /// Exchange plan of `A`'s ghost columns (the matrix's own is not reachable from here).
    halo: Halo,
    /// The vector being multiplied, over `A`'s layout (owned rows, then `A`'s ghost columns).
    pub x: Vec<f64>,
}

impl RowsOfA {
    /// Collective: copies this rank's rows of `a` and builds their exchange plan.
    pub fn new(comm: &Comm, a: &DistMatrix) -> Result<RowsOfA> {
        Ok(RowsOfA {
            diag: a.diag().clone(),
            offd: a.offd().clone(),
            halo: Halo::new(comm, a.layout())?,
            x: vec![0.0; a.layout().n_local()],
        })
    }

    /// Collective among neighbours: refreshes the ghost columns of [`RowsOfA::x`].
    pub fn exchange(&mut self, comm: &Comm) {
        self.halo.forward(comm, &mut self.x);
    }

    /// Row `i` of `A x` (after [`RowsOfA::exchange`]).
    pub fn row_dot(&self, i: usize) -> f64 {
        let (xo, xg) = self.x.split_at(self.diag.nrows);
        self.diag.row_dot(i, xo) + self.offd.row_dot(i, xg)
    }

    /// Collective over all ranks (set-up): `W = A Z` on the owned rows for a sparse tall matrix
    /// `Z` given by its owned rows (`(column, value)` pairs, columns below `n_cols`); its rows at
    /// `A`'s ghost columns are fetched from their owners. Each row of `W` lists its columns in
    /// the order they were first reached.
    pub fn times_rows(&self, comm: &Comm, z: &[SparseRow], n_cols: usize) -> Vec<SparseRow> {
        let n = self.diag.nrows;
        let mut full = z.to_vec();
        full.resize(self.x.len(), Vec::new());
        self.halo.forward_rows(comm, &mut full);
        let (mut acc, mut mark, mut touched) = (vec![0.0; n_cols], vec![false; n_cols], Vec::new());
        (0..n)
            .map(|i| {
                for (block, off) in [(&self.diag, 0), (&self.offd, n)] {
                    let (cols, vals) = block.row(i);
                    for (&j, &a) in cols.iter().zip(vals) {
                        for &(c, v) in &full[off + j as usize] {
                            let c = c as usize;
                            if !mark[c] {
                                mark[c] = true;
                                touched.push(c);
                            }
                            acc[c] += a * v;
                        }
                    }
                }
                touched
                    .drain(..)
                    .map(|c| {
                        mark[c] = false;
                        (c as u32, std::mem::take(&mut acc[c]))
                    })
                    .collect()
            })
            .collect()
    }
}
