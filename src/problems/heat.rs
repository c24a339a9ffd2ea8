//! The heat driver: `u_t = κΔu + f`, explicit Euler or the implicit θ-scheme in time,
//! cell-centred FD on structured grids or P1 / P2 on simplices (P2 implicit only, with the
//! consistent mass), with snapshots to HDF5/XDMF, checkpoints and a run summary. The driver sets
//! the problem up, builds the [`Stepper`], plans the steps (continuing a checkpoint with
//! `--restart`) and hands them to the [`TimeLoop`].

use super::restart::{partition_hash, probe_checkpoint_dir, read_restart, same_partition};
pub use super::restart::{CheckpointParams, CHECKPOINT_FILE};
use super::{create_writer, prepare, reopen_writer, warn_exact_outside_unit_box, write_kappa, MeshSource, Prepared};
use crate::comm::{Comm, HaloMode, HaloStats};
use crate::error::{Error, Result};
use crate::fd::{FdHeat, FdImplicitHeat};
use crate::fem::{FemImplicitHeat, MassKind, P1Heat};
use crate::io::{Center, Checkpoint, CheckpointMesh, FieldSpec, Writer};
use crate::mesh::Mesh;
use crate::partition::{LocalMesh, Method, Partition, Report};
use crate::pde::{BcKind, ErrorNorms, Exact, HeatData, HEAT_FIELD};
use crate::solver::SolverTimings;
use crate::time::{Checkpointing, DtSchedule, LoopOutcome, Plan, Resume, StepOptions, Stepper, TimeLoop};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// Spatial discretization of the heat equation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Discretization {
    /// Cell-centred 5/7-point finite differences (structured grids).
    Fd,
    /// P1 finite elements with lumped mass (triangles / tetrahedra; grids are split).
    P1,
    /// P2 finite elements (the mesh is elevated to six- / ten-node cells; consistent mass).
    P2,
}

impl Discretization {
    /// The lower-case name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Discretization::Fd => "fd",
            Discretization::P1 => "p1",
            Discretization::P2 => "p2",
        }
    }
}

/// Time discretization.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// Forward Euler (stability-limited step).
    Explicit,
    /// The θ-scheme with an assembled matrix: θ = 1 backward Euler, θ = ½ Crank–Nicolson (FD).
    Implicit {
        /// The implicitness θ ∈ [½, 1].
        theta: f64,
    },
}

/// Fully resolved parameters of a heat run (the command line and TOML map onto this).
#[derive(Clone, Debug)]
pub struct HeatParams {
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
    /// The mass matrix of implicit finite-element steps.
    pub mass: MassKind,
    /// Number of steps, if fixed.
    pub steps: Option<usize>,
    /// Time step, if fixed (checked against the stability limit).
    pub dt: Option<f64>,
    /// Final time, if fixed.
    pub t_final: Option<f64>,
    /// Fraction of the stable step used when `dt` is not given.
    pub cfl: f64,
    /// The most steps a run may take: a step count above it (e.g. from a tiny `dt` or a huge
    /// `kappa`) is refused before the run starts instead of running for ages.
    pub max_steps: usize,
    /// Output directory (no output when `None`).
    pub out: Option<PathBuf>,
    /// Write a snapshot every this many steps (0: initial and final only).
    pub snapshot_every: usize,
    /// The partitioner.
    pub partitioner: Method,
    /// The built-in exact solution, if any.
    pub exact: Option<Exact>,
    /// A constant source term.
    pub source: f64,
    /// Boundary conditions by boundary name (others Dirichlet).
    pub bc: BTreeMap<String, BcKind>,
    /// How steps treat the halo exchange.
    pub halo_mode: HaloMode,
    /// Print progress lines on rank 0.
    pub progress: bool,
    /// Explicit or implicit time stepping.
    pub scheme: Scheme,
    /// The linear solver of implicit steps.
    pub solver: crate::solver::SolverConfig,
    /// A dt schedule (implicit schemes) instead of `steps`, `dt` and `t_final`: each change of
    /// dt is a numeric update of the step's matrices and solver.
    pub dt_schedule: Option<DtSchedule>,
    /// Checkpoints: where and how often (`None`: none).
    pub checkpoint: Option<CheckpointParams>,
    /// The checkpoint to continue from (`--restart FILE`).
    pub restart: Option<PathBuf>,
}

