//! The command line: `ddkit heat`, `ddkit poisson` and `ddkit partition`. Every option of a command is also a key
//! of its `--config FILE.toml` (same spelling as the long flag without `--`); flags win. Rank 0
//! prints; every rank exits with the same status.

use crate::comm::{Comm, HaloMode};
use crate::error::{Error, Result};
use crate::fem::MassKind;
use crate::mesh::structured::parse_grid;
use crate::mesh::Adjacency;
use crate::partition::Method;
use crate::pde::{BcKind, Exact};
use crate::problems::heat::{self, Discretization, HeatParams, Scheme};
use crate::problems::poisson::{self, PoissonParams};
use crate::problems::{load_mesh, partition_collective, MeshSource};
use crate::solver::SolverConfig;
use clap::{Args, Parser, Subcommand};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
pub enum Command {
    /// Heat equation u_t = ∇·(κ∇u) + f, explicit or implicit (FD on --grid, P1/P2 on --mesh), with HDF5/XDMF output.
    Heat(HeatArgs),
    /// Poisson -∇·(κ∇u) = f (FD on --grid, P1/P2 on --mesh) solved with a Krylov solver preset.
    Poisson(PoissonArgs),
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

/// The linear-solver options `ddkit heat` (implicit steps) and `ddkit poisson` share: a preset
/// and overrides of its keys.
#[derive(Args, Debug, Default, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SolverArgs {
    /// Linear solver preset by name (solvers/NAME.toml) or path; heat uses it for implicit steps [default: cg-jacobi].
    #[arg(long, value_name = "NAME|FILE.toml")]
    pub solver: Option<String>,
    /// Override the preset's Krylov method.
    #[arg(long, value_name = "cg|gmres|fgmres|bicgstab")]
    pub krylov: Option<String>,
    /// Override the preset's preconditioner.
    #[arg(long, value_name = "none|jacobi|asm|ras|multiplicative|symmetric-multiplicative")]
    pub pc: Option<String>,
    /// Override the relative tolerance.
    #[arg(long, allow_hyphen_values = true)]
    pub rtol: Option<f64>,
    /// Override the absolute tolerance.
    #[arg(long, allow_hyphen_values = true)]
    pub atol: Option<f64>,
    /// Override the iteration cap.
    #[arg(long, allow_hyphen_values = true, value_parser = count)]
    pub max_iter: Option<usize>,
    /// Override the GMRES restart length.
    #[arg(long, allow_hyphen_values = true, value_parser = count)]
    pub restart: Option<usize>,
    /// Override the Schwarz overlap (layers of the matrix graph, ≥ 0).
    #[arg(long, allow_hyphen_values = true)]
    pub overlap: Option<i64>,
    /// Override the number of Schwarz subdomains on each rank.
    #[arg(long, allow_hyphen_values = true, value_parser = count)]
    pub subdomains_per_rank: Option<usize>,
    /// Override the Schwarz local solver.
    #[arg(long, value_name = "cholesky|lu|ic0|ilu0")]
    pub local_solver: Option<String>,
    /// Override how each rank's rows are split into Schwarz subdomains.
    #[arg(long, value_name = "metis|contiguous")]
    pub subdomain_split: Option<String>,
    /// Override the preset's coarse space (two-level Schwarz).
    #[arg(long, value_name = "none|nicolaides|geneo|gdsw")]
    pub coarse: Option<String>,
    /// Override how the coarse correction joins the one-level Schwarz part (only additive and balanced are symmetric, for CG).
    #[arg(long, value_name = "additive|a-def1|a-def2|balanced")]
    pub coarse_combination: Option<String>,
    /// Override the GenEO threshold τ: keep the local eigenvectors with eigenvalue below it.
    #[arg(long, allow_hyphen_values = true)]
    pub geneo_threshold: Option<f64>,
    /// Override the number of GenEO vectors per subdomain (0: use the threshold).
    #[arg(long, allow_hyphen_values = true, value_parser = count)]
    pub geneo_nev: Option<usize>,
    /// Keep the residual norm of every iteration for the report (poisson's `stats.history`) [default: true].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub record_history: Option<bool>,
}

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
    /// Linear solver of implicit steps: preset and overrides.
    #[command(flatten)]
    #[serde(flatten)]
    pub solver: SolverArgs,
    /// Print progress every 10% of the steps [default: true].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub progress: Option<bool>,
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
    #[serde(flatten)]
    pub solver: SolverArgs,
    /// Output directory for poisson.h5 + poisson.xdmf.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write a JSON summary (iterations, residual history, set-up/solve times, errors).
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
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

