//! Multi-rank check of the cell-centred FD discretization with a κ that varies per cell, run
//! under `mpirun` by `tests/contrast.rs`:
//! - `layered`: `-(κu')' = 1` on the unit square with κ = 1 left of x = 1/2 and 100 right of it
//!   (the jump on a cell face), Dirichlet ends and Neumann walls, on grids of 16² … 128²; prints
//!   the discrete L2 errors against the exact piecewise-quadratic solution.
//! - `explicit`: 50 explicit FD heat steps with the built-in high-contrast coefficient
//!   (contrast 1e3, a Robin and a Neumann side) must equal the same steps taken with the
//!   assembled matrix, `v ← v − dt (K v − f)`; prints the largest relative difference.
//!
//! Prints `contrast_check: OK ...` or `contrast_check: FAIL reason` (exit 1).

use ddkit::comm::Comm;
use ddkit::fd::{assemble_fd, assemble_poisson_fd, FdHeat};
use ddkit::linalg::DistVector;
use ddkit::partition::Method;
use ddkit::pde::{BcKind, HeatData};
use ddkit::problems::heat::Discretization;
use ddkit::problems::{prepare, MeshSource, Prepared};
use ddkit::solver::SolverConfig;
use ddkit::time::Stepper;
use std::collections::BTreeMap;

/// `-(κ u')' = 1` on (0, 1), `u(0) = u(1) = 0`, κ = `k1` left of 1/2 and `k2` right of it (the
/// same closed form as `tests/coefficients.rs`).
fn layered_exact(x: f64, k1: f64, k2: f64) -> f64 {
    let c = (1.0 / k1 + 3.0 / k2) / (4.0 * (1.0 / k1 + 1.0 / k2));
    let left = |x: f64| (c * x - x * x / 2.0) / k1;
    if x <= 0.5 {
        left(x)
    } else {
        left(0.5) + (c * (x - 0.5) - (x * x - 0.25) / 2.0) / k2
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Relative discrete L2 error of the layered problem on an `n × n` grid.
fn layered(comm: &Comm, n: usize) -> Result<f64, String> {
    let (k1, k2) = (1.0, 100.0);
    let Prepared { mesh, lm, .. } = prepare(
        comm,
        &MeshSource::Grid(vec![n, n]),
        Discretization::Fd,
        &Method::Blocks(None),
    )
    .map_err(err)?;
    let walls = BTreeMap::from([
        ("ymin".to_string(), BcKind::Neumann),
        ("ymax".to_string(), BcKind::Neumann),
    ]);
    let mut data = HeatData::new(&mesh, 1.0, None, 1.0, &walls).map_err(err)?;
    data.cell_kappa = (0..mesh.num_cells())
        .map(|c| if mesh.centroid(c)[0] < 0.5 { k1 } else { k2 })
        .collect();
    let grid = mesh.grid.as_ref().ok_or("no grid")?;
    let sys = assemble_poisson_fd(comm, &lm, grid, &data).map_err(err)?;
    let solver = SolverConfig::load("cg-asm")
        .and_then(|s| s.set("krylov.rtol", 1e-13))
        .map_err(err)?;
    let mut pc = solver.build_pc(comm, &sys.a).map_err(err)?;
    let mut u = DistVector::zeros(sys.a.layout());
    let stats = solver.solve(comm, &sys.a, pc.as_mut(), &sys.b, &mut u).map_err(err)?;
    if stats.iterations == 0 || stats.iterations >= solver.krylov.max_iter {
        return Err(format!(
            "{n}²: the solve did not converge ({} iterations)",
            stats.iterations
        ));
    }
    let (mut e2, mut n2) = (0.0, 0.0);
    for (ui, x) in u.owned().iter().zip(&sys.centres) {
        let ex = layered_exact(x[0], k1, k2);
        e2 += (ui - ex) * (ui - ex);
        n2 += ex * ex;
    }
    Ok((comm.sum_f64(e2) / comm.sum_f64(n2)).sqrt())
}

/// Largest difference between explicit steps and the same steps with the assembled matrix,
/// relative to the largest value.
fn explicit(comm: &Comm) -> Result<f64, String> {
    let Prepared { mesh, lm, .. } = prepare(
        comm,
        &MeshSource::Grid(vec![32, 32]),
        Discretization::Fd,
        &Method::MetisKway,
    )
    .map_err(err)?;
    let bc = BTreeMap::from([
        ("xmax".to_string(), BcKind::Robin(2.0)),
        ("ymin".to_string(), BcKind::Neumann),
    ]);
    let data = HeatData::new(&mesh, 1.0, None, 1.0, &bc)
        .and_then(|d| d.with_contrast(&mesh, 1e3))
        .map_err(err)?;
    let grid = mesh.grid.as_ref().ok_or("no grid")?;
    let mut heat = FdHeat::new(comm, &lm, grid, &data).map_err(err)?;
    let dt = heat.stable_dt();
    let k = assemble_fd(comm, &lm, grid, &data, 0.0, 1.0).map_err(err)?;
    let mut v = DistVector::zeros(k.a.layout());
    let mut kv = DistVector::zeros(k.a.layout());
    for step in 0..50 {
        heat.step(comm, step as f64 * dt, dt).map_err(err)?;
        k.a.spmv(comm, &mut v, &mut kv);
        for (vi, kvi) in v.owned_mut().iter_mut().zip(kv.owned()) {
            *vi -= dt * (kvi - data.constant_source);
        }
    }
    let (mut diff, mut scale) = (0.0f64, 0.0f64);
    for (a, b) in heat.solution().iter().zip(v.owned()) {
        diff = diff.max((a - b).abs());
        scale = scale.max(b.abs());
    }
    Ok(comm.max_f64(diff) / comm.max_f64(scale))
}

fn main() {
    let comm = match Comm::init() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("contrast_check: FAIL {e}");
            std::process::exit(1);
        }
    };
    ddkit::linalg::init_sequential();
    let result = match std::env::args().nth(1).as_deref() {
        Some("layered") => [16, 32, 64, 128]
            .into_iter()
            .map(|n| layered(&comm, n))
            .collect::<Result<Vec<f64>, String>>()
            .map(|e| format!("layered errors {e:?}")),
        Some("explicit") => explicit(&comm).map(|d| format!("explicit difference {d:e}")),
        _ => Err("usage: contrast_check layered|explicit".into()),
    };
    match result {
        Ok(text) => {
            if comm.is_root() {
                println!("contrast_check: OK {text}");
            }
        }
        Err(e) => {
            eprintln!("contrast_check: FAIL {e}");
            std::process::exit(1);
        }
    }
}
