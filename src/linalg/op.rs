//! The small interfaces Krylov solvers are written against: an operator `y = A x` and a
//! preconditioner `z = M⁻¹ r` on distributed vectors, each declaring whether it is symmetric so
//! that a solver can refuse a mismatch when it is built (CG with restricted additive Schwarz
//! stagnates silently otherwise).

use super::{DistMatrix, DistVector};
use crate::comm::{Comm, Layout};
use crate::error::{Error, Result};

/// A distributed linear operator.
pub trait LinearOperator {
    /// The layout of the vectors it acts on (owned entries and the ghost slots it needs).
    fn layout(&self) -> &Layout;
    /// Collective among neighbours: `y = A x` on owned entries (`x`'s ghost slots may be
    /// refreshed). Through `&self`, so one operator serves a solver, its preconditioner and the
    /// caller at once.
    fn apply(&self, comm: &Comm, x: &mut DistVector, y: &mut DistVector);
    /// Whether the operator is symmetric (CG needs it).
    fn is_symmetric(&self) -> bool;
}

/// A preconditioner `z = M⁻¹ r`.
pub trait Preconditioner {
    /// Collective (when it communicates): `z = M⁻¹ r` on owned entries.
    fn apply(&mut self, comm: &Comm, r: &DistVector, z: &mut DistVector);
    /// Whether `M⁻¹` is symmetric (CG needs it; RAS, for example, is not).
    fn is_symmetric(&self) -> bool;
    /// A short name for messages and reports.
    fn name(&self) -> String;
    /// The coarse-space dimension of a two-level method (`None` for one-level ones), for reports.
    fn coarse_dimension(&self) -> Option<usize> {
        None
    }
    /// Collective: takes new values of the matrix it was built for, whose pattern must not have
    /// changed, redoing only numeric work (local refactorizations, coarse operator) and keeping
    /// the symbolic set-up (split, overlap, colouring, exchange plans, orderings). A
    /// preconditioner that cannot says so; its caller then builds it anew.
    fn update(&mut self, comm: &Comm, a: &DistMatrix) -> Result<()> {
        let _ = a;
        comm.agree(Err(Error::input(format!(
            "preconditioner '{}' cannot update its values: build it anew",
            self.name()
        ))))
    }
}

impl LinearOperator for DistMatrix {
    fn layout(&self) -> &Layout {
        DistMatrix::layout(self)
    }
    fn apply(&self, comm: &Comm, x: &mut DistVector, y: &mut DistVector) {
        self.spmv(comm, x, y);
    }
    fn is_symmetric(&self) -> bool {
        // Checked locally on the owned block; the assembly routines producing symmetric
        // matrices keep the coupling blocks symmetric as well.
        self.is_square() && self.diag().is_symmetric(1e-12)
    }
}

/// No preconditioning: `z = r`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Identity;

impl Preconditioner for Identity {
    fn apply(&mut self, _comm: &Comm, r: &DistVector, z: &mut DistVector) {
        z.copy_from(r);
    }
    fn is_symmetric(&self) -> bool {
        true
    }
    fn name(&self) -> String {
        "none".into()
    }
    fn update(&mut self, _comm: &Comm, _a: &DistMatrix) -> Result<()> {
        Ok(())
    }
}

/// Point Jacobi: `z = D⁻¹ r`.
#[derive(Clone, Debug)]
pub struct Jacobi {
    inv_diag: Vec<f64>,
}

impl Jacobi {
    /// From the owned diagonal of `a`; zero diagonal entries act as 1.
    pub fn new(a: &DistMatrix) -> Jacobi {
        Jacobi {
            inv_diag: a
                .diagonal()
                .iter()
                .map(|&d| if d != 0.0 { 1.0 / d } else { 1.0 })
                .collect(),
        }
    }
}

impl Preconditioner for Jacobi {
    fn apply(&mut self, _comm: &Comm, r: &DistVector, z: &mut DistVector) {
        for ((zi, ri), di) in z.owned_mut().iter_mut().zip(r.owned()).zip(&self.inv_diag) {
            *zi = ri * di;
        }
    }
    fn is_symmetric(&self) -> bool {
        true
    }
    fn name(&self) -> String {
        "jacobi".into()
    }
    fn update(&mut self, _comm: &Comm, a: &DistMatrix) -> Result<()> {
        *self = Jacobi::new(a);
        Ok(())
    }
}
