//! Incompressible Navier–Stokes (ρ = 1, viscosity ν) on Taylor–Hood P2/P1 simplices with an
//! incremental pressure-correction scheme, second order in time ([`scheme`]): the spaces and
//! constant matrices ([`spaces`]), boundary conditions by tag ([`bc`]), the bundled cases and
//! their quantities of interest ([`cases`]), and the driver ([`run`]).

pub mod bc;
pub mod cases;
pub mod forces;
pub mod scheme;
pub mod spaces;

use super::heat::Discretization;
use super::setup::{create_writer, prepare, MeshSource};
use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::io::{Center, FieldSpec, P1Map};
use crate::partition::Method;
use bc::{Boundaries, Boundary};
use scheme::{FlowState, Scheme, Solvers, StepStats};
use serde::Serialize;
use spaces::Spaces;
use std::path::PathBuf;
use std::time::Instant;

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
    /// Steps done and final time.
    pub steps: usize,
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
    /// The case's quantities of interest.
    pub quantities: serde_json::Value,
    /// Files written.
    pub files: Vec<PathBuf>,
}

/// Collective: runs the flow to `t_end` or to a steady state.
pub fn run(comm: &Comm, p: &NsParams) -> Result<NsSummary> {
    let start = Instant::now();
    let prep = prepare(comm, &p.source, Discretization::P2, &p.partitioner)?;
    let bcs = comm.agree(resolve_boundaries(&prep.mesh, &p.boundaries))?;
    let mut s = Spaces::new(comm, prep.mesh, prep.part, prep.lm)?;
    let h_min = comm.min_f64(min_node_distance(&s));
    let dt = match p.dt {
        TimeStep::Fixed(dt) => dt,
        TimeStep::Cfl(c) => c * h_min / p.speed,
    };
    // Whole steps to t_end: BDF2's coefficients assume one step size.
    let n_steps = ((p.t_end / dt) - 1e-9).ceil().max(1.0) as usize;
    let dt = p.t_end / n_steps as f64;
    let mut scheme = Scheme::new(comm, &mut s, bcs, p.nu, clone_solvers(&p.solvers))?;
    let mut st = match p.case {
        cases::Case::TaylorGreen => scheme.start_from(&s, 0.0, |x| bc::taylor_green(x, 0.0, p.nu)),
        _ => scheme.rest(&s, 0.0),
    };
    let setup = comm.max_f64(start.elapsed().as_secs_f64());
    let mut writer = match &p.out {
        Some(dir) => {
            let mut w = create_writer(comm, &s.mesh, &s.lm_u, dir, p.case.stem(), Center::Point)?;
            w.set_p1_map(comm, &P1Map::from_elevated(&s.mesh, &s.part, &s.lm_u)?)?;
            Some(w)
        }
        None => None,
    };
    let mut summary = NsSummary {
        case: p.case.stem().to_string(),
        ranks: comm.size() as usize,
        dim: s.dim,
        velocity_nodes: s.lm_u.points.n_global,
        pressure_nodes: s.lm_p.points.n_global,
        nu: p.nu,
        speed: p.speed,
        reynolds: p.speed * p.length / p.nu,
        dt,
        steps: 0,
        t_final: 0.0,
        steady_residual: f64::INFINITY,
        steady: p.steady_tol.map(|_| false),
        cfl_max: 0.0,
        solvers: Default::default(),
        iterations: NsIterations::default(),
        timings: NsTimings {
            setup,
            ..NsTimings::default()
        },
        quantities: serde_json::Value::Null,
        files: Vec::new(),
    };
    let mut monitor = match p.case {
        cases::Case::Cylinder(dfg) => Some(cases::CylinderMonitor::new(&s, dfg, p.nu)),
        _ => None,
    };
    let mut warned_cfl = false;
    let mut output_seconds = 0.0;
    let mut sums = StepStats::default();
    let progress_every = (n_steps / 20).max(1);
    for n in 0..n_steps {
        let stats = scheme.step(comm, &mut s, &mut st, dt)?;
        record(&mut summary, &stats, &mut sums);
        if let Some(m) = monitor.as_mut() {
            m.record(comm, &mut s, &st, &scheme.dudt)?;
        }
        let (change, speed) = check_state(comm, &st, n + 1)?;
        summary.steady_residual = change / dt;
        let cfl = speed * dt / h_min;
        summary.cfl_max = summary.cfl_max.max(cfl);
        if cfl > 1.0 && !warned_cfl && comm.is_root() {
            tracing::warn!(
                "CFL number {cfl:.2} > 1 at step {} (t = {:.4e}): the extrapolated convection of the scheme may \
                 turn unstable; lower --dt or --cfl",
                n + 1,
                st.t
            );
            warned_cfl = true;
        }
        let last = n + 1 == n_steps || p.steady_tol.is_some_and(|tol| summary.steady_residual < tol);
        if let Some(w) = writer.as_mut() {
            if last || (p.snapshot_every > 0 && (n + 1) % p.snapshot_every == 0) {
                let t0 = Instant::now();
                write_state(comm, w, &st, s.dim)?;
                output_seconds += t0.elapsed().as_secs_f64();
            }
        }
        if comm.is_root() && ((n + 1) % progress_every == 0 || last) {
            tracing::info!(
                "step {}/{n_steps}, t = {:.4e}: steady residual {:.3e}, iterations {}/{}/{}",
                n + 1,
                st.t,
                summary.steady_residual,
                stats.momentum_iterations,
                stats.pressure_iterations,
                stats.correction_iterations
            );
        }
        if last {
            break;
        }
    }
    summary.steps = st.step;
    summary.t_final = st.t;
    if let (Some(tol), Some(flag)) = (p.steady_tol, summary.steady.as_mut()) {
        *flag = summary.steady_residual < tol;
    }
    let t0 = Instant::now();
    summary.quantities = p.case.quantities(
        comm,
        (&mut s, &st, monitor.as_ref()),
        (summary.reynolds, p.nu),
        p.out.as_deref(),
        &mut summary.files,
    )?;
    output_seconds += t0.elapsed().as_secs_f64();
    if let Some(w) = writer {
        summary.files.push(w.xdmf_path().to_path_buf());
        w.finish(comm)?;
    }
    summary.solvers = scheme.solver_names();
    finish_timings(comm, &mut summary, &sums, output_seconds, start);
    Ok(summary)
}

