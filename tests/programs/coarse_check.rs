//! Multi-rank check of the coarse correction `Q = Z E⁻¹ Zᵀ`, run under `mpirun` by
//! `tests/coarse.rs` with the number of subdomains per rank and the coarse space (`nicolaides`,
//! the default, or `gdsw`) as arguments: a 2D five-point matrix on a 40 × 40 grid (rows in slabs
//! over the ranks), one-level ASM with overlap 1, and the coarse space. `Q` must be an
//! `A`-orthogonal projector onto the coarse space — `Q A Q r = Q r` — and symmetric
//! (`x·Q y = y·Q x`), and `Q A z = z` for `z` the sum of the columns of `Z`.
//!
//! Nicolaides (Dirichlet boundary all round): one column per subdomain, summing to the constant 1.
//! GDSW (Dirichlet on the bottom edge only, Neumann elsewhere, so `A 1 = 0` on every row off the
//! bottom edge): the dimension is the number of interface components of `gdsw_space`, each
//! column is its function `Φ_c` — exactly the core values of its pieces on every owned row, 0 or
//! 1 on the interface rows, `A Φ_c = 0` on every other row — and the functions sum to 1 on the
//! interface and on every row of a core away from the Dirichlet edge (a partition of unity, up
//! to the boundary), within [0, 1] elsewhere. Prints `coarse_check: OK dimension N` (GDSW:
//! `coarse_check: OK gdsw dimension N floating-rows F`) or `coarse_check: FAIL reason` (exit 1).

use ddkit::comm::Comm;
use ddkit::dd::{gdsw_space, nicolaides, CoarseSpace, GdswSpace, Schwarz, SchwarzVariant, SubdomainSplit};
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

fn run(comm: &Comm) -> Result<std::result::Result<String, String>> {
    let per_rank: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    let gdsw = std::env::args().nth(2).is_some_and(|s| s == "gdsw");
    let (t, n_owned) = grid_triplets(comm, 40, gdsw);
    let a = DistMatrix::assemble(comm, n_owned, &t)?;
    let sz = Schwarz::new(
        comm,
        &a,
        SchwarzVariant::Asm,
        1,
        per_rank,
        SubdomainSplit::Metis,
        LocalSolverKind::Cholesky,
    )?;
    let space = if gdsw {
        Some(gdsw_space(comm, sz.decomposition())?)
    } else {
        None
    };
    let mut q = match &space {
        Some(sp) => CoarseSpace::from_gdsw(comm, &a, sz.decomposition(), sp.clone())?,
        None => CoarseSpace::new(
            comm,
            &a,
            sz.decomposition(),
            nicolaides(sz.decomposition()),
            "nicolaides",
        )?,
    };
    let subdomains = comm.sum_u64(sz.decomposition().subdomains.len() as u64) as usize;
    let expected = space.as_ref().map_or(subdomains, |sp| sp.n_coarse as usize);
    if q.dimension() != expected {
        return Ok(Err(format!("dimension {} for {expected} columns", q.dimension())));
    }
    let mut sum = match sum_of_columns(comm, &a, &mut q, &sz, space.as_ref()) {
        Ok(sum) => sum,
        Err(m) => return Ok(Err(m)),
    };
    let summary = match &space {
        Some(sp) => match check_gdsw_sum(&sz, sp, &t, sum.owned()) {
            Ok(floating) => format!(
                "gdsw dimension {} floating-rows {}",
                q.dimension(),
                comm.sum_u64(floating)
            ),
            Err(m) => return Ok(Err(m)),
        },
        None => {
            if let Some(x) = sum.owned().iter().find(|x| (*x - 1.0).abs() > 1e-12) {
                return Ok(Err(format!("the Nicolaides columns sum to {x}, not 1")));
            }
            format!("dimension {}", q.dimension())
        }
    };
    Ok(check_projector(comm, &a, &mut q, &mut sum).map(|()| summary))
}

