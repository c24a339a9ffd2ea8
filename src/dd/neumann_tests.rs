//! Unit tests of the algebraic Neumann splitting on small serial problems (no MPI): for
//! cell-centred finite volumes it must reproduce the matrix of the subdomain's own faces, the
//! pieces must be PSD with the constants (or the sign-flipped constants of positive couplings)
//! in the kernel of floating subdomains, the non-overlapping pieces must add up to `A` minus the
//! cut couplings, the overlapping ones stay below `k₀ A`, and a non-dominant row is refused.
use super::*;
use crate::dd::coarse::eigen::symmetric_eigen;
use faer::Mat;

/// A symmetric matrix given by its couplings `(r, c, a_rc)` (r < c) and diagonal parts `d`:
/// `A = Σ |a| (e_r + σ e_c)(e_r + σ e_c)ᵀ + diag(d)`, with the subdomains' rows.
struct Problem {
    n: usize,
    couplings: Vec<(usize, usize, f64)>,
    d: Vec<f64>,
}

impl Problem {
    /// Cell-centred FV diffusion on `m × m` cells, κ of cell `(i, j)` from `kappa`, harmonic κ on
    /// inner faces, Dirichlet through a ghost cell (`2κ` on the diagonal per boundary face).
    fn fv(m: usize, kappa: impl Fn(usize, usize) -> f64) -> Problem {
        let id = |i: usize, j: usize| j * m + i;
        let harmonic = |a: f64, b: f64| 2.0 * a * b / (a + b);
        let mut couplings = Vec::new();
        let mut d = vec![0.0; m * m];
        for j in 0..m {
            for i in 0..m {
                let k = kappa(i, j);
                if i + 1 < m {
                    couplings.push((id(i, j), id(i + 1, j), -harmonic(k, kappa(i + 1, j))));
                }
                if j + 1 < m {
                    couplings.push((id(i, j), id(i, j + 1), -harmonic(k, kappa(i, j + 1))));
                }
                let sides =
                    usize::from(i == 0) + usize::from(i + 1 == m) + usize::from(j == 0) + usize::from(j + 1 == m);
                d[id(i, j)] = 2.0 * k * sides as f64;
            }
        }
        Problem { n: m * m, couplings, d }
    }

    /// A chain `0 − 1 − … − n−1` plus couplings two apart, of mixed signs and sizes, with
    /// `d_r = extra(r)`.
    fn mixed(n: usize, extra: impl Fn(usize) -> f64) -> Problem {
        let mut couplings = Vec::new();
        for r in 0..n - 1 {
            let sign = if r % 3 == 1 { 1.0 } else { -1.0 };
            couplings.push((r, r + 1, sign * (1.0 + (r % 5) as f64)));
        }
        for r in (0..n - 2).step_by(4) {
            couplings.push((r, r + 2, 0.5));
        }
        Problem {
            n,
            couplings,
            d: (0..n).map(extra).collect(),
        }
    }

    /// The sum of the pieces whose rows all lie in `inside` (the diagonal parts of its rows,
    /// the couplings with both ends in it), on all `n` rows.
    fn pieces(&self, inside: impl Fn(usize) -> bool) -> Csr {
        let mut t = Vec::new();
        for &(r, c, a) in self.couplings.iter().filter(|&&(r, c, _)| inside(r) && inside(c)) {
            let (r, c) = (r as u32, c as u32);
            t.extend([(r, r, a.abs()), (c, c, a.abs()), (r, c, a), (c, r, a)]);
        }
        for (r, &d) in self.d.iter().enumerate().filter(|(r, _)| inside(*r)) {
            t.push((r as u32, r as u32, d));
        }
        Csr::from_triplets(self.n, self.n, &t)
    }

    /// The assembled matrix.
    fn matrix(&self) -> Csr {
        self.pieces(|_| true)
    }

    /// Subdomains from a core per row, grown by `overlap` layers through the graph: rows.
    fn split(&self, core: &[usize], overlap: usize) -> Vec<Vec<u32>> {
        let a = self.matrix();
        let parts = core.iter().max().map_or(0, |m| m + 1);
        (0..parts)
            .map(|s| {
                let mut inside: Vec<bool> = core.iter().map(|&c| c == s).collect();
                for _ in 0..overlap {
                    let front = inside.clone();
                    for i in (0..self.n).filter(|&i| front[i]) {
                        a.row(i).0.iter().for_each(|&j| inside[j as usize] = true);
                    }
                }
                (0..self.n as u32).filter(|&i| inside[i as usize]).collect()
            })
            .collect()
    }
}

