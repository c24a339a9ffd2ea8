//! Distributed sparse linear algebra: vectors over a [`crate::comm::Layout`], matrices split
//! into owned and ghost column blocks with overlapped products, local CSR storage, and the
//! operator / preconditioner interfaces the Krylov solvers use.

mod csr;
mod local;
mod matrix;
mod null_space;
mod op;
mod vector;

pub use csr::Csr;
pub use local::semidefinite::{SemiDefinite, DEFAULT_PIVOT_TOL};
pub use local::{init_sequential, symbolic_setups, LocalSolver, LocalSolverKind, IC0_SHIFTS};
pub use matrix::{owner_of, ownership_offsets, DistMatrix};
pub use null_space::{NullSpace, Projected};
pub use op::{Identity, Jacobi, LinearOperator, Preconditioner};
pub use vector::DistVector;
