//! Distributed vectors: this rank's owned entries followed by ghost slots, over a
//! [`crate::comm::Layout`]. Reductions (dot products, norms) cover owned entries only and take
//! one allreduce each; [`DistVector::dots2`] fuses the two products CG needs per iteration.

use crate::comm::{Comm, Layout};
use mpi::collective::SystemOperation;
use mpi::traits::*;

/// A vector over a layout: `data[..n_owned]` owned, `data[n_owned..]` ghost copies.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DistVector {
    /// Number of owned entries.
    pub n_owned: usize,
    /// Owned entries, then ghost slots.
    pub data: Vec<f64>,
}

impl DistVector {
    /// A zero vector over `layout`.
    pub fn zeros(layout: &Layout) -> DistVector {
        DistVector {
            n_owned: layout.n_owned,
            data: vec![0.0; layout.n_local()],
        }
    }
    /// A vector over `layout` with owned values `owned` (ghosts zero).
    pub fn from_owned(layout: &Layout, owned: &[f64]) -> DistVector {
        let mut v = DistVector::zeros(layout);
        v.owned_mut().copy_from_slice(owned);
        v
    }
    /// The owned entries.
    pub fn owned(&self) -> &[f64] {
        &self.data[..self.n_owned]
    }
    /// The owned entries, mutably.
    pub fn owned_mut(&mut self) -> &mut [f64] {
        &mut self.data[..self.n_owned]
    }
    /// Collective: `x · y` over all ranks.
    pub fn dot(&self, comm: &Comm, y: &DistVector) -> f64 {
        comm.sum_f64(local_dot(self.owned(), y.owned()))
    }
    /// Collective: the Euclidean norm.
    pub fn norm2(&self, comm: &Comm) -> f64 {
        self.dot(comm, self).sqrt()
    }
    /// Collective: two dot products `(a·b, c·d)` with a single allreduce.
    pub fn dots2(comm: &Comm, a: &DistVector, b: &DistVector, c: &DistVector, d: &DistVector) -> (f64, f64) {
        let local = [local_dot(a.owned(), b.owned()), local_dot(c.owned(), d.owned())];
        let mut global = [0.0; 2];
        comm.world()
            .all_reduce_into(&local[..], &mut global[..], SystemOperation::sum());
        (global[0], global[1])
    }
    /// `self = x` on owned entries.
    pub fn copy_from(&mut self, x: &DistVector) {
        self.owned_mut().copy_from_slice(x.owned());
    }
    /// `self += alpha x` on owned entries.
    pub fn axpy(&mut self, alpha: f64, x: &DistVector) {
        for (s, xi) in self.owned_mut().iter_mut().zip(x.owned()) {
            *s += alpha * xi;
        }
    }
    /// `self = x + beta self` on owned entries.
    pub fn aypx(&mut self, beta: f64, x: &DistVector) {
        for (s, xi) in self.owned_mut().iter_mut().zip(x.owned()) {
            *s = xi + beta * *s;
        }
    }
    /// `self = alpha self` on owned entries.
    pub fn scale(&mut self, alpha: f64) {
        self.owned_mut().iter_mut().for_each(|s| *s *= alpha);
    }
    /// Sets every owned entry to `value`.
    pub fn fill(&mut self, value: f64) {
        self.owned_mut().iter_mut().for_each(|s| *s = value);
    }
}

/// Sum of products in index order (reproducible at a fixed rank count).
fn local_dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
