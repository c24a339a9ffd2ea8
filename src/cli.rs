//! The command line: `ddkit heat`, `ddkit poisson` and `ddkit partition`. Every option of a command is also a key
//! of its `--config FILE.toml` (same spelling as the long flag without `--`); flags win. The
//! linear solver's keys are also a `[solver]` table of that file and `--set solver.KEY=VALUE`
//! ([`SolverArgs`]). Rank 0 prints; every rank exits with the same status.

use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::mesh::structured::parse_grid;
use crate::mesh::Adjacency;
use crate::partition::Method;
use crate::pde::BcKind;
use crate::problems::heat::Discretization;
use crate::problems::poisson::{self, PoissonParams};
use crate::problems::restart::CheckpointParams;
use crate::problems::{load_mesh, partition_collective, MeshSource};
use crate::solver::FLAT_KEYS;
use clap::{Args, Parser, Subcommand};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod solver_args;

use solver_args::{key_listing, HEAT_NOT_SOLVER, SOLVER};

/// Flag value if given, else the config file's.
macro_rules! merge {
    ($flags:expr, $file:expr; $($f:ident),*) => { $( if $flags.$f.is_none() { $flags.$f = $file.$f.take(); } )* };
}
pub use solver_args::{HeatSolverArgs, SolverArgs};

/// ddkit: domain-decomposition PDE solvers under MPI. Run with `mpirun -np N ddkit <command>`.
#[derive(Parser, Debug)]
#[command(name = "ddkit", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Log on every rank (prefixed with the rank), not only on rank 0.
    #[arg(long, global = true)]
    pub verbose: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once per run: the size of the options is no cost
pub enum Command {
    /// Heat equation u_t = ∇·(κ∇u) + f, explicit or implicit (FD on --grid, P1/P2 on --mesh), with HDF5/XDMF output.
    Heat(HeatArgs),
    /// Poisson -∇·(κ∇u) = f (FD on --grid, P1/P2 on --mesh) solved with a Krylov solver preset.
    Poisson(PoissonArgs),
    /// Incompressible Navier–Stokes on Taylor–Hood P2/P1 (pressure correction, BDF2): the lid-driven cavity or any mesh with flow conditions by boundary name.
    NavierStokes(NsArgs),
    /// Partition a mesh or grid and print the partition report (edge cut, imbalance, neighbours).
    Partition(PartitionArgs),
}

/// The domain options every command shares: grid or mesh, and how it is partitioned.
#[derive(Args, Debug, Default, Clone, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DomainArgs {
    /// Structured unit-box grid of NXxNY or NXxNYxNZ cells.
    #[arg(long, value_name = "NXxNY[xNZ]")]
    pub grid: Option<String>,
    /// Gmsh mesh file (MSH 4.1 or 2.2, ASCII or binary; triangles in a plane z = const, or tetrahedra).
    #[arg(long, value_name = "FILE.msh")]
    pub mesh: Option<PathBuf>,
    /// Partitioner: metis (k-way), metis-rb (recursive bisection) or blocks (grids) [default: blocks on --grid, metis on --mesh].
    #[arg(long, value_name = "metis|metis-rb|blocks")]
    pub partitioner: Option<String>,
    /// Process grid for the blocks partitioner, e.g. 2x1 [default: chosen to minimize the cut].
    #[arg(long, value_name = "PXxPY[xPZ]")]
    pub proc_grid: Option<String>,
}

