//! Domain decomposition preconditioners built on distributed matrices: one-level overlapping
//! Schwarz (additive and restricted additive) with several subdomains per rank, overlap grown
//! through the matrix graph across rank boundaries, and exact or incomplete local solvers. The
//! coarse spaces and FETI solvers of later stages read the [`Subdomain`]s exposed here.

mod overlap;
mod schwarz;

pub use schwarz::{Schwarz, SchwarzVariant, Subdomain, SubdomainSplit};
