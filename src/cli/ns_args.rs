//! The options of `ddkit navier-stokes` (each also a key of its `--config` TOML) and their
//! resolution into [`NsParams`]: the case, the flow's boundary conditions by name, the time
//! step, output, and the three solvers (`momentum`, `pressure`, `correction`, each a preset
//! with `--set NAME.KEY=VALUE` overrides).

use super::{finish, read_config, say, start, CheckpointArgs, DomainArgs, Resolved};
use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::problems::navier_stokes::bc::{Boundary, ExactFlow, Profile};
use crate::problems::navier_stokes::cases::{Case, Dfg, DFG_DIAMETER, DFG_HEIGHT};
use crate::problems::navier_stokes::scheme::Solvers;
use crate::problems::navier_stokes::{self, NsParams, TimeStep};
use crate::problems::MeshSource;
use crate::solver::Overrides;
use clap::Args;
use std::path::{Path, PathBuf};

/// The three solvers of a step, by name (the roots of `--set`).
const SOLVERS: [&str; 3] = ["momentum", "pressure", "correction"];

/// Options of `ddkit navier-stokes`; each is also a TOML key of `--config`.
#[derive(Args, Debug, Default, Clone, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct NsArgs {
    /// TOML file with any of these options as keys (e.g. `re = 400`, `grid = "64x64"`); flags win.
    #[arg(long, value_name = "FILE.toml")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// cavity (lid-driven, unit square or cube on --grid; lid `ymax` moving in x), cylinder (the DFG channel, --dfg benchmark, on meshes/dfg_channel_o2.msh unless --mesh; drag, lift, Δp), taylor-green (the decaying vortex on the unit square, exact velocity on the boundary, errors reported), beltrami (the 3D Beltrami flow of Ethier & Steinman on the unit cube, likewise) or mesh (any --mesh with --bc for every boundary) [default: cavity].
    #[arg(long, value_name = "cavity|cylinder|taylor-green|beltrami|mesh")]
    pub case: Option<String>,
    /// The DFG benchmark of --case cylinder: 2d-1 (Re 20, steady), 2d-2 (Re 100, periodic), 2d-3 (inflow ramped by sin(πt/8), 0 ≤ t ≤ 8), 3d-1z (the 3D channel, Re 20, steady; needs --mesh, e.g. from meshes/dfg_channel3d.geo) [default: 2d-1].
    #[arg(long, value_name = "2d-1|2d-2|2d-3|3d-1z")]
    pub dfg: Option<String>,
    /// Grid or mesh and partitioner [default for the cavity: --grid 32x32].
    #[command(flatten)]
    #[serde(flatten)]
    pub domain: DomainArgs,
    /// Reynolds number U L / ν with the case's speed and length (cavity: 1 and 1; cylinder: the mean inflow Ū, 2/3 of its peak in 2D and 4/9 in 3D, and the diameter 0.1); sets ν [default: 100; cylinder 2d-1 and 3d-1z: 20].
    #[arg(long, allow_hyphen_values = true)]
    pub re: Option<f64>,
    /// Kinematic viscosity ν (instead of --re).
    #[arg(long, allow_hyphen_values = true)]
    pub nu: Option<f64>,
    /// Flow condition per boundary name: wall (no slip), outflow (do nothing), velocity:UX,UY[,UZ], or parabolic:PEAK,HEIGHT[,RAMP] (4·PEAK·y(H−y)/H² in x, times sin(πt/RAMP)) (repeatable; the cavity's sides are preset).
    #[arg(long, value_name = "NAME=CONDITION")]
    pub bc: Option<Vec<String>>,
    /// Reference speed U for the CFL number and Re (the cylinder's is its Ū) [default: 1].
    #[arg(long, allow_hyphen_values = true)]
    pub speed: Option<f64>,
    /// Time step (instead of --cfl).
    #[arg(long, allow_hyphen_values = true)]
    pub dt: Option<f64>,
    /// Δt = CFL · h / U with h the smallest node distance [default: 1].
    #[arg(long, allow_hyphen_values = true)]
    pub cfl: Option<f64>,
    /// Final time [default: cavity 50 and cylinder 2d-1 30 (both stop earlier at a steady state), 2d-2 30, 2d-3 8; 1 otherwise].
    #[arg(long, value_name = "T", allow_hyphen_values = true)]
    pub t_end: Option<f64>,
    /// Stop at a steady state, when max|uⁿ⁺¹ − uⁿ|/Δt < TOL; a run that ends without one fails (0: run to --t-end, no criterion) [default: 1e-6 for the cavity and cylinder 2d-1; none otherwise].
    #[arg(long, value_name = "TOL", allow_hyphen_values = true)]
    pub steady_tol: Option<f64>,
    /// Output directory for the series (STEM.h5 + STEM.xdmf: velocity, pressure) and the case's files.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write a snapshot every N steps (0: the first and the last state only) [default: 0].
    #[arg(long, value_name = "N")]
    pub snapshot_every: Option<usize>,
    /// Pressure update of the projection: rotational (pⁿ⁺¹ = pⁿ + φ − ν∇·u*, no artificial pressure boundary layer) or standard (pⁿ + φ) [default: rotational].
    #[arg(long, value_name = "rotational|standard")]
    pub pressure_update: Option<String>,
    /// Momentum solver preset (non-symmetric with convection) [default: gmres-ras].
    #[arg(long, value_name = "NAME|FILE.toml")]
    pub momentum_solver: Option<String>,
    /// Pressure solver preset (CG with a two-level Schwarz preconditioner, set up once) [default: cg-nicolaides].
    #[arg(long, value_name = "NAME|FILE.toml")]
    pub pressure_solver: Option<String>,
    /// Velocity-correction (mass matrix) solver preset, also for the rotational update's pressure-mass solve [default: cg-jacobi].
    #[arg(long, value_name = "NAME|FILE.toml")]
    pub correction_solver: Option<String>,
    /// Set a key of a solver's tree over its preset, e.g. --set pressure.krylov.rtol=1e-10 (repeatable; NAME is momentum, pressure or correction).
    #[arg(long, value_name = "NAME.KEY=VALUE", allow_hyphen_values = true)]
    #[serde(skip)]
    pub set: Vec<String>,
    /// Checkpoints (velocity, pressure, the previous velocity of BDF2, time, step) and restarts on any number of ranks; the flow, dt and pressure update must match.
    #[command(flatten)]
    #[serde(flatten)]
    pub checkpoint: CheckpointArgs,
    /// Write a JSON summary (per-step iterations, timings, quantities of interest).
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
}

