//! FETI-1 under `mpirun`, run by `tests/feti.rs`: P1 or P2 Poisson (κ = 1 | 50 across x = 1/2,
//! f = 1, homogeneous Dirichlet) on a triangulated (2D) or tetrahedral (3D) unit box,
//! METIS-partitioned over the ranks, each rank's cells split into K element subdomains. FETI-1
//! (Dirichlet, lumped or no preconditioner, dual rtol 1e-10) must reproduce the solution of CG
//! with two-level Schwarz at rtol 1e-12 to 1e-7 relative, with a primal residual below 1e-7
//! (unless κ jumps by more than 50).
//!
//! Usage: `feti_check DEGREE DIM N K PRECOND [CONTRAST [SCALING [METHOD]]]`: with CONTRAST > 0,
//! κ is 1 or CONTRAST on each element subdomain instead (jumps along the interfaces); SCALING is
//! `stiffness` (default) or `multiplicity`; METHOD `feti-1` (default) or `feti-dp`. Prints `feti_check: OK subdomains S floating F
//! coarse C multipliers M iterations I diff D primal R` or `feti_check: FAIL reason` (exit 1).

#[path = "shared/kappa_jump.rs"]
mod kappa_jump;

use ddkit::comm::Comm;
use ddkit::dd::{Decomposition, Feti, FetiMethod, FetiOptions, FetiPreconditioner, FetiScaling};
use ddkit::linalg::DistVector;
use ddkit::solver::{SolverConfig, SolverInputs};
use kappa_jump::{kappa_jump_problem, Kappa};

struct Args {
    degree: usize,
    dim: usize,
    n: usize,
    per_rank: usize,
    precond: FetiPreconditioner,
    /// κ on the subdomains: 0 for the halves (1 | 50), else 1 or this by subdomain.
    contrast: f64,
    scaling: FetiScaling,
    method: FetiMethod,
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
        Some(other) => return Err(format!("scaling {other}")),
    };
    let method = match a.get(7).map(String::as_str) {
        None | Some("feti-1") => FetiMethod::Feti1,
        Some("feti-dp") => FetiMethod::FetiDp,
        Some(other) => return Err(format!("method {other}")),
    };
    Ok(Args {
        method,
        contrast,
        scaling,
        degree: num(0)?,
        dim: num(1)?,
        n: num(2)?,
        per_rank: num(3)?,
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
    // FETI-1 on the rank's cells split into element subdomains.
    let source = p.neumann_source(comm);
    let mut cells: Vec<u32> = p.lm.cell_orig[..p.lm.cells.n_owned].to_vec();
    cells.sort_unstable();
    let parts = source.element_subdomains(&cells, a.per_rank).map_err(err)?;
    let d = Decomposition::non_overlapping(comm, &sys.a, parts).map_err(err)?;
    let options = FetiOptions {
        preconditioner: a.precond,
        scaling: a.scaling,
        method: a.method,
        rtol: 1e-10,
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
        "subdomains {} floating {} coarse {} multipliers {} iterations {} diff {rel:.2e} primal {:.2e}",
        comm.sum_u64(a.per_rank as u64),
        feti.floating(),
        feti.coarse_dimension(),
        feti.multipliers(),
        stats.dual.iterations,
        stats.primal_residual
    ))
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
