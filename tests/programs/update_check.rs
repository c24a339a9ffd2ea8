//! Numeric updates of preconditioners, run under `mpirun` by `tests/update.rs`: a
//! preconditioner built for `A₁` and updated to `A₂` (same pattern, other values) must solve
//! `A₂ x = b` exactly as one built for `A₂` from scratch (same iterations, solutions ≤ 1e-12
//! apart), without any new symbolic set-up. `update_check time N K` instead times set-up against
//! update of one-level additive Schwarz with K subdomains per rank on an N×N grid (median of
//! three).
//!
//! Prints `update_check: OK ...` / `update_check: FAIL ...` (exit 1) or the timing lines.

use ddkit::comm::Comm;
use ddkit::dd::{Combination, Schwarz, SchwarzVariant, SubdomainSplit, TwoLevel};
use ddkit::krylov::{Cg, Gmres, SolverOptions};
use ddkit::linalg::{symbolic_setups, DistMatrix, DistVector, Jacobi, LocalSolverKind, Preconditioner};
use ddkit::solver::SolverConfig;
use std::time::Instant;

/// Rows `lo..hi` of this rank's contiguous block of `n` rows.
fn block(comm: &Comm, n: usize) -> (u64, u64) {
    let (r, s) = (comm.rank() as usize, comm.size() as usize);
    ((r * n / s) as u64, ((r + 1) * n / s) as u64)
}

/// `−∇·κ∇` (5-point, Dirichlet) on an n×n grid for the rows `lo..hi`, the edge coefficient the
/// mean of its nodes' `kappa`; the pattern does not depend on `kappa`.
fn laplacian(comm: &Comm, n: usize, kappa: impl Fn(u64) -> f64) -> Result<DistMatrix, String> {
    let (lo, hi) = block(comm, n * n);
    let n64 = n as u64;
    let mut t = Vec::new();
    for g in lo..hi {
        let (i, j) = (g % n64, g / n64);
        let missing = [i == 0, i == n64 - 1, j == 0, j == n64 - 1]
            .iter()
            .filter(|&&m| m)
            .count();
        let mut diag = missing as f64 * kappa(g);
        for (ok, q) in [
            (i > 0, g.wrapping_sub(1)),
            (i + 1 < n64, g + 1),
            (j > 0, g.wrapping_sub(n64)),
            (j + 1 < n64, g + n64),
        ] {
            if ok {
                let k = 0.5 * (kappa(g) + kappa(q));
                diag += k;
                t.push((g, q, -k));
            }
        }
        t.push((g, g, diag));
    }
    DistMatrix::assemble(comm, (hi - lo) as usize, &t).map_err(|e| e.to_string())
}

/// The two matrices: κ₁ smooth, κ₂ a different, rougher field on the same pattern.
fn matrices(comm: &Comm, n: usize) -> Result<(DistMatrix, DistMatrix), String> {
    let n64 = n as f64;
    let a1 = laplacian(comm, n, |g| 1.0 + (g % n as u64) as f64 / n64)?;
    let a2 = laplacian(comm, n, |g| {
        1.0 + 20.0 * ((g as f64 * 0.37).sin() + 1.0) * ((g / n as u64) as f64 / n64)
    })?;
    Ok((a1, a2))
}

/// The preconditioners under test, built for `a`.
fn build(comm: &Comm, a: &DistMatrix, name: &str) -> ddkit::Result<Box<dyn Preconditioner>> {
    let schwarz = |v, k| Schwarz::new(comm, a, v, 1, 2, SubdomainSplit::Metis, k);
    Ok(match name {
        "jacobi" => Box::new(Jacobi::new(a)),
        "asm" => Box::new(schwarz(SchwarzVariant::Asm, LocalSolverKind::Cholesky)?),
        "ras-lu" => Box::new(schwarz(SchwarzVariant::Ras, LocalSolverKind::Lu)?),
        "ssm" => Box::new(schwarz(
            SchwarzVariant::SymmetricMultiplicative,
            LocalSolverKind::Cholesky,
        )?),
        "asm-ic0" => Box::new(schwarz(SchwarzVariant::Asm, LocalSolverKind::Ic0)?),
        // Value-dependent coarse bases recomputed on update (`pc.coarse.update-basis`), and GDSW
        // keeping its basis.
        "gdsw-rebuild" | "geneo-rebuild" | "gdsw-kept" => {
            let preset = if name.starts_with("gdsw") {
                "cg-gdsw"
            } else {
                "cg-geneo"
            };
            SolverConfig::load(preset)?
                .set("pc.subdomains-per-rank", 2)?
                .set("pc.coarse.update-basis", name.ends_with("rebuild"))?
                .build_pc(comm, a)?
        }
        _ => Box::new(TwoLevel::nicolaides(
            comm,
            a,
            schwarz(SchwarzVariant::Asm, LocalSolverKind::Cholesky)?,
            Combination::Balanced,
        )?),
    })
}

/// Collective: solves `a x = b` (b ≡ 1) with CG, or GMRES for a non-symmetric preconditioner.
fn solve(comm: &Comm, a: &DistMatrix, pc: &mut dyn Preconditioner) -> Result<(usize, DistVector), String> {
    let b = DistVector::from_owned(a.layout(), &vec![1.0; a.layout().n_owned]);
    let mut x = DistVector::zeros(a.layout());
    let opts = SolverOptions {
        rtol: 1e-10,
        ..SolverOptions::default()
    };
    let s = if pc.is_symmetric() {
        Cg::default().solve(comm, a, pc, &b, &mut x, &opts)
    } else {
        Gmres::new(false).solve(comm, a, pc, &b, &mut x, &opts)
    }
    .map_err(|e| e.to_string())?;
    if !s.converged() {
        return Err(format!("{:?} after {} iterations", s.reason, s.iterations));
    }
    Ok((s.iterations, x))
}

