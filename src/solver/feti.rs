//! The second solver family behind [`LinearSolver`]: FETI-1 ([`crate::dd::Feti1`]) on the
//! element subdomains the discretization hands over in [`SolverInputs::substructures`], or
//! without them on an algebraic splitting of the matrix.

use super::{LinearSolver, SolverConfig, SolverInputs, SolverTimings};
use crate::comm::Comm;
use crate::dd::{Decomposition, Feti, FetiOptions};
use crate::error::{Error, Result};
use crate::krylov::SolveStats;
use crate::linalg::{DistMatrix, DistVector};
use std::time::Instant;

/// FETI-1 as a [`LinearSolver`].
pub struct FetiSolver {
    feti: Feti,
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
        };
        let feti = Feti::new(comm, a, decomposition, options)?;
        Ok(FetiSolver {
            feti,
            algebraic: inputs.substructures.is_none(),
            timings: SolverTimings {
                setup: comm.max_f64(start.elapsed().as_secs_f64()),
                ..SolverTimings::default()
            },
            primal_residual: f64::NAN,
        })
    }

    /// `‖b − A x‖ / ‖b‖` of the last solve's primal solution.
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
        self.feti.update(comm, a, |d| match (inputs.substructures, algebraic) {
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
        })?;
        self.timings.updates += 1;
        self.timings.update += comm.max_f64(start.elapsed().as_secs_f64());
        Ok(())
    }

    fn solve(&mut self, comm: &Comm, a: &DistMatrix, b: &DistVector, x: &mut DistVector) -> Result<SolveStats> {
        let stats = self.feti.solve(comm, a, b, x)?;
        self.primal_residual = stats.primal_residual;
        self.timings.solves += 1;
        self.timings.iterations += stats.dual.iterations as u64;
        self.timings.solve += comm.max_f64(stats.dual.solve_seconds);
        Ok(stats.dual)
    }

    fn name(&self) -> String {
        self.feti.describe()
    }

    fn coarse_dimension(&self) -> Option<usize> {
        Some(self.feti.coarse_dimension())
    }

    fn timings(&self) -> SolverTimings {
        self.timings
    }
}
