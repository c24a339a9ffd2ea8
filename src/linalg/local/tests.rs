//! Unit tests of the local solvers (serial; no MPI).
use super::ordering::{nested_dissection, ND_MIN_ROWS};
use super::*;

/// 5-point Laplacian on an `m × m` grid (Dirichlet boundary folded in), scaled by h².
fn laplace2d(m: usize) -> Csr {
    convection_diffusion(m, 0.0)
}

/// `−Δu + b·∇u` with central differences (cell Péclet number `c`): nonsymmetric.
fn convection_diffusion(m: usize, c: f64) -> Csr {
    let id = |i: usize, j: usize| (i * m + j) as u32;
    let mut t = Vec::new();
    for i in 0..m {
        for j in 0..m {
            t.push((id(i, j), id(i, j), 4.0));
            if i > 0 {
                t.push((id(i, j), id(i - 1, j), -1.0 - c));
            }
            if i + 1 < m {
                t.push((id(i, j), id(i + 1, j), -1.0 + c));
            }
            if j > 0 {
                t.push((id(i, j), id(i, j - 1), -1.0 - 0.5 * c));
            }
            if j + 1 < m {
                t.push((id(i, j), id(i, j + 1), -1.0 + 0.5 * c));
            }
        }
    }
    Csr::from_triplets(m * m, m * m, &t)
}

fn tridiagonal(n: usize, lower: f64, diag: f64, upper: f64) -> Csr {
    let mut t = Vec::new();
    for i in 0..n as u32 {
        t.push((i, i, diag));
        if i > 0 {
            t.push((i, i - 1, lower));
        }
        if (i as usize) + 1 < n {
            t.push((i, i + 1, upper));
        }
    }
    Csr::from_triplets(n, n, &t)
}

/// Deterministic values in [−1, 1) (xorshift).
fn pseudo_random(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

fn mul(a: &Csr, x: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; a.nrows];
    a.spmv(x, &mut y);
    y
}

fn norm(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>().sqrt()
}

fn rel_err(x: &[f64], exact: &[f64]) -> f64 {
    let d: Vec<f64> = x.iter().zip(exact).map(|(a, b)| a - b).collect();
    norm(&d) / norm(exact)
}

fn scaled(a: &Csr, s: f64) -> Csr {
    let mut b = a.clone();
    b.vals.iter_mut().for_each(|v| *v *= s);
    b
}

/// Solves `A x = A x_exact` and returns the relative error.
fn solve_error(a: &Csr, kind: LocalSolverKind) -> f64 {
    let exact = pseudo_random(a.nrows, 7);
    let mut x = mul(a, &exact);
    let mut s = LocalSolver::new(a, kind).unwrap();
    s.solve_in_place(&mut x);
    rel_err(&x, &exact)
}

/// Large enough for the nested-dissection ordering: exact solve, and less fill than the
/// banded (natural) ordering's lower bandwidth would give.
#[test]
fn nested_dissection_cholesky_is_exact_and_sparse() {
    let m = 110;
    let mut a = laplace2d(m);
    // Add the ±2 diagonals (a 9-point-like pattern) so the matrix counts as 3D-like.
    let mut trip = Vec::new();
    for i in 0..a.nrows {
        let (c, v) = a.row(i);
        // A diagonal shift keeps it positive definite with the extra couplings.
        trip.extend(
            c.iter()
                .zip(v)
                .map(|(&j, &x)| (i as u32, j, if j as usize == i { x + 0.1 } else { x })),
        );
        for j in [i.wrapping_sub(2), i + 2] {
            if j < a.nrows {
                trip.push((i as u32, j as u32, -0.01));
            }
        }
    }
    a = Csr::from_triplets(a.nrows, a.ncols, &trip);
    assert!(a.nrows >= ND_MIN_ROWS && a.nnz() > 6 * a.nrows);
    assert!(nested_dissection(&a).is_some());
    assert!(nested_dissection(&laplace2d(m)).is_none());
    assert!(solve_error(&a, LocalSolverKind::Cholesky) < 1e-10);
    let f = LocalSolver::new(&a, LocalSolverKind::Cholesky).unwrap();
    // Natural ordering fills the whole band: about n·m entries.
    assert!(
        f.nnz_factor() < a.nrows * m / 2,
        "factor nnz {} for n = {}",
        f.nnz_factor(),
        a.nrows
    );
}