fn check(comm: &Comm) -> Result<String, String> {
    let (a1, a2) = matrices(comm, 40)?;
    let mut lines = Vec::new();
    for name in [
        "jacobi",
        "asm",
        "ras-lu",
        "ssm",
        "asm-ic0",
        "nicolaides",
        "gdsw-rebuild",
        "geneo-rebuild",
        "gdsw-kept",
    ] {
        let mut updated = build(comm, &a1, name).map_err(|e| e.to_string())?;
        let before = symbolic_setups();
        updated.update(comm, &a2).map_err(|e| format!("{name}: {e}"))?;
        let symbolic = comm.sum_u64(symbolic_setups() - before);
        let (it_u, x_u) = solve(comm, &a2, updated.as_mut()).map_err(|e| format!("{name} updated: {e}"))?;
        let mut fresh = build(comm, &a2, name).map_err(|e| e.to_string())?;
        let (it_f, x_f) = solve(comm, &a2, fresh.as_mut()).map_err(|e| format!("{name} fresh: {e}"))?;
        let diff = x_u
            .owned()
            .iter()
            .zip(x_f.owned())
            .map(|(u, f)| (u - f).powi(2))
            .sum::<f64>();
        let rel = (comm.sum_f64(diff) / comm.sum_f64(x_f.owned().iter().map(|f| f * f).sum())).sqrt();
        if name == "gdsw-kept" {
            // The kept basis is the one of κ₁: a different, still convergent preconditioner.
            if symbolic != 0 || it_u > it_f + it_f / 2 || rel > 1e-8 {
                return Err(format!(
                    "{name}: after update {it_u} iterations, fresh {it_f}, solutions {rel:e} apart"
                ));
            }
            lines.push(format!("{name} {it_u}/{it_f} its"));
            continue;
        }
        // A recomputed coarse basis sets up its new coarse solves (symbolic work of the coarse
        // part only); the one-level part never does.
        let symbolic_ok = name.ends_with("rebuild") || symbolic == 0;
        if !symbolic_ok || it_u != it_f || rel > 1e-12 {
            return Err(format!(
                "{name}: after update {it_u} iterations, fresh {it_f}, solutions {rel:e} apart, {symbolic} symbolic set-ups in the update"
            ));
        }
        lines.push(format!("{name} {it_u} its {rel:.0e}"));
    }
    // A matrix of another pattern is refused, on every rank.
    let other = laplacian(comm, 41, |_| 1.0)?;
    let mut asm = build(comm, &a1, "asm").map_err(|e| e.to_string())?;
    match asm.update(comm, &other) {
        Ok(()) => Err("an update with another pattern was accepted".into()),
        Err(_) => Ok(lines.join(", ")),
    }
}

/// Set-up and update times of one-level ASM (`per_rank` subdomains per rank, overlap 1,
/// Cholesky) on an n×n grid.
fn time(comm: &Comm, n: usize, per_rank: usize) -> Result<(), String> {
    let (a1, a2) = matrices(comm, n)?;
    let (mut setups, mut updates) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        comm.barrier();
        let t = Instant::now();
        let mut pc = Schwarz::new(
            comm,
            &a1,
            SchwarzVariant::Asm,
            1,
            per_rank,
            SubdomainSplit::Metis,
            LocalSolverKind::Cholesky,
        )
        .map_err(|e| e.to_string())?;
        setups.push(comm.max_f64(t.elapsed().as_secs_f64()));
        comm.barrier();
        let t = Instant::now();
        pc.update(comm, &a2).map_err(|e| e.to_string())?;
        updates.push(comm.max_f64(t.elapsed().as_secs_f64()));
    }
    setups.sort_by(f64::total_cmp);
    updates.sort_by(f64::total_cmp);
    if comm.is_root() {
        println!(
            "update_check: {n}x{n} asm, {per_rank} subdomains/rank on {} ranks: set-up {:.4} s, update {:.4} s (median of 3), ratio {:.2}",
            comm.size(),
            setups[1],
            updates[1],
            updates[1] / setups[1]
        );
    }
    Ok(())
}

fn main() {
    let comm = match Comm::init() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("update_check: FAIL {e}");
            std::process::exit(1);
        }
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.as_slice() {
        [t, n, k] if t == "time" => match (n.parse(), k.parse()) {
            (Ok(n), Ok(k)) => time(&comm, n, k).map(|_| String::new()),
            _ => Err(format!("usage: update_check time N SUBDOMAINS_PER_RANK, got {n} {k}")),
        },
        _ => check(&comm),
    };
    let ok = comm.max_f64(if r.is_ok() { 0.0 } else { 1.0 }) == 0.0;
    if comm.is_root() || r.is_err() {
        match &r {
            Ok(m) if ok && !m.is_empty() => println!("update_check: OK on {} ranks: {m}", comm.size()),
            Ok(_) if ok => {}
            Ok(_) => println!("update_check: FAIL on another rank"),
            Err(e) => println!("update_check: FAIL on rank {}: {e}", comm.rank()),
        }
    }
    drop(comm);
    std::process::exit(i32::from(!ok));
}