/// Wall-clock seconds per phase (maximum over ranks).
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Timings {
    /// Mesh, partition, distribution, operator set-up (and reading a checkpoint).
    pub setup: f64,
    /// Stencil / matrix work, including the part hidden behind messages.
    pub compute: f64,
    /// Exposed communication: posting plus waiting for halo messages.
    pub communication: f64,
    /// Writing HDF5/XDMF.
    pub output: f64,
    /// Writing checkpoints.
    pub checkpoint: f64,
    /// The whole run.
    pub total: f64,
}

/// What a heat run reports (`--report FILE.json` writes it).
#[derive(Clone, Debug, serde::Serialize)]
pub struct HeatSummary {
    /// Always "heat".
    pub problem: &'static str,
    /// Number of MPI ranks.
    pub ranks: i32,
    /// Grid dimensions or mesh file.
    pub mesh: String,
    /// FD, P1 or P2.
    pub discretization: Discretization,
    /// Number of cells.
    pub cells: u64,
    /// Number of unknowns (cells for FD, mesh nodes for P1 / P2).
    pub unknowns: u64,
    /// Diffusion coefficient (of the background when κ varies).
    pub kappa: f64,
    /// Ratio of the built-in high-contrast coefficient (1: uniform).
    pub contrast: f64,
    /// The largest κ over the cells (it sets the explicit stability limit).
    pub kappa_max: f64,
    /// The last step completed (counting those before a restart).
    pub steps: usize,
    /// The step the run started from: 0, or the checkpoint's with `--restart`.
    pub start_step: usize,
    /// The checkpoint the run continued from.
    pub restart: Option<PathBuf>,
    /// The time step of the run's first step.
    pub dt: f64,
    /// Times dt changed during the run (each a numeric update of the implicit matrices).
    pub dt_changes: usize,
    /// The stability limit of the explicit step.
    pub dt_stable: f64,
    /// Final time.
    pub t_final: f64,
    /// Halo treatment.
    pub halo_mode: HaloMode,
    /// Wall-clock split.
    pub wall: Timings,
    /// Halo timings of the slowest rank (exchanges, post, shadow, wait, bytes).
    pub halo: HaloStats,
    /// Unknown updates per second per rank during the time loop.
    pub updates_per_second_per_rank: f64,
    /// Errors at the final time against the exact solution, when there is one.
    pub error: Option<ErrorNorms>,
    /// Time discretization.
    pub scheme: Scheme,
    /// The mass matrix of implicit finite-element steps.
    pub mass: MassKind,
    /// Krylov iterations over all implicit steps (0 for explicit runs).
    pub linear_iterations: u64,
    /// The linear solver's costs (implicit schemes): its set-up, the numeric updates of dt
    /// changes, and the solves.
    pub solver_timings: Option<SolverTimings>,
    /// Symbolic set-ups of local solvers during the time loop, over all ranks: 0 when every dt
    /// change was a numeric update.
    pub symbolic_setups_in_loop: u64,
    /// Checkpoints written by this run.
    pub checkpoints: usize,
    /// The checkpoint file, when checkpoints are on.
    pub checkpoint: Option<PathBuf>,
    /// Why the run failed (an implicit step's solve did not converge, or the solution stopped
    /// being finite), or `None`. The run stops at the failing step; snapshots and checkpoints
    /// before it are kept, and the command line exits with status 1 after writing the report.
    pub failure: Option<String>,
    /// Partition quality.
    pub partition: Report,
    /// The XDMF file written, if any.
    pub output: Option<PathBuf>,
}

/// The options a restart must share with the checkpoint it continues (besides the mesh,
/// which the checkpoint's fingerprint checks): everything that defines the problem. Steps,
/// final time, output, solver and checkpoint cadence may change.
const RESTART_KEYS: &[&str] = &[
    "problem",
    "discretization",
    "kappa",
    "kappa_regions",
    "contrast",
    "bc",
    "scheme",
    "mass",
    "source",
    "exact",
];