/// This rank's slab of rows of the five-point matrix on the `n × n` grid and its row count.
/// Nicolaides: Dirichlet all round (diagonal 4). GDSW: Neumann sides and top (diagonal =
/// neighbour count), Dirichlet bottom.
fn grid_triplets(comm: &Comm, n: u64, gdsw: bool) -> (Vec<(u64, u64, f64)>, usize) {
    let (rank, size) = (comm.rank() as u64, comm.size() as u64);
    let (j0, j1) = (n * rank / size, n * (rank + 1) / size);
    let id = |i: u64, j: u64| i + n * j;
    let mut t = Vec::new();
    for j in j0..j1 {
        for i in 0..n {
            let p = id(i, j);
            let nbrs = [
                (i > 0, p.wrapping_sub(1)),
                (i + 1 < n, p + 1),
                (j > 0, p.wrapping_sub(n)),
                (j + 1 < n, p + n),
            ];
            // GDSW: Neumann sides and top (diagonal = neighbour count), Dirichlet bottom.
            let neighbours = nbrs.iter().filter(|x| x.0).count() as f64;
            t.push((
                p,
                p,
                if gdsw {
                    neighbours + f64::from(u8::from(j == 0))
                } else {
                    4.0
                },
            ));
            t.extend(nbrs.iter().filter(|x| x.0).map(|x| (p, x.1, -1.0)));
        }
    }
    (t, ((j1 - j0) * n) as usize)
}

/// Collective: the sum of the columns of `q`, each GDSW column checked against its function on
/// the way.
fn sum_of_columns(
    comm: &Comm,
    a: &DistMatrix,
    q: &mut CoarseSpace,
    sz: &Schwarz,
    space: Option<&GdswSpace>,
) -> std::result::Result<DistVector, String> {
    let mut sum = DistVector::zeros(a.layout());
    let mut col = DistVector::zeros(a.layout());
    let mut acol = DistVector::zeros(a.layout());
    for c in 0..q.dimension() {
        q.column(c, col.owned_mut());
        if let Some(sp) = space {
            a.spmv(comm, &mut col, &mut acol);
            check_gdsw_column(sz, sp, c as u64, col.owned(), acol.owned())?;
        }
        sum.owned_mut().iter_mut().zip(col.owned()).for_each(|(s, x)| *s += x);
    }
    Ok(sum)
}

/// Collective: `Q` is an `A`-orthogonal projector (`Q A Q r = Q r`), symmetric, and reproduces
/// `sum`, the sum of the columns (`Q A z = z`; for Nicolaides: the constants).
fn check_projector(
    comm: &Comm,
    a: &DistMatrix,
    q: &mut CoarseSpace,
    sum: &mut DistVector,
) -> std::result::Result<(), String> {
    let n_owned = a.layout().n_owned;
    let off = a.layout().offset;
    let r: Vec<f64> = (0..n_owned).map(|i| noise(off + i as u64, 1)).collect();
    let s: Vec<f64> = (0..n_owned).map(|i| noise(off + i as u64, 2)).collect();
    let mut qr = DistVector::zeros(a.layout());
    q.apply_owned(comm, &r, qr.owned_mut(), false); // Q r
    let mut aqr = DistVector::zeros(a.layout());
    a.spmv(comm, &mut qr, &mut aqr); // A Q r
    let mut qaqr = vec![0.0; n_owned];
    q.apply_owned(comm, aqr.owned(), &mut qaqr, false); // Q A Q r
    let e = rel(&qaqr, qr.owned(), comm);
    if e > 1e-10 {
        return Err(format!("Q A Q r differs from Q r by {e:e}"));
    }
    let mut qs = vec![0.0; n_owned];
    q.apply_owned(comm, &s, &mut qs, false);
    let (x, y) = (
        comm.sum_f64(s.iter().zip(qr.owned()).map(|(a, b)| a * b).sum()),
        comm.sum_f64(r.iter().zip(&qs).map(|(a, b)| a * b).sum()),
    );
    if (x - y).abs() > 1e-10 * x.abs().max(y.abs()) {
        return Err(format!("Q is not symmetric: s·Q r = {x:e}, r·Q s = {y:e}"));
    }
    // The sum of the columns lies in the coarse space (for Nicolaides: the constants).
    let mut az = DistVector::zeros(a.layout());
    a.spmv(comm, sum, &mut az);
    let mut qaz = vec![0.0; n_owned];
    q.apply_owned(comm, az.owned(), &mut qaz, false);
    let e = rel(&qaz, sum.owned(), comm);
    if e > 1e-10 {
        return Err(format!("Q A z differs from z = Σ columns by {e:e}"));
    }
    Ok(())
}

