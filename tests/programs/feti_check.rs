//! FETI-1 under `mpirun`, run by `tests/feti.rs`: P1 or P2 Poisson (κ = 1 | 50 across x = 1/2,
//! f = 1, homogeneous Dirichlet) on a triangulated (2D) or tetrahedral (3D) unit box,
//! METIS-partitioned over the ranks, each rank's cells split into K element subdomains. FETI-1
//! (Dirichlet, lumped or no preconditioner, dual rtol 1e-10) must reproduce the solution of CG
//! with two-level Schwarz at rtol 1e-12 to 1e-7 relative, with a primal residual below 1e-7
//! (unless κ jumps by more than 50).
//!
//! K is a number of METIS element subdomains per rank, or on one rank a geometric split into
//! two: `ring` (the cells with centroid in the middle square [1/4, 3/4]^dim, a subdomain that
//! touches no Dirichlet boundary and floats, and the ring around them) or `point` (the cells
//! with centroid in [h, 1/2]^dim plus one cell with a single point on the boundary: a subdomain
//! held by one Dirichlet point, which does not float, and the rest). K = `algebraic` builds the
//! `feti-dp` preset without element subdomains instead (the algebraic splitting, which needs a
//! weakly diagonally dominant matrix: P2's is not) and solves.
//!
//! Usage: `feti_check DEGREE DIM N K PRECOND [CONTRAST [SCALING [METHOD [PRIMAL]]]]`: with
//! CONTRAST > 0, κ is 1 or CONTRAST on each element subdomain instead (jumps along the
//! interfaces); SCALING is `stiffness` (default) or `multiplicity`; METHOD `feti-1` (default) or
//! `feti-dp`; PRIMAL (FETI-DP) `averages` (default) or `vertices` (averages only where needed). Prints `feti_check: OK subdomains S floating F
//! coarse C multipliers M iterations I condition K diff D primal R` or `feti_check: FAIL reason` (exit 1).

#[path = "shared/kappa_jump.rs"]
mod kappa_jump;

use ddkit::comm::Comm;
use ddkit::dd::{Decomposition, Feti, FetiMethod, FetiOptions, FetiPreconditioner, FetiScaling};
use ddkit::linalg::DistVector;
use ddkit::mesh::Mesh;
use ddkit::solver::{SolverConfig, SolverInputs};
use kappa_jump::{kappa_jump_problem, Kappa};

struct Args {
    degree: usize,
    dim: usize,
    n: usize,
    per_rank: usize,
    /// A geometric split on one rank instead of METIS (`ring` or `point`).
    geometric: Option<String>,
    precond: FetiPreconditioner,
    /// κ on the subdomains: 0 for the halves (1 | 50), else 1 or this by subdomain.
    contrast: f64,
    scaling: FetiScaling,
    method: FetiMethod,
    averages: bool,
}

fn args() -> Result<Args, String> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize| -> Result<usize, String> {
        a.get(i)
            .and_then(|s| s.parse().ok())
            .ok_or(format!("argument {i} missing or not a number"))
    };
    let precond = match a.get(4).map(String::as_str) {
        Some("dirichlet") => FetiPreconditioner::Dirichlet,
        Some("lumped") => FetiPreconditioner::Lumped,
        Some("none") => FetiPreconditioner::None,
        other => return Err(format!("preconditioner {other:?}")),
    };
    let contrast = a
        .get(5)
        .map_or(Ok(0.0), |s| s.parse().map_err(|_| format!("contrast {s}")))?;
    let scaling = match a.get(6).map(String::as_str) {
        None | Some("stiffness") => FetiScaling::Stiffness,
        Some("multiplicity") => FetiScaling::Multiplicity,
        Some("deluxe") => FetiScaling::Deluxe,
        Some(other) => return Err(format!("scaling {other}")),
    };
    let method = match a.get(7).map(String::as_str) {
        None | Some("feti-1") => FetiMethod::Feti1,
        Some("feti-dp") => FetiMethod::FetiDp,
        Some(other) => return Err(format!("method {other}")),
    };
    let averages = match a.get(8).map(String::as_str) {
        None | Some("averages") => true,
        Some("vertices") => false,
        Some(other) => return Err(format!("primal set {other}")),
    };
    Ok(Args {
        method,
        averages,
        contrast,
        scaling,
        degree: num(0)?,
        dim: num(1)?,
        n: num(2)?,
        per_rank: num(3).unwrap_or(2),
        geometric: a
            .get(3)
            .filter(|s| ["ring", "point", "algebraic"].contains(&s.as_str()))
            .cloned(),
        precond,
    })
}