/// Collective: runs the heat problem and returns its summary. A step whose solve fails or a
/// solution that stops being finite is not an `Err`: the run stops there and the summary names
/// it in [`HeatSummary::failure`], so a report can still be written.
pub fn run(comm: &Comm, p: &HeatParams) -> Result<HeatSummary> {
    let t_start = Instant::now();
    check_scheme(comm, p)?;
    if let Some(c) = &p.checkpoint {
        probe_checkpoint_dir(comm, &c.dir)?;
    }
    let Prepared { mesh, report, lm, part } = prepare(comm, &p.mesh, p.discretization, &p.partitioner)?;
    if p.exact.is_some() {
        warn_exact_outside_unit_box(comm, &mesh);
    }
    let data = comm.agree(
        HeatData::new(&mesh, p.kappa, p.exact, p.source, &p.bc)
            .and_then(|d| d.with_kappa_regions(&mesh, &p.kappa_regions))
            .and_then(|d| d.with_contrast(&mesh, p.contrast)),
    )?;
    if p.mass == MassKind::Consistent && (p.discretization == Discretization::Fd || p.scheme == Scheme::Explicit) {
        return comm.agree(Err(Error::input(
            "--mass consistent needs implicit P1 or P2 steps (explicit steps and FD use a diagonal mass)",
        )));
    }
    let ck_mesh = CheckpointMesh::from_local(&mesh, &lm);
    let options = run_options(comm, p, &part);
    let restart = match &p.restart {
        Some(path) => Some(read_restart(
            comm,
            path,
            &ck_mesh,
            &[solution_spec(p, &mesh)],
            (&options, RESTART_KEYS),
        )?),
        None => None,
    };
    let (mut stepper, plan) = build_stepper(comm, p, (&mesh, &lm, &part), &data, restart.as_ref())?;
    if let Some(ck) = &restart {
        comm.agree(stepper.restore(&ck.fields))?;
    }
    announce(comm, p, &lm, &report, &plan, stepper.stable_dt());
    let t_out = Instant::now();
    let writer = open_output(comm, p, (&mesh, &lm), &data, restart.as_ref(), &options)?;
    let output_setup = t_out.elapsed().as_secs_f64();
    let output = writer.as_ref().map(|w| w.xdmf_path().to_path_buf());
    drop(mesh);
    let setup = t_start.elapsed().as_secs_f64() - output_setup;
    let checkpoints = p.checkpoint.as_ref().map(|c| Checkpointing {
        path: c.dir.join(CHECKPOINT_FILE),
        every: c.every,
        interval: c.interval,
        mesh: ck_mesh,
        options,
        history: restart.map(|ck| ck.dt_history).unwrap_or_default(),
    });
    let outcome = TimeLoop {
        plan: plan.clone(),
        snapshot_every: p.snapshot_every,
        progress: p.progress,
        writer,
        checkpoints,
    }
    .run(comm, stepper.as_mut())?;
    let error = p
        .exact
        .filter(|_| outcome.failure.is_none())
        .and_then(|_| stepper.errors(comm, outcome.time));
    let finished = Finished {
        lm: &lm,
        report,
        kappa_max: data.kappa_max(),
        plan,
        outcome,
        error,
        seconds: (setup, output_setup, t_start),
        output,
    };
    Ok(summarize(comm, p, stepper.as_ref(), finished))
}

/// Collective: refuses schemes P2 cannot run, before the mesh is elevated.
fn check_scheme(comm: &Comm, p: &HeatParams) -> Result<()> {
    if p.discretization != Discretization::P2 {
        return Ok(());
    }
    let why = match (p.scheme, p.mass) {
        (Scheme::Explicit, _) => Some("explicit steps need a diagonal mass, which P2 lacks: use --scheme be or cn"),
        (_, MassKind::Lumped) => {
            Some("P2 needs the consistent mass (--mass consistent): its row-summed mass is singular")
        }
        _ => None,
    };
    match why {
        Some(why) => comm.agree(Err(Error::input(why))),
        None => Ok(()),
    }
}

/// The spec of the solution field (what snapshots and checkpoints hold).
fn solution_spec(p: &HeatParams, mesh: &Mesh) -> FieldSpec {
    match p.discretization {
        Discretization::Fd => FieldSpec::cells(HEAT_FIELD, 1),
        _ if mesh.cell_type.degree() == 2 => FieldSpec::p2(HEAT_FIELD, 1),
        _ => FieldSpec::p1(HEAT_FIELD, 1),
    }
}