/// The owned rows of `sz`'s subdomain cores (every owned row lies in one), with the subdomain's
/// index; cores are parts of the owned rows.
fn core_rows(sz: &Schwarz) -> Vec<(usize, usize, usize)> {
    let off = sz.decomposition().ext_layout.offset;
    let mut out = Vec::new();
    for (k, s) in sz.decomposition().subdomains.iter().enumerate() {
        for (i, (&g, &w)) in s.rows.iter().zip(&s.pou).enumerate() {
            if w == 1.0 {
                out.push(((g - off) as usize, k, i)); // (owned row, subdomain, row in it)
            }
        }
    }
    out
}

/// Whether owned row `r` (in core `k` at position `i`) is an interface row: some piece is 1 there.
fn on_interface(sp: &GdswSpace, k: usize, i: usize) -> bool {
    sp.subdomains[k].vectors.iter().any(|v| v[i] == 1.0)
}

/// Column `c` of `Z` on the owned rows is `Φ_c` exactly once: its core pieces' values, 0 or 1
/// on the interface, discrete harmonic (`(A Φ_c)_r = 0`) on every other row.
fn check_gdsw_column(sz: &Schwarz, sp: &GdswSpace, c: u64, z: &[f64], az: &[f64]) -> std::result::Result<(), String> {
    for (r, k, i) in core_rows(sz) {
        let b = &sp.subdomains[k];
        let want: f64 = b
            .ids
            .iter()
            .zip(&b.vectors)
            .filter(|(&id, _)| id == c)
            .map(|(_, v)| v[i])
            .sum();
        if z[r] != want {
            return Err(format!("column {c} is {} at owned row {r}, its function {want}", z[r]));
        }
        if on_interface(sp, k, i) {
            if z[r] != 0.0 && z[r] != 1.0 {
                return Err(format!("column {c} is {} on interface row {r}", z[r]));
            }
        } else if az[r].abs() > 1e-10 {
            return Err(format!(
                "column {c} is not harmonic at owned row {r}: (A z)_r = {:e}",
                az[r]
            ));
        }
    }
    Ok(())
}

/// The GDSW functions sum to 1 on the interface and on every row of a core with no Dirichlet
/// row (`A 1 = 0` on all its rows), and lie in [0, 1] elsewhere. Returns how many owned rows
/// are in such floating cores.
fn check_gdsw_sum(
    sz: &Schwarz,
    sp: &GdswSpace,
    triplets: &[(u64, u64, f64)],
    sum: &[f64],
) -> std::result::Result<u64, String> {
    let off = sz.decomposition().ext_layout.offset;
    let mut row_sum = vec![0.0; sum.len()];
    triplets.iter().for_each(|&(g, _, v)| row_sum[(g - off) as usize] += v);
    let mut floating = vec![true; sz.decomposition().subdomains.len()];
    let cores = core_rows(sz);
    cores
        .iter()
        .filter(|x| row_sum[x.0] != 0.0)
        .for_each(|x| floating[x.1] = false);
    let mut count = 0;
    for (r, k, i) in cores {
        let s = sum[r];
        if on_interface(sp, k, i) && s != 1.0 {
            return Err(format!("Σ Φ = {s} on interface row {r}"));
        }
        if floating[k] {
            count += 1;
            if (s - 1.0).abs() > 1e-12 {
                return Err(format!("Σ Φ = {s} at row {r}, in a core away from the Dirichlet edge"));
            }
        } else if !(-1e-12..=1.0 + 1e-12).contains(&s) {
            return Err(format!("Σ Φ = {s} at row {r}"));
        }
    }
    Ok(count)
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
        Ok(Ok(summary)) if fail == 0.0 => {
            if comm.is_root() {
                println!("coarse_check: OK {summary}");
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