/// Parses one `NAME=CONDITION` of `--bc`.
fn parse_bc(item: &str) -> Result<(String, Boundary)> {
    let bad = |why: &str| Error::input(format!("--bc '{item}': {why}"));
    let (name, cond) = item.split_once('=').ok_or_else(|| bad("expected NAME=CONDITION"))?;
    let (kind, args) = cond.split_once(':').unwrap_or((cond, ""));
    let nums: Vec<f64> = if args.is_empty() {
        Vec::new()
    } else {
        args.split(',')
            .map(|v| v.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
            .collect::<Option<_>>()
            .ok_or_else(|| bad("the values must be finite numbers"))?
    };
    let b = match (kind, nums.as_slice()) {
        ("wall", []) => Boundary::Wall,
        ("outflow", []) => Boundary::Outflow,
        ("velocity", [x, y]) => Boundary::Velocity(Profile::Uniform {
            velocity: [*x, *y, 0.0],
        }),
        ("velocity", [x, y, z]) => Boundary::Velocity(Profile::Uniform { velocity: [*x, *y, *z] }),
        ("parabolic", [peak, height]) | ("parabolic", [peak, height, _]) if *height > 0.0 => {
            Boundary::Velocity(Profile::Parabolic {
                peak: *peak,
                height: *height,
                ramp: nums.get(2).copied().filter(|r| *r > 0.0),
            })
        }
        _ => {
            return Err(bad(
                "expected wall, outflow, velocity:UX,UY[,UZ] or parabolic:PEAK,HEIGHT[,RAMP] (HEIGHT > 0)",
            ))
        }
    };
    Ok((name.to_string(), b))
}

/// A positive finite number, or the error naming its flag.
fn positive(flag: &str, v: Option<f64>) -> Result<Option<f64>> {
    match v {
        Some(x) if !(x > 0.0 && x.is_finite()) => Err(Error::input(format!("--{flag} must be positive, got {x}"))),
        v => Ok(v),
    }
}

/// Resolves the options (flags over config).
pub fn ns_params(mut a: NsArgs) -> Result<Resolved<NsParams>> {
    // `restart` is this command's key (the checkpoint), not GMRES's restart length.
    let (mut f, _): (NsArgs, _) = read_config(a.config.as_deref(), &["restart"])?;
    merge!(a, f; case, dfg, re, nu, pressure_update, bc, speed, dt, cfl, t_end, steady_tol, out, snapshot_every,
        momentum_solver, pressure_solver, correction_solver, report);
    let case = case_of(a.case.as_deref(), a.dfg.as_deref())?;
    // The bundled cases' domains unless one is given.
    let given = a.domain.grid.is_some() || a.domain.mesh.is_some();
    match case {
        Case::Cavity | Case::Exact(ExactFlow::TaylorGreen) if !given && f.domain.grid.is_none() => {
            a.domain.grid = Some("32x32".into())
        }
        Case::Exact(ExactFlow::Beltrami) if !given && f.domain.grid.is_none() => a.domain.grid = Some("8x8x8".into()),
        Case::Cylinder(Dfg::Steady3d) if !given && f.domain.mesh.is_none() => {
            return Err(Error::input(
                "--dfg 3d-1z needs a 3D channel: --mesh FILE.msh, e.g. from \
                 gmsh -3 -order 2 meshes/dfg_channel3d.geo -o dfg3d.msh (benchmarks/navier_stokes.sh, case dfg3d)",
            ))
        }
        Case::Cylinder(_) if !given && f.domain.mesh.is_none() => {
            a.domain.mesh = Some(bundled_mesh("dfg_channel_o2.msh"))
        }
        _ => {}
    }
    let (speed, length, nu) = viscosity(case, &a)?;
    let (solvers, notes) = solvers_of(&a)?;
    let (source, partitioner) = a.domain.resolve(f.domain)?;
    let mut boundaries = case_boundaries(case, &source, nu)?;
    for item in a.bc.iter().flatten() {
        let (name, cond) = parse_bc(item)?;
        boundaries.retain(|(n, _)| *n != name);
        boundaries.push((name, cond));
    }
    let dt = match (positive("dt", a.dt)?, positive("cfl", a.cfl)?) {
        (Some(_), Some(_)) => return Err(Error::input("give either --dt or --cfl, not both")),
        (Some(dt), None) => TimeStep::Fixed(dt),
        (None, c) => TimeStep::Cfl(c.unwrap_or(1.0)),
    };
    let (t_end, steady) = match case {
        Case::Cavity => (50.0, Some(1e-6)),
        Case::Cylinder(Dfg::Steady | Dfg::Steady3d) => (30.0, Some(1e-6)),
        Case::Cylinder(Dfg::Periodic) => (30.0, None),
        Case::Cylinder(Dfg::Unsteady) => (8.0, None),
        Case::Exact(_) | Case::Custom => (1.0, None),
    };
    let (checkpoint, restart) = a.checkpoint.resolve(f.checkpoint, a.out.as_deref())?;
    let params = NsParams {
        case,
        source,
        partitioner,
        boundaries,
        nu,
        speed,
        length,
        dt,
        t_end: positive("t-end", a.t_end)?.unwrap_or(t_end),
        steady_tol: match a.steady_tol {
            Some(0.0) => None,
            tol => positive("steady-tol", tol)?.or(steady),
        },
        out: a.out,
        snapshot_every: a.snapshot_every.unwrap_or(0),
        solvers,
        rotational: match a.pressure_update.as_deref().unwrap_or("rotational") {
            "rotational" => true,
            "standard" => false,
            o => {
                return Err(Error::input(format!(
                    "unknown --pressure-update '{o}' (expected rotational or standard)"
                )))
            }
        },
        checkpoint,
        restart,
    };
    Ok(Resolved {
        params,
        report: a.report,
        notes,
    })
}

/// The case of `--case` and `--dfg`.
fn case_of(case: Option<&str>, dfg: Option<&str>) -> Result<Case> {
    Ok(match case.unwrap_or("cavity") {
        "cavity" => Case::Cavity,
        "taylor-green" => Case::Exact(ExactFlow::TaylorGreen),
        "beltrami" => Case::Exact(ExactFlow::Beltrami),
        "cylinder" => Case::Cylinder(match dfg.unwrap_or("2d-1") {
            "2d-1" => Dfg::Steady,
            "2d-2" => Dfg::Periodic,
            "2d-3" => Dfg::Unsteady,
            "3d-1z" => Dfg::Steady3d,
            o => {
                return Err(Error::input(format!(
                    "unknown --dfg '{o}' (expected 2d-1, 2d-2, 2d-3 or 3d-1z)"
                )))
            }
        }),
        "mesh" => Case::Custom,
        o => {
            return Err(Error::input(format!(
                "unknown case '{o}' (expected cavity, cylinder, taylor-green, beltrami or mesh)"
            )))
        }
    })
}

/// The reference speed and length of the case and the viscosity from `--re` or `--nu`: the
/// cylinder's Reynolds number is Ū D / ν with the mean inflow speed and the diameter.
fn viscosity(case: Case, a: &NsArgs) -> Result<(f64, f64, f64)> {
    let (speed, length, re_default) = match case {
        Case::Cylinder(dfg) => (dfg.mean_speed(), DFG_DIAMETER, if dfg.steady() { 20.0 } else { 100.0 }),
        _ => (positive("speed", a.speed)?.unwrap_or(1.0), 1.0, 100.0),
    };
    let nu = match (positive("re", a.re)?, positive("nu", a.nu)?) {
        (Some(_), Some(_)) => return Err(Error::input("give either --re or --nu, not both")),
        (None, Some(nu)) => nu,
        (re, None) => speed * length / re.unwrap_or(re_default),
    };
    Ok((speed, length, nu))
}

/// A mesh of `meshes/`: under the working directory when there, else in the source tree this
/// binary was built from (so the bundled cases run from any directory).
fn bundled_mesh(name: &str) -> PathBuf {
    let here = Path::new("meshes").join(name);
    match here.exists() {
        true => here,
        false => Path::new(env!("CARGO_MANIFEST_DIR")).join("meshes").join(name),
    }
}

/// The bundled case's conditions by boundary name (`--bc` may replace or add to them); the
/// cavity is refused on a mesh file or an odd grid (its profiles are read on grid lines).
fn case_boundaries(case: Case, source: &MeshSource, nu: f64) -> Result<Vec<(String, Boundary)>> {
    let named = |names: &[&str], b: Boundary| names.iter().map(|n| (n.to_string(), b.clone())).collect::<Vec<_>>();
    Ok(match case {
        Case::Cavity => {
            let dims = match source {
                MeshSource::Grid(d) if d.iter().all(|n| n % 2 == 0) => d,
                MeshSource::Grid(_) => {
                    return Err(Error::input(
                        "the cavity needs an even number of cells per side (its centre lines are grid lines)",
                    ))
                }
                MeshSource::File(_) => {
                    return Err(Error::input(
                        "the cavity runs on --grid; use --case mesh for a mesh file",
                    ))
                }
            };
            let walls: &[&str] = if dims.len() == 3 {
                &["xmin", "xmax", "ymin", "zmin", "zmax"]
            } else {
                &["xmin", "xmax", "ymin"]
            };
            let lid = Boundary::Velocity(Profile::Uniform {
                velocity: [1.0, 0.0, 0.0],
            });
            [named(walls, Boundary::Wall), named(&["ymax"], lid)].concat()
        }
        Case::Cylinder(dfg) => {
            let inflow = Profile::Parabolic {
                peak: dfg.peak(),
                height: DFG_HEIGHT,
                ramp: dfg.ramp(),
            };
            [
                named(&["inflow"], Boundary::Velocity(inflow)),
                named(&["outflow"], Boundary::Outflow),
                named(&["walls", "cylinder"], Boundary::Wall),
            ]
            .concat()
        }
        Case::Exact(flow) => {
            if matches!(source, MeshSource::Grid(d) if d.len() != flow.dim()) {
                return Err(Error::input(format!(
                    "the {} case is {}D: give a {}D --grid",
                    case.stem(),
                    flow.dim(),
                    flow.dim()
                )));
            }
            let sides: &[&str] = match flow.dim() {
                3 => &["xmin", "xmax", "ymin", "ymax", "zmin", "zmax"],
                _ => &["xmin", "xmax", "ymin", "ymax"],
            };
            named(sides, Boundary::Velocity(Profile::Exact { flow, nu }))
        }
        Case::Custom => Vec::new(),
    })
}

/// The three solvers: presets (`--momentum-solver` …) and `--set` overrides, with the notes
/// on keys that have no effect.
fn solvers_of(a: &NsArgs) -> Result<(Solvers, Vec<String>)> {
    let mut o = Overrides::new(&SOLVERS);
    for (name, preset) in SOLVERS
        .iter()
        .zip([&a.momentum_solver, &a.pressure_solver, &a.correction_solver])
    {
        if let Some(p) = preset {
            o.preset(name, p, &format!("--{name}-solver"))?;
        }
    }
    for s in &a.set {
        o.set(s)?;
    }
    let solvers = Solvers {
        momentum: o.resolve("momentum", "gmres-ras")?,
        pressure: o.resolve("pressure", "cg-nicolaides")?,
        correction: o.resolve("correction", "cg-jacobi")?,
    };
    let notes = SOLVERS
        .iter()
        .zip([&solvers.momentum, &solvers.pressure, &solvers.correction])
        .flat_map(|(n, c)| o.unused(n, c))
        .collect();
    Ok((solvers, notes))
}

/// `ddkit navier-stokes`.
pub fn run_navier_stokes(comm: &Comm, a: NsArgs) -> Result<()> {
    let (params, report_path) = start(comm, ns_params(a))?;
    let s = navier_stokes::run(comm, &params)?;
    if comm.is_root() {
        let mean = |v: &[usize]| v.iter().sum::<usize>() as f64 / v.len().max(1) as f64;
        let it = &s.iterations;
        let mut text = format!(
            "navier-stokes {}: Re {:.4} on {} rank(s), {} velocity and {} pressure nodes: {} steps of {:.4e} to t = {:.4e}, steady residual {:.3e}\n",
            s.case, s.reynolds, s.ranks, s.velocity_nodes, s.pressure_nodes, s.steps, s.dt, s.t_final, s.steady_residual
        );
        text += &format!(
            "iterations per step (mean): momentum {:.1}, pressure {:.1}, correction {:.1}; seconds per step: {:.4} / {:.4} / {:.4}; total {:.2} s\n",
            mean(&it.momentum),
            mean(&it.pressure),
            mean(&it.correction),
            s.timings.momentum_per_step,
            s.timings.pressure_per_step,
            s.timings.correction_per_step,
            s.timings.total
        );
        if let Some(m) = s.quantities.as_object() {
            for (k, v) in m {
                text += &format!("{k}: {v}\n");
            }
        }
        for f in &s.files {
            text += &format!("wrote {}\n", f.display());
        }
        say(&text);
    }
    finish(comm, report_path.as_deref(), &s, s.failure.as_deref())
}
