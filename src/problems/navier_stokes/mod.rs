//! Incompressible Navier–Stokes (ρ = 1, viscosity ν) on Taylor–Hood P2/P1 simplices with an
//! incremental pressure-correction scheme, second order in time ([`scheme`]): the spaces and
//! constant matrices ([`spaces`]), boundary conditions by tag ([`bc`]), the bundled cases and
//! their quantities of interest ([`cases`]), and the driver ([`run`]).

pub mod bc;
pub mod cases;
pub mod forces;
pub mod scheme;
pub mod spaces;
pub mod stepper;

use super::heat::Discretization;
use super::restart::{
    partition_hash, probe_checkpoint_dir, read_restart, same_partition, CheckpointParams, CHECKPOINT_FILE,
};
use super::setup::{create_writer, prepare, reopen_writer, MeshSource};
use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::io::checkpoint::Fingerprint;
use crate::io::{Center, CheckpointMesh, FieldSpec, P1Map, Space};
use crate::partition::Method;
use crate::time::{Checkpointing, LoopOutcome, Plan, Resume, StepOptions, Stepper, TimeLoop, DEFAULT_MAX_STEPS};
use bc::{Boundaries, Boundary};
use scheme::{Scheme, Solvers};
use serde::Serialize;
use spaces::Spaces;
use std::path::PathBuf;
use std::time::Instant;
use stepper::NsStepper;

/// How the time step is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeStep {
    /// This Δt (shortened so that whole steps reach the final time).
    Fixed(f64),
    /// `Δt = CFL · h_min / U`, with `h_min` the smallest distance between velocity nodes and U
    /// the case's reference speed (shortened likewise).
    Cfl(f64),
}

/// Everything a run needs, resolved.
pub struct NsParams {
    /// The bundled case, or a user mesh.
    pub case: cases::Case,
    /// Grid or mesh file.
    pub source: MeshSource,
    /// Partitioner.
    pub partitioner: Method,
    /// Boundary conditions by boundary name.
    pub boundaries: Vec<(String, Boundary)>,
    /// Kinematic viscosity.
    pub nu: f64,
    /// Reference speed (for the CFL number and the Reynolds number `U L / ν`).
    pub speed: f64,
    /// Reference length L of the Reynolds number.
    pub length: f64,
    /// Time step policy.
    pub dt: TimeStep,
    /// Final time.
    pub t_end: f64,
    /// Stop when `max|uⁿ⁺¹ − uⁿ| / Δt` falls below this (steady state); `None`: run to `t_end`.
    pub steady_tol: Option<f64>,
    /// Output directory (series, profiles); none: no files.
    pub out: Option<PathBuf>,
    /// Write a snapshot every this many steps (0: only the last state).
    pub snapshot_every: usize,
    /// The solvers.
    pub solvers: Solvers,
    /// The rotational pressure update (`pⁿ⁺¹ = pⁿ + φ − ν∇·u*`) instead of the standard one.
    pub rotational: bool,
    /// Checkpoints: where and how often (`None`: none).
    pub checkpoint: Option<CheckpointParams>,
    /// The checkpoint to continue from (`--restart FILE`).
    pub restart: Option<PathBuf>,
}

/// Set-up and per-step costs, seconds (maximum over ranks).
#[derive(Clone, Debug, Default, Serialize)]
pub struct NsTimings {
    /// Mesh, partition, spaces, constant matrices and the pressure and correction solvers.
    pub setup: f64,
    /// The momentum solver's set-up at the first step.
    pub momentum_setup_first_step: f64,
    /// Mean of its numeric updates at the later steps.
    pub momentum_update_mean: f64,
    /// Mean seconds per step of the momentum step, pressure step and correction.
    pub momentum_per_step: f64,
    /// See `momentum_per_step`.
    pub pressure_per_step: f64,
    /// See `momentum_per_step`.
    pub correction_per_step: f64,
    /// Output (series and profiles).
    pub output: f64,
    /// Writing checkpoints.
    pub checkpoint: f64,
    /// The whole run.
    pub total: f64,
}

/// Iteration counts of every step.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NsIterations {
    /// Momentum iterations per step (summed over components).
    pub momentum: Vec<usize>,
    /// Pressure iterations per step.
    pub pressure: Vec<usize>,
    /// Correction iterations per step (summed over components).
    pub correction: Vec<usize>,
}

