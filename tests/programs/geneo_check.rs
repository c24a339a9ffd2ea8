//! Multi-rank check of the GenEO local bases, run under `mpirun` by `tests/geneo.rs` with the
//! element degree (`1` or `2`) as argument: the Poisson problem of `neumann_check` (a
//! triangulated grid, κ = 1 on the left half and 50 on the right, Dirichlet on the whole
//! boundary), ASM with overlap 1 (P1) or 2 (P2) and two subdomains per rank, the Neumann
//! matrices attached. On every subdomain the GenEO eigenproblem is solved for τ = 0.1 and for
//! nev = 4, by the dense and by the sparse eigensolver; every residual must be at most 1e-8,
//! both solvers must give the same eigenvalues, and λ₁ ≈ 0 exactly on the floating subdomains
//! (those whose Neumann matrix annihilates the constants on the rows that are not Dirichlet
//! rows). Prints, on rank 0, one line per subdomain (`sub R.S kept K lambda ... res ...`) and
//! then `geneo_check: OK subdomains S kept N floating F maxres R`, or `geneo_check: FAIL reason`
//! (exit 1).

#[path = "shared/kappa_jump.rs"]
mod kappa_jump;

use ddkit::comm::Comm;
use ddkit::dd::{geneo_basis, GeneoMethod, GeneoOptions, Subdomain};
use ddkit::linalg::Csr;
use kappa_jump::kappa_jump;

const TAU: f64 = 0.1;
const NEV: usize = 4;
/// Values sent to rank 0 per subdomain: kept under τ, floating flag, max residual, the NEV
/// smallest eigenvalues.
const PER_SUB: usize = 3 + NEV;

/// Whether `nm` annihilates the constants on its rows that are not Dirichlet (identity) rows.
fn floating(nm: &Csr) -> bool {
    let dirichlet = |i: usize| nm.row(i).0.len() == 1;
    let scale = nm.vals.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    (0..nm.nrows).filter(|&i| !dirichlet(i)).all(|i| {
        let (c, v) = nm.row(i);
        let sum: f64 = c
            .iter()
            .zip(v)
            .filter(|(&j, _)| !dirichlet(j as usize))
            .map(|(_, x)| x)
            .sum();
        sum.abs() <= 1e-12 * scale * c.len() as f64
    })
}

fn opts(nev: Option<usize>, threshold: Option<f64>, method: GeneoMethod) -> GeneoOptions {
    GeneoOptions {
        nev,
        threshold,
        method,
        ..GeneoOptions::default()
    }
}

/// Checks one subdomain; returns its [`PER_SUB`] values.
fn check(s: &Subdomain) -> Result<Vec<f64>, String> {
    let run = |o: GeneoOptions| geneo_basis(s, &o).map_err(|e| e.to_string());
    let mut out = Vec::with_capacity(PER_SUB);
    let mut maxres = 0.0f64;
    let mut first = Vec::new();
    for (nev, tau) in [(None, Some(TAU)), (Some(NEV), None)] {
        let d = run(opts(nev, tau, GeneoMethod::Dense))?;
        let sp = run(opts(nev, tau, GeneoMethod::Sparse))?;
        if d.eigenvalues.len() != sp.eigenvalues.len() {
            return Err(format!("dense {:?} vs sparse {:?}", d.eigenvalues, sp.eigenvalues));
        }
        for (x, y) in d.eigenvalues.iter().zip(&sp.eigenvalues) {
            if (x - y).abs() > 1e-8 * (1.0 + x.abs()) {
                return Err(format!("dense λ {x} vs sparse {y}"));
            }
        }
        maxres = d.residuals.iter().chain(&sp.residuals).fold(maxres, |m, &r| m.max(r));
        if tau.is_some() {
            out.push(d.eigenvalues.len() as f64);
        } else {
            first = d.eigenvalues;
        }
    }
    let nm = s.neumann.as_ref().ok_or("no Neumann matrix")?;
    let float = floating(nm);
    if float != (first[0].abs() < 1e-8) {
        return Err(format!("floating {float} but λ {first:?}"));
    }
    if maxres > 1e-8 {
        return Err(format!("residual {maxres:e}"));
    }
    out.push(f64::from(u8::from(float)));
    out.push(maxres);
    out.extend(first.iter().copied().chain(std::iter::repeat(f64::NAN)).take(NEV));
    Ok(out)
}

fn run(comm: &Comm, degree: usize) -> Result<Vec<f64>, String> {
    let asm = kappa_jump(comm, degree)?;
    let mut values = Vec::new();
    let mut failure = None;
    for s in &asm.subdomains {
        match check(s) {
            Ok(v) => values.extend(v),
            Err(e) => failure = Some(e),
        }
    }
    let failed = comm.sum_u64(u64::from(failure.is_some()));
    if let Some(e) = failure {
        return Err(format!("rank {}: {e}", comm.rank()));
    }
    if failed > 0 {
        return Err("another rank failed".into());
    }
    Ok(comm.all_gather_v(&values))
}

fn main() {
    let comm = match Comm::init() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("geneo_check: FAIL {e}");
            std::process::exit(1);
        }
    };
    ddkit::linalg::init_sequential();
    let degree: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1);
    match run(&comm, degree) {
        Ok(all) => {
            if comm.is_root() {
                let (mut kept, mut floating, mut maxres) = (0, 0, 0.0f64);
                for (k, v) in all.chunks(PER_SUB).enumerate() {
                    let lambdas: Vec<String> = v[3..].iter().map(|l| format!("{l:.3e}")).collect();
                    println!(
                        "sub {}.{} kept {} floating {} lambda {} res {:.1e}",
                        k / 2,
                        k % 2,
                        v[0],
                        v[1],
                        lambdas.join(" "),
                        v[2]
                    );
                    kept += v[0] as usize;
                    floating += v[1] as usize;
                    maxres = maxres.max(v[2]);
                }
                println!(
                    "geneo_check: OK subdomains {} kept {kept} floating {floating} maxres {maxres:.1e}",
                    all.len() / PER_SUB
                );
            }
        }
        Err(e) => {
            eprintln!("geneo_check: FAIL {e}");
            std::process::exit(1);
        }
    }
}
