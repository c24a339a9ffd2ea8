//! Multi-rank check of the GenEO local bases, run under `mpirun` by `tests/geneo.rs` with the
//! element degree (`1` or `2`) or `fd` as argument: the Poisson problem of `neumann_check` (a
//! triangulated grid, κ = 1 on the left half and 50 on the right, Dirichlet on the whole
//! boundary), ASM with overlap 1 (P1) or 2 (P2) and two subdomains per rank, the Neumann
//! matrices of the elements attached; or (`fd`) cell-centred FD on a 32² grid with the built-in
//! contrast 1e4, ASM with overlap 1 and two subdomains per rank, the algebraic Neumann matrices
//! attached (`Schwarz::attach_algebraic_neumann`). For FD it also checks the splitting itself:
//! `N_s` is symmetric and differs from `A_s` by a non-negative diagonal, and summed over the
//! subdomains at the row owners (a reverse exchange, the opposite way to the forward one the
//! splitting uses) the row sums of the `N_s` equal each row's multiplicity times the row sum
//! of `A` (for an M-matrix every piece of the splitting but the diagonal annihilates the
//! constants) — a wrong diagonal part on an overlap row owned by another rank shows here; and
//! that a matrix made non-dominant on one row of the last rank is refused with one
//! configuration error on every rank. On every subdomain the GenEO eigenproblem is solved for τ = 0.1 and for
//! nev = 4, by the dense and by the sparse eigensolver; every residual must be at most 1e-8,
//! both solvers must give the same eigenvalues, and λ₁ ≈ 0 exactly on the floating subdomains
//! (those whose Neumann matrix annihilates the constants on the rows that are not Dirichlet
//! rows). Prints, on rank 0, one line per subdomain (`sub R.S kept K lambda ... res ...`) and
//! then `geneo_check: OK subdomains S kept N floating F maxres R` (`fd` adds `rowsums D`, the
//! largest relative difference of the row-sum check), or `geneo_check: FAIL reason` (exit 1).

#[path = "shared/kappa_jump.rs"]
mod kappa_jump;

use ddkit::comm::{Comm, Halo};
use ddkit::dd::{geneo_basis, GeneoMethod, GeneoOptions, Schwarz, SchwarzVariant, Subdomain, SubdomainSplit};
use ddkit::fd::assemble_poisson_fd;
use ddkit::linalg::{Csr, DistMatrix, DistVector, LocalSolverKind};
use ddkit::partition::Method;
use ddkit::pde::HeatData;
use ddkit::problems::heat::Discretization;
use ddkit::problems::{prepare, MeshSource, Prepared};
use ddkit::solver::SolverConfig;
use kappa_jump::kappa_jump;
use std::collections::BTreeMap;

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

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Collective: FD Poisson on a 32² grid with contrast 1e4, METIS over the ranks; the matrix.
fn fd_matrix(comm: &Comm) -> Result<DistMatrix, String> {
    let Prepared { mesh, lm, .. } = prepare(
        comm,
        &MeshSource::Grid(vec![32, 32]),
        Discretization::Fd,
        &Method::MetisKway,
    )
    .map_err(err)?;
    let data = HeatData::new(&mesh, 1.0, None, 1.0, &BTreeMap::new())
        .and_then(|d| d.with_contrast(&mesh, 1e4))
        .map_err(err)?;
    let grid = mesh.grid.as_ref().ok_or("no grid")?;
    Ok(assemble_poisson_fd(comm, &lm, grid, &data).map_err(err)?.a)
}

/// Checks of one subdomain's algebraic Neumann matrix against its Dirichlet matrix: symmetric,
/// equal off the diagonal, and no larger on it.
fn check_splitting(s: &Subdomain) -> Result<(), String> {
    let nm = s.neumann.as_ref().ok_or("no Neumann matrix")?;
    if !nm.is_symmetric(0.0) {
        return Err("N_s is not symmetric".into());
    }
    for i in 0..nm.nrows {
        let (ca, va) = s.matrix.row(i);
        let (cn, vn) = nm.row(i);
        if ca != cn {
            return Err(format!("row {i}: N_s and A_s differ in pattern"));
        }
        for ((&j, a), n) in ca.iter().zip(va).zip(vn) {
            // The diagonal `Σ_in |a_rc| + d_r` may round an ulp above `a_rr` on uncut rows.
            let ok = if j as usize == i {
                *n <= *a * (1.0 + 1e-14) && *n >= 0.0
            } else {
                n == a
            };
            if !ok {
                return Err(format!("entry ({i}, {j}): A_s {a}, N_s {n}"));
            }
        }
    }
    Ok(())
}