/// Reads a TOML config into `T` (unknown keys are errors). The keys are the long flags of `T`
/// without `--`, taken from its clap definition, so flags and keys cannot drift apart; the
/// check is done here rather than by serde's `deny_unknown_fields`, which does not work with the
/// `flatten`ed shared option groups.
fn read_config<T: serde::de::DeserializeOwned + Default + Args>(path: Option<&Path>) -> Result<T> {
    let Some(path) = path else { return Ok(T::default()) };
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
    let table: toml::Table = toml::from_str(&text).map_err(|e| bad(&e))?;
    let cmd = T::augment_args(clap::Command::new("config"));
    let keys: Vec<String> = cmd
        .get_arguments()
        .map(|a| a.get_id().as_str().replace('_', "-"))
        .filter(|k| k != "config")
        .collect();
    if let Some(k) = table.keys().find(|k| !keys.contains(k)) {
        return Err(bad(&format!(
            "unknown field `{k}`, expected one of {}",
            keys.join(", ")
        )));
    }
    match toml::Value::Table(table).try_into::<T>() {
        Ok(v) => Ok(v),
        Err(whole) => Err(bad(
            &type_error_position::<T>(&text).unwrap_or_else(|| whole.message().to_string())
        )),
    }
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
        let line = text[..v.span().start].matches('\n').count() + 1;
        Some(format!("line {line}, key `{k}`: {}", e.message()))
    })
}

/// Flag value if given, else the config file's.
macro_rules! merge {
    ($flags:expr, $file:expr; $($f:ident),*) => { $( if $flags.$f.is_none() { $flags.$f = $file.$f.take(); } )* };
}

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

/// The keys of an option group that were given (by flag or config file), for warnings about
/// options that the chosen method ignores.
fn given_keys<T: serde::Serialize>(args: &T) -> Vec<String> {
    match serde_json::to_value(args) {
        Ok(serde_json::Value::Object(m)) => m.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, _)| k).collect(),
        _ => Vec::new(),
    }
}

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

impl SolverArgs {
    /// The preset (flag, else the config file's `file`, else cg-jacobi) with the overrides
    /// applied, validated; overrides that the resulting method does not use become `notes`.
    fn resolve(mut self, mut file: SolverArgs, notes: &mut Notes) -> Result<SolverConfig> {
        merge!(self, file; solver, krylov, pc, rtol, atol, max_iter, restart, overlap, subdomains_per_rank, local_solver, subdomain_split, coarse, coarse_combination, geneo_threshold, geneo_nev, record_history);
        let given = given_keys(&self);
        let mut solver = SolverConfig::load(self.solver.as_deref().unwrap_or("cg-jacobi"))?;
        if let Some(k) = &self.krylov {
            solver.krylov = parse_name("krylov", k)?;
        }
        if let Some(p) = &self.pc {
            solver.pc = parse_name("pc", p)?;
        }
        solver.rtol = self.rtol.unwrap_or(solver.rtol);
        solver.atol = self.atol.unwrap_or(solver.atol);
        solver.max_iter = self.max_iter.unwrap_or(solver.max_iter);
        solver.restart = self.restart.unwrap_or(solver.restart);
        if let Some(o) = self.overlap {
            solver.overlap = usize::try_from(o)
                .map_err(|_| Error::Config(format!("--overlap {o}: the overlap must be 0 or more layers")))?;
        }
        solver.subdomains_per_rank = self.subdomains_per_rank.unwrap_or(solver.subdomains_per_rank);
        if let Some(l) = &self.local_solver {
            solver.local_solver = parse_name("local-solver", l)?;
        }
        if let Some(l) = &self.subdomain_split {
            solver.subdomain_split = parse_name("subdomain-split", l)?;
        }
        if let Some(c) = &self.coarse {
            solver.coarse = parse_name("coarse", c)?;
        }
        solver.geneo_threshold = self.geneo_threshold.unwrap_or(solver.geneo_threshold);
        solver.geneo_nev = self.geneo_nev.unwrap_or(solver.geneo_nev);
        if let Some(c) = &self.coarse_combination {
            solver.coarse_combination = parse_name("coarse-combination", c)?;
        }
        solver.record_history = self.record_history.unwrap_or(solver.record_history);
        solver.validate()?;
        notes.extend(unused_solver_keys(&solver, &given));
        Ok(solver)
    }
}