fn run(comm: &Comm, a: &Args) -> Result<String, String> {
    let err = |e: ddkit::Error| e.to_string();
    let kappa = if a.contrast > 0.0 {
        Kappa::PerSubdomain {
            per_rank: a.per_rank,
            contrast: a.contrast,
        }
    } else {
        Kappa::Halves
    };
    let p = kappa_jump_problem(comm, a.degree, &vec![a.n; a.dim], &kappa)?;
    let sys = &p.sys;
    // Reference: CG with two-level Schwarz, tight.
    let cfg = SolverConfig::load("cg-nicolaides")
        .and_then(|c| c.set("krylov.rtol", 1e-12))
        .map_err(err)?;
    let mut reference = DistVector::zeros(sys.a.layout());
    let mut direct = cfg.build(comm, &sys.a, &SolverInputs::default()).map_err(err)?;
    direct.solve(comm, &sys.a, &sys.b, &mut reference).map_err(err)?;
    if a.geometric.as_deref() == Some("algebraic") {
        let cfg = SolverConfig::load("feti-dp").map_err(err)?;
        let mut feti = cfg.build(comm, &sys.a, &SolverInputs::default()).map_err(err)?;
        let mut x = DistVector::zeros(sys.a.layout());
        let stats = feti.solve(comm, &sys.a, &sys.b, &mut x).map_err(err)?;
        return Ok(format!("iterations {}", stats.iterations));
    }
    // FETI on the rank's cells split into element subdomains.
    let source = p.neumann_source(comm);
    let mut cells: Vec<u32> = p.lm.cell_orig[..p.lm.cells.n_owned].to_vec();
    cells.sort_unstable();
    let parts = match &a.geometric {
        None => source.element_subdomains(&cells, a.per_rank).map_err(err)?,
        Some(mode) => geometric_split(&p.mesh, &cells, mode, 1.0 / a.n as f64)?
            .iter()
            .map(|part| source.cells_matrix(part))
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?,
    };
    let d = Decomposition::non_overlapping(comm, &sys.a, parts).map_err(err)?;
    let options = FetiOptions {
        preconditioner: a.precond,
        scaling: a.scaling,
        method: a.method,
        averages: a.averages,
        // A subdomain held by one point makes its K_s nearly singular: a tighter dual tolerance.
        rtol: if a.geometric.is_some() { 1e-12 } else { 1e-10 },
        ..FetiOptions::default()
    };
    let mut feti = Feti::new(comm, &sys.a, d, options).map_err(err)?;
    let mut x = DistVector::zeros(sys.a.layout());
    let stats = feti.solve(comm, &sys.a, &sys.b, &mut x).map_err(err)?;
    if let Some(f) = stats.dual.failure() {
        return Err(format!("FETI: {f}"));
    }
    let mut diff = x.clone();
    diff.axpy(-1.0, &reference);
    let rel = diff.norm2(comm) / reference.norm2(comm);
    // ‖b − Ax‖ / ‖b‖ is a poor measure at high contrast (A's entries reach the contrast while
    // b does not): there only the distance to the reference counts.
    let residual_ok = stats.primal_residual <= 1e-7 || a.contrast > 1.0;
    if !(rel <= 1e-7 && residual_ok) {
        return Err(format!(
            "difference {rel:e} from the reference, primal residual {:e}",
            stats.primal_residual
        ));
    }
    Ok(format!(
        "subdomains {} floating {} coarse {} multipliers {} iterations {} condition {:.3} diff {rel:.2e} primal {:.2e}",
        comm.sum_u64(a.per_rank as u64),
        feti.floating(),
        feti.coarse_dimension(),
        feti.multipliers(),
        stats.dual.iterations,
        stats.dual.condition_estimate.unwrap_or(f64::NAN),
        stats.primal_residual
    ))
}

/// The two cell sets of a geometric split (see the module documentation), `h` the grid step.
fn geometric_split(mesh: &Mesh, cells: &[u32], mode: &str, h: f64) -> Result<[Vec<u32>; 2], String> {
    let (lo, hi) = if mode == "ring" { (0.25, 0.75) } else { (h, 0.5) };
    let inside = |c: u32| mesh.centroid(c as usize)[..mesh.gdim].iter().all(|&x| x > lo && x < hi);
    let mut a: Vec<u32> = cells.iter().copied().filter(|&c| inside(c)).collect();
    if mode == "point" {
        let on_boundary = |p: u32| {
            mesh.points[p as usize][..mesh.gdim]
                .iter()
                .any(|&x| x.abs() < 1e-12 || (x - 1.0).abs() < 1e-12)
        };
        let held: std::collections::BTreeSet<u32> =
            a.iter().flat_map(|&c| mesh.cell(c as usize).iter().copied()).collect();
        let touch = cells.iter().copied().find(|&c| {
            let nodes = mesh.cell(c as usize);
            !inside(c)
                && nodes.iter().filter(|&&p| on_boundary(p)).count() == 1
                && nodes.iter().filter(|p| held.contains(p)).count() >= mesh.gdim
        });
        a.push(touch.ok_or("no cell touches the boundary at one point next to the square")?);
        a.sort_unstable();
    }
    let b = cells.iter().copied().filter(|c| a.binary_search(c).is_err()).collect();
    Ok([a, b])
}

fn main() {
    let comm = Comm::init().expect("MPI");
    let result = args().and_then(|a| run(&comm, &a));
    if comm.sum_u64(u64::from(result.is_err())) > 0 {
        if let Err(e) = result {
            println!("feti_check: FAIL rank {}: {e}", comm.rank());
        }
        std::process::exit(1);
    }
    if comm.is_root() {
        println!("feti_check: OK {}", result.unwrap_or_default());
    }
}