/// What a run reports.
#[derive(Clone, Debug, Serialize)]
pub struct NsSummary {
    /// Case name.
    pub case: String,
    /// Ranks.
    pub ranks: usize,
    /// Space dimension.
    pub dim: usize,
    /// Velocity nodes (each carries `dim` unknowns) and pressure nodes.
    pub velocity_nodes: u64,
    /// See `velocity_nodes`.
    pub pressure_nodes: u64,
    /// Viscosity, reference speed and Reynolds number `U L / ν`.
    pub nu: f64,
    /// See `nu`.
    pub speed: f64,
    /// See `nu`.
    pub reynolds: f64,
    /// Time step.
    pub dt: f64,
    /// The last step done (counted from the run's start at t = 0, also after a restart) and
    /// the final time.
    pub steps: usize,
    /// The checkpoint's step, for a restarted run.
    pub restarted_from: Option<usize>,
    /// See `steps`.
    pub t_final: f64,
    /// `max|uⁿ⁺¹ − uⁿ| / Δt` of the last step.
    pub steady_residual: f64,
    /// Whether the steady-state criterion was met (when one was given).
    pub steady: Option<bool>,
    /// The largest CFL number `|u| Δt / h_min` seen.
    pub cfl_max: f64,
    /// Names of the solvers.
    pub solvers: [String; 3],
    /// Per-step iteration counts.
    pub iterations: NsIterations,
    /// Costs.
    pub timings: NsTimings,
    /// Checkpoints written, and the checkpoint file.
    pub checkpoints: usize,
    /// See `checkpoints`.
    pub checkpoint: Option<PathBuf>,
    /// The case's quantities of interest.
    pub quantities: serde_json::Value,
    /// Files written.
    pub files: Vec<PathBuf>,
    /// Why the run failed (a solve, values that are not finite, no steady state), or `None`.
    pub failure: Option<String>,
}

/// The options a restart must share with its checkpoint (besides the mesh, which the
/// checkpoint's fingerprint checks): the flow and the step size (BDF2 continues with the dt it
/// was started with). The final time, output, solvers and checkpoint cadence may change.
const RESTART_KEYS: &[&str] = &["problem", "case", "nu", "boundaries", "dt", "rotational"];

/// Collective: runs the flow to `t_end` or to a steady state.
pub fn run(comm: &Comm, p: &NsParams) -> Result<NsSummary> {
    let start = Instant::now();
    if let Some(c) = &p.checkpoint {
        probe_checkpoint_dir(comm, &c.dir)?;
    }
    let prep = prepare(comm, &p.source, Discretization::P2, &p.partitioner)?;
    let bcs = comm.agree(resolve_boundaries(&prep.mesh, &p.boundaries))?;
    let mut s = Spaces::new(comm, prep.mesh, prep.part, prep.lm)?;
    if let cases::Case::Cylinder(dfg) = p.case {
        // The points, reference area and mean speed of the coefficients are the benchmark's.
        if s.dim != dfg.dim() {
            return comm.agree(Err(Error::input(format!(
                "DFG {} is a {}D benchmark: this mesh is {}D",
                dfg.name(),
                dfg.dim(),
                s.dim
            ))));
        }
    }
    let h_min = comm.min_f64(min_node_distance(&s));
    let dt = match p.dt {
        TimeStep::Fixed(dt) => dt,
        TimeStep::Cfl(c) => c * h_min / p.speed,
    };
    // Whole steps to t_end: BDF2's coefficients assume one step size.
    let n_steps = ((p.t_end / dt) - 1e-9).ceil().max(1.0) as usize;
    let dt = p.t_end / n_steps as f64;
    let options = run_options(comm, p, &s, dt);
    let scheme = Scheme::new(comm, &mut s, (bcs, p.nu, p.rotational), clone_solvers(&p.solvers))?;
    let st = match p.case {
        cases::Case::Exact(flow) => scheme.start_from(&s, 0.0, |x| flow.at(x, 0.0, p.nu)),
        _ => scheme.rest(&s, 0.0),
    };
    let mut stepper = NsStepper::new(s, scheme, st, (p.steady_tol, h_min));
    if let cases::Case::Cylinder(dfg) = p.case {
        stepper.monitor = Some(cases::CylinderMonitor::new(&stepper.s, dfg, p.nu));
    }
    let specs: Vec<FieldSpec> = stepper
        .fields()
        .into_iter()
        .chain(stepper.history())
        .map(|f| f.0)
        .collect();
    let ids = CheckpointIds::of(&stepper.s);
    let ck_mesh = ids.mesh();
    let restart = match &p.restart {
        Some(path) => Some(read_restart(comm, path, &ck_mesh, &specs, (&options, RESTART_KEYS))?),
        None => None,
    };
    let plan = match &restart {
        Some(ck) => {
            comm.agree(stepper.restore(&ck.fields))?;
            (stepper.st.step, stepper.st.t) = (ck.step as usize, ck.time);
            let series = stepper
                .restore_series(ck.series.as_ref())
                .map_err(|e| match (e, &p.restart) {
                    (Error::Input(m), Some(path)) => Error::input(format!("checkpoint {}: {m}", path.display())),
                    (e, _) => e,
                });
            comm.agree(series)?;
            let all = StepOptions {
                steps: Some(n_steps),
                dt: Some(dt),
                t_final: None,
                cfl: 1.0,
                max_steps: DEFAULT_MAX_STEPS,
                schedule: None,
            };
            let at = Resume {
                step: ck.step as usize,
                time: ck.time,
                history: ck.dt_history.clone(),
            };
            comm.agree(all.resume(f64::INFINITY, &at))?
        }
        None => Plan::uniform(n_steps, dt),
    };
    let setup = comm.max_f64(start.elapsed().as_secs_f64());
    let writer = open_output(comm, p, &stepper.s, restart.as_ref(), &options)?;
    let series = writer.as_ref().map(|w| w.xdmf_path().to_path_buf());
    let checkpoints = p.checkpoint.as_ref().map(|c| Checkpointing {
        path: c.dir.join(CHECKPOINT_FILE),
        every: c.every,
        interval: c.interval,
        mesh: ids.mesh(),
        options: options.clone(),
        history: restart.as_ref().map(|ck| ck.dt_history.clone()).unwrap_or_default(),
    });
    let outcome = TimeLoop {
        plan,
        snapshot_every: p.snapshot_every,
        progress: true,
        writer,
        checkpoints,
    }
    .run(comm, &mut stepper)?;
    summarize(
        comm,
        p,
        stepper,
        outcome,
        (dt, setup, start, restart.map(|ck| ck.step as usize)),
        series,
    )
}