/// Warnings for the solver keys in `given` that `solver` does not use (`--restart` under CG,
/// Schwarz keys with Jacobi, GenEO keys without the GenEO coarse space, ...).
fn unused_solver_keys(solver: &SolverConfig, given: &[String]) -> Notes {
    use crate::solver::{CoarseKind, KrylovKind, PcKind};
    let schwarz = !matches!(solver.pc, PcKind::None | PcKind::Jacobi);
    let rules: [(&[&str], bool, String); 5] = [
        (
            &["restart"],
            !matches!(solver.krylov, KrylovKind::Gmres | KrylovKind::Fgmres),
            format!(
                "it applies to GMRES and FGMRES only (krylov = {})",
                lower(solver.krylov)
            ),
        ),
        (
            &["overlap", "subdomains-per-rank", "local-solver", "subdomain-split"],
            !schwarz,
            format!("it applies to Schwarz preconditioners only (pc = {})", lower(solver.pc)),
        ),
        (
            &["coarse-combination"],
            solver.coarse == CoarseKind::None,
            "it applies to a coarse space only (coarse = none)".into(),
        ),
        (
            &["geneo-threshold", "geneo-nev"],
            solver.coarse != CoarseKind::Geneo,
            format!("it applies to coarse = geneo only (coarse = {})", solver.coarse.name()),
        ),
        (
            &["geneo-threshold"],
            solver.coarse == CoarseKind::Geneo && solver.geneo_nev > 0,
            format!("geneo-nev = {} fixes the number of vectors", solver.geneo_nev),
        ),
    ];
    let mut notes = Notes::new();
    for (keys, unused, why) in rules {
        for k in keys.iter().filter(|k| unused && given.iter().any(|g| g == *k)) {
            notes.push(format!("--{k} is ignored: {why}"));
        }
    }
    notes
}

/// The lower-case name of an enum value as TOML spells it.
fn lower(v: impl std::fmt::Debug) -> String {
    format!("{v:?}").to_lowercase()
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

/// Resolves heat options (flags over config) into parameters, the report path and warnings.
pub fn heat_params(mut a: HeatArgs) -> Result<Resolved<HeatParams>> {
    let mut f: HeatArgs = read_config(a.config.as_deref())?;
    merge!(a, f; steps, dt, t_final, cfl, max_steps, exact, source, mass, out, snapshot_every, no_overlap, report, progress, scheme);
    let mut notes = Notes::new();
    let problem = a.problem.resolve(f.problem)?;
    let solver_keys = given_keys(&a.solver);
    let solver_keys_file = given_keys(&f.solver);
    let solver = a.solver.resolve(f.solver, &mut notes)?;
    let exact = match a.exact.as_deref().unwrap_or("mode") {
        "mode" => Some(Exact::Mode),
        "manufactured" => Some(Exact::Manufactured),
        "none" => None,
        o => {
            return Err(Error::input(format!(
                "unknown exact solution '{o}' (expected mode, manufactured or none)"
            )))
        }
    };
    let scheme = match a.scheme.as_deref().unwrap_or("explicit") {
        "explicit" => Scheme::Explicit,
        "implicit" | "be" => Scheme::Implicit { theta: 1.0 },
        "cn" => Scheme::Implicit { theta: 0.5 },
        o => {
            return Err(Error::input(format!(
                "unknown scheme '{o}' (expected explicit, implicit, be or cn)"
            )))
        }
    };
    let mass = match &a.mass {
        Some(m) => parse_name("mass", m)?,
        // P2 has no usable lumped mass (its row sums vanish at the corners).
        None if problem.discretization == Discretization::P2 => MassKind::Consistent,
        None => MassKind::Lumped,
    };
    let explicit = scheme == Scheme::Explicit;
    if explicit {
        // The solver keys' own warnings say nothing when no solve happens at all.
        notes.clear();
        let mut keys: Vec<String> = solver_keys.into_iter().chain(solver_keys_file).collect();
        keys.sort();
        keys.dedup();
        if let Some((last, rest)) = keys.split_last() {
            let list = match rest {
                [] => format!("--{last} is"),
                _ => format!("--{} and --{last} are", rest.join(", --")),
            };
            notes.push(format!(
                "{list} ignored: the linear solver is used by implicit steps only (--scheme be or cn)"
            ));
        }
    }
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
        max_steps: a.max_steps.unwrap_or(heat::DEFAULT_MAX_STEPS),
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
    };
    Ok(Resolved {
        params,
        report: a.report,
        notes,
    })
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

fn run_heat(comm: &Comm, a: HeatArgs) -> Result<()> {
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

/// Parses a lower-case enum name through serde (the spelling of the TOML presets).
fn parse_name<T: serde::de::DeserializeOwned>(flag: &str, value: &str) -> Result<T> {
    T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(value))
        .map_err(|e| Error::Config(format!("--{flag} '{value}': {e}")))
}

/// Resolves poisson options (flags over config, preset keys overridden by flags).
pub fn poisson_params(mut a: PoissonArgs) -> Result<Resolved<PoissonParams>> {
    let mut f: PoissonArgs = read_config(a.config.as_deref())?;
    merge!(a, f; exact, source, out, report);
    let mut notes = Notes::new();
    let problem = a.problem.resolve(f.problem)?;
    let solver = a.solver.resolve(f.solver, &mut notes)?;
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
    let resolved = read_config(a.config.as_deref()).and_then(|mut f: PartitionArgs| {
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
