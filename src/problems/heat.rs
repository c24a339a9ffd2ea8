//! The heat driver: `u_t = κΔu + f`, explicit Euler or the implicit θ-scheme in time,
//! cell-centred FD on structured grids or P1 / P2 on simplices (P2 implicit only, with the
//! consistent mass), with snapshots to HDF5/XDMF and a run summary.

use super::{create_writer, prepare, warn_exact_outside_unit_box, write_kappa, MeshSource, Prepared};
use crate::comm::{Comm, HaloMode, HaloStats};
use crate::error::{Error, Result};
use crate::fd::{FdHeat, FdImplicitHeat};
use crate::fem::{FemImplicitHeat, MassKind, P1Heat};
use crate::io::{Center, Writer};
use crate::partition::{Method, Report};
use crate::pde::{BcKind, ErrorNorms, Exact, HeatData, HeatStepper};
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
}

/// Wall-clock seconds per phase (maximum over ranks).
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Timings {
    /// Mesh, partition, distribution, operator set-up.
    pub setup: f64,
    /// Stencil / matrix work, including the part hidden behind messages.
    pub compute: f64,
    /// Exposed communication: posting plus waiting for halo messages.
    pub communication: f64,
    /// Writing HDF5/XDMF.
    pub output: f64,
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
    /// Steps taken.
    pub steps: usize,
    /// Time step used.
    pub dt: f64,
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
    /// Why the run failed (an implicit step's solve did not converge, or the solution stopped
    /// being finite), or `None`. The run stops at the failing step; snapshots before it are
    /// kept, and the command line exits with status 1 after writing the report.
    pub failure: Option<String>,
    /// Partition quality.
    pub partition: Report,
    /// The XDMF file written, if any.
    pub output: Option<PathBuf>,
}

/// The default of [`HeatParams::max_steps`] (`--max-steps`).
pub const DEFAULT_MAX_STEPS: usize = 100_000_000;

/// Picks `(steps, dt)` from what was given, refusing unstable or inconsistent values and step
/// counts above `max_steps` (checked in floating point, before any conversion can overflow).
pub fn time_steps(
    steps: Option<usize>,
    dt: Option<f64>,
    t_final: Option<f64>,
    dt_stable: f64,
    cfl: f64,
    max_steps: usize,
) -> Result<(usize, f64)> {
    if let Some(dt) = dt {
        if !(dt > 0.0 && dt.is_finite()) {
            return Err(Error::input(format!("dt must be positive, got {dt}")));
        }
        if dt > dt_stable * (1.0 + 1e-12) {
            return Err(Error::input(format!(
                "dt = {dt:e} is unstable: the explicit step must not exceed {dt_stable:e} for this mesh and kappa"
            )));
        }
    }
    if let Some(t) = t_final {
        if !(t > 0.0 && t.is_finite()) {
            return Err(Error::input(format!("t-final must be positive, got {t}")));
        }
    }
    if steps == Some(0) {
        return Err(Error::input("steps must be at least 1"));
    }
    if !(cfl > 0.0 && cfl <= 1.0) {
        return Err(Error::input(format!("cfl must be in (0, 1], got {cfl}")));
    }
    let too_many = |n: f64, why: String| -> Result<()> {
        if n > max_steps as f64 {
            return Err(Error::input(format!(
                "{why} {n:.3e} steps, more than max-steps = {max_steps} (raise --max-steps if you mean it)"
            )));
        }
        Ok(())
    };
    if let Some(n) = steps {
        too_many(n as f64, "--steps asks for".into())?;
    }
    let default_dt = cfl * dt_stable;
    Ok(match (steps, dt, t_final) {
        (Some(n), Some(dt), Some(t)) => {
            if (n as f64 * dt - t).abs() > 1e-9 * t {
                return Err(Error::input(format!(
                    "steps × dt = {} does not equal t-final = {t}; give two of the three",
                    n as f64 * dt
                )));
            }
            (n, dt)
        }
        (Some(n), None, Some(t)) => {
            let dt = t / n as f64;
            if dt > dt_stable * (1.0 + 1e-12) {
                return Err(Error::input(format!("{n} steps to t-final = {t} need dt = {dt:e}, above the stability limit {dt_stable:e}; use at least {} steps", (t / dt_stable).ceil())));
            }
            (n, dt)
        }
        (None, given, Some(t)) => {
            let dt = given.unwrap_or(default_dt);
            let n = (t / dt * (1.0 - 1e-12)).ceil().max(1.0);
            let how = if given.is_some() {
                format!("t-final = {t:e} at dt = {dt:e} needs")
            } else {
                format!("t-final = {t:e} at cfl × the stability limit {dt_stable:e} of this mesh and kappa needs")
            };
            too_many(n, how)?;
            (n as usize, t / n)
        }
        (n, dt, None) => (n.unwrap_or(100), dt.unwrap_or(default_dt)),
    })
}

