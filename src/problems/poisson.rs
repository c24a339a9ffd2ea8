//! The Poisson driver: `-∇·(κ∇u) = f`, cell-centred FD on structured grids or P1 / P2 on simplices,
//! assembled into a distributed matrix and solved with the configured Krylov solver; reports
//! iterations, residual history, set-up and solve times, and errors against the manufactured
//! solution.

use super::heat::Discretization;
use super::{create_writer, peak_memory_mib, prepare, warn_exact_outside_unit_box, write_kappa, MeshSource, Prepared};
use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::fd::{assemble_poisson_fd, FdSystem};
use crate::fem::{assemble_poisson, FemSystem, SubdomainNeumann};
use crate::io::{Center, Writer};
use crate::krylov::SolveStats;
use crate::linalg::{DistMatrix, DistVector, NullSpace};
use crate::mesh::Mesh;
use crate::partition::{point_numbering, LocalMesh, Method, Partition, Report};
use crate::pde::{BcKind, ErrorNorms, Exact, HeatData};
use crate::solver::{CoarseKind, Family, LinearSolver, NeumannFn, SolverConfig, SolverInputs, SubstructuresFn};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// Resolved parameters of a Poisson run.
#[derive(Clone, Debug)]
pub struct PoissonParams {
    /// The mesh.
    pub mesh: MeshSource,
    /// FD, P1 or P2.
    pub discretization: Discretization,
    /// Diffusion coefficient.
    pub kappa: f64,
    /// κ per cell region name (other cells keep `kappa`).
    pub kappa_regions: BTreeMap<String, f64>,
    /// Ratio of the built-in high-contrast coefficient (channels and inclusions of
    /// `contrast × kappa`, see [`crate::pde::coefficient`]); 1 for a uniform κ.
    pub contrast: f64,
    /// Manufactured solution (`S = Π sin(πx_i + π/4)`) or none.
    pub exact: bool,
    /// Constant source added to the manufactured one.
    pub source: f64,
    /// Boundary conditions by name (others Dirichlet).
    pub bc: BTreeMap<String, BcKind>,
    /// The partitioner.
    pub partitioner: Method,
    /// The solver.
    pub solver: SolverConfig,
    /// Output directory.
    pub out: Option<PathBuf>,
}

/// Wall-clock seconds per phase (maximum over ranks).
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct PoissonTimings {
    /// Mesh, partition, distribution and assembly.
    pub setup: f64,
    /// Preconditioner set-up.
    pub pc_setup: f64,
    /// The Krylov solve.
    pub solve: f64,
    /// Writing output.
    pub output: f64,
    /// The whole run.
    pub total: f64,
}

/// What a Poisson run reports.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PoissonSummary {
    /// Always "poisson".
    pub problem: &'static str,
    /// Number of ranks.
    pub ranks: i32,
    /// Grid or mesh file.
    pub mesh: String,
    /// FD, P1 or P2.
    pub discretization: Discretization,
    /// Number of unknowns.
    pub unknowns: u64,
    /// Ratio of the built-in high-contrast coefficient (1: uniform).
    pub contrast: f64,
    /// The smallest and largest κ over the cells.
    pub kappa_range: [f64; 2],
    /// Stored matrix entries over all ranks.
    pub nonzeros: u64,
    /// The solver used.
    pub solver: SolverConfig,
    /// Name of the preconditioner.
    pub preconditioner: String,
    /// Coarse-space dimension of a two-level preconditioner.
    pub coarse_dimension: Option<usize>,
    /// Iterations, stopping reason, residuals and history.
    pub stats: SolveStats,
    /// Relative residual ‖b − Ax‖/‖b‖ recomputed after the solve (for a singular problem, of
    /// the right-hand side's range part).
    pub true_relative_residual: f64,
    /// The operator's null space, when it is singular (`"constants"`: Neumann everywhere; the
    /// solution is then the one of zero mean, errors are measured up to the constant).
    pub null_space: Option<&'static str>,
    /// Why the run failed (not converged, breakdown, values that are not finite), or `None`.
    /// A failed run writes no solution and the command line exits with status 1 after
    /// writing the report.
    pub failure: Option<String>,
    /// Errors against the manufactured solution (L2, max, relative L2).
    pub error: Option<ErrorNorms>,
    /// H1-seminorm error (finite elements only).
    pub h1_error: Option<f64>,
    /// Timings.
    pub wall: PoissonTimings,
    /// Peak resident memory per rank in MiB (maximum over ranks).
    pub peak_memory_mib_per_rank: f64,
    /// Partition quality.
    pub partition: Report,
    /// The XDMF file written, if any.
    pub output: Option<PathBuf>,
}

