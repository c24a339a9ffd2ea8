//! The options of `ddkit heat` (each also a key of its `--config` TOML) and their resolution
//! into [`HeatParams`]: time steps or a dt schedule, output, checkpoints and restarts, the
//! linear solver of implicit steps.

use super::{
    count, finish, list_keys, parse_name, read_config, say, start, CheckpointArgs, HeatSolverArgs, Notes, ProblemArgs,
    Resolved, HEAT_NOT_SOLVER, SOLVER,
};
use crate::comm::{Comm, HaloMode};
use crate::error::{Error, Result};
use crate::fem::MassKind;
use crate::pde::Exact;
use crate::problems::heat::{self, Discretization, HeatParams, Scheme};
use crate::solver::{Overrides, SolverConfig};
use crate::time::{DtSchedule, DEFAULT_MAX_STEPS};
use clap::Args;
use std::path::PathBuf;

/// Options of `ddkit heat`; each is also a TOML key of `--config`.
#[derive(Args, Debug, Default, Clone, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct HeatArgs {
    /// TOML file with any of these options as keys (e.g. `kappa = 0.5`, `grid = "64x64"`); flags win.
    #[arg(long, value_name = "FILE.toml")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Mesh, discretization, coefficient, boundary conditions, partitioner.
    #[command(flatten)]
    #[serde(flatten)]
    pub problem: ProblemArgs,
    /// Number of time steps [default: 100 when --t-final is not given, or for implicit schemes].
    #[arg(long, allow_hyphen_values = true, value_parser = count)]
    pub steps: Option<usize>,
    /// Time step; must not exceed the explicit stability limit [default: cfl × limit].
    #[arg(long, allow_hyphen_values = true)]
    pub dt: Option<f64>,
    /// Final time.
    #[arg(long, value_name = "T", allow_hyphen_values = true)]
    pub t_final: Option<f64>,
    /// Fraction of the stable step used when --dt is not given [default: 0.9].
    #[arg(long, allow_hyphen_values = true)]
    pub cfl: Option<f64>,
    /// Refuse runs that need more steps than this (a tiny --dt or a huge --kappa) before they start [default: 100000000].
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = count)]
    pub max_steps: Option<usize>,
    /// Built-in exact solution: mode (decaying, f = 0), manufactured (with source) or none [default: mode].
    #[arg(long, value_name = "mode|manufactured|none")]
    pub exact: Option<String>,
    /// Constant source term f added to the problem's own [default: 0].
    #[arg(long, allow_hyphen_values = true)]
    pub source: Option<f64>,
    /// Mass matrix of implicit finite-element steps: lumped (P1 only) or consistent (explicit steps need lumped) [default: lumped for p1, consistent for p2].
    #[arg(long, value_name = "lumped|consistent")]
    pub mass: Option<String>,
    /// Output directory for heat.h5 + heat.xdmf (no output when absent).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write a snapshot every N steps (0: initial and final only) [default: 0].
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = count)]
    pub snapshot_every: Option<usize>,
    /// Complete each halo exchange before computing (no overlap), for comparison.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub no_overlap: Option<bool>,
    /// Write a JSON summary (ranks, sizes, timings, errors, partition quality) to this file.
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
    /// Time stepping: explicit (forward Euler), be or implicit (backward Euler), cn (Crank–Nicolson) [default: explicit].
    #[arg(long, value_name = "explicit|implicit|be|cn")]
    pub scheme: Option<String>,
    /// Implicit schemes: steps as DT:N stretches, e.g. 1e-3:10,5e-4:20 (10 steps of 1e-3, then 20 of 5e-4); each change of dt updates the matrices' values and the solver numerically (instead of --steps, --dt, --t-final).
    #[arg(long, value_name = "DT:N,DT:N,...")]
    pub dt_schedule: Option<String>,
    /// Checkpoints and restarts.
    #[command(flatten)]
    #[serde(flatten)]
    pub checkpoint: CheckpointArgs,
    /// Linear solver of implicit steps: preset and overrides (GMRES's restart length is --set solver.krylov.restart=N here).
    #[command(flatten)]
    #[serde(skip)]
    pub solver: HeatSolverArgs,
    /// Print progress every 10% of the steps [default: true].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub progress: Option<bool>,
}

