//! Distributed sparse matrices: CSR by owned rows, split into the block acting on owned columns
//! (`diag`) and the block acting on ghost columns (`offd`), so that a product posts the ghost
//! exchange, multiplies `diag` while the messages travel, then adds `offd`. Assembly accepts
//! `(row, col, value)` triplets in global numbering for any row: contributions to rows owned
//! elsewhere are stashed and sent to their owners (as PETSc's `MatAssemblyBegin/End`), and the
//! ghost columns (with their owners) follow from the assembled rows.

use super::{Csr, DistVector};
use crate::comm::{Comm, Halo, HaloStats, Layout};
use crate::error::{Error, Result};
use mpi::traits::*;
use std::cell::RefCell;

/// A distributed sparse matrix, square or rectangular, and the exchange plan its products use.
///
/// Rows are distributed contiguously by [`DistMatrix::row_offsets`], columns by
/// [`DistMatrix::col_offsets`] (the same for a square matrix). An input vector of `y = A x` has
/// the column layout ([`DistMatrix::layout`]: owned columns plus the ghost columns the owned rows
/// reference), the output the row layout. Products take `&self`: the exchange buffers live in a
/// [`RefCell`] (one rank is one thread), so a matrix can be shared by a solver, its
/// preconditioner and the driver without `&mut` threading through them.
#[derive(Debug)]
pub struct DistMatrix {
    /// Owned columns and the ghost columns referenced by the owned rows; vectors that multiply
    /// this matrix use this layout.
    layout: Layout,
    /// Owned rows (no ghosts, except for a square matrix, where it is `layout`).
    row_layout: Layout,
    /// Block of owned rows × owned columns (local column indices).
    diag: Csr,
    /// Block of owned rows × ghost columns (column `k` is ghost `k` of the layout).
    offd: Csr,
    /// Row ownership offsets of all ranks (`size + 1` entries).
    row_offsets: Vec<u64>,
    /// Column ownership offsets of all ranks (`size + 1` entries).
    col_offsets: Vec<u64>,
    halo: RefCell<Halo>,
}

/// Rank owning global index `g` under `offsets`.
pub fn owner_of(offsets: &[u64], g: u64) -> Option<usize> {
    if g >= *offsets.last()? {
        return None;
    }
    Some(offsets.partition_point(|&o| o <= g) - 1)
}

/// Collective: exclusive prefix offsets of `n_owned` over ranks (`size + 1` entries).
pub fn ownership_offsets(comm: &Comm, n_owned: usize) -> Vec<u64> {
    let counts = comm.all_gather_u64(n_owned as u64);
    let mut off = vec![0u64];
    for c in counts {
        off.push(off.last().copied().unwrap_or(0) + c);
    }
    off
}

/// Collective: sends `items[k]` to rank `dest[k]`; returns what this rank received, grouped by
/// source rank in rank order.
fn exchange_by_rank<T: Equivalence + Default + Clone>(comm: &Comm, dest: &[usize], items: &[T]) -> Vec<T> {
    let mut counts = vec![0i32; comm.size() as usize];
    for &d in dest {
        counts[d] += 1;
    }
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&k| dest[k]);
    let send: Vec<T> = order.iter().map(|&k| items[k].clone()).collect();
    comm.all_to_all_v(&send, &counts).0
}

impl DistMatrix {
    /// Collective: assembles a square matrix whose rows are distributed as `n_owned` per rank
    /// (contiguous, in rank order) from triplets `(global row, global col, value)` that may
    /// target any row; duplicates are summed in a reproducible order (this rank's own
    /// triplets first, then those received, by source rank).
    pub fn assemble(comm: &Comm, n_owned: usize, triplets: &[(u64, u64, f64)]) -> Result<DistMatrix> {
        let offsets = ownership_offsets(comm, n_owned);
        Self::assemble_with(comm, offsets.clone(), offsets, triplets)
    }

    /// Collective: [`DistMatrix::assemble`] for a rectangular matrix with `n_owned_rows` rows and
    /// `n_owned_cols` columns owned by this rank (e.g. a divergence operator from velocity to
    /// pressure unknowns, or FETI's jump operator from subdomain to multiplier unknowns).
    pub fn assemble_rectangular(
        comm: &Comm,
        n_owned_rows: usize,
        n_owned_cols: usize,
        triplets: &[(u64, u64, f64)],
    ) -> Result<DistMatrix> {
        let rows = ownership_offsets(comm, n_owned_rows);
        let cols = ownership_offsets(comm, n_owned_cols);
        Self::assemble_with(comm, rows, cols, triplets)
    }