/// The assembled system of either discretization.
enum System {
    Fd(Box<FdSystem>),
    Fem(Box<FemSystem>),
}

/// Collective: ‖b − A x‖ / ‖b‖.
pub fn relative_residual(comm: &Comm, a: &DistMatrix, b: &DistVector, x: &mut DistVector) -> f64 {
    let mut r = DistVector::zeros(a.layout());
    a.spmv(comm, x, &mut r);
    r.scale(-1.0);
    r.axpy(1.0, b);
    let nb = b.norm2(comm);
    r.norm2(comm) / if nb > 0.0 { nb } else { 1.0 }
}

/// Collective: whether `a` maps the constant vector to zero (to rounding: `‖A 1‖∞ ≤ 1e-10
/// max|a_ij|`), i.e. the constants are in its kernel, as for a Poisson problem with Neumann
/// conditions on every boundary. One product, independent of the discretization.
pub fn annihilates_constants(comm: &Comm, a: &DistMatrix) -> bool {
    let mut ones = DistVector::zeros(a.layout());
    ones.fill(1.0);
    let mut r = DistVector::zeros(a.layout());
    a.spmv(comm, &mut ones, &mut r);
    let row_sum = r.owned().iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let scale = a
        .diag()
        .vals
        .iter()
        .chain(&a.offd().vals)
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let (row_sum, scale) = (comm.max_f64(row_sum), comm.max_f64(scale));
    scale > 0.0 && row_sum <= 1e-10 * scale
}

/// Collective: runs the Poisson problem. A solve that does not converge, breaks down or gives
/// values that are not finite is not an `Err`: the summary names it in
/// [`PoissonSummary::failure`] (so a report can still be written) and no solution is written.
pub fn run(comm: &Comm, p: &PoissonParams) -> Result<PoissonSummary> {
    let t_start = Instant::now();
    let is_fd = p.discretization == Discretization::Fd;
    let Prepared { mesh, report, lm, part } = prepare(comm, &p.mesh, p.discretization, &p.partitioner)?;
    let (data, mut system) = assemble(comm, p, &mesh, &lm)?;
    // Dirichlet flags of the owned FEM nodes, for the element Neumann matrices of GenEO.
    let fem_dirichlet = match &system {
        System::Fem(s) => Some(s.dirichlet.clone()),
        System::Fd(_) => None,
    };
    let (a, b) = system.matrix_and_rhs();
    let nonzeros = comm.sum_u64((a.diag().nnz() + a.offd().nnz()) as u64);
    let unknowns = a.n_global();
    // Neumann (or Robin α = 0) on every boundary: u is defined up to a constant. The solver
    // projects the constants out (a source that does not balance the boundary fluxes is refused)
    // and returns the solution of zero mean.
    let mut null_space = annihilates_constants(comm, a).then(|| NullSpace::constants(comm, a.layout()));
    // Created before the solve, so a bad output path fails before the work, not after it.
    let center = if is_fd { Center::Cell } else { Center::Point };
    let t_out = Instant::now();
    let writer = open_output(comm, p, &mesh, &lm, &data, center)?;
    let mut output = t_out.elapsed().as_secs_f64();
    let setup = t_start.elapsed().as_secs_f64() - output;
    log_start(comm, p, a, nonzeros);
    let t0 = Instant::now();
    let source = element_source(comm, p, &mesh, &part, &data, fem_dirichlet.as_deref());
    let solved = solve(comm, p, a, &b, (source.as_ref(), &lm), null_space.as_ref(), t0)?;
    let Solved {
        solver,
        mut x,
        stats,
        pc_setup,
    } = solved;
    let (true_rel, failure) = check_solution(comm, a, &b, null_space.as_mut(), &mut x, &stats);
    let projected = null_space.is_some();
    let (error, h1) = solution_errors(comm, p, &mut system, &data, &x, projected, failure.is_some());
    let t_out = Instant::now();
    finish_output(comm, writer, center, &x, failure.is_none())?;
    output += t_out.elapsed().as_secs_f64();
    Ok(PoissonSummary {
        problem: "poisson",
        ranks: comm.size(),
        mesh: p.mesh.to_string(),
        discretization: p.discretization,
        unknowns,
        contrast: p.contrast,
        kappa_range: [data.kappa_min(), data.kappa_max()],
        nonzeros,
        solver: p.solver.clone(),
        preconditioner: solver.name(),
        coarse_dimension: solver.coarse_dimension(),
        true_relative_residual: true_rel,
        null_space: null_space.as_ref().map(|_| "constants"),
        output: p
            .out
            .as_ref()
            .filter(|_| failure.is_none())
            .map(|d| d.join("poisson.xdmf")),
        failure,
        error,
        h1_error: h1,
        wall: PoissonTimings {
            setup: comm.max_f64(setup),
            pc_setup: comm.max_f64(pc_setup),
            solve: comm.max_f64(stats.solve_seconds),
            output: comm.max_f64(output),
            total: comm.max_f64(t_start.elapsed().as_secs_f64()),
        },
        stats,
        peak_memory_mib_per_rank: comm.max_f64(peak_memory_mib()),
        partition: report,
    })
}

