//! The solver layer: [`LinearSolver`] is what a problem driver or an embedding code holds to
//! solve `A x = b` on distributed vectors, whatever the family behind it — Krylov + a
//! preconditioner ([`KrylovSolver`]) or FETI-1 ([`super::FetiSolver`]). Set-up is split as PETSc's `KSPSetUp`
//! / `PCSetUp` do: construction does the symbolic and numeric work for a matrix; [`LinearSolver::update`]
//! takes new values on the same pattern and redoes only the numeric part; `solve` reuses all of
//! it and the Krylov workspace. Everything a family may need besides the matrix travels in one
//! [`SolverInputs`].

use super::{KrylovKind, NeumannFn, SolverConfig};
use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::krylov::{require_symmetric, Bicgstab, Cg, Gmres, SolveStats, SolverOptions};
use crate::linalg::{DistMatrix, DistVector, NullSpace, Preconditioner, Projected};
use std::time::Instant;

/// Everything besides the matrix that a solver may use, on every path (the same struct for a
/// Poisson solve, an implicit time step and an embedding code).
#[derive(Default)]
pub struct SolverInputs<'a> {
    /// The subdomains' unassembled (Neumann) matrices from the discretization's elements, by
    /// subdomain rows (GenEO). Without them GenEO splits the matrix algebraically.
    pub neumann: Option<NeumannFn<'a>>,
    /// The null space of a singular matrix (the constants of a pure Neumann problem, or
    /// vectors of an embedding code): solves project it out of the right-hand side (refusing
    /// one that is not compatible), of every preconditioned residual and of the solution.
    pub null_space: Option<&'a NullSpace>,
    /// Element subdomains for substructuring (FETI): this rank's cells split into the given
    /// number of parts, each as its rows (ascending global ids of its free unknowns) and the
    /// Neumann matrix of exactly its elements.
    pub substructures: Option<SubstructuresFn<'a>>,
}

/// A source of element subdomains: parts per rank → (rows, Neumann matrix) of each part.
pub type SubstructuresFn<'a> = &'a dyn Fn(usize) -> Result<Vec<(Vec<u64>, crate::linalg::Csr)>>;

/// The largest `‖Nᵀ b‖ / ‖b‖` a right-hand side may have and still be taken as compatible with
/// the null space (its component along it is then removed): discretizations of compatible data
/// miss exact compatibility by their quadrature error, a source that violates it (a constant
/// source with zero Neumann data) is off by order one.
pub const COMPATIBILITY_TOLERANCE: f64 = 1e-2;

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
    /// `inputs` are the set-up's inputs for the new values (FETI takes its substructures' new
    /// Neumann matrices from them; the Krylov family reads the matrix only).
    fn update(&mut self, comm: &Comm, a: &DistMatrix, inputs: &SolverInputs) -> Result<()>;
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
    /// family's dispatch point: Krylov + preconditioner, or FETI).
    pub fn build(&self, comm: &Comm, a: &DistMatrix, inputs: &SolverInputs) -> Result<Box<dyn LinearSolver>> {
        Ok(match self.family {
            super::Family::Krylov => Box::new(KrylovSolver::new(comm, self, a, inputs)?),
            super::Family::Feti => Box::new(super::FetiSolver::new(comm, self, a, inputs)?),
        })
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
    /// The null space with its work vectors (the projected right-hand side, `P r`).
    null: Option<(NullSpace, DistVector, DistVector)>,
}

impl KrylovSolver {
    /// Collective: builds the preconditioner for `a` (with `inputs`) and the Krylov method; CG
    /// with a non-symmetric preconditioner is refused here, once, rather than at every solve.
    pub fn new(comm: &Comm, config: &SolverConfig, a: &DistMatrix, inputs: &SolverInputs) -> Result<KrylovSolver> {
        let start = Instant::now();
        config.validate()?;
        // With the constants as null space every local block or coarse operator that holds a
        // whole component would be singular: the preconditioner is built for the grounded
        // matrix instead (same pattern, nonsingular, a rank-one change).
        let grounded = inputs.null_space.filter(|n| n.is_constants()).map(|_| a.grounded());
        let pc = config.build_pc_with(comm, grounded.as_ref().unwrap_or(a), inputs.neumann)?;
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
            null: inputs
                .null_space
                .map(|n| (n.clone(), DistVector::zeros(a.layout()), DistVector::zeros(a.layout()))),
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

/// Collective: one solve with the Krylov method `method`.
fn krylov_solve(
    method: &mut Method,
    comm: &Comm,
    a: &DistMatrix,
    pc: &mut dyn Preconditioner,
    b: &DistVector,
    x: &mut DistVector,
    opts: &SolverOptions,
) -> Result<SolveStats> {
    match method {
        Method::Cg(m) => m.solve(comm, a, pc, b, x, opts),
        Method::Gmres(m) => m.solve(comm, a, pc, b, x, opts),
        Method::Bicgstab(m) => m.solve(comm, a, pc, b, x, opts),
    }
}

impl LinearSolver for KrylovSolver {
    fn update(&mut self, comm: &Comm, a: &DistMatrix, _inputs: &SolverInputs) -> Result<()> {
        let start = Instant::now();
        match &self.null {
            Some((n, ..)) if n.is_constants() => self.pc.update(comm, &a.grounded())?,
            _ => self.pc.update(comm, a)?,
        }
        self.timings.updates += 1;
        self.timings.update += comm.max_f64(start.elapsed().as_secs_f64());
        Ok(())
    }

    fn solve(&mut self, comm: &Comm, a: &DistMatrix, b: &DistVector, x: &mut DistVector) -> Result<SolveStats> {
        let opts = &self.options;
        let stats = match &mut self.null {
            None => krylov_solve(&mut self.method, comm, a, self.pc.as_mut(), b, x, opts)?,
            Some((null, b_range, scratch)) => {
                let off = null.incompatibility(comm, b);
                if off > COMPATIBILITY_TOLERANCE {
                    return Err(Error::input(format!(
                        "the right-hand side is not compatible with the operator's null space: its \
                         component along it is {off:.2e} of its norm (at most {COMPATIBILITY_TOLERANCE:e}); \
                         for a pure Neumann problem the source and the boundary fluxes must balance"
                    )));
                }
                // Said once: a time loop solves with the same operator every step.
                if comm.is_root() && self.timings.solves == 0 {
                    tracing::info!("right-hand side: {off:.2e} of its norm along the null space, removed");
                }
                b_range.copy_from(b);
                null.project(comm, b_range); // the range part of b
                null.project(comm, x);
                let mut pc = Projected {
                    inner: self.pc.as_mut(),
                    null_space: null,
                    scratch,
                };
                let stats = krylov_solve(&mut self.method, comm, a, &mut pc, b_range, x, opts)?;
                null.project(comm, x); // the solution orthogonal to the null space
                stats
            }
        };
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