#[test]
fn kind_names_round_trip() {
    for k in LocalSolverKind::ALL {
        assert_eq!(k.to_string().parse::<LocalSolverKind>().unwrap(), k);
        let json = serde_json::to_string(&k).unwrap();
        assert_eq!(json, format!("\"{k}\""));
        assert_eq!(serde_json::from_str::<LocalSolverKind>(&json).unwrap(), k);
    }
    assert_eq!(" ILU0 ".parse::<LocalSolverKind>().unwrap(), LocalSolverKind::Ilu0);
    let e = "mumps".parse::<LocalSolverKind>().unwrap_err().to_string();
    assert!(e.contains("mumps") && e.contains("cholesky"), "{e}");
    assert!(LocalSolverKind::Cholesky.is_symmetric() && LocalSolverKind::Ic0.is_symmetric());
    assert!(!LocalSolverKind::Lu.is_symmetric() && !LocalSolverKind::Ilu0.is_symmetric());
}

#[test]
fn cholesky_and_lu_solve_the_laplacian() {
    let a = laplace2d(20);
    for kind in [LocalSolverKind::Cholesky, LocalSolverKind::Lu] {
        let err = solve_error(&a, kind);
        assert!(err < 1e-10, "{kind}: relative error {err:e}");
    }
    let s = LocalSolver::new(&a, LocalSolverKind::Cholesky).unwrap();
    // Fill: more than the lower triangle of A, far less than dense.
    let lower = (a.nnz() + a.nrows) / 2;
    assert!(
        s.nnz_factor() > lower && s.nnz_factor() < a.nrows * a.nrows / 4,
        "{}",
        s.nnz_factor()
    );
    assert!(s.is_symmetric() && s.kind() == LocalSolverKind::Cholesky);
    // The symmetric kinds read only the lower triangle: garbage above it changes nothing.
    let mut skewed = a.clone();
    for i in 0..a.nrows {
        for p in a.rowptr[i]..a.rowptr[i + 1] {
            if a.cols[p] as usize > i {
                skewed.vals[p] *= 5.0;
            }
        }
    }
    for kind in [LocalSolverKind::Cholesky, LocalSolverKind::Ic0] {
        let b = pseudo_random(a.nrows, 2);
        let (mut x, mut y) = (b.clone(), b);
        LocalSolver::new(&a, kind).unwrap().solve_in_place(&mut x);
        LocalSolver::new(&skewed, kind).unwrap().solve_in_place(&mut y);
        assert!(rel_err(&y, &x) < 1e-14, "{kind}");
    }
}

#[test]
fn lu_fill_matches_faer_simplicial_factor() {
    use faer::dyn_stack::MemStack;
    use faer::sparse::linalg::lu::simplicial::{
        factorize_simplicial_numeric_lu, factorize_simplicial_numeric_lu_scratch, SimplicialLu,
    };
    // Diagonally dominant with a symmetric pattern: partial pivoting keeps the diagonal, so
    // the reported fill is exact.
    let a = laplace2d(20);
    let s = LocalSolver::new(&a, LocalSolverKind::Lu).unwrap();
    let Backend::Lu(f) = &s.backend else { unreachable!() };
    let n = a.nrows;
    let mut lu = SimplicialLu::<usize, f64>::new();
    let (mut fwd, mut inv) = (vec![0usize; n], vec![0usize; n]);
    let mut mem = MemBuffer::new(factorize_simplicial_numeric_lu_scratch::<usize, f64>(n, n));
    let view = csc_transpose_view(&a, &f.row_idx);
    let col_perm = f.symbolic.col_perm();
    factorize_simplicial_numeric_lu(&mut fwd, &mut inv, &mut lu, view, col_perm, MemStack::new(&mut mem)).unwrap();
    let exact = lu.l_factor_unsorted().compute_nnz() + lu.u_factor_unsorted().compute_nnz() - n;
    assert_eq!(s.nnz_factor(), exact);
}