    fn assemble_with(
        comm: &Comm,
        row_offsets: Vec<u64>,
        col_offsets: Vec<u64>,
        triplets: &[(u64, u64, f64)],
    ) -> Result<DistMatrix> {
        let rank = comm.rank() as usize;
        let n_rows = *row_offsets.last().unwrap_or(&0);
        let n_cols = *col_offsets.last().unwrap_or(&0);
        let bad = triplets.iter().find(|t| t.0 >= n_rows || t.1 >= n_cols);
        comm.agree(match bad {
            Some(t) => Err(Error::input(format!(
                "matrix entry ({}, {}) outside a {n_rows}×{n_cols} matrix",
                t.0, t.1
            ))),
            None => Ok(()),
        })?;
        let mut mine: Vec<(u64, u64, f64)> = Vec::new();
        let (mut dest, mut rows, mut cols, mut vals) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for &(r, c, v) in triplets {
            // Every row is in range (agreed above), so it has an owner.
            let o = owner_of(&row_offsets, r).unwrap_or(rank);
            if o == rank {
                mine.push((r, c, v));
            } else {
                dest.push(o);
                rows.push(r);
                cols.push(c);
                vals.push(v);
            }
        }
        let (rr, rc, rv) = (
            exchange_by_rank(comm, &dest, &rows),
            exchange_by_rank(comm, &dest, &cols),
            exchange_by_rank(comm, &dest, &vals),
        );
        mine.extend(rr.into_iter().zip(rc).zip(rv).map(|((r, c), v)| (r, c, v)));
        Self::from_owned_rows(comm, row_offsets, col_offsets, &mine)
    }

    /// Collective: builds the matrix from triplets of owned rows only (global indices).
    fn from_owned_rows(
        comm: &Comm,
        row_offsets: Vec<u64>,
        col_offsets: Vec<u64>,
        triplets: &[(u64, u64, f64)],
    ) -> Result<DistMatrix> {
        let rank = comm.rank() as usize;
        let (r0, r1) = (row_offsets[rank], row_offsets[rank + 1]);
        let (lo, hi) = (col_offsets[rank], col_offsets[rank + 1]);
        let (n_rows, n_cols) = ((r1 - r0) as usize, (hi - lo) as usize);
        let mut ghosts: Vec<u64> = triplets.iter().map(|t| t.1).filter(|c| *c < lo || *c >= hi).collect();
        ghosts.sort_unstable();
        ghosts.dedup();
        let ghost_owners: Vec<i32> = ghosts
            .iter()
            .map(|&g| owner_of(&col_offsets, g).unwrap_or(0) as i32)
            .collect();
        let (mut d, mut o) = (Vec::new(), Vec::new());
        for &(r, c, v) in triplets {
            let r = (r - r0) as u32;
            if (lo..hi).contains(&c) {
                d.push((r, (c - lo) as u32, v));
            } else {
                // The ghost list is sorted and holds c.
                o.push((r, ghosts.partition_point(|&g| g < c) as u32, v));
            }
        }
        let layout = Layout {
            offset: lo,
            n_owned: n_cols,
            n_global: col_offsets[col_offsets.len() - 1],
            ghosts,
            ghost_owners,
        };
        let row_layout = if row_offsets == col_offsets {
            layout.clone()
        } else {
            Layout {
                offset: r0,
                n_owned: n_rows,
                n_global: row_offsets[row_offsets.len() - 1],
                ghosts: Vec::new(),
                ghost_owners: Vec::new(),
            }
        };
        let halo = Halo::new(comm, &layout)?;
        Ok(DistMatrix {
            diag: Csr::from_triplets(n_rows, n_cols, &d),
            offd: Csr::from_triplets(n_rows, layout.ghosts.len(), &o),
            layout,
            row_layout,
            row_offsets,
            col_offsets,
            halo: RefCell::new(halo),
        })
    }

    /// The column layout: owned columns and the ghost columns the owned rows reference. Input
    /// vectors of [`DistMatrix::spmv`] (and, for a square matrix, its outputs) use it.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The row layout: outputs of [`DistMatrix::spmv`] and inputs of
    /// [`DistMatrix::spmv_transpose`] use it (the column layout for a square matrix).
    pub fn row_layout(&self) -> &Layout {
        &self.row_layout
    }

    /// Row ownership offsets of all ranks (`size + 1` entries).
    pub fn row_offsets(&self) -> &[u64] {
        &self.row_offsets
    }

    /// Column ownership offsets of all ranks (`size + 1` entries).
    pub fn col_offsets(&self) -> &[u64] {
        &self.col_offsets
    }

