//! Multi-rank check of the coarse correction `Q = Z E⁻¹ Zᵀ` of the Nicolaides coarse space, run
//! under `mpirun` by `tests/coarse.rs` with the number of subdomains per rank as argument: a 2D
//! five-point Poisson matrix on a 40 × 40 grid (rows in slabs over the ranks), one-level ASM
//! with overlap 1, and the coarse space of one vector per subdomain. `Q` must be an
//! `A`-orthogonal projector onto the coarse space — `Q A Q r = Q r` — and symmetric
//! (`x·Q y = y·Q x`), `Q A z = z` for every column `z` of `Z` (here the global constant, their
//! sum), and the coarse dimension must be the number of subdomains. Prints
//! `coarse_check: OK dimension N` or `coarse_check: FAIL reason` (exit 1).

use ddkit::comm::Comm;
use ddkit::dd::{nicolaides, CoarseSpace, Schwarz, SchwarzVariant, SubdomainSplit};
use ddkit::linalg::{DistMatrix, DistVector, LocalSolverKind};
use ddkit::Result;
use std::process::ExitCode;

/// A reproducible pseudo-random value in [-1, 1) for global row `g`, stream `s`.
fn noise(g: u64, s: u64) -> f64 {
    let mut x = g.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ s.wrapping_mul(0xD1B5_4A32_D192_ED03);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

fn rel(a: &[f64], b: &[f64], comm: &Comm) -> f64 {
    let d: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    let n: f64 = b.iter().map(|y| y * y).sum();
    (comm.sum_f64(d) / comm.sum_f64(n)).sqrt()
}

fn run(comm: &Comm) -> Result<std::result::Result<usize, String>> {
    let per_rank: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    let n = 40u64;
    let (rank, size) = (comm.rank() as u64, comm.size() as u64);
    let (j0, j1) = (n * rank / size, n * (rank + 1) / size);
    let id = |i: u64, j: u64| i + n * j;
    let mut t = Vec::new();
    for j in j0..j1 {
        for i in 0..n {
            let p = id(i, j);
            t.push((p, p, 4.0));
            let nbrs = [
                (i > 0, p.wrapping_sub(1)),
                (i + 1 < n, p + 1),
                (j > 0, p.wrapping_sub(n)),
                (j + 1 < n, p + n),
            ];
            t.extend(nbrs.iter().filter(|x| x.0).map(|x| (p, x.1, -1.0)));
        }
    }
    let n_owned = ((j1 - j0) * n) as usize;
    let mut a = DistMatrix::assemble(comm, n_owned, &t)?;
    let sz = Schwarz::new(
        comm,
        &a,
        SchwarzVariant::Asm,
        1,
        per_rank,
        SubdomainSplit::Metis,
        LocalSolverKind::Cholesky,
    )?;
    let mut q = CoarseSpace::new(comm, &a, &sz, nicolaides(comm, &sz)?, "nicolaides")?;
    let subdomains = comm.sum_u64(sz.subdomains.len() as u64) as usize;
    if q.dimension() != subdomains {
        return Ok(Err(format!("dimension {} for {subdomains} subdomains", q.dimension())));
    }
    let off = a.layout.offset;
    let r: Vec<f64> = (0..n_owned).map(|i| noise(off + i as u64, 1)).collect();
    let s: Vec<f64> = (0..n_owned).map(|i| noise(off + i as u64, 2)).collect();
    let mut qr = DistVector::zeros(&a.layout);
    q.apply_owned(comm, &r, qr.owned_mut(), false); // Q r
    let mut aqr = DistVector::zeros(&a.layout);
    a.spmv(comm, &mut qr, &mut aqr); // A Q r
    let mut qaqr = vec![0.0; n_owned];
    q.apply_owned(comm, aqr.owned(), &mut qaqr, false); // Q A Q r
    let e = rel(&qaqr, qr.owned(), comm);
    if e > 1e-10 {
        return Ok(Err(format!("Q A Q r differs from Q r by {e:e}")));
    }
    let mut qs = vec![0.0; n_owned];
    q.apply_owned(comm, &s, &mut qs, false);
    let (x, y) = (
        comm.sum_f64(s.iter().zip(qr.owned()).map(|(a, b)| a * b).sum()),
        comm.sum_f64(r.iter().zip(&qs).map(|(a, b)| a * b).sum()),
    );
    if (x - y).abs() > 1e-10 * x.abs().max(y.abs()) {
        return Ok(Err(format!("Q is not symmetric: s·Q r = {x:e}, r·Q s = {y:e}")));
    }
    // The constants lie in the coarse space (the partition of unity sums to one).
    let mut one = DistVector::from_owned(&a.layout, &vec![1.0; n_owned]);
    let mut a1 = DistVector::zeros(&a.layout);
    a.spmv(comm, &mut one, &mut a1);
    let mut qa1 = vec![0.0; n_owned];
    q.apply_owned(comm, a1.owned(), &mut qa1, false);
    let e = rel(&qa1, one.owned(), comm);
    if e > 1e-10 {
        return Ok(Err(format!("Q A 1 differs from 1 by {e:e}")));
    }
    Ok(Ok(q.dimension()))
}

fn main() -> ExitCode {
    ddkit::linalg::init_sequential();
    let comm = match Comm::init() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("coarse_check: FAIL {e}");
            return ExitCode::FAILURE;
        }
    };
    let res = run(&comm);
    let fail = comm.max_f64(f64::from(u8::from(!matches!(res, Ok(Ok(_))))));
    match res {
        Ok(Ok(dim)) if fail == 0.0 => {
            if comm.is_root() {
                println!("coarse_check: OK dimension {dim}");
            }
            ExitCode::SUCCESS
        }
        Ok(Ok(_)) => ExitCode::FAILURE,
        Ok(Err(m)) => {
            eprintln!("coarse_check: FAIL rank {}: {m}", comm.rank());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("coarse_check: FAIL rank {}: {e}", comm.rank());
            ExitCode::FAILURE
        }
    }
}