impl System {
    /// The matrix (mutable, as the solvers take it) and a copy of the right-hand side.
    fn matrix_and_rhs(&mut self) -> (&mut DistMatrix, DistVector) {
        match self {
            System::Fd(s) => (&mut s.a, s.b.clone()),
            System::Fem(s) => (&mut s.a, s.b.clone()),
        }
    }
}

/// Collective: the coefficient and source data (κ, regions, contrast, manufactured solution) and
/// the system assembled from them, FD on the structured grid or FEM on the mesh.
fn assemble(comm: &Comm, p: &PoissonParams, mesh: &Mesh, lm: &LocalMesh) -> Result<(HeatData, System)> {
    let is_fd = p.discretization == Discretization::Fd;
    let grid = if is_fd { mesh.grid.clone() } else { None };
    let exact = p.exact.then_some(Exact::Mode);
    if p.exact {
        warn_exact_outside_unit_box(comm, mesh);
    }
    let data = comm.agree(
        HeatData::new(mesh, p.kappa, exact, p.source, &p.bc)
            .and_then(|d| d.with_kappa_regions(mesh, &p.kappa_regions))
            .and_then(|d| d.with_contrast(mesh, p.contrast)),
    )?;
    let system = match &grid {
        Some(g) => System::Fd(Box::new(comm.agree(assemble_poisson_fd(comm, lm, g, &data))?)),
        None => System::Fem(Box::new(comm.agree(assemble_poisson(comm, mesh, lm, &data))?)),
    };
    Ok((data, system))
}

/// Collective: the output series (mesh, `mesh_id` and a varying κ) when an output directory is
/// given.
fn open_output(
    comm: &Comm,
    p: &PoissonParams,
    mesh: &Mesh,
    lm: &LocalMesh,
    data: &HeatData,
    center: Center,
) -> Result<Option<Writer>> {
    match &p.out {
        Some(dir) => {
            let mut w = create_writer(comm, mesh, lm, dir, "poisson", center)?;
            write_kappa(comm, &mut w, lm, data)?;
            Ok(Some(w))
        }
        None => Ok(None),
    }
}

/// The start-up line on rank 0: problem size and solver.
fn log_start(comm: &Comm, p: &PoissonParams, a: &DistMatrix, nonzeros: u64) {
    if comm.is_root() {
        let solver = match p.solver.family {
            Family::Krylov => format!("{:?} + {:?}", p.solver.krylov.method, p.solver.pc.kind),
            Family::Feti => {
                let method = match p.solver.feti.method {
                    crate::dd::FetiMethod::Feti1 => "FETI-1",
                    crate::dd::FetiMethod::FetiDp => "FETI-DP",
                    crate::dd::FetiMethod::Bddc => "CG + BDDC",
                };
                format!("{method} + {:?}", p.solver.feti.preconditioner)
            }
        };
        tracing::info!(
            "poisson: {} {}, {} unknowns, {nonzeros} nonzeros on {} ranks; solver {solver}",
            p.mesh,
            p.discretization.name(),
            a.n_global(),
            comm.size(),
        );
    }
}

/// Collective: GenEO's local eigenproblems and FETI's substructures need each subdomain's
/// Neumann matrix: from the elements for FEM (`fem_dirichlet` given); FD has none (GenEO gets
/// the algebraic splitting of its matrix). `None` unless the coarse space is GenEO or the
/// family FETI.
fn element_source<'a>(
    comm: &Comm,
    p: &PoissonParams,
    mesh: &'a Mesh,
    part: &Partition,
    data: &'a HeatData,
    fem_dirichlet: Option<&[bool]>,
) -> Option<SubdomainNeumann<'a>> {
    match fem_dirichlet {
        Some(dirichlet) if p.solver.pc.coarse.space == CoarseKind::Geneo || p.solver.family == Family::Feti => {
            let numbering = point_numbering(mesh, part);
            Some(SubdomainNeumann::new(comm, mesh, data, &numbering, dirichlet))
        }
        _ => None,
    }
}