/// Collective: the stepper of the scheme and discretization, and the plan of its steps: the
/// whole run, or the rest of the checkpoint's. Implicit steppers are set up for the plan's first
/// dt; explicit ones give the stability limit the plan needs.
fn build_stepper(
    comm: &Comm,
    p: &HeatParams,
    (mesh, lm, part): (&Mesh, &LocalMesh, &Partition),
    data: &HeatData,
    restart: Option<&Checkpoint>,
) -> Result<(Box<dyn Stepper>, Plan)> {
    let options = StepOptions {
        steps: p.steps,
        dt: p.dt,
        t_final: p.t_final,
        cfl: p.cfl,
        max_steps: p.max_steps,
        schedule: p.dt_schedule.clone(),
    };
    let plan = |dt_stable: f64| {
        comm.agree(match restart {
            Some(ck) => options.resume(
                dt_stable,
                &Resume {
                    step: ck.step as usize,
                    time: ck.time,
                    history: ck.dt_history.clone(),
                },
            ),
            None => options.plan(dt_stable),
        })
    };
    let fd = p.discretization == Discretization::Fd;
    Ok(match (p.scheme, fd, &mesh.grid) {
        (Scheme::Explicit, true, Some(grid)) => {
            let mut op = comm.agree(FdHeat::new(comm, lm, grid, data))?;
            op.set_halo_mode(p.halo_mode);
            let plan = plan(op.stable_dt())?;
            (Box::new(op), plan)
        }
        (Scheme::Explicit, ..) => {
            let mut op = comm.agree(P1Heat::new(comm, mesh, lm, data))?;
            op.set_halo_mode(p.halo_mode);
            let plan = plan(op.stable_dt())?;
            (Box::new(op), plan)
        }
        (Scheme::Implicit { theta }, true, Some(grid)) => {
            let plan = plan(f64::INFINITY)?;
            let dt = plan.dt(plan.start() + 1);
            let op = comm.agree(FdImplicitHeat::new(comm, lm, grid, data, theta, dt, &p.solver))?;
            (Box::new(op), plan)
        }
        (Scheme::Implicit { theta }, ..) => {
            let plan = plan(f64::INFINITY)?;
            let dt = plan.dt(plan.start() + 1);
            let op = FemImplicitHeat::new(comm, mesh, lm, part, data, (theta, dt), p.mass, &p.solver);
            (Box::new(comm.agree(op)?), plan)
        }
    })
}

/// Rank 0: the run's first log lines.
fn announce(comm: &Comm, p: &HeatParams, lm: &LocalMesh, report: &Report, plan: &Plan, dt_stable: f64) {
    if !comm.is_root() {
        return;
    }
    let (start, steps) = (plan.start(), plan.end() - plan.start());
    let dt = plan.dt(start + 1);
    if let Some(given) = p.dt.filter(|&g| (g - dt).abs() > 1e-12 * g) {
        tracing::warn!(
            "dt = {given:e} does not divide t-final = {:e}: using {steps} steps of dt = {dt:e}",
            plan.time(plan.end()) - plan.time(start)
        );
    }
    let changes = match plan.dt_changes() {
        0 => String::new(),
        n => format!(", changing {n} times (--dt-schedule)"),
    };
    let unknowns = if p.discretization == Discretization::Fd {
        lm.cells.n_global
    } else {
        lm.points.n_global
    };
    tracing::info!(
        "heat: {} {}, {} cells, {unknowns} unknowns on {} ranks; {steps} steps of dt = {dt:.3e}{changes} (stable limit {dt_stable:.3e})",
        p.mesh,
        p.discretization.name(),
        lm.cells.n_global,
        comm.size()
    );
    if let Some(path) = &p.restart {
        tracing::info!(
            "restart: continuing from {} at step {start}, t = {:.4e}",
            path.display(),
            plan.time(start)
        );
    }
    tracing::info!(
        "partition: edge cut {}, imbalance {:.3}",
        report.edge_cut,
        report.imbalance
    );
    for part in report.disconnected_parts() {
        tracing::warn!(
            "partition: part {part} has {} disconnected components",
            report.components_per_part[part]
        );
    }
}

/// The run's options as JSON, stored in its checkpoints: [`RESTART_KEYS`] are compared on
/// restart; the rank count and a hash of the partition tell whether a restart runs on the same
/// partition (and can continue the output series).
fn run_options(comm: &Comm, p: &HeatParams, part: &Partition) -> String {
    let hash = partition_hash(part);
    serde_json::json!({
        "problem": "heat",
        "mesh": p.mesh.to_string(),
        "discretization": p.discretization,
        "kappa": p.kappa,
        "kappa_regions": p.kappa_regions,
        "contrast": p.contrast,
        "bc": p.bc,
        "scheme": p.scheme,
        "mass": p.mass,
        "source": p.source,
        "exact": p.exact,
        "steps": p.steps,
        "dt": p.dt,
        "t_final": p.t_final,
        "dt_schedule": p.dt_schedule.as_ref().map(DtSchedule::text),
        "solver": p.solver,
        "ranks": comm.size(),
        "partition": hash,
    })
    .to_string()
}