/// The problem options `ddkit heat` and `ddkit poisson` share: domain, discretization,
/// coefficient and boundary conditions.
#[derive(Args, Debug, Default, Clone, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ProblemArgs {
    /// Grid or mesh and partitioner.
    #[command(flatten)]
    #[serde(flatten)]
    pub domain: DomainArgs,
    /// Spatial discretization: fd (grids), p1 or p2 (meshes; grids are split into simplices; p2 heat needs --scheme be|cn) [default: fd on --grid, p1 on --mesh].
    #[arg(long, value_name = "fd|p1|p2")]
    pub discretization: Option<String>,
    /// Diffusion coefficient κ > 0 [default: 1].
    #[arg(long, allow_hyphen_values = true)]
    pub kappa: Option<f64>,
    /// κ of a cell region of the mesh, e.g. --kappa-region inclusion=1e3 (repeatable; by name or tag number; other cells keep --kappa; needs --exact none).
    #[arg(long, value_name = "REGION=VALUE")]
    pub kappa_region: Option<Vec<String>>,
    /// Built-in high-contrast coefficient: channels and inclusions of κ = C × --kappa in a --kappa background, C ≥ 1 (1: uniform; above 1 needs --exact none; not with --kappa-region) [default: 1].
    #[arg(long, value_name = "C", allow_hyphen_values = true)]
    pub contrast: Option<f64>,
    /// Boundary condition per boundary name, e.g. --bc xmin=neumann or --bc xmax=robin:2 for κ∂u/∂n + 2u = g (repeatable; others Dirichlet).
    #[arg(long, value_name = "NAME=dirichlet|neumann|robin:ALPHA")]
    pub bc: Option<Vec<String>>,
}

/// Options of `ddkit poisson`; each is also a TOML key of `--config`.
#[derive(Args, Debug, Default, Clone, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PoissonArgs {
    /// TOML file with any of these options as keys; flags win.
    #[arg(long, value_name = "FILE.toml")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Mesh, discretization, coefficient, boundary conditions, partitioner.
    #[command(flatten)]
    #[serde(flatten)]
    pub problem: ProblemArgs,
    /// manufactured (u = Π sin(πx_i + π/4), errors reported) or none (f = --source, zero boundary data) [default: manufactured].
    #[arg(long, value_name = "manufactured|none")]
    pub exact: Option<String>,
    /// Constant source added to f [default: 0 with the manufactured solution, 1 without].
    #[arg(long, allow_hyphen_values = true)]
    pub source: Option<f64>,
    /// Linear solver: preset and overrides.
    #[command(flatten)]
    #[serde(skip)]
    pub solver: SolverArgs,
    /// Output directory for poisson.h5 + poisson.xdmf.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write a JSON summary (iterations, residual history, set-up/solve times, errors).
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
}

/// The checkpoint options every time-dependent command shares; each is also a key of its
/// `--config` TOML.
#[derive(Args, Debug, Default, Clone, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CheckpointArgs {
    /// Write a checkpoint every N steps (and at the end of the run) to --checkpoint-dir [default: 0, none].
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = count)]
    pub checkpoint_every: Option<usize>,
    /// Write a checkpoint every SECONDS of wall time (and at the end), decided by all ranks together.
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
    pub checkpoint_interval: Option<f64>,
    /// Directory of the checkpoint file checkpoint.h5 (alone: one checkpoint at the end) [default: OUT/checkpoints with --out and a cadence].
    #[arg(long, value_name = "DIR")]
    pub checkpoint_dir: Option<PathBuf>,
    /// Continue the run of this checkpoint from its step and time, on any number of ranks (the problem options must match; the final time, output, solvers and checkpoints may change).
    #[arg(long, value_name = "FILE.h5")]
    pub restart: Option<PathBuf>,
}

impl CheckpointArgs {
    /// The options with the config file's `file` filling what no flag gave, resolved with the
    /// run's `--out`: the checkpoint cadence and directory (`None`: no checkpoints) and the
    /// checkpoint to continue.
    fn resolve(
        mut self,
        mut file: CheckpointArgs,
        out: Option<&Path>,
    ) -> Result<(Option<CheckpointParams>, Option<PathBuf>)> {
        merge!(self, file; checkpoint_every, checkpoint_interval, checkpoint_dir, restart);
        if let Some(s) = self.checkpoint_interval {
            if !(s > 0.0 && s.is_finite()) {
                return Err(Error::input(format!(
                    "checkpoint-interval must be a positive number of seconds, got {s}"
                )));
            }
        }
        let every = self.checkpoint_every.unwrap_or(0);
        let cadence = every > 0 || self.checkpoint_interval.is_some();
        let dir = match (self.checkpoint_dir, out) {
            (Some(d), _) => d,
            (None, Some(out)) if cadence => out.join("checkpoints"),
            (None, _) if cadence => {
                return Err(Error::input(
                    "checkpoints need a directory: give --checkpoint-dir DIR, or --out DIR (then DIR/checkpoints)",
                ))
            }
            (None, _) => return Ok((None, self.restart)),
        };
        let params = CheckpointParams {
            dir,
            every,
            interval: self.checkpoint_interval,
        };
        Ok((Some(params), self.restart))
    }
}