    /// Whether rows and columns are distributed alike (a square matrix).
    pub fn is_square(&self) -> bool {
        self.row_offsets == self.col_offsets
    }

    /// Block of owned rows × owned columns (local column indices).
    pub fn diag(&self) -> &Csr {
        &self.diag
    }

    /// Block of owned rows × ghost columns (column `k` is ghost `k` of [`DistMatrix::layout`]).
    pub fn offd(&self) -> &Csr {
        &self.offd
    }

    /// Stored entries of this rank's rows.
    pub fn local_nnz(&self) -> usize {
        self.diag.nnz() + self.offd.nnz()
    }

    /// The values of both blocks, to change them in place (the pattern stays): what a numeric
    /// update of an operator with a fixed pattern writes.
    pub fn values_mut(&mut self) -> (&mut [f64], &mut [f64]) {
        (&mut self.diag.vals, &mut self.offd.vals)
    }

    /// Global number of rows.
    pub fn n_global(&self) -> u64 {
        self.row_layout.n_global
    }

    /// Global number of columns.
    pub fn n_global_cols(&self) -> u64 {
        self.layout.n_global
    }

    /// Collective among neighbours: `y = A x` on owned rows; `x` (column layout) has its ghost
    /// slots refreshed, overlapped with the owned-block product.
    pub fn spmv(&self, comm: &Comm, x: &mut DistVector, y: &mut DistVector) {
        let (n, m) = (self.row_layout.n_owned, self.layout.n_owned);
        let diag = &self.diag;
        let yo = &mut y.data[..n];
        self.halo
            .borrow_mut()
            .forward_overlapped(comm, &mut x.data, |xd| diag.spmv(&xd[..m], yo));
        self.offd.spmv_add(&x.data[m..], &mut y.data[..n]);
    }

    /// Collective among neighbours: `y = Aᵀ x` on owned columns, for `x` in the row layout and
    /// `y` in the column layout (the gradient of a divergence, FETI's `Bᵀ λ`). The
    /// contributions to ghost columns are summed at their owners through `y`'s own ghost
    /// slots, which are left stale.
    pub fn spmv_transpose(&self, comm: &Comm, x: &DistVector, y: &mut DistVector) {
        let (n, m) = (self.row_layout.n_owned, self.layout.n_owned);
        y.data.fill(0.0);
        let (owned, ghost) = y.data.split_at_mut(m);
        self.diag.spmv_transpose_add(1.0, &x.data[..n], owned); // y_o = Dᵀ x
        self.offd.spmv_transpose_add(1.0, &x.data[..n], ghost); // y_g = Oᵀ x
        self.halo.borrow_mut().reverse_add(comm, &mut y.data); // y_o += (y_g at their owners)
    }

    /// The owned part of the diagonal (square matrices).
    pub fn diagonal(&self) -> Vec<f64> {
        self.diag.diagonal()
    }

    /// A copy with the same pattern, values and exchange plan (nothing is sent): a second
    /// matrix of the same pattern whose values a caller sets through
    /// [`DistMatrix::values_mut`].
    pub fn duplicate(&self) -> DistMatrix {
        DistMatrix {
            layout: self.layout.clone(),
            row_layout: self.row_layout.clone(),
            diag: self.diag.clone(),
            offd: self.offd.clone(),
            row_offsets: self.row_offsets.clone(),
            col_offsets: self.col_offsets.clone(),
            halo: RefCell::new(self.halo.borrow().duplicate()),
        }
    }

    /// A copy whose first global row has its diagonal entry doubled: for an operator whose
    /// null space is the constants (Neumann conditions everywhere), a nonsingular matrix of the
    /// same pattern — as if one unknown were tied to zero — that differs from it by a rank-one
    /// term, so preconditioners built for it (local factorizations, coarse operators) exist and
    /// precondition the singular operator on its range. Collective (the copy's exchange plan is
    /// the original's; nothing is sent).
    pub fn grounded(&self) -> DistMatrix {
        let mut g = self.duplicate();
        if self.row_layout.offset == 0 && self.row_layout.n_owned > 0 && self.layout.offset == 0 {
            let (cols, _) = g.diag.row(0);
            if let Some(k) = cols.iter().position(|&c| c == 0) {
                let at = g.diag.rowptr[0] + k;
                g.diag.vals[at] *= 2.0;
            }
        }
        g
    }

    /// Timings of the exchanges made by products so far.
    pub fn halo_stats(&self) -> HaloStats {
        self.halo.borrow().stats
    }
}