/// Collective: the summary of a finished loop, with the case's quantities and files (`series`:
/// the XDMF file of the output, which a restart on another partition names anew).
fn summarize(
    comm: &Comm,
    p: &NsParams,
    mut stepper: NsStepper,
    outcome: LoopOutcome,
    (dt, setup, start, restarted_from): (f64, f64, Instant, Option<usize>),
    series: Option<PathBuf>,
) -> Result<NsSummary> {
    let rec = stepper.record.clone();
    let t0 = Instant::now();
    let mut files = Vec::new();
    let reynolds = p.speed * p.length / p.nu;
    let quantities = if outcome.failure.is_none() {
        let NsStepper { s, st, monitor, .. } = &mut stepper;
        p.case.quantities(
            comm,
            (s, st, monitor.as_ref()),
            (reynolds, p.nu),
            p.out.as_deref(),
            &mut files,
        )?
    } else {
        serde_json::Value::Null
    };
    files.extend(series);
    let steps = rec.iterations.momentum.len().max(1) as f64;
    let failure = outcome.failure.clone().or_else(|| {
        p.steady_tol
            .filter(|&tol| rec.steady_residual.partial_cmp(&tol) != Some(std::cmp::Ordering::Less))
            .map(|_| {
                format!(
                    "no steady state by t = {:.4e}: residual {:.3e} (raise --t-end or --steady-tol)",
                    outcome.time, rec.steady_residual
                )
            })
    });
    let s = &stepper.s;
    Ok(NsSummary {
        case: p.case.stem().to_string(),
        ranks: comm.size() as usize,
        dim: s.dim,
        velocity_nodes: s.lm_u.points.n_global,
        pressure_nodes: s.lm_p.points.n_global,
        nu: p.nu,
        speed: p.speed,
        reynolds,
        dt,
        steps: outcome.step,
        restarted_from,
        t_final: outcome.time,
        steady_residual: rec.steady_residual,
        steady: p.steady_tol.map(|tol| rec.steady_residual < tol),
        cfl_max: rec.cfl_max,
        solvers: stepper.scheme.solver_names(),
        timings: NsTimings {
            setup,
            momentum_setup_first_step: rec.first_setup,
            momentum_update_mean: rec.sums.momentum_setup_seconds / (steps - 1.0).max(1.0),
            momentum_per_step: rec.sums.momentum_seconds / steps,
            pressure_per_step: rec.sums.pressure_seconds / steps,
            correction_per_step: rec.sums.correction_seconds / steps,
            output: comm.max_f64(outcome.output_seconds + t0.elapsed().as_secs_f64()),
            checkpoint: comm.max_f64(outcome.checkpoint_seconds),
            total: comm.max_f64(start.elapsed().as_secs_f64()),
        },
        iterations: rec.iterations,
        checkpoints: outcome.checkpoints,
        checkpoint: p.checkpoint.as_ref().map(|c| c.dir.join(CHECKPOINT_FILE)),
        quantities,
        files,
        failure,
    })
}

/// The solver configurations (cloned: the scheme owns its own).
fn clone_solvers(s: &Solvers) -> Solvers {
    Solvers {
        momentum: s.momentum.clone(),
        pressure: s.pressure.clone(),
        correction: s.correction.clone(),
    }
}

