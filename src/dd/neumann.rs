//! Neumann matrices of Schwarz subdomains from the assembled matrix alone, for coarse spaces
//! (GenEO) when no discretization supplies the unassembled element matrices — FD stencils or a
//! matrix handed over by an embedding program. The local splitting of Al Daas and Grigori
//! (SIAM J. Matrix Anal. Appl. 40 (2019), "A class of efficient locally constructed
//! preconditioners based on coarse spaces") for a symmetric, weakly diagonally dominant `A`
//! (`a_rr ≥ Σ_{c≠r} |a_rc|` on every row) writes it as a sum of positive semi-definite pieces,
//!
//! ```text
//!     A = Σ_{r<c, a_rc≠0} |a_rc| (e_r + σ_rc e_c)(e_r + σ_rc e_c)ᵀ + diag(d),   σ_rc = sign(a_rc),
//!     d_r = a_rr − Σ_{c≠r} |a_rc| ≥ 0,
//! ```
//!
//! one 2×2 block `|a_rc| [[1, σ], [σ, 1]]` per coupling (σ = −1 for the negative couplings of an
//! M-matrix such as FD diffusion, σ = +1 for positive ones; the block is PSD either way) and a
//! non-negative diagonal. The Neumann matrix of subdomain `s` keeps the pieces it holds whole —
//! the couplings with both rows in `s` and the diagonal of its rows:
//!
//! ```text
//!     N_s = R_s A R_sᵀ − diag(Σ_{c∉s} |a_rc|)_{r∈s}
//!         = off-diagonals of R_s A R_sᵀ, diagonal Σ_{c∈s, c≠r} |a_rc| + d_r,
//! ```
//!
//! a sum of PSD pieces, hence symmetric positive semi-definite; and every piece of `A` lies in
//! at most `k₀` subdomains (the largest number of subdomains sharing a row), so
//! `Σ_s R_sᵀ N_s R_s ≤ k₀ A` — the two properties GenEO's bound rests on. For cell-centred FD
//! diffusion `N_s` is the finite-volume matrix of the subdomain's own faces: the faces to cells
//! outside are dropped (Neumann on the cut), boundary faces (Dirichlet through a ghost rule,
//! i.e. `d_r > 0`) are kept.
//!
//! The diagonal is formed as `Σ_{c∈s, c≠r} |a_rc| + d_r` rather than by subtracting the outside
//! couplings from `a_rr`: the two are equal, but the subtraction cancels large terms (a row of a
//! high-contrast channel next to a cut of weak couplings) while this sum does not, and a
//! floating subdomain keeps the constants in its kernel to rounding. Each owner computes `d_r`
//! for its rows and sends it to the subdomains holding them as overlap rows through the
//! Schwarz extended layout (one forward exchange).

use super::{Decomposition, Schwarz};
use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::linalg::{Csr, DistMatrix};

/// Relative slack of the diagonal-dominance test: `a_rr` and `Σ|a_rc|` of a row that is exactly
/// dominant on paper (an FD row sums the same face coefficients in another order) differ by a
/// few roundings; a shortfall within it counts as `d_r = 0`.
const DOMINANCE_TOL: f64 = 1e-10;

/// Relative tolerance of the symmetry test of each subdomain's matrix (relative to its largest
/// entry): the splitting needs `a_rc = a_cr` for `N_s` to be symmetric.
const SYMMETRY_TOL: f64 = 1e-12;

/// The diagonal part `d_r = a_rr − Σ_{c≠r} |a_rc|` of row `row` (global id, for the message)
/// with diagonal `diag` and off-diagonal absolute sum `off_abs`; an error where the row is not
/// weakly diagonally dominant (beyond rounding) or not finite.
pub fn diagonal_excess(row: u64, diag: f64, off_abs: f64) -> Result<f64> {
    let slack = DOMINANCE_TOL * (diag.abs() + off_abs);
    if diag.is_finite() && off_abs.is_finite() && diag >= off_abs - slack {
        Ok((diag - off_abs).max(0.0)) // a shortfall within the slack is rounding
    } else {
        Err(Error::Config(format!(
            "the matrix is not weakly diagonally dominant: row {row} has a_rr = {diag:.6e} < \
             Σ_c≠r |a_rc| = {off_abs:.6e}"
        )))
    }
}

/// The Neumann matrix `N_s` of one subdomain from its Dirichlet matrix `matrix = R_s A R_sᵀ`
/// and the diagonal parts `excess[r] = d_r` of its rows ([`diagonal_excess`]): the same
/// off-diagonal entries, and on the diagonal the absolute sum of the row's couplings inside the
/// subdomain plus `d_r`.
pub fn local_neumann(matrix: &Csr, excess: &[f64]) -> Result<Csr> {
    weighted_neumann(matrix, excess, |_, _| 1.0)
}

/// [`local_neumann`] with the coupling piece of rows `(r, c)` weighted by `weight(r, c)`
/// (symmetric) and the diagonal parts given already weighted.
fn weighted_neumann(matrix: &Csr, excess: &[f64], weight: impl Fn(usize, usize) -> f64) -> Result<Csr> {
    if matrix.nrows != matrix.ncols || excess.len() != matrix.nrows {
        return Err(Error::input(format!(
            "algebraic Neumann matrix: a {}x{} subdomain matrix with {} diagonal parts",
            matrix.nrows,
            matrix.ncols,
            excess.len()
        )));
    }
    let mut trip = Vec::with_capacity(matrix.nnz() + matrix.nrows);
    for (r, d) in excess.iter().enumerate() {
        let (cols, vals) = matrix.row(r);
        let mut inside = 0.0;
        for (&c, &v) in cols.iter().zip(vals) {
            if c as usize != r {
                let w = weight(r, c as usize);
                inside += w * v.abs();
                trip.push((r as u32, c, w * v));
            }
        }
        trip.push((r as u32, r as u32, inside + d));
    }
    Ok(Csr::from_triplets(matrix.nrows, matrix.ncols, &trip))
}