/// `N_s` of the subdomain `rows` as the distributed code forms it: from `R_s A R_sᵀ` and the
/// diagonal parts that [`diagonal_excess`] finds in the full rows.
fn neumann_of(a: &Csr, rows: &[u32]) -> Csr {
    let d: Vec<f64> = rows
        .iter()
        .map(|&r| {
            let (c, v) = a.row(r as usize);
            let diag: f64 = c.iter().zip(v).filter(|(&j, _)| j == r).map(|(_, x)| x).sum();
            let off: f64 = c.iter().zip(v).filter(|(&j, _)| j != r).map(|(_, x)| x.abs()).sum();
            diagonal_excess(u64::from(r), diag, off).expect("dominant")
        })
        .collect();
    local_neumann(&a.principal_submatrix(rows), &d).expect("shapes agree")
}

fn dense(m: &Csr) -> Mat<f64> {
    let mut d = Mat::zeros(m.nrows, m.ncols);
    for i in 0..m.nrows {
        let (c, v) = m.row(i);
        for (&j, &x) in c.iter().zip(v) {
            d[(i, j as usize)] += x;
        }
    }
    d
}

/// `R_sᵀ N R_s` added into the dense `n × n` matrix `into`.
fn scatter_add(into: &mut Mat<f64>, n_s: &Csr, rows: &[u32]) {
    for (li, &r) in rows.iter().enumerate() {
        let (c, v) = n_s.row(li);
        for (&lj, &x) in c.iter().zip(v) {
            into[(r as usize, rows[lj as usize] as usize)] += x;
        }
    }
}

fn max_abs(m: &Mat<f64>) -> f64 {
    let mut s = 0.0f64;
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            s = s.max(m[(i, j)].abs());
        }
    }
    s
}

/// The smallest eigenvalue of a symmetric dense matrix relative to its largest entry.
fn lowest(m: &Mat<f64>) -> f64 {
    let (ev, _) = symmetric_eigen(m).expect("dense eigenvalues");
    ev[0] / max_abs(m).max(f64::MIN_POSITIVE)
}

fn apply(m: &Csr, x: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; m.nrows];
    m.spmv(x, &mut y);
    y
}

/// Cores of the `m × m` cells in `p × p` blocks.
fn blocks(m: usize, p: usize) -> Vec<usize> {
    (0..m * m).map(|q| (q / m * p / m) * p + (q % m) * p / m).collect()
}

#[test]
fn fv_neumann_matrix_is_the_matrix_of_the_subdomains_own_faces() {
    let m = 12;
    // κ = 1e4 on a channel crossing the blocks, 1 elsewhere: the cut faces of the channel
    // carry large couplings next to small ones.
    let p = Problem::fv(m, |_, j| if j == 5 { 1e4 } else { 1.0 });
    let a = p.matrix();
    for overlap in [0, 1, 2] {
        for (k, rows) in p.split(&blocks(m, 3), overlap).iter().enumerate() {
            let n_s = neumann_of(&a, rows);
            assert!(n_s.is_symmetric(0.0), "overlap {overlap}, sub {k}");
            let inside = |r: usize| rows.binary_search(&(r as u32)).is_ok();
            let want = p.pieces(inside).principal_submatrix(rows);
            let diff = dense(&n_s) - dense(&want);
            let scale = max_abs(&dense(&want));
            assert!(
                max_abs(&diff) <= 1e-14 * scale,
                "overlap {overlap}, sub {k}: {}",
                max_abs(&diff)
            );
            assert!(lowest(&dense(&n_s)) >= -1e-12, "overlap {overlap}, sub {k}: not PSD");
            // A_s − N_s = diag(couplings to rows outside): nonnegative, and positive on the rows
            // next to the cut of every subdomain (each one has one, the split being 3 × 3).
            let cut = dense(&a.principal_submatrix(rows)) - dense(&n_s);
            assert!((0..rows.len()).all(|i| cut[(i, i)] >= 0.0));
            assert!((0..rows.len()).any(|i| cut[(i, i)] > 0.5), "overlap {overlap}, sub {k}");
            // The centre block (k = 4) touches no boundary face: it floats, and only it does.
            let ones = vec![1.0; rows.len()];
            let residual = apply(&n_s, &ones).iter().fold(0.0f64, |s, x| s.max(x.abs()));
            if k == 4 {
                assert!(residual <= 1e-10 * scale, "overlap {overlap}: N_s 1 = {residual}");
            } else {
                assert!(residual >= 1.0, "overlap {overlap}, sub {k}: floats");
            }
        }
    }
}