/// The solver configurations (cloned: the scheme owns its own).
fn clone_solvers(s: &Solvers) -> Solvers {
    Solvers {
        momentum: s.momentum.clone(),
        pressure: s.pressure.clone(),
        correction: s.correction.clone(),
    }
}

/// Adds one step's counts to the summary and its seconds to `sums`.
fn record(summary: &mut NsSummary, stats: &StepStats, sums: &mut StepStats) {
    let it = &mut summary.iterations;
    it.momentum.push(stats.momentum_iterations);
    it.pressure.push(stats.pressure_iterations);
    it.correction.push(stats.correction_iterations);
    if it.momentum.len() == 1 {
        summary.timings.momentum_setup_first_step = stats.momentum_setup_seconds;
    } else {
        sums.momentum_setup_seconds += stats.momentum_setup_seconds;
    }
    sums.momentum_seconds += stats.momentum_seconds;
    sums.pressure_seconds += stats.pressure_seconds;
    sums.correction_seconds += stats.correction_seconds;
}

/// Per-step means and the totals.
fn finish_timings(comm: &Comm, summary: &mut NsSummary, sums: &StepStats, output: f64, start: Instant) {
    let n = summary.steps.max(1) as f64;
    let t = &mut summary.timings;
    t.momentum_update_mean = sums.momentum_setup_seconds / (n - 1.0).max(1.0);
    t.momentum_per_step = sums.momentum_seconds / n;
    t.pressure_per_step = sums.pressure_seconds / n;
    t.correction_per_step = sums.correction_seconds / n;
    t.output = comm.max_f64(output);
    t.total = comm.max_f64(start.elapsed().as_secs_f64());
}

/// Collective: the largest change of the velocity over the last step and the largest speed;
/// a value that is not finite stops the run, naming the step and time.
fn check_state(comm: &Comm, st: &FlowState, step: usize) -> Result<(f64, f64)> {
    let (mut change, mut speed2, mut finite) = (0.0f64, 0.0f64, true);
    let n = st.u[0].owned().len();
    for i in 0..n {
        let mut s2 = 0.0;
        for (u, up) in st.u.iter().zip(&st.u_prev) {
            let (a, b) = (u.owned()[i], up.owned()[i]);
            finite &= a.is_finite();
            change = change.max((a - b).abs());
            s2 += a * a;
        }
        speed2 = speed2.max(s2);
    }
    finite &= st.p.owned().iter().all(|v| v.is_finite());
    let bad = comm.max_f64(if finite { 0.0 } else { 1.0 });
    if bad > 0.0 {
        return Err(Error::Solve(format!(
            "the flow is not finite (NaN or Inf) after step {step} (t = {:.6e}): the time step is \
             too large for this flow, or the data are wrong",
            st.t
        )));
    }
    Ok((comm.max_f64(change), comm.max_f64(speed2).sqrt()))
}

/// Collective: one snapshot of velocity (a P2 vector) and pressure (P1).
fn write_state(comm: &Comm, w: &mut crate::io::Writer, st: &FlowState, dim: usize) -> Result<()> {
    let n = st.u[0].owned().len();
    let mut vel = vec![0.0; n * dim];
    for (d, u) in st.u.iter().enumerate() {
        for (i, v) in u.owned().iter().enumerate() {
            vel[i * dim + d] = *v;
        }
    }
    let (vs, ps) = (FieldSpec::p2("velocity", dim), FieldSpec::p1("pressure", 1));
    w.write_fields(comm, st.t, &[(&vs, &vel), (&ps, st.p.owned())])
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