/// Collective: the output series, when `--out` is given. A restart on the partition of the
/// checkpoint's run continues that run's `heat.h5` (later snapshots only); on another partition
/// a new series starts at the restart time, in `heat-restart-STEP.h5` beside an existing
/// `heat.h5` (which is kept), else in `heat.h5`.
fn open_output(
    comm: &Comm,
    p: &HeatParams,
    (mesh, lm): (&Mesh, &LocalMesh),
    data: &HeatData,
    restart: Option<&Checkpoint>,
    options: &str,
) -> Result<Option<Writer>> {
    let Some(dir) = &p.out else {
        return Ok(None);
    };
    let mut stem = "heat".to_string();
    if let Some(ck) = restart {
        let h5 = dir.join("heat.h5");
        let exists = comm.min_f64(if h5.is_file() { 1.0 } else { 0.0 }) == 1.0;
        let say = |what: String| {
            if comm.is_root() {
                tracing::info!("restart: {what}");
            }
        };
        if exists && same_partition(&ck.options, options) {
            say(format!("continuing the series {}", h5.display()));
            return reopen_writer(comm, mesh, lm, &h5).map(Some);
        }
        if exists {
            stem = format!("heat-restart-{}", ck.step);
        }
        say(format!(
            "a new series {} starts at t = {:.4e} ({})",
            dir.join(format!("{stem}.xdmf")).display(),
            ck.time,
            if exists {
                "the checkpoint's run had another partition; its heat.h5 is kept"
            } else {
                "no earlier series in this directory"
            }
        ));
    }
    let center = match p.discretization {
        Discretization::Fd => Center::Cell,
        _ => Center::Point,
    };
    let mut w = create_writer(comm, mesh, lm, dir, &stem, center)?;
    write_kappa(comm, &mut w, lm, data)?;
    Ok(Some(w))
}

/// What a finished run hands to [`summarize`].
struct Finished<'a> {
    lm: &'a LocalMesh,
    report: Report,
    kappa_max: f64,
    plan: Plan,
    outcome: LoopOutcome,
    error: Option<ErrorNorms>,
    /// Set-up seconds, output set-up seconds, and the start of the run.
    seconds: (f64, f64, Instant),
    output: Option<PathBuf>,
}

/// Collective: the run's summary (times and halo statistics reduced over ranks).
fn summarize(comm: &Comm, p: &HeatParams, stepper: &dyn Stepper, f: Finished) -> HeatSummary {
    let (setup, output_setup, start) = f.seconds;
    let o = f.outcome;
    let unknowns = if p.discretization == Discretization::Fd {
        f.lm.cells.n_global
    } else {
        f.lm.points.n_global
    };
    let hs = stepper.halo_stats();
    let halo = HaloStats {
        exchanges: hs.exchanges,
        post: comm.max_f64(hs.post),
        shadow: comm.max_f64(hs.shadow),
        wait: comm.max_f64(hs.wait),
        bytes_sent: comm.sum_u64(hs.bytes_sent),
    };
    let solver_timings = stepper.solver_timings();
    let per_rank = unknowns as f64 * o.taken as f64 / comm.size() as f64;
    HeatSummary {
        problem: "heat",
        ranks: comm.size(),
        mesh: p.mesh.to_string(),
        discretization: p.discretization,
        cells: f.lm.cells.n_global,
        unknowns,
        kappa: p.kappa,
        contrast: p.contrast,
        kappa_max: f.kappa_max,
        steps: o.step,
        start_step: f.plan.start(),
        restart: p.restart.clone(),
        dt: f.plan.dt(f.plan.start() + 1),
        dt_changes: o.dt_changes,
        dt_stable: stepper.stable_dt(),
        t_final: o.time,
        halo_mode: p.halo_mode,
        wall: Timings {
            setup: comm.max_f64(setup),
            compute: comm.max_f64(stepper.compute_time() + hs.shadow),
            communication: comm.max_f64(hs.exposed()),
            output: comm.max_f64(output_setup + o.output_seconds),
            checkpoint: comm.max_f64(o.checkpoint_seconds),
            total: comm.max_f64(start.elapsed().as_secs_f64()),
        },
        halo,
        updates_per_second_per_rank: per_rank / comm.max_f64(o.seconds),
        error: f.error,
        scheme: p.scheme,
        mass: p.mass,
        linear_iterations: solver_timings.map_or(0, |t| t.iterations),
        solver_timings,
        symbolic_setups_in_loop: comm.sum_u64(o.symbolic_setups),
        checkpoints: o.checkpoints,
        checkpoint: p.checkpoint.as_ref().map(|c| c.dir.join(CHECKPOINT_FILE)),
        failure: o.failure,
        partition: f.report,
        output: f.output,
    }
}