/// Options of `ddkit partition`.
#[derive(Args, Debug, Default, Clone, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PartitionArgs {
    /// TOML file with any of these options as keys; flags win.
    #[arg(long, value_name = "FILE.toml")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Grid or mesh and partitioner.
    #[command(flatten)]
    #[serde(flatten)]
    pub domain: DomainArgs,
    /// Number of parts [default: the number of ranks].
    #[arg(long, value_name = "K", allow_hyphen_values = true, value_parser = count)]
    pub parts: Option<usize>,
    /// Write the report as JSON to this file.
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
}

/// A solver key of a run's config file (`solver`, a preset name or a `[solver]` table, or a flat
/// alias such as `overlap`): its key, value and where it stands, for error messages.
type SolverEntry = (String, toml::Value, String);

/// Reads a TOML config into `T` (unknown keys are errors), and its solver keys apart: those are
/// resolved on the solver tree ([`SolverArgs::resolve`]). The keys are the long flags of `T`
/// without `--`, taken from its clap definition, so flags and keys cannot drift apart; the
/// check is done here rather than by serde's `deny_unknown_fields`, which does not work with the
/// `flatten`ed shared option groups.
/// `own` lists the flat solver aliases that `T` uses as keys of its own (heat's `restart`).
fn read_config<T: serde::de::DeserializeOwned + Default + Args>(
    path: Option<&Path>,
    own: &[&str],
) -> Result<(T, Vec<SolverEntry>)> {
    let Some(path) = path else {
        return Ok((T::default(), Vec::new()));
    };
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    let bad = |e: &dyn std::fmt::Display| {
        Error::Config(format!(
            "{}: {}",
            path.display(),
            e.to_string().lines().collect::<Vec<_>>().join(" ")
        ))
    };
    let mut table: toml::Table = toml::from_str(&text).map_err(|e| bad(&e))?;
    let cmd = T::augment_args(clap::Command::new("config"));
    let keys: Vec<String> = cmd
        .get_arguments()
        .map(|a| a.get_id().as_str().replace('_', "-"))
        .filter(|k| !["config", "set", "list-keys"].contains(&k.as_str()))
        .collect();
    if let Some(k) = table.keys().find(|k| !keys.contains(k)) {
        return Err(bad(&format!(
            "unknown field `{k}`, expected one of {}",
            keys.join(", ")
        )));
    }
    let solver_keys: Vec<String> = table
        .keys()
        .filter(|k| *k == SOLVER || (FLAT_KEYS.iter().any(|(f, _)| f == k) && !own.contains(&k.as_str())))
        .cloned()
        .collect();
    let mut entries = Vec::new();
    for k in solver_keys {
        let Some(v) = table.remove(&k) else { continue };
        let origin = match (&v, top_level_line(&text, &k)) {
            (toml::Value::Table(_), _) | (_, None) => path.display().to_string(),
            (_, Some(line)) => format!("{}: line {line}, key `{k}`", path.display()),
        };
        entries.push((k, v, origin));
    }
    match toml::Value::Table(table).try_into::<T>() {
        Ok(v) => Ok((v, entries)),
        Err(whole) => Err(bad(
            &type_error_position::<T>(&text).unwrap_or_else(|| whole.message().to_string())
        )),
    }
}