#[test]
fn lu_solves_convection_diffusion() {
    let a = convection_diffusion(20, 0.8);
    assert!(!a.is_symmetric(1e-12));
    let err = solve_error(&a, LocalSolverKind::Lu);
    assert!(err < 1e-10, "relative error {err:e}");
    let s = LocalSolver::new(&a, LocalSolverKind::Lu).unwrap();
    assert!(!s.is_symmetric() && s.nnz_factor() > a.nnz());
}

#[test]
fn refactor_with_doubled_values_halves_the_solution() {
    let spd = laplace2d(12);
    let nonsym = convection_diffusion(12, 0.5);
    let cases = [
        (LocalSolverKind::Cholesky, &spd),
        (LocalSolverKind::Lu, &nonsym),
        (LocalSolverKind::Ic0, &spd),
        (LocalSolverKind::Ilu0, &nonsym),
    ];
    for (kind, a) in cases {
        let b = pseudo_random(a.nrows, 3);
        let mut s = LocalSolver::new(a, kind).unwrap();
        let mut x1 = b.clone();
        s.solve_in_place(&mut x1);
        s.refactor(&scaled(a, 2.0)).unwrap();
        let mut x2 = b.clone();
        s.solve_in_place(&mut x2);
        let half: Vec<f64> = x1.iter().map(|v| v / 2.0).collect();
        let err = rel_err(&x2, &half);
        assert!(err < 1e-12, "{kind}: relative error {err:e}");
    }
}

#[test]
fn cholesky_rejects_an_indefinite_matrix() {
    // Diagonal 1 against neighbour sums near 4: indefinite.
    let mut a = laplace2d(8);
    for i in 0..a.nrows {
        let k = a.rowptr[i] + a.row(i).0.binary_search(&(i as u32)).unwrap();
        a.vals[k] = 1.0;
    }
    let e = LocalSolver::new(&a, LocalSolverKind::Cholesky).unwrap_err().to_string();
    assert!(e.contains("not positive definite") && e.contains("'lu'"), "{e}");
    // LU handles it.
    assert!(solve_error(&a, LocalSolverKind::Lu) < 1e-10);
    // A refactor with indefinite values fails too, and a good refactor recovers.
    let spd = laplace2d(8);
    let mut s = LocalSolver::new(&spd, LocalSolverKind::Cholesky).unwrap();
    assert!(s.refactor(&a).is_err());
    s.refactor(&scaled(&spd, 3.0)).unwrap();
    let exact = pseudo_random(spd.nrows, 11);
    let mut x = mul(&scaled(&spd, 3.0), &exact);
    s.solve_in_place(&mut x);
    assert!(rel_err(&x, &exact) < 1e-12);
}

#[test]
fn incomplete_factorizations_are_exact_on_tridiagonal_matrices() {
    let spd = tridiagonal(50, -1.0, 2.5, -1.0);
    let nonsym = tridiagonal(50, -1.3, 3.0, -0.6);
    for (kind, a) in [
        (LocalSolverKind::Ic0, &spd),
        (LocalSolverKind::Ilu0, &nonsym),
        (LocalSolverKind::Ilu0, &spd),
    ] {
        let err = solve_error(a, kind);
        assert!(err < 1e-12, "{kind}: relative error {err:e}");
        let s = LocalSolver::new(a, kind).unwrap();
        assert_eq!(s.shift(), 0.0);
    }
    assert_eq!(LocalSolver::new(&spd, LocalSolverKind::Ic0).unwrap().nnz_factor(), 99);
    assert_eq!(
        LocalSolver::new(&nonsym, LocalSolverKind::Ilu0).unwrap().nnz_factor(),
        148
    );
}