/// What checkpoints store the fields by: the mesh's fingerprint and this rank's owned cell,
/// P2 node and corner ids (the quadratic mesh's point ids), copied out of the spaces that the
/// stepper owns.
struct CheckpointIds {
    fingerprint: Fingerprint,
    counts: [u64; 2],
    cells: Vec<u32>,
    nodes: Vec<u32>,
    corners: Vec<u32>,
}

impl CheckpointIds {
    fn of(s: &Spaces) -> CheckpointIds {
        CheckpointIds {
            fingerprint: Fingerprint::of(&s.mesh),
            counts: [s.mesh.num_cells() as u64, s.mesh.num_points() as u64],
            cells: s.lm_u.cell_orig[..s.lm_u.cells.n_owned].to_vec(),
            nodes: s.lm_u.point_orig[..s.n_u()].to_vec(),
            corners: s.lm_p.point_orig[..s.n_p()].to_vec(),
        }
    }

    fn mesh(&self) -> CheckpointMesh<'_> {
        CheckpointMesh::new(self.fingerprint)
            .with(Space::Cells, self.counts[0], &self.cells)
            .with(Space::P2, self.counts[1], &self.nodes)
            .with(Space::P1, self.counts[1], &self.corners)
    }
}

/// The run's options as JSON, stored in its checkpoints ([`RESTART_KEYS`] are compared on
/// restart; ranks and partition tell whether the output series can be continued).
fn run_options(comm: &Comm, p: &NsParams, s: &Spaces, dt: f64) -> String {
    serde_json::json!({
        "problem": "navier-stokes",
        "case": p.case.stem(),
        "mesh": p.source.to_string(),
        "nu": p.nu,
        "boundaries": p.boundaries,
        "dt": dt,
        "rotational": p.rotational,
        "t_end": p.t_end,
        "ranks": comm.size(),
        "partition": partition_hash(&s.part),
    })
    .to_string()
}

/// Collective: the output series, when `--out` is given: a restart on the checkpoint's
/// partition continues `STEM.h5`; otherwise a new series starts (`STEM-restart-STEP.h5` beside
/// an existing one).
fn open_output(
    comm: &Comm,
    p: &NsParams,
    s: &Spaces,
    restart: Option<&crate::io::Checkpoint>,
    options: &str,
) -> Result<Option<crate::io::Writer>> {
    let Some(dir) = &p.out else {
        return Ok(None);
    };
    let mut stem = p.case.stem().to_string();
    let map = P1Map::from_elevated(&s.mesh, &s.part, &s.lm_u)?;
    if let Some(ck) = restart {
        let h5 = dir.join(format!("{stem}.h5"));
        let exists = comm.min_f64(if h5.is_file() { 1.0 } else { 0.0 }) == 1.0;
        if exists && same_partition(&ck.options, options) {
            let mut w = reopen_writer(comm, &s.mesh, &s.lm_u, &h5)?;
            w.set_p1_map(comm, &map)?;
            return Ok(Some(w));
        }
        if exists {
            stem = format!("{stem}-restart-{}", ck.step);
        }
    }
    let mut w = create_writer(comm, &s.mesh, &s.lm_u, dir, &stem, Center::Point)?;
    w.set_p1_map(comm, &map)?;
    Ok(Some(w))
}

/// The smallest distance between two nodes of an owned cell (P2: about half the edge length).
fn min_node_distance(s: &Spaces) -> f64 {
    let mut h = f64::INFINITY;
    for c in 0..s.lm_u.cells.n_owned {
        let vs = s.lm_u.cell(c);
        for (k, &a) in vs.iter().enumerate() {
            for &b in &vs[k + 1..] {
                let (x, y) = (s.points[a as usize], s.points[b as usize]);
                h = h.min((0..3).map(|d| (x[d] - y[d]).powi(2)).sum::<f64>().sqrt());
            }
        }
    }
    h
}

/// The conditions by tag: every boundary name must exist on the mesh, and every tagged
/// boundary of the mesh gets a condition (checked when the nodes are marked).
fn resolve_boundaries(mesh: &crate::mesh::Mesh, by_name: &[(String, Boundary)]) -> Result<Boundaries> {
    let dim = mesh.gdim - 1;
    let list = by_name
        .iter()
        .map(|(name, b)| {
            let tag = mesh
                .tag_of(dim, name)
                .or_else(|| name.parse().ok().filter(|t| mesh.facet_tags.contains(t)));
            let known: Vec<&str> = mesh
                .names
                .iter()
                .filter(|n| n.dim == dim)
                .map(|n| n.name.as_str())
                .collect();
            tag.map(|t| (t, b.clone())).ok_or_else(|| {
                Error::input(format!(
                    "no boundary '{name}' in the mesh (it has: {})",
                    known.join(", ")
                ))
            })
        })
        .collect::<Result<_>>()?;
    Ok(Boundaries { list })
}