/// An explicit stepper with the step chosen against its stability limit.
fn explicit(comm: &Comm, op: Box<dyn HeatStepper>, p: &HeatParams) -> Result<(Box<dyn HeatStepper>, usize, f64)> {
    let (steps, dt) = comm.agree(time_steps(p.steps, p.dt, p.t_final, op.stable_dt(), p.cfl, p.max_steps))?;
    Ok((op, steps, dt))
}

/// Steps of an implicit run: no stability limit, so without `--dt` the final time is split into
/// `--steps` (default 100).
fn implicit_steps(comm: &Comm, p: &HeatParams) -> Result<(usize, f64)> {
    if p.dt.is_none() && p.t_final.is_none() {
        return Err(Error::input("implicit time stepping needs --dt or --t-final"));
    }
    let steps = p.steps.or(p.dt.is_none().then_some(100));
    comm.agree(time_steps(steps, p.dt, p.t_final, f64::INFINITY, 1.0, p.max_steps))
}

/// Collective: whether every rank's `values` are finite (no NaN, no Inf).
fn all_finite(comm: &Comm, values: &[f64]) -> bool {
    // `v · 0` is 0 for a finite v and NaN otherwise; summed in eight independent lanes it is a
    // vectorized pass at memory speed, where a per-element `is_finite` test with an early exit
    // cost several per cent of an explicit run's throughput at one check per 1 % of the steps.
    let mut lanes = [0.0f64; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder().iter().fold(0.0, |s, v| s + v * 0.0);
    for c in chunks {
        for (l, v) in lanes.iter_mut().zip(c) {
            *l += v * 0.0;
        }
    }
    let local = lanes.iter().sum::<f64>() + rest;
    // NaN compares false, so the maximum of 0 and NaN must be taken as a flag.
    comm.max_f64(if local == 0.0 { 0.0 } else { 1.0 }) == 0.0
}

/// Collective: runs the heat problem and returns its summary. A step whose solve fails or a
/// solution that stops being finite is not an `Err`: the run stops there and the summary names
/// it in [`HeatSummary::failure`], so a report can still be written.
pub fn run(comm: &Comm, p: &HeatParams) -> Result<HeatSummary> {
    let t_start = Instant::now();
    let is_fd = p.discretization == Discretization::Fd;
    if p.discretization == Discretization::P2 {
        let why = match (p.scheme, p.mass) {
            (Scheme::Explicit, _) => Some("explicit steps need a diagonal mass, which P2 lacks: use --scheme be or cn"),
            (_, MassKind::Lumped) => {
                Some("P2 needs the consistent mass (--mass consistent): its row-summed mass is singular")
            }
            _ => None,
        };
        if let Some(why) = why {
            return comm.agree(Err(Error::input(why)));
        }
    }
    let Prepared { mesh, report, lm, .. } = prepare(comm, &p.mesh, p.discretization, &p.partitioner)?;
    if p.exact.is_some() {
        warn_exact_outside_unit_box(comm, &mesh);
    }
    let data = comm.agree(
        HeatData::new(&mesh, p.kappa, p.exact, p.source, &p.bc)
            .and_then(|d| d.with_kappa_regions(&mesh, &p.kappa_regions))
            .and_then(|d| d.with_contrast(&mesh, p.contrast)),
    )?;
    if p.mass == MassKind::Consistent && (is_fd || p.scheme == Scheme::Explicit) {
        return comm.agree(Err(Error::input(
            "--mass consistent needs implicit P1 or P2 steps (explicit steps and FD use a diagonal mass)",
        )));
    }
    let (mut op, steps, dt): (Box<dyn HeatStepper>, usize, f64) = match (p.scheme, is_fd, &mesh.grid) {
        (Scheme::Explicit, true, Some(grid)) => {
            explicit(comm, Box::new(comm.agree(FdHeat::new(comm, &lm, grid, &data))?), p)?
        }
        (Scheme::Explicit, ..) => explicit(comm, Box::new(comm.agree(P1Heat::new(comm, &mesh, &lm, &data))?), p)?,
        (Scheme::Implicit { theta }, true, Some(grid)) => {
            let (steps, dt) = implicit_steps(comm, p)?;
            let op = comm.agree(FdImplicitHeat::new(comm, &lm, grid, &data, theta, dt, &p.solver))?;
            (Box::new(op), steps, dt)
        }
        (Scheme::Implicit { theta }, ..) => {
            let (steps, dt) = implicit_steps(comm, p)?;
            let op = comm.agree(FemImplicitHeat::new(
                comm, &mesh, &lm, &data, theta, dt, p.mass, &p.solver,
            ))?;
            (Box::new(op), steps, dt)
        }
    };
    let dt_stable = op.stable_dt();
    if let Some(given) = p.dt.filter(|&g| (g - dt).abs() > 1e-12 * g) {
        if comm.is_root() {
            tracing::warn!(
                "dt = {given:e} does not divide t-final = {:e}: using {steps} steps of dt = {dt:e}",
                steps as f64 * dt
            );
        }
    }
    let kappa_max = data.kappa_max();
    let unknowns = if is_fd { lm.cells.n_global } else { lm.points.n_global };
    if comm.is_root() {
        tracing::info!("heat: {} {}, {} cells, {unknowns} unknowns on {} ranks; {steps} steps of dt = {dt:.3e} (stable limit {dt_stable:.3e})", p.mesh, p.discretization.name(), lm.cells.n_global, comm.size());
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
    let center = if is_fd { Center::Cell } else { Center::Point };
    let mut t_output = 0.0;
    let mut writer = match &p.out {
        Some(dir) => {
            let t0 = Instant::now();
            let mut w = create_writer(comm, &mesh, &lm, dir, "heat", center)?;
            write_kappa(comm, &mut w, &lm, &data)?;
            t_output += t0.elapsed().as_secs_f64();
            Some(w)
        }
        None => None,
    };
    drop(mesh);
    let setup = t_start.elapsed().as_secs_f64() - t_output;
    let snapshot =
        |w: &mut Writer, op: &dyn HeatStepper, t: f64| w.write_snapshot(comm, t, &[("u", center, op.solution())]);
    if let Some(w) = writer.as_mut() {
        let t0 = Instant::now();
        snapshot(w, op.as_ref(), 0.0)?;
        t_output += t0.elapsed().as_secs_f64();
    }

    let t_loop = Instant::now();
    let mut t = 0.0;
    let mut failure = None;
    // The solution is checked for NaN / Inf (one allreduce) about every 1% of the steps, before
    // each snapshot and at the end, so a blow-up stops the run near where it happened.
    let check_every = (steps / 100).max(1);
    let mut last_finite = 0;
    let mut taken = 0;
    for n in 1..=steps {
        if let Err(e) = op.step(comm, t, dt, p.halo_mode) {
            match e {
                Error::Solve(why) => {
                    failure = Some(format!("step {n} of {steps} (t = {:.4e}): {why}", t + dt));
                    break;
                }
                other => return Err(other),
            }
        }
        t = n as f64 * dt;
        taken = n;
        let snap = n == steps || (p.snapshot_every > 0 && n % p.snapshot_every == 0);
        if n % check_every == 0 || snap {
            if !all_finite(comm, op.solution()) {
                failure = Some(format!(
                    "the solution is not finite (NaN or Inf) at step {n} of {steps} (t = {t:.4e}; it was \
                     finite at step {last_finite}): the data overflow or the scheme is unstable"
                ));
                break;
            }
            last_finite = n;
        }
        if let Some(w) = writer.as_mut().filter(|_| snap) {
            let t0 = Instant::now();
            snapshot(w, op.as_ref(), t)?;
            t_output += t0.elapsed().as_secs_f64();
        }
        if p.progress && comm.is_root() && steps >= 10 && n % (steps / 10) == 0 {
            tracing::info!("step {n}/{steps}  t = {t:.4e}");
        }
    }
    let loop_time = t_loop.elapsed().as_secs_f64();
    let error = p.exact.filter(|_| failure.is_none()).map(|_| op.errors(comm, t));
    if let Some(w) = writer.take() {
        let t0 = Instant::now();
        w.finish(comm)?;
        t_output += t0.elapsed().as_secs_f64();
    }
    let hs = op.halo_stats();
    let comm_time = comm.max_f64(hs.exposed());
    let halo = HaloStats {
        exchanges: hs.exchanges,
        post: comm.max_f64(hs.post),
        shadow: comm.max_f64(hs.shadow),
        wait: comm.max_f64(hs.wait),
        bytes_sent: comm.sum_u64(hs.bytes_sent),
    };
    let compute = comm.max_f64(op.compute_time() + hs.shadow);
    Ok(HeatSummary {
        problem: "heat",
        ranks: comm.size(),
        mesh: p.mesh.to_string(),
        discretization: p.discretization,
        cells: lm.cells.n_global,
        unknowns,
        kappa: p.kappa,
        contrast: p.contrast,
        kappa_max,
        steps: taken,
        dt,
        dt_stable,
        t_final: t,
        halo_mode: p.halo_mode,
        wall: Timings {
            setup: comm.max_f64(setup),
            compute,
            communication: comm_time,
            output: comm.max_f64(t_output),
            total: comm.max_f64(t_start.elapsed().as_secs_f64()),
        },
        halo,
        updates_per_second_per_rank: unknowns as f64 * steps as f64 / comm.size() as f64 / comm.max_f64(loop_time),
        error,
        scheme: p.scheme,
        mass: p.mass,
        linear_iterations: op.linear_iterations(),
        failure,
        partition: report,
        output: p.out.as_ref().map(|d| d.join("heat.xdmf")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_selection() {
        let m = DEFAULT_MAX_STEPS;
        assert_eq!(time_steps(Some(10), Some(0.1), None, 1.0, 0.9, m).unwrap(), (10, 0.1));
        let (n, dt) = time_steps(None, None, Some(1.0), 0.3, 0.9, m).unwrap();
        assert_eq!(n, 4);
        assert!((dt - 0.25).abs() < 1e-15);
        assert!(time_steps(None, Some(0.5), None, 0.3, 0.9, m)
            .unwrap_err()
            .to_string()
            .contains("unstable"));
        assert!(time_steps(None, Some(-1.0), None, 0.3, 0.9, m).is_err());
        assert!(time_steps(Some(0), None, None, 0.3, 0.9, m).is_err());
        assert!(time_steps(Some(3), Some(0.1), Some(1.0), 0.3, 0.9, m).is_err());
        assert!(time_steps(Some(2), None, Some(1.0), 0.3, 0.9, m).is_err());
    }

    #[test]
    fn step_counts_are_bounded_before_any_conversion() {
        // A tiny dt (or a huge kappa's tiny stable step) would need ~1e300 steps: refused with
        // the limit named, instead of saturating to usize::MAX and running forever.
        let m = DEFAULT_MAX_STEPS;
        let e = time_steps(None, Some(1e-300), Some(1.0), f64::INFINITY, 1.0, m)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("1.000e300 steps") && e.contains("max-steps = 100000000"),
            "{e}"
        );
        let e = time_steps(None, None, Some(1.0), 1e-305, 0.9, m)
            .unwrap_err()
            .to_string();
        assert!(e.contains("stability limit 1e-305"), "{e}");
        assert!(time_steps(Some(m + 1), Some(1e-9), None, 1.0, 0.9, m).is_err());
        assert_eq!(time_steps(None, Some(1e-3), Some(1.0), 1.0, 0.9, 1000).unwrap().0, 1000);
        assert!(time_steps(None, Some(1e-3), Some(1.0), 1.0, 0.9, 999).is_err());
    }
}
