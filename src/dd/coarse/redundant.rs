//! A small SPD matrix assembled from every rank's share and factorized **redundantly on every
//! rank**, solved with one allgather of partial right-hand sides: the coarse operator of the
//! two-level Schwarz methods and FETI-1's `GᵀQG` (the primal problem of FETI-DP next). Each rank contributes triplets (its share of the entries, summed with every
//! other rank's in rank order, so the result is reproducible) and, per solve, its partial sums
//! of the right-hand side at the columns it holds; every rank then has the whole solution.
//!
//! Redundancy is the right choice while the matrix is tiny next to the subdomain problems: one
//! allgather per solve and no other communication. It stops being right when the matrix or its
//! factor no longer fit on every rank, so dimensions above [`REDUNDANT_MAX`] are refused; a
//! solve distributed over a subset of the ranks belongs there (not implemented).

use crate::comm::{displacements, Comm};
use crate::error::{Error, Result};
use crate::linalg::{Csr, LocalSolver, LocalSolverKind};
use mpi::datatype::PartitionMut;
use mpi::traits::*;

/// The largest dimension solved redundantly on every rank. At this size a coarse operator has
/// about 5·10⁶ entries (a hundred per column for GenEO with ~10 vectors per subdomain in 2D):
/// 80 MB gathered on every rank plus its sparse factor.
pub const REDUNDANT_MAX: usize = 50_000;

/// A redundantly factorized matrix and the allgather plan of its right-hand sides.
pub struct RedundantSolve {
    n: usize,
    /// The sparse Cholesky factorization, the same on every rank.
    factor: LocalSolver,
    /// Stored entries of the matrix (both triangles).
    nnz: usize,
    /// Columns held per rank and their displacements.
    counts: Vec<i32>,
    displs: Vec<i32>,
    /// The columns held by every rank, concatenated in rank order.
    gathered_ids: Vec<u32>,
    gathered: Vec<f64>,
    /// The solution, whole.
    y: Vec<f64>,
}

impl RedundantSolve {
    /// Collective: gathers every rank's `share` (triplets of the `n × n` matrix, summed over the
    /// ranks in rank order) and factorizes the sum on every rank by sparse Cholesky. `held` are
    /// the columns (ascending) at which this rank will give partial right-hand sides to
    /// [`RedundantSolve::solve`]. Refused on every rank above [`REDUNDANT_MAX`] or when the
    /// matrix is not positive definite (`what` names it in the message).
    pub fn new(comm: &Comm, n: usize, share: &[(u32, u32, f64)], held: &[usize], what: &str) -> Result<RedundantSolve> {
        Self::check_dimension(comm, n, what)?;
        let m = gather(comm, n, share);
        // Every rank factors the same matrix, so they succeed or fail together; agree all the same.
        let factor = LocalSolver::new(&m, LocalSolverKind::Cholesky)
            .map_err(|_| Error::Config(format!("{what} (dimension {n}) is not positive definite")));
        let factor = comm.agree(factor)?;
        let gathered_ids: Vec<u32> = comm.all_gather_v(&held.iter().map(|&c| c as u32).collect::<Vec<_>>());
        let counts: Vec<i32> = comm
            .all_gather_u64(held.len() as u64)
            .iter()
            .map(|&c| c as i32)
            .collect();
        Ok(RedundantSolve {
            n,
            factor,
            nnz: m.nnz(),
            displs: displacements(&counts),
            counts,
            gathered: vec![0.0; gathered_ids.len()],
            gathered_ids,
            y: vec![0.0; n],
        })
    }

    /// Collective: refuses, on every rank, a dimension above [`REDUNDANT_MAX`] (callers check
    /// before assembling what they would gather).
    pub fn check_dimension(comm: &Comm, n: usize, what: &str) -> Result<()> {
        comm.agree(if n > REDUNDANT_MAX {
            Err(Error::Config(format!(
                "{what} has dimension {n}, above the {REDUNDANT_MAX} that the redundant solve handles (a \
                 distributed solve is not implemented)"
            )))
        } else {
            Ok(())
        })
    }

    /// Collective: new values of the matrix (every rank's `share`, as in [`RedundantSolve::new`]);
    /// a numeric refactorization when the pattern is the same, a new one otherwise.
    pub fn refactor(&mut self, comm: &Comm, share: &[(u32, u32, f64)], what: &str) -> Result<()> {
        let m = gather(comm, self.n, share);
        self.nnz = m.nnz();
        let refactored = match self.factor.refactor(&m) {
            Ok(()) => Ok(()),
            Err(_) => LocalSolver::new(&m, LocalSolverKind::Cholesky).map(|f| self.factor = f),
        };
        comm.agree(
            refactored.map_err(|_| Error::Config(format!("{what} (dimension {}) is not positive definite", self.n))),
        )
    }

    /// Collective: the solution `y = M⁻¹ f`, whole on every rank, where `f` is the sum over the
    /// ranks of their `partial` sums at their held columns (one allgather; added up by column in
    /// rank order, reproducibly).
    pub fn solve(&mut self, comm: &Comm, partial: &[f64]) -> &[f64] {
        {
            let mut part = PartitionMut::new(&mut self.gathered[..], &self.counts[..], &self.displs[..]);
            comm.world().all_gather_varcount_into(partial, &mut part);
        }
        self.y.iter_mut().for_each(|x| *x = 0.0);
        for (&c, g) in self.gathered_ids.iter().zip(&self.gathered) {
            self.y[c as usize] += g;
        }
        self.factor.solve_in_place(&mut self.y);
        &self.y
    }

    /// The dimension.
    pub fn dimension(&self) -> usize {
        self.n
    }

    /// Stored entries of the matrix (both triangles) and of its Cholesky factor.
    pub fn nnz(&self) -> (usize, usize) {
        (self.nnz, self.factor.nnz_factor())
    }
}

/// Collective: the `n × n` sum of every rank's triplets, whole on every rank.
fn gather(comm: &Comm, n: usize, share: &[(u32, u32, f64)]) -> Csr {
    let rows: Vec<u32> = share.iter().map(|t| t.0).collect();
    let cols: Vec<u32> = share.iter().map(|t| t.1).collect();
    let vals: Vec<f64> = share.iter().map(|t| t.2).collect();
    let (rows, cols, vals) = (
        comm.all_gather_v(&rows),
        comm.all_gather_v(&cols),
        comm.all_gather_v(&vals),
    );
    let triplets: Vec<(u32, u32, f64)> = rows
        .into_iter()
        .zip(cols)
        .zip(vals)
        .map(|((r, c), v)| (r, c, v))
        .collect();
    Csr::from_triplets(n, n, &triplets)
}