/// The line (from 1) of the top-level `key = ...` in TOML `text`: before the first table
/// header, where TOML keeps them. (toml's `Spanned` cannot hold a file with `[a.b]` tables.)
fn top_level_line(text: &str, key: &str) -> Option<usize> {
    let lines = text.lines().map(str::trim_start).take_while(|l| !l.starts_with('['));
    let mut found = lines.enumerate().filter(|(_, l)| {
        l.strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
    });
    found.next().map(|(i, _)| i + 1)
}

/// The line of byte `offset` in `text`, from 1.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

/// The first key of a config `text` whose value has the wrong type for `T`, with its line and
/// the type error. Deserializing the whole file loses the position (serde buffers the
/// `flatten`ed option groups, and toml then points at line 1), so each key is tried alone.
fn type_error_position<T: serde::de::DeserializeOwned>(text: &str) -> Option<String> {
    let spans: BTreeMap<String, toml::Spanned<toml::Value>> = toml::from_str(text).ok()?;
    let mut keys: Vec<_> = spans.iter().collect();
    keys.sort_by_key(|(_, v)| v.span().start);
    keys.into_iter().find_map(|(k, v)| {
        let one = toml::Table::from_iter([(k.clone(), v.get_ref().clone())]);
        let e = toml::Value::Table(one).try_into::<T>().err()?;
        let line = line_of(text, v.span().start);
        Some(format!("line {line}, key `{k}`: {}", e.message()))
    })
}

mod heat_args;
mod ns_args;

use heat_args::run_heat;
pub use heat_args::{heat_params, HeatArgs};
use ns_args::run_navier_stokes;
pub use ns_args::{ns_params, NsArgs};

fn mesh_source(grid: Option<&str>, mesh: Option<&Path>) -> Result<MeshSource> {
    match (grid, mesh) {
        (Some(_), Some(_)) => Err(Error::input("give either --grid or --mesh, not both")),
        (Some(g), None) => Ok(MeshSource::Grid(parse_grid(g)?)),
        (None, Some(m)) => Ok(MeshSource::File(m.to_path_buf())),
        (None, None) => Err(Error::input("no mesh: give --grid NXxNY[xNZ] or --mesh FILE.msh")),
    }
}

fn method(name: Option<&str>, proc_grid: Option<&str>, src: &MeshSource) -> Result<Method> {
    let pg = proc_grid
        .map(|s| {
            s.split('x')
                .map(|t| {
                    t.parse::<usize>()
                        .map_err(|_| Error::input(format!("--proc-grid '{s}': expected e.g. 2x2")))
                })
                .collect::<Result<Vec<_>>>()
        })
        .transpose()?;
    let default = if matches!(src, MeshSource::Grid(_)) {
        "blocks"
    } else {
        "metis"
    };
    Method::parse(name.unwrap_or(default), pg)
}

fn discretization(name: Option<&str>, mesh: &MeshSource) -> Result<Discretization> {
    match name {
        None if matches!(mesh, MeshSource::Grid(_)) => Ok(Discretization::Fd),
        None => Ok(Discretization::P1),
        Some("fd") => Ok(Discretization::Fd),
        Some("p1") => Ok(Discretization::P1),
        Some("p2") => Ok(Discretization::P2),
        Some(o) => Err(Error::input(format!(
            "unknown discretization '{o}' (expected fd, p1 or p2)"
        ))),
    }
}

fn parse_bcs(items: Option<&[String]>) -> Result<BTreeMap<String, BcKind>> {
    let mut bc = BTreeMap::new();
    for item in items.into_iter().flatten() {
        let (name, kind) = item
            .split_once('=')
            .ok_or_else(|| Error::input(format!("--bc '{item}': expected NAME=dirichlet|neumann|robin:ALPHA")))?;
        let kind = BcKind::parse(kind).map_err(|e| Error::input(format!("--bc '{item}': {e}")))?;
        if let Some(first) = bc.insert(name.to_string(), kind) {
            return Err(Error::input(format!(
                "--bc '{item}': boundary '{name}' already has a condition ({first:?}); give one --bc per boundary"
            )));
        }
    }
    Ok(bc)
}

