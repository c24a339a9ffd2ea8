//! Domain decomposition preconditioners built on distributed matrices: one-level overlapping
//! Schwarz (additive, restricted additive, and multiplicative — one or two sweeps over a colouring
//! of the subdomains of all ranks, each colour's subdomains solved at once) with several
//! subdomains per rank, overlap grown through the matrix graph across rank boundaries, and exact
//! or incomplete local solvers; and two-level methods that add a coarse correction
//! `Q = Z E⁻¹ Zᵀ` to a one-level part, additively, by adapted deflation (A-DEF1, A-DEF2) or
//! balanced (BNN). Every method reads one [`Decomposition`] of plain-data [`Subdomain`]s (rows,
//! partition of unity, multiplicity, Dirichlet and Neumann matrices, one halo) and owns none of
//! it. A coarse space is a set of weighted pieces per [`Subdomain`], each with its
//! column of `Z` ([`nicolaides`] gives one column per subdomain, GenEO bases plug in through
//! [`CoarseSpace::new`]; GDSW functions span several subdomains, [`CoarseSpace::gdsw`]); its
//! coarse operator is assembled in parallel and factorized
//! redundantly on every rank. GenEO's subdomain Neumann matrices come from the discretization's
//! elements ([`Schwarz::attach_neumann`]) or, for a symmetric, weakly diagonally dominant matrix,
//! from its algebraic splitting ([`algebraic_neumann`]). FETI-1 and FETI-DP ([`Feti`]) read the same
//! [`Decomposition`], built non-overlapping from element subdomains (or, for a matrix without
//! elements, overlapping by one layer with [`subassembled_neumann`] matrices).

mod coarse;
mod decomposition;
mod feti;
mod neumann;
mod operator;
mod overlap;
mod schwarz;
mod subdomain;

pub use coarse::gdsw::{gdsw_pieces, gdsw_space, GdswBasis, GdswPiece, GdswSpace};
pub use coarse::geneo::{geneo_bases, geneo_basis, geneo_eigenproblem, GeneoBasis, GeneoMethod, GeneoOptions};
pub use coarse::redundant::{RedundantSolve, REDUNDANT_MAX};
pub use coarse::two_level::{CoarseRebuild, Combination, TwoLevel};
pub use coarse::{multiplicity_pou, nicolaides, weight_by_pou, CoarsePieces, CoarseSpace, REDUNDANT_COARSE_MAX};
pub use decomposition::{Decomposition, SubdomainSplit};
pub use feti::interface::{Interface, JumpEntry};
pub use feti::{Bddc, Feti, FetiMethod, FetiOptions, FetiPreconditioner, FetiScaling, FetiStats};
pub use neumann::{algebraic_neumann, diagonal_excess, local_neumann, subassembled_neumann};
pub use schwarz::{Schwarz, SchwarzVariant};
pub use subdomain::{Neighbour, Subdomain};