/// The built solver, the solution and what the solve reported.
struct Solved {
    solver: Box<dyn LinearSolver>,
    x: DistVector,
    stats: SolveStats,
    /// Seconds from `t0` (before the Neumann matrices) to the built preconditioner.
    pc_setup: f64,
}

/// Collective: builds the configured solver (with the element Neumann matrices and the null
/// space) and solves `a x = b` from zero.
fn solve(
    comm: &Comm,
    p: &PoissonParams,
    a: &mut DistMatrix,
    b: &DistVector,
    (source, lm): (Option<&SubdomainNeumann>, &LocalMesh),
    null_space: Option<&NullSpace>,
    t0: Instant,
) -> Result<Solved> {
    // FETI's element subdomains: this rank's own cells split into parts.
    let mut own_cells: Vec<u32> = lm.cell_orig[..lm.cells.n_owned].to_vec();
    own_cells.sort_unstable();
    let parts = |k: usize| match source {
        Some(s) => s.element_subdomains(&own_cells, k),
        None => Err(Error::input("no element Neumann matrices")),
    };
    let substructures = (source.is_some() && p.solver.family == Family::Feti).then_some(&parts as SubstructuresFn);
    let neumann = |rows: &[u64]| match source {
        Some(s) => s.matrix(rows),
        None => Err(Error::input("no element Neumann matrices")),
    };
    let inputs = SolverInputs {
        neumann: source.is_some().then_some(&neumann as NeumannFn),
        null_space,
        substructures,
    };
    let mut solver = p.solver.build(comm, a, &inputs)?;
    let pc_setup = t0.elapsed().as_secs_f64();
    let mut x = DistVector::zeros(a.layout());
    let stats = solver.solve(comm, a, b, &mut x)?;
    Ok(Solved {
        solver,
        x,
        stats,
        pc_setup,
    })
}

/// Collective: the true relative residual (of the range part of `b` for a singular problem),
/// logged on rank 0, and why the solve failed, if it did (not converged, breakdown, values that
/// are not finite).
fn check_solution(
    comm: &Comm,
    a: &DistMatrix,
    b: &DistVector,
    null_space: Option<&mut NullSpace>,
    x: &mut DistVector,
    stats: &SolveStats,
) -> (f64, Option<String>) {
    let mut b_range = b.clone();
    if let Some(n) = null_space {
        n.project(comm, &mut b_range); // what the solve aimed at
    }
    let true_rel = relative_residual(comm, a, &b_range, x);
    if comm.is_root() {
        tracing::info!(
            "{:?} after {} iterations, relative residual {:.3e}",
            stats.reason,
            stats.iterations,
            true_rel
        );
    }
    let failure = stats.failure().or_else(|| {
        (!true_rel.is_finite()).then(|| {
            format!(
                "the solution is not finite (NaN or Inf) after {} iterations",
                stats.iterations
            )
        })
    });
    (true_rel, failure)
}

/// Collective: the errors against the manufactured solution (and the H1 one for FEM), when it
/// is enabled and the solve succeeded. For a `projected` (singular) problem the solution is
/// matched up to a constant, by the shift of equal means at the unknowns.
fn solution_errors(
    comm: &Comm,
    p: &PoissonParams,
    system: &mut System,
    data: &HeatData,
    x: &DistVector,
    projected: bool,
    failed: bool,
) -> (Option<ErrorNorms>, Option<f64>) {
    let mut x_err = x.clone();
    if projected && p.exact {
        let (points, unknowns) = match &*system {
            System::Fd(s) => (&s.centres[..], s.a.n_global()),
            System::Fem(s) => (&s.points[..s.dirichlet.len()], s.a.n_global()),
        };
        let local: f64 = points.iter().map(|q| data.exact_value(q, 0.0)).sum();
        let shift = comm.sum_f64(local) / unknowns as f64;
        x_err.owned_mut().iter_mut().for_each(|v| *v += shift);
    }
    match (system, p.exact && !failed) {
        (System::Fd(s), true) => (Some(s.errors(comm, &x_err, data)), None),
        (System::Fem(s), true) => {
            let (e, h1) = s.errors(comm, &x_err, data, 0.0);
            (Some(e), Some(h1))
        }
        _ => (None, None),
    }
}

/// Collective: writes the solution and closes the series. A failed solve leaves the mesh (and
/// κ) in the file but no field that could pass for a solution.
fn finish_output(comm: &Comm, writer: Option<Writer>, center: Center, x: &DistVector, ok: bool) -> Result<()> {
    if let Some(mut w) = writer {
        if ok {
            w.write_snapshot(comm, 0.0, &[("u", center, x.owned())])?;
        }
        w.finish(comm)?;
    }
    Ok(())
}