/// Parses a count (steps, iterations, parts, ...): a whole number ≥ 0. As a clap value parser
/// it also makes `--steps -3` an invalid value instead of an unknown argument.
fn count(text: &str) -> std::result::Result<usize, String> {
    text.parse::<usize>()
        .map_err(|_| format!("expected a whole number >= 0, got '{text}'"))
}

/// Warnings about options that were given but have no effect, printed by rank 0 before the run.
type Notes = Vec<String>;

fn parse_kappa_regions(items: Option<&[String]>) -> Result<BTreeMap<String, f64>> {
    let mut regions = BTreeMap::new();
    for item in items.into_iter().flatten() {
        let parsed = item
            .split_once('=')
            .and_then(|(n, v)| Some((n, v.parse::<f64>().ok()?)));
        let (name, value) =
            parsed.ok_or_else(|| Error::input(format!("--kappa-region '{item}': expected REGION=VALUE")))?;
        regions.insert(name.to_string(), value);
    }
    Ok(regions)
}

/// The shared problem options, resolved.
struct Problem {
    mesh: MeshSource,
    discretization: Discretization,
    kappa: f64,
    kappa_regions: BTreeMap<String, f64>,
    contrast: f64,
    bc: BTreeMap<String, BcKind>,
    partitioner: Method,
}

impl DomainArgs {
    /// The mesh source and partitioning method, with the config file's `file` filling what no
    /// flag gave.
    fn resolve(mut self, mut file: DomainArgs) -> Result<(MeshSource, Method)> {
        merge!(self, file; grid, mesh, partitioner, proc_grid);
        let mesh = mesh_source(self.grid.as_deref(), self.mesh.as_deref())?;
        let method = method(self.partitioner.as_deref(), self.proc_grid.as_deref(), &mesh)?;
        Ok((mesh, method))
    }
}

impl ProblemArgs {
    /// The options with the config file's `file` filling what no flag gave, resolved.
    fn resolve(mut self, mut file: ProblemArgs) -> Result<Problem> {
        merge!(self, file; discretization, kappa, kappa_region, contrast, bc);
        let (mesh, partitioner) = self.domain.resolve(file.domain)?;
        Ok(Problem {
            discretization: discretization(self.discretization.as_deref(), &mesh)?,
            partitioner,
            mesh,
            kappa: self.kappa.unwrap_or(1.0),
            kappa_regions: parse_kappa_regions(self.kappa_region.as_deref())?,
            contrast: self.contrast.unwrap_or(1.0),
            bc: parse_bcs(self.bc.as_deref())?,
        })
    }
}

/// Resolved options of a command: its parameters, the report path and warnings about options
/// that were given but have no effect.
pub struct Resolved<P> {
    /// The problem's parameters.
    pub params: P,
    /// Where to write the JSON report, if anywhere.
    pub report: Option<PathBuf>,
    /// One line per ignored option, printed as a warning by rank 0.
    pub notes: Vec<String>,
}

/// Writes `value` as pretty JSON to `path` (rank 0 only).
fn write_report<T: serde::Serialize>(comm: &Comm, path: Option<&Path>, value: &T) -> Result<()> {
    let r = match path {
        Some(p) if comm.is_root() => serde_json::to_string_pretty(value)
            .map_err(|e| Error::Output(e.to_string()))
            .and_then(|s| {
                std::fs::write(p, s + "\n").map_err(|e| Error::Io {
                    path: p.display().to_string(),
                    source: e,
                })
            }),
        _ => Ok(()),
    };
    comm.agree(r)
}

/// Collective: the start every command shares once its options are resolved: rank 0 prints
/// the warnings, and a report path is tried at once by writing `{"status": "running"}` there
/// (so a missing directory, a directory, a read-only place or a full device fails before the
/// work instead of after it; an interrupted run leaves that status behind).
fn start<P>(comm: &Comm, resolved: Result<Resolved<P>>) -> Result<(P, Option<PathBuf>)> {
    let r = comm.agree(resolved)?;
    if comm.is_root() {
        for n in &r.notes {
            tracing::warn!("{n}");
        }
    }
    write_report(comm, r.report.as_deref(), &serde_json::json!({ "status": "running" }))?;
    Ok((r.params, r.report))
}

