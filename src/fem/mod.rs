//! Finite elements on simplices: P1 element geometry and quadrature ([`simplex`]) and the
//! explicit P1 heat operator with lumped mass ([`P1Heat`]).

pub mod boundary;
mod p1;
pub mod simplex;

pub use p1::P1Heat;