/// Collective: the largest relative difference between `Σ_s R_sᵀ N_s 1` and `m ⊙ A 1` on the
/// owned rows (`m` the number of subdomains holding a row), summed at the owners.
fn row_sum_difference(comm: &Comm, a: &DistMatrix, asm: &Schwarz) -> Result<f64, String> {
    let lay = &asm.decomposition().ext_layout;
    let mut halo = Halo::new(comm, lay).map_err(err)?;
    let (mut sums, mut count) = (vec![0.0; lay.n_local()], vec![0.0; lay.n_local()]);
    for s in &asm.decomposition().subdomains {
        let nm = s.neumann.as_ref().ok_or("no Neumann matrix")?;
        let mut y = vec![0.0; s.rows.len()];
        nm.spmv(&vec![1.0; s.rows.len()], &mut y);
        for (g, v) in s.rows.iter().zip(&y) {
            let e = if (lay.offset..lay.offset + lay.n_owned as u64).contains(g) {
                (g - lay.offset) as usize
            } else {
                lay.n_owned + lay.ghosts.binary_search(g).map_err(|_| "row not in the layout")?
            };
            sums[e] += v;
            count[e] += 1.0;
        }
    }
    halo.reverse_add(comm, &mut sums);
    halo.reverse_add(comm, &mut count);
    let mut ones = DistVector::zeros(a.layout());
    ones.fill(1.0);
    let mut a1 = DistVector::zeros(a.layout());
    a.spmv(comm, &mut ones, &mut a1);
    let scale = comm.max_f64(a.diagonal().iter().fold(0.0f64, |m, x| m.max(x.abs())));
    let diff = (0..lay.n_owned).fold(0.0f64, |m, i| m.max((sums[i] - count[i] * a1.owned()[i]).abs()));
    Ok(comm.max_f64(diff) / scale)
}

/// Collective: the FD checks of the splitting; returns the row-sum difference.
fn fd_splitting(comm: &Comm, a: &mut DistMatrix, asm: &Schwarz) -> Result<f64, String> {
    let local: Result<(), String> = asm.decomposition().subdomains.iter().try_for_each(check_splitting);
    let failed = comm.sum_u64(u64::from(local.is_err()));
    local.map_err(|e| format!("rank {}: {e}", comm.rank()))?;
    if failed > 0 {
        return Err("another rank failed".into());
    }
    let d = row_sum_difference(comm, a, asm)?;
    if d > 1e-12 {
        return Err(format!("row sums of the N_s differ from those of A by {d:e}"));
    }
    // The first row of the last rank gets 1 − 10⁻⁶ of its off-diagonal sum as diagonal: far
    // beyond rounding, but small enough for the matrix to stay positive definite (a larger
    // deficit on a channel row of κ = 10⁴, weakly coupled to the rest, makes the subdomain
    // matrices indefinite and Schwarz fails first). GenEO without element matrices must refuse
    // it, with the same error on every rank.
    if comm.rank() == comm.size() - 1 && a.layout().n_owned > 0 {
        let (c, v) = a.diag().row(0);
        let k = c.iter().position(|&j| j == 0).ok_or("no diagonal entry")?;
        let off: f64 = v.iter().chain(a.offd().row(0).1).map(|x| x.abs()).sum::<f64>() - v[k].abs();
        let at = a.diag().rowptr[0] + k;
        a.values_mut().0[at] = (1.0 - 1e-6) * off;
    }
    let cfg = SolverConfig::load("cg-geneo").map_err(err)?;
    match cfg.build_pc(comm, a) {
        Ok(_) => Err("a non-dominant matrix was accepted".into()),
        Err(e) if e.to_string().contains("not weakly diagonally dominant") => Ok(d),
        Err(e) => Err(format!("wrong refusal: {e}")),
    }
}

fn run(comm: &Comm, mode: &str) -> Result<(Vec<f64>, Option<f64>), String> {
    let (asm, mut fd) = match mode {
        "fd" => {
            let a = fd_matrix(comm)?;
            let mut asm = Schwarz::new(
                comm,
                &a,
                SchwarzVariant::Asm,
                1,
                2,
                SubdomainSplit::Metis,
                LocalSolverKind::Cholesky,
            )
            .map_err(err)?;
            asm.attach_algebraic_neumann(comm, &a).map_err(err)?;
            (asm, Some(a))
        }
        _ => (kappa_jump(comm, mode.parse().map_err(err)?)?, None),
    };
    let mut values = Vec::new();
    let mut failure = None;
    for s in &asm.decomposition().subdomains {
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
    let rowsums = match fd.as_mut() {
        Some(a) => Some(fd_splitting(comm, a, &asm)?),
        None => None,
    };
    Ok((comm.all_gather_v(&values), rowsums))
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
    let mode = std::env::args().nth(1).unwrap_or_else(|| "1".into());
    match run(&comm, &mode) {
        Ok((all, rowsums)) => {
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
                let rowsums = rowsums.map_or(String::new(), |d| format!(" rowsums {d:.1e}"));
                println!(
                    "geneo_check: OK subdomains {} kept {kept} floating {floating} maxres {maxres:.1e}{rowsums}",
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
