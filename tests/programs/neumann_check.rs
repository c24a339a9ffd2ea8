//! Multi-rank check of the Neumann matrices attached to Schwarz subdomains, run under `mpirun`
//! by `tests/neumann.rs` with the element degree (`1` or `2`) as argument: a Poisson problem on
//! a triangulated grid with κ jumping between two halves, ASM with overlap 1 (for P1) or 2 (for
//! P2, whose matrix graph reaches an element's nodes in one step only from inside it) and two
//! subdomains per rank. Every attached Neumann matrix must be symmetric with zero row sums
//! with Dirichlet points eliminated like the assembled matrix; on every core row — all of whose
//! elements lie inside the overlapping subdomain — it must equal the Dirichlet matrix `A_i`, and
//! on some overlap rows it must differ (there it is unassembled: the elements outside are
//! missing). Prints `neumann_check: OK rows N differing M subdomains S` or
//! `neumann_check: FAIL reason` (exit 1).

#[path = "shared/kappa_jump.rs"]
mod kappa_jump;

use ddkit::comm::Comm;
use ddkit::linalg::Csr;
use kappa_jump::kappa_jump;

fn entry(m: &Csr, i: usize, j: u32) -> Option<f64> {
    let (c, v) = m.row(i);
    c.iter().position(|&x| x == j).map(|k| v[k])
}

/// Whether rows `i` of `a` and `b` hold the same entries (to `tol`).
fn same_row(a: &Csr, b: &Csr, i: usize, tol: f64) -> bool {
    let ((ac, av), (bc, bv)) = (a.row(i), b.row(i));
    ac.len() == bc.len()
        && ac
            .iter()
            .zip(av)
            .all(|(&j, &x)| entry(b, i, j).is_some_and(|y| (x - y).abs() <= tol))
        && bc.iter().zip(bv).all(|(&j, _)| entry(a, i, j).is_some())
}

/// Checks one subdomain; returns the numbers of core rows compared and of overlap rows that
/// differ from `A_i`.
fn check(rows: &[u64], pou: &[f64], a: &Csr, nm: &Csr) -> Result<(usize, usize), String> {
    if !nm.is_symmetric(1e-12) {
        return Err("a Neumann matrix is not symmetric".into());
    }
    let scale = (0..a.nrows)
        .map(|i| a.row(i).1.iter().fold(0.0f64, |m, v| m.max(v.abs())))
        .fold(0.0, f64::max);
    let (mut compared, mut differing) = (0, 0);
    for i in 0..rows.len() {
        let same = same_row(a, nm, i, 1e-12 * scale);
        if pou[i] == 1.0 {
            if !same {
                return Err(format!(
                    "core row {}: Neumann {:?} vs A_i {:?}",
                    rows[i],
                    nm.row(i),
                    a.row(i)
                ));
            }
            compared += 1;
        } else if !same {
            differing += 1;
        }
    }
    Ok((compared, differing))
}

fn run(comm: &Comm, degree: usize) -> Result<(u64, u64, u64), String> {
    let asm = kappa_jump(comm, degree)?;
    let (mut compared, mut differing) = (0, 0);
    let mut failure = None;
    for s in &asm.decomposition().subdomains {
        match s.neumann.as_ref().map(|nm| check(&s.rows, &s.pou, &s.matrix, nm)) {
            Some(Ok((c, d))) => {
                compared += c;
                differing += d;
            }
            Some(Err(e)) => failure = Some(e),
            None => failure = Some("a subdomain has no Neumann matrix".into()),
        }
    }
    let failed = comm.sum_u64(u64::from(failure.is_some()));
    if let Some(e) = failure {
        return Err(format!("rank {}: {e}", comm.rank()));
    }
    if failed > 0 {
        return Err("another rank failed".into());
    }
    Ok((
        comm.sum_u64(compared as u64),
        comm.sum_u64(differing as u64),
        comm.sum_u64(asm.decomposition().subdomains.len() as u64),
    ))
}

fn main() {
    let comm = match Comm::init() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("neumann_check: FAIL {e}");
            std::process::exit(1);
        }
    };
    ddkit::linalg::init_sequential();
    let degree: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1);
    match run(&comm, degree) {
        Ok((rows, differing, subs)) => {
            if comm.is_root() {
                println!("neumann_check: OK rows {rows} differing {differing} subdomains {subs}");
            }
        }
        Err(e) => {
            eprintln!("neumann_check: FAIL {e}");
            std::process::exit(1);
        }
    }
}
