//! The solver layer: [`LinearSolver`] is what a problem driver or an embedding code holds to
//! solve `A x = b` on distributed vectors, whatever the family behind it — Krylov + a
//! preconditioner today ([`KrylovSolver`]), FETI next. Set-up is split as PETSc's `KSPSetUp`
//! / `PCSetUp` do: construction does the symbolic and numeric work for a matrix; [`LinearSolver::update`]
//! takes new values on the same pattern and redoes only the numeric part; `solve` reuses all of
//! it and the Krylov workspace. Everything a family may need besides the matrix travels in one
//! [`SolverInputs`].

use super::{KrylovKind, NeumannFn, SolverConfig};
use crate::comm::Comm;
use crate::error::Result;
use crate::krylov::{require_symmetric, Bicgstab, Cg, Gmres, SolveStats, SolverOptions};
use crate::linalg::{DistMatrix, DistVector, Preconditioner};
use std::time::Instant;

/// Everything besides the matrix that a solver may use, on every path (the same struct for a
/// Poisson solve, an implicit time step and an embedding code).
#[derive(Default)]
pub struct SolverInputs<'a> {
    /// The subdomains' unassembled (Neumann) matrices from the discretization's elements, by
    /// subdomain rows (GenEO; FETI next). Without them GenEO splits the matrix algebraically.
    pub neumann: Option<NeumannFn<'a>>,
}

/// Accumulated costs of a solver, for reports.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct SolverTimings {
    /// Seconds of the full set-up (symbolic and numeric), the maximum over ranks.
    pub setup: f64,
    /// Numeric updates done, and their seconds in all (maximum over ranks of each).
    pub updates: u64,
    /// Seconds of all updates.
    pub update: f64,
    /// Solves done, their Krylov iterations and seconds in all.
    pub solves: u64,
    /// Krylov iterations over all solves.
    pub iterations: u64,
    /// Seconds of all solves.
    pub solve: f64,
}

/// A solver of `A x = b` for one matrix (and later matrices of the same pattern).
pub trait LinearSolver {
    /// Collective: takes new values of the matrix (same pattern), redoing only numeric work:
    /// local refactorizations and coarse operators; the split, overlap, colouring, exchange plans,
    /// orderings, symbolic factorizations and Krylov workspace stay. A pattern change is an error.
    fn update(&mut self, comm: &Comm, a: &DistMatrix) -> Result<()>;
    /// Collective: solves `a x = b` from the initial guess in `x`. A solve that stops without
    /// converging is `Ok` with its reason in the statistics ([`SolveStats::failure`] says it
    /// in words); errors are failures of the set-up or of the inputs.
    fn solve(&mut self, comm: &Comm, a: &DistMatrix, b: &DistVector, x: &mut DistVector) -> Result<SolveStats>;
    /// The preconditioner's (or the family's) description for messages and reports.
    fn name(&self) -> String;
    /// The coarse dimension of a two-level preconditioner (or a FETI coarse problem).
    fn coarse_dimension(&self) -> Option<usize>;
    /// Accumulated set-up, update and solve costs.
    fn timings(&self) -> SolverTimings;
}

impl SolverConfig {
    /// Collective: the solver this configuration describes, set up for `a` with `inputs` (the
    /// family's dispatch point: Krylov + preconditioner today).
    pub fn build(&self, comm: &Comm, a: &DistMatrix, inputs: &SolverInputs) -> Result<Box<dyn LinearSolver>> {
        Ok(Box::new(KrylovSolver::new(comm, self, a, inputs)?))
    }
}

/// The Krylov method of a [`KrylovSolver`], keeping its workspace between solves.
enum Method {
    Cg(Cg),
    Gmres(Gmres),
    Bicgstab(Bicgstab),
}

/// The first solver family: a Krylov method and a preconditioner.
pub struct KrylovSolver {
    config: SolverConfig,
    options: SolverOptions,
    pc: Box<dyn Preconditioner>,
    method: Method,
    timings: SolverTimings,
}

impl KrylovSolver {
    /// Collective: builds the preconditioner for `a` (with `inputs`) and the Krylov method; CG
    /// with a non-symmetric preconditioner is refused here, once, rather than at every solve.
    pub fn new(comm: &Comm, config: &SolverConfig, a: &DistMatrix, inputs: &SolverInputs) -> Result<KrylovSolver> {
        let start = Instant::now();
        config.validate()?;
        let pc = config.build_pc_with(comm, a, inputs.neumann)?;
        if config.krylov.method == KrylovKind::Cg {
            require_symmetric(comm, a, pc.as_ref())?;
        }
        let method = match config.krylov.method {
            KrylovKind::Cg => Method::Cg(Cg::default()),
            KrylovKind::Gmres => Method::Gmres(Gmres::new(false)),
            KrylovKind::Fgmres => Method::Gmres(Gmres::new(true)),
            KrylovKind::Bicgstab => Method::Bicgstab(Bicgstab::default()),
        };
        Ok(KrylovSolver {
            options: config.options(),
            config: config.clone(),
            pc,
            method,
            timings: SolverTimings {
                setup: comm.max_f64(start.elapsed().as_secs_f64()),
                ..SolverTimings::default()
            },
        })
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &SolverConfig {
        &self.config
    }

    /// The preconditioner.
    pub fn preconditioner(&self) -> &dyn Preconditioner {
        self.pc.as_ref()
    }
}

impl LinearSolver for KrylovSolver {
    fn update(&mut self, comm: &Comm, a: &DistMatrix) -> Result<()> {
        let start = Instant::now();
        self.pc.update(comm, a)?;
        self.timings.updates += 1;
        self.timings.update += comm.max_f64(start.elapsed().as_secs_f64());
        Ok(())
    }

    fn solve(&mut self, comm: &Comm, a: &DistMatrix, b: &DistVector, x: &mut DistVector) -> Result<SolveStats> {
        let (pc, opts) = (self.pc.as_mut(), &self.options);
        let stats = match &mut self.method {
            Method::Cg(m) => m.solve(comm, a, pc, b, x, opts),
            Method::Gmres(m) => m.solve(comm, a, pc, b, x, opts),
            Method::Bicgstab(m) => m.solve(comm, a, pc, b, x, opts),
        }?;
        self.timings.solves += 1;
        self.timings.iterations += stats.iterations as u64;
        self.timings.solve += stats.solve_seconds;
        Ok(stats)
    }

    fn name(&self) -> String {
        self.pc.name()
    }

    fn coarse_dimension(&self) -> Option<usize> {
        self.pc.coarse_dimension()
    }

    fn timings(&self) -> SolverTimings {
        self.timings
    }
}
