//! The null space of a singular operator — the constants of a Poisson problem with Neumann
//! conditions everywhere, or vectors an embedding code gives — as an orthonormal basis over a
//! layout, with the projection `P = I − N Nᵀ` that keeps Krylov iterates, right-hand sides and
//! preconditioned residuals in the range of the operator (PETSc's `MatNullSpace`).

use super::{DistVector, Preconditioner};
use crate::comm::{Comm, Layout};
use crate::error::{Error, Result};
use mpi::collective::SystemOperation;
use mpi::traits::*;

/// An orthonormal basis `N` of a null space (in the Euclidean inner product of the unknowns).
#[derive(Clone, Debug)]
pub struct NullSpace {
    basis: Vec<DistVector>,
    /// Whether it is the constants (preconditioners are then built for a grounded matrix).
    constants: bool,
    /// Scratch for the fused dot products (local, then global).
    local: Vec<f64>,
    global: Vec<f64>,
}

impl NullSpace {
    /// Collective: the constants on `layout`, normalized.
    pub fn constants(comm: &Comm, layout: &Layout) -> NullSpace {
        let mut v = DistVector::zeros(layout);
        v.owned_mut().fill(1.0 / (layout.n_global.max(1) as f64).sqrt());
        let _ = comm;
        NullSpace {
            basis: vec![v],
            constants: true,
            local: vec![0.0],
            global: vec![0.0],
        }
    }

    /// Collective: the span of `vectors` (owned entries over `layout`), orthonormalized by
    /// modified Gram–Schmidt; linearly dependent or zero vectors are an error on every rank.
    pub fn from_vectors(comm: &Comm, layout: &Layout, vectors: &[Vec<f64>]) -> Result<NullSpace> {
        if vectors.iter().any(|v| v.len() != layout.n_owned) {
            return comm.agree(Err(Error::input(format!(
                "null-space vectors must have the {} owned entries of the layout",
                layout.n_owned
            ))));
        }
        comm.agree(Ok(()))?;
        let mut basis: Vec<DistVector> = Vec::new();
        for (k, v) in vectors.iter().enumerate() {
            let mut w = DistVector::from_owned(layout, v);
            let scale = w.norm2(comm);
            for q in &basis {
                let c = q.dot(comm, &w);
                w.axpy(-c, q);
            }
            let norm = w.norm2(comm);
            if norm.is_nan() || norm <= 1e-10 * scale {
                return Err(Error::input(format!(
                    "null-space vector {k} is zero or depends linearly on the ones before it"
                )));
            }
            w.scale(1.0 / norm);
            basis.push(w);
        }
        let n = basis.len();
        Ok(NullSpace {
            basis,
            constants: false,
            local: vec![0.0; n],
            global: vec![0.0; n],
        })
    }

    /// The dimension of the null space.
    pub fn dimension(&self) -> usize {
        self.basis.len()
    }

    /// Whether it is the constants ([`NullSpace::constants`]).
    pub fn is_constants(&self) -> bool {
        self.constants
    }

    /// Collective: the coefficients `Nᵀ x` (one allreduce), left in the scratch.
    fn coefficients(&mut self, comm: &Comm, x: &DistVector) -> &[f64] {
        for (l, q) in self.local.iter_mut().zip(&self.basis) {
            *l = q.owned().iter().zip(x.owned()).map(|(a, b)| a * b).sum();
        }
        comm.world()
            .all_reduce_into(&self.local[..], &mut self.global[..], SystemOperation::sum());
        &self.global
    }

    /// Collective: `x ← (I − N Nᵀ) x` on the owned entries (one allreduce).
    pub fn project(&mut self, comm: &Comm, x: &mut DistVector) {
        self.coefficients(comm, x);
        for (c, q) in self.global.iter().zip(&self.basis) {
            x.axpy(-c, q);
        }
    }

    /// Collective: `‖Nᵀ b‖ / ‖b‖`, how far `b` is from the range of a symmetric operator with
    /// this null space (0 for a compatible right-hand side; 0 also for `b = 0`).
    pub fn incompatibility(&mut self, comm: &Comm, b: &DistVector) -> f64 {
        let nb = b.norm2(comm);
        let c = self.coefficients(comm, b);
        let along = c.iter().map(|c| c * c).sum::<f64>().sqrt();
        if nb > 0.0 {
            along / nb
        } else {
            0.0
        }
    }
}

/// A preconditioner seen through the projection: `z = P M⁻¹ P r`, symmetric when `M⁻¹` is, so
/// CG and GMRES iterate in the range of a singular operator.
pub struct Projected<'a> {
    /// The preconditioner `M⁻¹`.
    pub inner: &'a mut dyn Preconditioner,
    /// The null space `N` of `P = I − N Nᵀ`.
    pub null_space: &'a mut NullSpace,
    /// Scratch for `P r`.
    pub scratch: &'a mut DistVector,
}

impl Preconditioner for Projected<'_> {
    fn apply(&mut self, comm: &Comm, r: &DistVector, z: &mut DistVector) {
        self.scratch.copy_from(r);
        self.null_space.project(comm, self.scratch); // P r
        self.inner.apply(comm, self.scratch, z); // M⁻¹ P r
        self.null_space.project(comm, z); // P M⁻¹ P r
    }
    fn is_symmetric(&self) -> bool {
        self.inner.is_symmetric()
    }
    fn name(&self) -> String {
        self.inner.name()
    }
    fn coarse_dimension(&self) -> Option<usize> {
        self.inner.coarse_dimension()
    }
}