/// Collective: the diagonal parts `d_r` of this rank's owned rows of `a`; every rank fails with
/// the lowest failing rank's first non-dominant row.
fn owned_excess(comm: &Comm, a: &DistMatrix) -> Result<Vec<f64>> {
    let lay = &a.layout();
    let excess: Result<Vec<f64>> = (0..lay.n_owned)
        .map(|i| {
            let (mut diag, mut off) = (0.0, 0.0);
            let (c, v) = a.diag().row(i);
            for (&j, &x) in c.iter().zip(v) {
                if j as usize == i {
                    diag += x;
                } else {
                    off += x.abs();
                }
            }
            off += a.offd().row(i).1.iter().map(|x| x.abs()).sum::<f64>();
            diagonal_excess(lay.offset + i as u64, diag, off)
        })
        .collect();
    comm.agree(excess)
}

/// Collective: the algebraic Neumann matrix `N_s` ([`local_neumann`]) of every subdomain of
/// `decomposition` (built for `a`), in their order. Fails on every rank, with one
/// [`Error::Config`], if `a` is not weakly diagonally dominant or a subdomain's matrix is not
/// symmetric — the splitting then has no PSD pieces and the caller needs Neumann matrices from
/// the discretization ([`Schwarz::attach_neumann`]).
pub fn algebraic_neumann(comm: &Comm, a: &DistMatrix, decomposition: &Decomposition) -> Result<Vec<Csr>> {
    split(comm, a, decomposition, false)
}

/// Collective: the algebraic Neumann matrices with every piece shared out among the subdomains
/// holding it — a coupling `(r, c)` weighted by one over the number of subdomains holding both
/// rows (the subdomain and those of its neighbours whose shared rows contain both), the
/// diagonal part `d_r` by one over the multiplicity of `r` — so that they sum exactly to `a`
/// (`Σ_s R_sᵀ N_s R_s = A`): the substructures of FETI on a matrix without elements (FD).
/// Errors as [`algebraic_neumann`].
pub fn subassembled_neumann(comm: &Comm, a: &DistMatrix, decomposition: &Decomposition) -> Result<Vec<Csr>> {
    split(comm, a, decomposition, true)
}

/// Collective: [`algebraic_neumann`], or with `share` [`subassembled_neumann`].
fn split(comm: &Comm, a: &DistMatrix, decomposition: &Decomposition, share: bool) -> Result<Vec<Csr>> {
    let mut excess = owned_excess(comm, a)?;
    let asymmetric = decomposition
        .subdomains
        .iter()
        .position(|s| !s.matrix.is_symmetric(SYMMETRY_TOL));
    comm.agree(match asymmetric {
        Some(k) => Err(Error::Config(format!(
            "the matrix is not symmetric (on subdomain {k} of rank {})",
            comm.rank()
        ))),
        None => Ok(()),
    })?;
    excess.resize(decomposition.ext_layout.n_local(), 0.0);
    decomposition.halo().forward_once(comm, &mut excess); // d_r of the overlap rows from their owners
    let local: Result<Vec<Csr>> = decomposition
        .subdomains
        .iter()
        .map(|s| {
            let d = s.ext.iter().zip(&s.multiplicity);
            if !share {
                return local_neumann(&s.matrix, &d.map(|(&e, _)| excess[e as usize]).collect::<Vec<_>>());
            }
            let d: Vec<f64> = d.map(|(&e, m)| excess[e as usize] / m).collect();
            // The neighbours holding each row (ascending): a coupling is held by the subdomain and
            // by the neighbours holding both its rows.
            let mut held_by: Vec<Vec<u32>> = vec![Vec::new(); s.rows.len()];
            for (k, t) in s.neighbours.iter().enumerate() {
                t.shared.iter().for_each(|&p| held_by[p as usize].push(k as u32));
            }
            let holders = |r: usize, c: usize| {
                let (a, b) = (&held_by[r], &held_by[c]);
                1.0 + a.iter().filter(|k| b.binary_search(k).is_ok()).count() as f64
            };
            weighted_neumann(&s.matrix, &d, |r, c| 1.0 / holders(r, c))
        })
        .collect();
    comm.agree(local)
}

impl Schwarz {
    /// Collective: attaches to every subdomain its algebraic Neumann matrix
    /// ([`algebraic_neumann`]): GenEO for a symmetric, weakly diagonally dominant `a` (the
    /// matrix this Schwarz was built for) without element matrices. Errors as
    /// [`algebraic_neumann`], on every rank.
    pub fn attach_algebraic_neumann(&mut self, comm: &Comm, a: &DistMatrix) -> Result<()> {
        let matrices = algebraic_neumann(comm, a, self.decomposition())?;
        for (s, m) in self.decomposition_mut().subdomains.iter_mut().zip(matrices) {
            s.neumann = Some(m);
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "neumann_tests.rs"]
mod tests;
