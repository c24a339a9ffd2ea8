//! Distributed sparse matrices: CSR by owned rows, split into the block acting on owned columns
//! (`diag`) and the block acting on ghost columns (`offd`), so that a product posts the ghost
//! exchange, multiplies `diag` while the messages travel, then adds `offd`. Assembly accepts
//! `(row, col, value)` triplets in global numbering for any row: contributions to rows owned
//! elsewhere are stashed and sent to their owners (as PETSc's `MatAssemblyBegin/End`), and the
//! ghost columns (with their owners) follow from the assembled rows.

use super::{Csr, DistVector};
use crate::comm::{Comm, Halo, Layout};
use crate::error::{Error, Result};
use mpi::traits::*;

/// A square distributed sparse matrix and the exchange plan its products use.
#[derive(Debug)]
pub struct DistMatrix {
    /// Owned rows and the ghost columns referenced by them; vectors that multiply this matrix
    /// use this layout.
    pub layout: Layout,
    /// Block of owned rows × owned columns (local column indices).
    pub diag: Csr,
    /// Block of owned rows × ghost columns (column `k` is ghost `k` of the layout).
    pub offd: Csr,
    /// Ownership offsets of all ranks (`size + 1` entries).
    pub offsets: Vec<u64>,
    halo: Halo,
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
        let rank = comm.rank() as usize;
        let n_global = *offsets.last().unwrap_or(&0);
        let bad = triplets.iter().find(|t| t.0 >= n_global || t.1 >= n_global);
        comm.agree(match bad {
            Some(t) => Err(Error::input(format!(
                "matrix entry ({}, {}) outside a {n_global}×{n_global} matrix",
                t.0, t.1
            ))),
            None => Ok(()),
        })?;
        let mut mine: Vec<(u64, u64, f64)> = Vec::new();
        let (mut dest, mut rows, mut cols, mut vals) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for &(r, c, v) in triplets {
            // Every row is in range (agreed above), so it has an owner.
            let o = owner_of(&offsets, r).unwrap_or(rank);
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
        Self::from_owned_rows(comm, offsets, &mine)
    }

    /// Collective: builds the matrix from triplets of owned rows only (global indices).
    fn from_owned_rows(comm: &Comm, offsets: Vec<u64>, triplets: &[(u64, u64, f64)]) -> Result<DistMatrix> {
        let rank = comm.rank() as usize;
        let (lo, hi) = (offsets[rank], offsets[rank + 1]);
        let n_owned = (hi - lo) as usize;
        let mut ghosts: Vec<u64> = triplets.iter().map(|t| t.1).filter(|c| *c < lo || *c >= hi).collect();
        ghosts.sort_unstable();
        ghosts.dedup();
        let ghost_owners: Vec<i32> = ghosts
            .iter()
            .map(|&g| owner_of(&offsets, g).unwrap_or(0) as i32)
            .collect();
        let (mut d, mut o) = (Vec::new(), Vec::new());
        for &(r, c, v) in triplets {
            let r = (r - lo) as u32;
            if (lo..hi).contains(&c) {
                d.push((r, (c - lo) as u32, v));
            } else {
                // The ghost list is sorted and holds c.
                o.push((r, ghosts.partition_point(|&g| g < c) as u32, v));
            }
        }
        let layout = Layout {
            offset: lo,
            n_owned,
            n_global: offsets[offsets.len() - 1],
            ghosts,
            ghost_owners,
        };
        let halo = Halo::new(comm, &layout)?;
        Ok(DistMatrix {
            diag: Csr::from_triplets(n_owned, n_owned, &d),
            offd: Csr::from_triplets(n_owned, layout.ghosts.len(), &o),
            layout,
            offsets,
            halo,
        })
    }

    /// Global number of rows.
    pub fn n_global(&self) -> u64 {
        self.layout.n_global
    }

    /// Collective among neighbours: `y = A x` on owned entries; `x`'s ghost slots are refreshed
    /// (overlapped with the owned-block product).
    pub fn spmv(&mut self, comm: &Comm, x: &mut DistVector, y: &mut DistVector) {
        let n = self.layout.n_owned;
        let diag = &self.diag;
        let yo = &mut y.data[..n];
        self.halo
            .forward_overlapped(comm, &mut x.data, |xd| diag.spmv(&xd[..n], yo));
        self.offd.spmv_add(&x.data[n..], &mut y.data[..n]);
    }

    /// The owned part of the diagonal.
    pub fn diagonal(&self) -> Vec<f64> {
        self.diag.diagonal()
    }

    /// The exchange plan of products (with its accumulated timings).
    pub fn halo(&self) -> &Halo {
        &self.halo
    }

    /// Timings of the exchanges made by products so far.
    pub fn halo_stats(&self) -> crate::comm::HaloStats {
        self.halo.stats
    }
}