/// Relative error after `iters` Richardson steps `x ← x + M⁻¹(b − A x)` from zero.
fn richardson_error(a: &Csr, exact: &[f64], iters: usize, mut apply: impl FnMut(&mut [f64])) -> f64 {
    let b = mul(a, exact);
    let mut x = vec![0.0; a.nrows];
    let mut r = vec![0.0; a.nrows];
    for _ in 0..iters {
        a.spmv(&x, &mut r);
        r.iter_mut().zip(&b).for_each(|(ri, bi)| *ri = bi - *ri);
        apply(&mut r);
        x.iter_mut().zip(&r).for_each(|(xi, zi)| *xi += zi);
    }
    rel_err(&x, exact)
}

#[test]
fn incomplete_factorizations_beat_jacobi_on_the_laplacian() {
    let a = laplace2d(20);
    let exact = pseudo_random(a.nrows, 5);
    let diag = a.diagonal();
    let jacobi = richardson_error(&a, &exact, 30, |r| r.iter_mut().zip(&diag).for_each(|(v, d)| *v /= d));
    for kind in [LocalSolverKind::Ic0, LocalSolverKind::Ilu0] {
        let mut s = LocalSolver::new(&a, kind).unwrap();
        let one = richardson_error(&a, &exact, 1, |r| s.solve_in_place(r));
        let one_jacobi = richardson_error(&a, &exact, 1, |r| r.iter_mut().zip(&diag).for_each(|(v, d)| *v /= d));
        let many = richardson_error(&a, &exact, 30, |r| s.solve_in_place(r));
        // Measured: 0.18 vs 0.51 after one application, 8.5e-4 vs 7.6e-2 after 30 steps.
        assert!(one < 0.5 * one_jacobi, "{kind}: {one} vs Jacobi {one_jacobi}");
        assert!(many < 0.05 * jacobi, "{kind}: {many} vs Jacobi {jacobi}");
    }
    // On a symmetric matrix ILU(0) = IC(0) (U = D Lᵀ), so both give the same correction.
    let b = pseudo_random(a.nrows, 9);
    let (mut x_ic, mut x_ilu) = (b.clone(), b);
    LocalSolver::new(&a, LocalSolverKind::Ic0)
        .unwrap()
        .solve_in_place(&mut x_ic);
    LocalSolver::new(&a, LocalSolverKind::Ilu0)
        .unwrap()
        .solve_in_place(&mut x_ilu);
    assert!(rel_err(&x_ilu, &x_ic) < 1e-13);
    // Nonsymmetric: ILU(0) against Jacobi on convection–diffusion.
    let a = convection_diffusion(20, 0.5);
    let diag = a.diagonal();
    let jacobi = richardson_error(&a, &exact, 30, |r| r.iter_mut().zip(&diag).for_each(|(v, d)| *v /= d));
    let mut s = LocalSolver::new(&a, LocalSolverKind::Ilu0).unwrap();
    let ilu = richardson_error(&a, &exact, 30, |r| s.solve_in_place(r));
    // Measured: 1.3e-7 vs 5.7e-2.
    assert!(ilu < 0.05 * jacobi, "ILU(0) {ilu} vs Jacobi {jacobi}");
}

#[test]
fn ic0_shifts_the_diagonal_or_names_the_breakdown_row() {
    // Kershaw's SPD matrix (off-diagonals scaled by t/2): IC(0) breaks down at row 3.
    let kershaw = |t: f64| {
        let k = [
            [3.0, -2.0, 0.0, 2.0],
            [-2.0, 3.0, -2.0, 0.0],
            [0.0, -2.0, 3.0, -2.0],
            [2.0, 0.0, -2.0, 3.0],
        ];
        let mut trip = Vec::new();
        for (i, row) in k.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                if v != 0.0 {
                    trip.push((i as u32, j as u32, if i == j { v } else { v * t / 2.0 }));
                }
            }
        }
        Csr::from_triplets(4, 4, &trip)
    };
    let e = LocalSolver::new(&kershaw(2.0), LocalSolverKind::Ic0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("row 3") && e.contains("IC(0)"), "{e}");
    assert!(solve_error(&kershaw(2.0), LocalSolverKind::Cholesky) < 1e-12);
    // Milder coupling: plain IC(0) still fails, a 10% shift succeeds.
    let s = LocalSolver::new(&kershaw(1.8), LocalSolverKind::Ic0).unwrap();
    assert_eq!(s.shift(), 0.1);
    // Negative definite: no shift helps; the first row fails.
    let e = LocalSolver::new(&scaled(&laplace2d(4), -1.0), LocalSolverKind::Ic0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("row 0"), "{e}");
}

