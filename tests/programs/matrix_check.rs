//! Multi-rank check of distributed matrices, run under `mpirun` by `tests/matrix.rs`: a
//! rectangular matrix assembled from triplets that every rank contributes to rows owned
//! elsewhere must give `y = B x` and `z = Bᵀ y` equal to a serial evaluation of the same
//! entries, through `&self` products. Prints `matrix_check: OK ...` or `matrix_check: FAIL ...`
//! (exit 1).

use ddkit::comm::Comm;
use ddkit::linalg::{DistMatrix, DistVector};

/// Rows and columns owned by `rank`: uneven, and different for rows and columns.
fn owned(rank: usize) -> (usize, usize) {
    (3 + rank, 5 - rank % 2)
}

/// The entries of the global `m × n` matrix: three per row, scattered over the columns.
fn entries(m: u64, n: u64) -> Vec<(u64, u64, f64)> {
    (0..m)
        .flat_map(|i| (0..3u64).map(move |k| (i, (i * 7 + k * 5 + 1) % n, 1.0 + i as f64 + 0.1 * k as f64)))
        .collect()
}

fn check(comm: &Comm) -> Result<String, String> {
    let (size, rank) = (comm.size() as usize, comm.rank() as usize);
    let (m, n) = (0..size)
        .map(owned)
        .fold((0u64, 0u64), |(a, b), (r, c)| (a + r as u64, b + c as u64));
    // Rank r contributes the triplets of rows i ≡ r (mod size): mostly rows it does not own.
    let all = entries(m, n);
    let mine: Vec<_> = all.iter().copied().filter(|t| t.0 as usize % size == rank).collect();
    let (nr, nc) = owned(rank);
    let b = DistMatrix::assemble_rectangular(comm, nr, nc, &mine).map_err(|e| e.to_string())?;
    if b.is_square() || b.n_global() != m || b.n_global_cols() != n {
        return Err(format!(
            "shape {}×{} (square: {})",
            b.n_global(),
            b.n_global_cols(),
            b.is_square()
        ));
    }
    let xg: Vec<f64> = (0..n).map(|j| (j as f64 * 0.7).sin()).collect();
    let c0 = b.col_offsets()[rank] as usize;
    let mut x = DistVector::from_owned(b.layout(), &xg[c0..c0 + nc]);
    let mut y = DistVector::zeros(b.row_layout());
    b.spmv(comm, &mut x, &mut y);
    // Serial reference on every rank from the replicated entry list.
    let mut yg = vec![0.0; m as usize];
    for &(i, j, v) in &all {
        yg[i as usize] += v * xg[j as usize];
    }
    let r0 = b.row_offsets()[rank] as usize;
    let ey = y
        .owned()
        .iter()
        .zip(&yg[r0..r0 + nr])
        .fold(0.0f64, |e, (a, r)| e.max((a - r).abs()));
    let yo = DistVector::from_owned(b.row_layout(), &yg[r0..r0 + nr]);
    let mut z = DistVector::zeros(b.layout());
    b.spmv_transpose(comm, &yo, &mut z);
    let mut zg = vec![0.0; n as usize];
    for &(i, j, v) in &all {
        zg[j as usize] += v * yg[i as usize];
    }
    let ez = z
        .owned()
        .iter()
        .zip(&zg[c0..c0 + nc])
        .fold(0.0f64, |e, (a, r)| e.max((a - r).abs()));
    let scale = zg.iter().fold(1.0f64, |s, v| s.max(v.abs()));
    let err = comm.max_f64(ey.max(ez / scale));
    if err > 1e-12 {
        return Err(format!("B x or Bᵀ y off by {err:e}"));
    }
    // The same counts for rows and columns give a square matrix.
    let sq = DistMatrix::assemble_rectangular(comm, nr, nr, &[]).map_err(|e| e.to_string())?;
    if !sq.is_square() {
        return Err("equal row and column distributions are not square".into());
    }
    Ok(format!("{m}×{n} on {size} ranks, error {err:.1e}"))
}

fn main() {
    let comm = match Comm::init() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("matrix_check: {e}");
            std::process::exit(1);
        }
    };
    let r = check(&comm);
    let ok = comm.max_f64(if r.is_ok() { 0.0 } else { 1.0 }) == 0.0;
    if comm.is_root() || r.is_err() {
        match &r {
            Ok(m) if ok => println!("matrix_check: OK {m}"),
            Ok(_) => println!("matrix_check: FAIL on another rank"),
            Err(e) => println!("matrix_check: FAIL on rank {}: {e}", comm.rank()),
        }
    }
    drop(comm);
    std::process::exit(i32::from(!ok));
}
