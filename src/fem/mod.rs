//! Finite elements on simplices: P1 element geometry and quadrature ([`simplex`]), boundary
//! facets ([`boundary`]), the explicit P1 heat operator with lumped mass ([`P1Heat`]) and
//! assembled P1 systems ([`assemble_poisson_p1`]).

mod assemble;
pub mod boundary;
pub mod element;
mod implicit;
mod neumann;
mod p1;
pub mod quadrature;
pub mod simplex;

pub use assemble::{assemble_p1, assemble_poisson_p1, MassKind, P1Loads, P1System, Terms};
pub use implicit::P1ImplicitHeat;
pub use neumann::{neumann_matrix, NeumannMatrix};
pub use p1::P1Heat;