#[test]
fn ilu0_reports_a_zero_pivot_and_missing_diagonals() {
    let a = Csr::from_triplets(2, 2, &[(0, 0, 1.0), (0, 1, 2.0), (1, 0, 3.0), (1, 1, 6.0)]);
    let e = LocalSolver::new(&a, LocalSolverKind::Ilu0).unwrap_err().to_string();
    assert!(e.contains("zero pivot at row 1"), "{e}");
    let e = LocalSolver::new(&a, LocalSolverKind::Lu).unwrap_err().to_string();
    assert!(e.contains("singular"), "{e}");
    let no_diag = Csr::from_triplets(2, 2, &[(0, 0, 1.0), (0, 1, 2.0), (1, 0, 3.0)]);
    for kind in [LocalSolverKind::Ic0, LocalSolverKind::Ilu0] {
        let e = LocalSolver::new(&no_diag, kind).unwrap_err().to_string();
        assert!(e.contains("row 1") && e.contains("diagonal"), "{kind}: {e}");
    }
}

#[test]
fn refactor_rejects_a_different_pattern() {
    let a = laplace2d(6);
    let mut other = tridiagonal(36, -1.0, 4.0, -1.0);
    for kind in LocalSolverKind::ALL {
        let mut s = LocalSolver::new(&a, kind).unwrap();
        let e = s.refactor(&other).unwrap_err().to_string();
        assert!(e.contains("different sparsity pattern"), "{kind}: {e}");
        assert!(s.refactor(&laplace2d(5)).is_err());
        // The solver still works with its old factors.
        let exact = pseudo_random(36, 1);
        let mut x = mul(&a, &exact);
        s.solve_in_place(&mut x);
        assert!(x.iter().all(|v| v.is_finite()));
    }
    other.nrows = 35;
    other.ncols = 36;
    let e = LocalSolver::new(&other, LocalSolverKind::Lu).unwrap_err().to_string();
    assert!(e.contains("not square"), "{e}");
}

#[test]
fn one_by_one_and_empty_matrices() {
    let one = Csr::from_triplets(1, 1, &[(0, 0, 4.0)]);
    let empty = Csr::from_triplets(0, 0, &[]);
    for kind in LocalSolverKind::ALL {
        let mut s = LocalSolver::new(&one, kind).unwrap();
        let mut x = [2.0];
        s.solve_in_place(&mut x);
        assert!((x[0] - 0.5).abs() < 1e-15, "{kind}: {}", x[0]);
        assert_eq!(s.nnz_factor(), 1);
        let mut s = LocalSolver::new(&empty, kind).unwrap();
        s.solve_in_place(&mut []);
        s.refactor(&empty).unwrap();
        assert_eq!((s.n(), s.nnz_factor()), (0, 0));
    }
}

#[test]
fn cholesky_calls_a_neumann_matrix_singular_without_suggesting_lu() {
    // The Laplacian of a path (row sums zero): the matrix of a 1D pure Neumann problem, whose
    // elimination meets an exactly zero last pivot (in 2D rounding may leave it tiny but
    // positive: detecting that is kernel detection, not this error).
    let n = 10u32;
    let mut t = Vec::new();
    for i in 0..n {
        let deg = if i == 0 || i + 1 == n { 1.0 } else { 2.0 };
        t.push((i, i, deg));
        if i > 0 {
            t.push((i, i - 1, -1.0));
        }
        if i + 1 < n {
            t.push((i, i + 1, -1.0));
        }
    }
    let a = Csr::from_triplets(n as usize, n as usize, &t);
    let e = LocalSolver::new(&a, LocalSolverKind::Cholesky).unwrap_err().to_string();
    assert!(e.contains("singular") && e.contains("constant"), "{e}");
    assert!(!e.contains("'lu'"), "LU cannot factor a singular matrix either: {e}");
}