#[test]
fn non_overlapping_pieces_add_up_to_a_minus_the_cut_couplings() {
    for (p, core) in [
        (
            Problem::fv(9, |i, j| if (i + j) % 4 == 0 { 1e3 } else { 1.0 }),
            blocks(9, 3),
        ),
        (
            Problem::mixed(30, |r| if r % 7 == 0 { 0.25 } else { 0.0 }),
            (0..30).map(|r| r * 4 / 30).collect(),
        ),
    ] {
        let a = p.matrix();
        let mut sum = Mat::zeros(p.n, p.n);
        for rows in p.split(&core, 0) {
            scatter_add(&mut sum, &neumann_of(&a, &rows), &rows);
        }
        let rest = dense(&a) - &sum;
        // What is left is exactly the pieces of the couplings across the cut: PSD, and zero
        // on every coupling inside a subdomain.
        let mut cut = Mat::zeros(p.n, p.n);
        for &(r, c, x) in p.couplings.iter().filter(|&&(r, c, _)| core[r] != core[c]) {
            cut[(r, r)] += x.abs();
            cut[(c, c)] += x.abs();
            cut[(r, c)] += x;
            cut[(c, r)] += x;
        }
        assert!(max_abs(&cut) > 0.0);
        assert!(max_abs(&(&rest - &cut)) <= 1e-12 * max_abs(&dense(&a)), "n = {}", p.n);
        assert!(lowest(&rest) >= -1e-12, "n = {}", p.n);
    }
}

#[test]
fn overlapping_pieces_stay_below_k0_times_a() {
    let m = 10;
    let p = Problem::fv(m, |i, _| if i == 4 { 1e5 } else { 1.0 });
    let a = p.matrix();
    let subs = p.split(&blocks(m, 2), 2);
    let mut sum = Mat::zeros(p.n, p.n);
    let mut multiplicity = vec![0usize; p.n];
    for rows in &subs {
        scatter_add(&mut sum, &neumann_of(&a, rows), rows);
        rows.iter().for_each(|&r| multiplicity[r as usize] += 1);
    }
    let k0 = multiplicity.iter().copied().max().unwrap_or(0) as f64;
    assert_eq!(k0, 4.0, "the centre rows lie in all four subdomains");
    let bound = dense(&a) * faer::Scale(k0) - &sum;
    assert!(lowest(&bound) >= -1e-12, "Σ N_s ≤ k₀ A fails: {}", lowest(&bound));
    // ... and the overlap really is counted: Σ N_s exceeds A somewhere.
    assert!(lowest(&(dense(&a) - &sum)) < -1e-3);
}

#[test]
fn positive_couplings_keep_the_neumann_matrix_semi_definite() {
    // A chain of mixed signs without diagonal excess: every N_s (a segment of the chain) has
    // the kernel x_{i+1} = −sign(a_{i,i+1}) x_i.
    let mut p = Problem::mixed(24, |_| 0.0);
    p.couplings.retain(|&(r, c, _)| c == r + 1);
    let a = p.matrix();
    let core: Vec<usize> = (0..p.n).map(|r| r * 3 / p.n).collect();
    for overlap in [0, 1, 3] {
        for (k, rows) in p.split(&core, overlap).iter().enumerate() {
            let n_s = neumann_of(&a, rows);
            assert!(lowest(&dense(&n_s)) >= -1e-12, "overlap {overlap}, sub {k}");
            let mut x = vec![1.0; rows.len()];
            for i in 1..rows.len() {
                let (c, v) = a.row(rows[i - 1] as usize);
                let sign = c
                    .iter()
                    .zip(v)
                    .find(|(&j, _)| j == rows[i])
                    .map_or(0.0, |(_, x)| x.signum());
                x[i] = -sign * x[i - 1];
            }
            let r = apply(&n_s, &x).iter().fold(0.0f64, |s, y| s.max(y.abs()));
            assert!(r <= 1e-12, "overlap {overlap}, sub {k}: ‖N_s x‖ = {r}");
            // Taking the signed couplings into the diagonal instead (the row-sum rule of
            // M-matrices) would not be PSD here: the check above can tell the two apart.
            let naive: Vec<f64> = (0..rows.len())
                .map(|i| {
                    let (c, v) = n_s.row(i);
                    -c.iter()
                        .zip(v)
                        .filter(|(&j, _)| j as usize != i)
                        .map(|(_, x)| x)
                        .sum::<f64>()
                })
                .collect();
            let mut nd = dense(&n_s);
            (0..rows.len()).for_each(|i| nd[(i, i)] = naive[i]);
            if rows.len() > 2 {
                assert!(lowest(&nd) < -1e-3, "overlap {overlap}, sub {k}");
            }
        }
    }
}

#[test]
fn diagonal_excess_refuses_a_non_dominant_row_and_forgives_rounding() {
    assert_eq!(diagonal_excess(0, 4.0, 3.0).ok(), Some(1.0));
    assert_eq!(diagonal_excess(0, 4.0, 4.0 * (1.0 + 1e-14)).ok(), Some(0.0));
    let e = diagonal_excess(17, 2.0, 2.5).expect_err("not dominant");
    assert!(matches!(e, Error::Config(_)));
    assert!(e.to_string().contains("row 17"), "{e}");
    assert!(diagonal_excess(3, f64::NAN, 1.0).is_err());
    assert!(diagonal_excess(3, -1.0, 0.0).is_err());
    assert!(local_neumann(&Csr::from_triplets(2, 2, &[(0, 0, 1.0)]), &[0.0]).is_err());
}
