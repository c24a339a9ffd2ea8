//! Domain decomposition preconditioners built on distributed matrices: one-level overlapping
//! Schwarz (additive, restricted additive, and multiplicative — one or two sweeps over a colouring
//! of the subdomains of all ranks, each colour's subdomains solved at once) with several
//! subdomains per rank, overlap grown through the matrix graph across rank boundaries, and exact
//! or incomplete local solvers. The coarse spaces and FETI solvers of later stages read the
//! [`Subdomain`]s exposed here.

mod colour;
mod eigen;
mod gdsw;
mod geneo;
mod overlap;
mod schwarz;

pub use gdsw::{gdsw_pieces, gdsw_space, GdswBasis, GdswPiece, GdswSpace};
pub use geneo::{geneo_basis, geneo_eigenproblem, GeneoBasis, GeneoMethod, GeneoOptions};
pub use schwarz::{Schwarz, SchwarzVariant, Subdomain, SubdomainSplit};
