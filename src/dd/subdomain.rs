//! One subdomain as plain data, whoever built it (the overlapping or the non-overlapping
//! constructor of [`super::Decomposition`]) and whichever method reads it (Schwarz, the coarse
//! spaces, FETI).

use crate::linalg::Csr;

/// A subdomain that shares rows with another one, and which rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neighbour {
    /// Its global id ([`Subdomain::id`]).
    pub id: u64,
    /// The rank that holds it.
    pub rank: i32,
    /// Positions, in the subdomain's own `rows`, of the rows both hold (core or overlap),
    /// ascending; the neighbour lists the same global rows from its side.
    pub shared: Vec<u32>,
}

/// One subdomain as plain data: its rows and what the methods built on it need of them.
#[derive(Clone, Debug)]
pub struct Subdomain {
    /// Global id: subdomains are numbered rank by rank, in the order of
    /// [`super::Decomposition::subdomains`] ([`super::Decomposition::first_id`] is this rank's first).
    pub id: u64,
    /// Global ids of its rows (core and overlap), ascending.
    pub rows: Vec<u64>,
    /// Partition of unity on `rows`: 1 on the core, 0 on the overlap (summed over all
    /// subdomains it is 1 on every row).
    pub pou: Vec<f64>,
    /// Number of subdomains of all ranks holding each row (core or overlap): one more than the
    /// neighbours whose `shared` rows contain it.
    pub multiplicity: Vec<f64>,
    /// The subdomains of all ranks sharing at least one row with this one, by ascending id.
    pub neighbours: Vec<Neighbour>,
    /// The Dirichlet matrix `A_i = R_i A R_iᵀ` in the order of `rows`.
    pub matrix: Csr,
    /// The unassembled (Neumann) matrix of the subdomain's own elements in the order of `rows`,
    /// once attached ([`super::Decomposition::attach_neumann`]); GenEO and FETI need it.
    pub neumann: Option<Csr>,
    /// Position of each row in this rank's extended arrays (owned rows, then overlap rows).
    pub(crate) ext: Vec<u32>,
}
