//! The second solver family behind [`LinearSolver`]: FETI-1 and FETI-DP ([`crate::dd::Feti`]),
//! or CG with BDDC ([`crate::dd::Bddc`]), on the element subdomains the discretization hands over
//! in [`SolverInputs::substructures`], or without them on an algebraic splitting of the matrix.

use super::{LinearSolver, SolverConfig, SolverInputs, SolverTimings};
use crate::comm::Comm;
use crate::dd::{Bddc, Decomposition, Feti, FetiMethod, FetiOptions};
use crate::error::{Error, Result};
use crate::krylov::{Cg, SolveStats, SolverOptions};
use crate::linalg::{DistMatrix, DistVector, Preconditioner};
use std::time::Instant;

/// The substructuring solver: the dual problem (FETI-1, FETI-DP) or CG on the assembled system
/// with BDDC.
enum Substructuring {
    Dual(Box<Feti>),
    Bddc(Box<Bddc>, Box<Cg>, SolverOptions),
}

/// FETI-1, FETI-DP or BDDC as a [`LinearSolver`].
pub struct FetiSolver {
    method: Substructuring,
    /// Whether the subdomains were split algebraically (no element substructures).
    algebraic: bool,
    timings: SolverTimings,
    primal_residual: f64,
}

impl FetiSolver {
    /// Collective: splits each rank's elements into `pc.subdomains-per-rank` subdomains,
    /// factorizes them and builds the dual problem. Needs element subdomains (a finite-element
    /// discretization) and a nonsingular matrix.
    pub fn new(comm: &Comm, config: &SolverConfig, a: &DistMatrix, inputs: &SolverInputs) -> Result<FetiSolver> {
        let start = Instant::now();
        config.validate()?;
        comm.agree(if inputs.null_space.is_some() {
            Err(Error::Config(
                "FETI does not solve singular problems yet (a null space was given): use a Krylov preset".into(),
            ))
        } else {
            Ok(())
        })?;
        let decomposition = match inputs.substructures {
            Some(substructures) => {
                let parts = comm.agree(substructures(config.pc.subdomains_per_rank))?;
                Decomposition::non_overlapping(comm, a, parts)?
            }
            None => algebraic_substructures(comm, a, config)?,
        };
        let options = FetiOptions {
            method: config.feti.method,
            averages: config.feti.averages,
            preconditioner: config.feti.preconditioner,
            rtol: config.krylov.rtol,
            max_iter: config.krylov.max_iter,
            pivot_tol: config.feti.pivot_tol,
            scaling: config.feti.scaling,
            deluxe_layers: config.feti.deluxe_layers,
        };
        let feti = Feti::new(comm, a, decomposition, options)?;
        let method = match options.method {
            FetiMethod::Bddc => Substructuring::Bddc(Box::new(Bddc::new(feti)?), Box::default(), config.options()),
            FetiMethod::Feti1 | FetiMethod::FetiDp => Substructuring::Dual(Box::new(feti)),
        };
        Ok(FetiSolver {
            method,
            algebraic: inputs.substructures.is_none(),
            timings: SolverTimings {
                setup: comm.max_f64(start.elapsed().as_secs_f64()),
                ..SolverTimings::default()
            },
            primal_residual: f64::NAN,
        })
    }

    /// `‖b − A x‖ / ‖b‖` of the last solve's primal solution (BDDC: CG's own residual).
    pub fn primal_residual(&self) -> f64 {
        self.primal_residual
    }
}

/// Collective: substructures of a matrix without elements (FD, or an embedding code's matrix):
/// the rows split as Schwarz splits them, grown by one layer of the matrix graph so that every
/// coupling lies inside a subdomain, with the algebraic Neumann matrices shared out so that
/// they sum to `a` ([`crate::dd::subassembled_neumann`]; needs a symmetric, weakly diagonally
/// dominant matrix).
fn algebraic_substructures(comm: &Comm, a: &DistMatrix, config: &SolverConfig) -> Result<Decomposition> {
    let split = config.pc.subdomain_split;
    let mut d = Decomposition::overlapping(comm, a, 1, config.pc.subdomains_per_rank, split)?;
    let matrices = crate::dd::subassembled_neumann(comm, a, &d).map_err(|e| {
        Error::Config(format!(
            "FETI without element subdomains splits the matrix algebraically, and {}",
            super::config_message(&e)
        ))
    })?;
    for (s, m) in d.subdomains.iter_mut().zip(matrices) {
        s.neumann = Some(m);
    }
    Ok(d)
}

impl LinearSolver for FetiSolver {
    /// New Neumann matrices from `inputs.substructures` (which must give the subdomains of the
    /// set-up, with the same patterns) or, for a matrix split algebraically, from `a` again;
    /// then the numeric refactorizations only.
    fn update(&mut self, comm: &Comm, a: &DistMatrix, inputs: &SolverInputs) -> Result<()> {
        let start = Instant::now();
        let algebraic = self.algebraic;
        let neumann = |d: &Decomposition| match (inputs.substructures, algebraic) {
            (Some(substructures), false) => {
                let parts = comm.agree(substructures(d.subdomains.len()))?;
                let same =
                    parts.len() == d.subdomains.len() && parts.iter().zip(&d.subdomains).all(|(p, s)| p.0 == s.rows);
                comm.agree(if same {
                    Ok(parts.into_iter().map(|p| p.1).collect())
                } else {
                    Err(Error::input(
                        "FETI update: the substructures given are not those of the set-up (build anew)",
                    ))
                })
            }
            (None, true) => crate::dd::subassembled_neumann(comm, a, d),
            _ => comm.agree(Err(Error::input(
                "FETI update: substructures must be given exactly when the set-up had them",
            ))),
        };
        match &mut self.method {
            Substructuring::Dual(feti) => feti.update(comm, a, neumann)?,
            Substructuring::Bddc(bddc, ..) => bddc.update(comm, a, neumann)?,
        }
        self.timings.updates += 1;
        self.timings.update += comm.max_f64(start.elapsed().as_secs_f64());
        Ok(())
    }

    fn solve(&mut self, comm: &Comm, a: &DistMatrix, b: &DistVector, x: &mut DistVector) -> Result<SolveStats> {
        let stats = match &mut self.method {
            Substructuring::Dual(feti) => {
                let stats = feti.solve(comm, a, b, x)?;
                self.primal_residual = stats.primal_residual;
                stats.dual
            }
            Substructuring::Bddc(bddc, cg, options) => {
                let stats = cg.solve(comm, a, bddc.as_mut(), b, x, options)?;
                self.primal_residual = stats.relative_residual;
                stats
            }
        };
        self.timings.solves += 1;
        self.timings.iterations += stats.iterations as u64;
        self.timings.solve += comm.max_f64(stats.solve_seconds);
        Ok(stats)
    }

    fn name(&self) -> String {
        match &self.method {
            Substructuring::Dual(feti) => feti.describe(),
            Substructuring::Bddc(bddc, ..) => bddc.name(),
        }
    }

    fn coarse_dimension(&self) -> Option<usize> {
        Some(match &self.method {
            Substructuring::Dual(feti) => feti.coarse_dimension(),
            Substructuring::Bddc(bddc, ..) => bddc.feti().coarse_dimension(),
        })
    }

    fn timings(&self) -> SolverTimings {
        self.timings
    }
}