/// Collective: writes the final report (the summary plus `"status": "ok"` or `"failed"`) and
/// turns a failure the summary names into the command's error, so the report always comes
/// first and the exit status is 1.
fn finish<T: serde::Serialize>(comm: &Comm, path: Option<&Path>, summary: &T, failure: Option<&str>) -> Result<()> {
    let mut value = serde_json::to_value(summary).map_err(|e| Error::Output(e.to_string()))?;
    if let serde_json::Value::Object(m) = &mut value {
        let status = if failure.is_some() { "failed" } else { "ok" };
        m.insert("status".into(), status.into());
    }
    write_report(comm, path, &value)?;
    failure.map_or(Ok(()), |f| Err(Error::Solve(f.to_string())))
}

/// `--list-keys`: rank 0 prints the solver keys.
fn list_keys(comm: &Comm) -> Result<()> {
    if comm.is_root() {
        say(&key_listing());
    }
    Ok(())
}

/// Parses a lower-case enum name through serde (the spelling of the TOML presets).
fn parse_name<T: serde::de::DeserializeOwned>(flag: &str, value: &str) -> Result<T> {
    T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(value))
        .map_err(|e| Error::Config(format!("--{flag} '{value}': {e}")))
}

/// Resolves poisson options (flags over config, preset keys overridden by flags).
pub fn poisson_params(mut a: PoissonArgs) -> Result<Resolved<PoissonParams>> {
    let (mut f, solver_file): (PoissonArgs, _) = read_config(a.config.as_deref(), &[])?;
    merge!(a, f; exact, source, out, report);
    let problem = a.problem.resolve(f.problem)?;
    let (solver, overrides) = a.solver.resolve(solver_file)?;
    let notes = overrides.unused(SOLVER, &solver);
    let exact = match a.exact.as_deref().unwrap_or("manufactured") {
        "manufactured" => true,
        "none" => false,
        o => {
            return Err(Error::input(format!(
                "unknown exact solution '{o}' (expected manufactured or none)"
            )))
        }
    };
    let params = PoissonParams {
        partitioner: problem.partitioner,
        mesh: problem.mesh,
        discretization: problem.discretization,
        kappa: problem.kappa,
        kappa_regions: problem.kappa_regions,
        contrast: problem.contrast,
        exact,
        source: a.source.unwrap_or(if exact { 0.0 } else { 1.0 }),
        bc: problem.bc,
        solver,
        out: a.out,
    };
    Ok(Resolved {
        params,
        report: a.report,
        notes,
    })
}

fn run_poisson(comm: &Comm, a: PoissonArgs) -> Result<()> {
    if a.solver.list_keys {
        return list_keys(comm);
    }
    let (params, report_path) = start(comm, poisson_params(a))?;
    let s = poisson::run(comm, &params)?;
    if comm.is_root() {
        let err = s.error.map_or(String::new(), |e| {
            format!(", L2 error {:.3e} (relative {:.3e})", e.l2, e.l2_relative)
        });
        let mut text = format!(
            "poisson: {} unknowns on {} rank(s): {:?} after {} iterations, relative residual {:.3e}{err}\n",
            s.unknowns, s.ranks, s.stats.reason, s.stats.iterations, s.true_relative_residual
        );
        text += &format!(
            "time: setup {:.3} s, preconditioner {:.3} s, solve {:.3} s, total {:.3} s\n",
            s.wall.setup, s.wall.pc_setup, s.wall.solve, s.wall.total
        );
        if let Some(x) = &s.output {
            text += &format!("wrote {} and {}\n", x.with_extension("h5").display(), x.display());
        }
        say(&text);
    }
    finish(comm, report_path.as_deref(), &s, s.failure.as_deref())
}

