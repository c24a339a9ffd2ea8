//! Finite elements on simplices: P1 geometry ([`simplex`]), quadrature up to degree 5
//! ([`quadrature`]), the P1/P2 Lagrange element and its integrals ([`element`]), boundary facets
//! ([`boundary`]), assembled P1 and P2 systems through one code path ([`assemble_poisson`],
//! [`assemble`]; P2 runs on the quadratic mesh of [`crate::mesh::Mesh::elevate`]), implicit heat
//! on them ([`FemImplicitHeat`]), and the explicit P1 heat operator with lumped mass
//! ([`P1Heat`]); Taylor–Hood P2/P1 integrals for incompressible flow ([`taylor_hood`]).

mod assemble;
pub mod boundary;
pub mod element;
mod implicit;
mod neumann;
mod p1;
pub mod quadrature;
pub mod simplex;
pub mod taylor_hood;

pub use assemble::{assemble, assemble_poisson, FemLoads, FemSystem, MassKind, Terms};
pub use implicit::FemImplicitHeat;
pub use neumann::{element_parts, neumann_matrix, NeumannMatrix, SubdomainNeumann};
pub use p1::P1Heat;