/// Resolves heat options (flags over config) into parameters, the report path and warnings.
pub fn heat_params(mut a: HeatArgs) -> Result<Resolved<HeatParams>> {
    let (mut f, solver_file): (HeatArgs, _) = read_config(a.config.as_deref(), HEAT_NOT_SOLVER)?;
    merge!(a, f; steps, dt, t_final, cfl, max_steps, exact, source, mass, out, snapshot_every, no_overlap, report, progress, scheme);
    merge!(a, f; dt_schedule);
    let (checkpoint, restart) = a.checkpoint.clone().resolve(f.checkpoint, a.out.as_deref())?;
    let mut notes = Notes::new();
    // Taken out of `a`, which the notes on ignored flags still read.
    let problem = std::mem::take(&mut a.problem).resolve(f.problem)?;
    let (solver, overrides) = std::mem::take(&mut a.solver.0).resolve(solver_file)?;
    let exact = parse_exact(a.exact.as_deref().unwrap_or("mode"))?;
    let scheme = parse_scheme(a.scheme.as_deref().unwrap_or("explicit"))?;
    let mass = match &a.mass {
        Some(m) => parse_name("mass", m)?,
        // P2 has no usable lumped mass (its row sums vanish at the corners).
        None if problem.discretization == Discretization::P2 => MassKind::Consistent,
        None => MassKind::Lumped,
    };
    let explicit = scheme == Scheme::Explicit;
    solver_key_notes(&mut notes, explicit, &overrides, &solver);
    ignored_flag_notes(&mut notes, &a, explicit);
    let params = HeatParams {
        mass,
        kappa_regions: problem.kappa_regions,
        contrast: problem.contrast,
        scheme,
        solver,
        partitioner: problem.partitioner,
        mesh: problem.mesh,
        discretization: problem.discretization,
        kappa: problem.kappa,
        steps: a.steps,
        dt: a.dt,
        t_final: a.t_final,
        cfl: a.cfl.unwrap_or(0.9),
        max_steps: a.max_steps.unwrap_or(DEFAULT_MAX_STEPS),
        out: a.out,
        snapshot_every: a.snapshot_every.unwrap_or(0),
        exact,
        source: a.source.unwrap_or(0.0),
        bc: problem.bc,
        halo_mode: if a.no_overlap.unwrap_or(false) {
            HaloMode::Blocking
        } else {
            HaloMode::Overlap
        },
        progress: a.progress.unwrap_or(true),
        dt_schedule: a.dt_schedule.as_deref().map(DtSchedule::parse).transpose()?,
        checkpoint,
        restart,
    };
    Ok(Resolved {
        params,
        report: a.report,
        notes,
    })
}

/// The `--exact` choice: the mode, the manufactured solution or none.
fn parse_exact(name: &str) -> Result<Option<Exact>> {
    match name {
        "mode" => Ok(Some(Exact::Mode)),
        "manufactured" => Ok(Some(Exact::Manufactured)),
        "none" => Ok(None),
        o => Err(Error::input(format!(
            "unknown exact solution '{o}' (expected mode, manufactured or none)"
        ))),
    }
}

/// The `--scheme` choice: explicit steps, backward Euler (θ = 1) or Crank–Nicolson (θ = ½).
fn parse_scheme(name: &str) -> Result<Scheme> {
    match name {
        "explicit" => Ok(Scheme::Explicit),
        "implicit" | "be" => Ok(Scheme::Implicit { theta: 1.0 }),
        "cn" => Ok(Scheme::Implicit { theta: 0.5 }),
        o => Err(Error::input(format!(
            "unknown scheme '{o}' (expected explicit, implicit, be or cn)"
        ))),
    }
}

/// Notes on the solver keys given: for explicit steps all of them are ignored, for implicit
/// ones those the configured solver does not use.
fn solver_key_notes(notes: &mut Notes, explicit: bool, overrides: &Overrides, solver: &SolverConfig) {
    if explicit {
        // The solver keys' own warnings say nothing when no solve happens at all.
        let keys = overrides.given(SOLVER);
        if let Some((last, rest)) = keys.split_last() {
            let list = match rest {
                [] => format!("{last} is"),
                _ => format!("{} and {last} are", rest.join(", ")),
            };
            notes.push(format!(
                "{list} ignored: the linear solver is used by implicit steps only (--scheme be or cn)"
            ));
        }
    } else {
        notes.extend(overrides.unused(SOLVER, solver));
    }
}

/// Notes on the flags given that the resolved run ignores.
fn ignored_flag_notes(notes: &mut Notes, a: &HeatArgs, explicit: bool) {
    let ignored = [
        (a.cfl.is_some() && a.dt.is_some(), "--cfl is ignored: --dt is given"),
        (
            a.cfl.is_some() && !explicit,
            "--cfl is ignored: implicit steps have no stability limit",
        ),
        (
            a.no_overlap.is_some() && !explicit,
            "--no-overlap is ignored: it applies to explicit steps",
        ),
        (
            a.snapshot_every.is_some() && a.out.is_none(),
            "--snapshot-every is ignored: no --out directory is given",
        ),
    ];
    notes.extend(ignored.iter().filter(|(on, _)| *on).map(|(_, n)| n.to_string()));
}

/// Collective: `ddkit heat`: resolves the options, runs, prints the outcome and writes the report.
pub(super) fn run_heat(comm: &Comm, a: HeatArgs) -> Result<()> {
    if a.solver.0.list_keys {
        return list_keys(comm);
    }
    let (params, report_path) = start(comm, heat_params(a))?;
    let s = heat::run(comm, &params)?;
    if comm.is_root() {
        let err = s.error.map_or(String::new(), |e| {
            format!(
                ", L2 error {:.3e} (relative {:.3e}), max {:.3e}",
                e.l2, e.l2_relative, e.linf
            )
        });
        let mut text = format!(
            "heat: {} cells, {} steps to t = {:.4e} on {} rank(s) in {:.3} s{err}\n",
            s.cells, s.steps, s.t_final, s.ranks, s.wall.total
        );
        text += &format!(
            "time: setup {:.3} s, compute {:.3} s, communication {:.3} s, output {:.3} s\n",
            s.wall.setup, s.wall.compute, s.wall.communication, s.wall.output
        );
        if let Some(x) = &s.output {
            text += &format!("wrote {} and {}\n", x.with_extension("h5").display(), x.display());
        }
        say(&text);
    }
    finish(comm, report_path.as_deref(), &s, s.failure.as_deref())
}