fn run_partition(comm: &Comm, mut a: PartitionArgs) -> Result<()> {
    let resolved = read_config(a.config.as_deref(), &[]).and_then(|(mut f, _): (PartitionArgs, _)| {
        merge!(a, f; parts, report);
        let (src, m) = a.domain.resolve(f.domain)?;
        Ok(Resolved {
            params: (src, m, a.parts),
            report: a.report,
            notes: Notes::new(),
        })
    });
    let ((src, m, parts), report_path) = start(comm, resolved)?;
    let mesh = load_mesh(comm, &src, false)?;
    let dual = mesh.cell_graph(Adjacency::Facet);
    let parts = parts.unwrap_or(comm.size() as usize);
    let p = partition_collective(comm, &mesh, &dual, parts, &m)?;
    let r = p.report(&dual);
    if comm.is_root() {
        say(&format!(
            "partition of {src} ({} cells) by {m:?}\n{r}\n",
            mesh.num_cells()
        ));
    }
    finish(comm, report_path.as_deref(), &r, None)
}

/// Prints to stdout, ignoring a closed pipe (`ddkit ... | head` must not panic).
fn say(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().write_all(text.as_bytes());
}

/// How long the ranks wait for each other on the error exit path ([`Comm::barrier_within`]).
const EXIT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// One line for an argument-parser error, in ddkit's own `ddkit: error: ...` form: clap's first
/// line and its tip, and where the command's help is (clap's usage block would make it five
/// lines and its exit status 2, where every other ddkit error is one line and status 1).
fn parse_error_line(e: &clap::Error) -> String {
    use clap::CommandFactory;
    let commands: Vec<String> = Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    let help = match std::env::args().skip(1).find(|a| commands.contains(a)) {
        Some(c) => format!("ddkit {c} --help"),
        None => "ddkit --help".into(),
    };
    if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return format!(
            "ddkit: error: no command given (one of: {}); see '{help}'",
            commands.join(", ")
        );
    }
    let text = e.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid arguments");
    let mut line = format!("ddkit: error: {}", first.strip_prefix("error: ").unwrap_or(first));
    for tip in lines.filter_map(|l| l.strip_prefix("tip: ")) {
        line += &format!(" ({tip})");
    }
    format!("{line}; see '{help}'")
}

/// Entry point of the `ddkit` binary: initializes MPI, parses arguments (rank 0 prints help and
/// errors), runs the command and returns the process exit code.
pub fn main() -> i32 {
    let comm = match Comm::init() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ddkit: error: {e}");
            return 1;
        }
    };
    // One MPI rank per core: the local factorizations must not start threads of their own.
    crate::linalg::init_sequential();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            let info = matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion);
            if comm.is_root() {
                if info {
                    let _ = e.print();
                } else {
                    eprintln!("{}", parse_error_line(&e));
                }
            }
            // Every rank parsed the same arguments, so all are here.
            comm.barrier_within(EXIT_WAIT);
            return if info { 0 } else { 1 };
        }
    };
    init_logging(&comm, cli.verbose);
    let r = match cli.command {
        Command::Heat(a) => run_heat(&comm, a),
        Command::Poisson(a) => run_poisson(&comm, a),
        Command::NavierStokes(a) => run_navier_stokes(&comm, a),
        Command::Partition(a) => run_partition(&comm, a),
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            if comm.is_root() || cli.verbose {
                eprintln!("ddkit: error: {e}");
            }
            comm.barrier_within(EXIT_WAIT); // errors are agreed: every rank comes here
            1
        }
    }
}

fn init_logging(comm: &Comm, verbose: bool) {
    let level = if comm.is_root() || verbose {
        tracing::Level::INFO
    } else {
        tracing::Level::WARN
    };
    let rank = comm.rank();
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time();
    if verbose {
        let _ = builder
            .fmt_fields(tracing_subscriber::fmt::format::debug_fn(move |w, f, v| {
                if f.name() == "message" {
                    write!(w, "[rank {rank}] {v:?}")
                } else {
                    write!(w, "{f}={v:?}")
                }
            }))
            .try_init();
    } else {
        let _ = builder.try_init();
    }
}
