//! Multi-rank check of the GDSW coarse space, run under `mpirun` by `tests/gdsw.rs` with the
//! element degree (`1` or `2`) as argument: the Poisson problem of `neumann_check` (κ = 1 | 50,
//! Dirichlet boundary), ASM with overlap 1 (P1) or 2 (P2) and two subdomains per rank, no
//! Neumann matrix. Checks, with the cores of overlap rows owned by other ranks: every piece lies
//! on its subdomain's core, its key holds its subdomain, it is the indicator of its component
//! on the interface rows (those where some piece is exactly 1) and discrete harmonic on the
//! core interior; summed over all functions it is 1 on the interface, in [0, 1] inside (0 on Dirichlet rows), and the
//! sum over the pieces of all subdomains — exchanged to the overlap rows — is harmonic on every
//! interior row of every core. Prints `gdsw_check: OK subdomains S coarse N keylens [..]` or
//! `gdsw_check: FAIL reason` (exit 1).

#[path = "shared/kappa_jump.rs"]
mod kappa_jump;

use ddkit::comm::{Comm, Halo};
use ddkit::dd::{gdsw_space, GdswBasis, Schwarz, Subdomain};
use kappa_jump::kappa_jump;

/// Position of global row `g` in an array over the Schwarz overlap layout.
fn ext_of(asm: &Schwarz, g: u64) -> usize {
    let lay = &asm.decomposition().ext_layout;
    if g >= lay.offset && g < lay.offset + lay.n_owned as u64 {
        (g - lay.offset) as usize
    } else {
        lay.n_owned + lay.ghosts.partition_point(|&x| x < g)
    }
}

/// Checks the pieces of one subdomain (global id `id`); returns the interface rows of its core.
fn check_pieces(s: &Subdomain, b: &GdswBasis, id: u64) -> Result<Vec<bool>, String> {
    let n = s.rows.len();
    let gamma: Vec<bool> = (0..n).map(|i| b.vectors.iter().any(|v| v[i] == 1.0)).collect();
    for (v, key) in b.vectors.iter().zip(&b.keys) {
        if !key.contains(&id) || key.len() < 2 {
            return Err(format!("subdomain {id} holds a piece of {key:?}"));
        }
        for i in 0..n {
            if s.pou[i] == 0.0 && v[i] != 0.0 {
                return Err("a piece is nonzero on the overlap".into());
            }
            if gamma[i] && v[i] != 0.0 && v[i] != 1.0 {
                return Err(format!("piece of {key:?} is {} on an interface row", v[i]));
            }
            if s.pou[i] == 1.0 && !gamma[i] && s.matrix.row_dot(i, v).abs() > 1e-10 {
                return Err(format!("piece of {key:?} is not harmonic at row {}", s.rows[i]));
            }
        }
    }
    for i in (0..n).filter(|&i| s.pou[i] == 1.0) {
        let sum: f64 = b.vectors.iter().map(|v| v[i]).sum();
        if (gamma[i] && sum != 1.0) || !(0.0..=1.0 + 1e-12).contains(&sum) {
            return Err(format!("Σ Φ = {sum} at row {}", s.rows[i]));
        }
    }
    Ok(gamma)
}

fn run(comm: &Comm, degree: usize) -> Result<String, String> {
    let asm = kappa_jump(comm, degree)?;
    let space = gdsw_space(comm, asm.decomposition()).map_err(|e| e.to_string())?;
    // Σ over all functions, on the owned rows from the cores, then on the overlap rows.
    let mut sum = vec![0.0; asm.decomposition().ext_layout.n_local()];
    let mut failure = None;
    let mut gammas = Vec::new();
    for (k, (s, b)) in asm.decomposition().subdomains.iter().zip(&space.subdomains).enumerate() {
        match check_pieces(s, b, space.first_subdomain + k as u64) {
            Ok(g) => gammas.push(g),
            Err(e) => failure = Some(e),
        }
        for v in &b.vectors {
            for (&g, x) in s.rows.iter().zip(v) {
                if *x != 0.0 {
                    sum[ext_of(&asm, g)] += x;
                }
            }
        }
    }
    let mut halo = Halo::new(comm, &asm.decomposition().ext_layout).map_err(|e| e.to_string())?;
    halo.forward(comm, &mut sum);
    if failure.is_none() {
        for (s, gamma) in asm.decomposition().subdomains.iter().zip(&gammas) {
            let local: Vec<f64> = s.rows.iter().map(|&g| sum[ext_of(&asm, g)]).collect();
            let bad =
                (0..s.rows.len()).find(|&i| s.pou[i] == 1.0 && !gamma[i] && s.matrix.row_dot(i, &local).abs() > 1e-10);
            if let Some(i) = bad {
                failure = Some(format!("Σ Φ is not harmonic at row {}", s.rows[i]));
            }
        }
    }
    let failed = comm.sum_u64(u64::from(failure.is_some()));
    if let Some(e) = failure {
        return Err(format!("rank {}: {e}", comm.rank()));
    }
    if failed > 0 {
        return Err("another rank failed".into());
    }
    Ok(format!(
        "subdomains {} coarse {} keylens {:?}",
        comm.sum_u64(asm.decomposition().subdomains.len() as u64),
        space.n_coarse,
        space.by_key_len
    ))
}

fn main() {
    let comm = match Comm::init() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gdsw_check: FAIL {e}");
            std::process::exit(1);
        }
    };
    ddkit::linalg::init_sequential();
    let degree: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1);
    match run(&comm, degree) {
        Ok(line) => {
            if comm.is_root() {
                println!("gdsw_check: OK {line}");
            }
        }
        Err(e) => {
            eprintln!("gdsw_check: FAIL {e}");
            std::process::exit(1);
        }
    }
}
