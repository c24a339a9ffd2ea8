//! Unit tests of the GenEO eigenproblems on small P1 problems split into subdomains by hand
//! (serial; no MPI): eigenpairs against residuals and an inertia count, the kernel of floating
//! subdomains, Dirichlet elimination, and the dense and sparse paths against each other.
use super::*;

/// A P1 problem: element node lists with their stiffness matrices, and Dirichlet nodes.
struct Problem {
    n: usize,
    elements: Vec<(Vec<u32>, Vec<Vec<f64>>)>,
    dirichlet: Vec<bool>,
}

/// One subdomain as Schwarz builds it: rows (ascending), Boolean partition of unity, `A_i`,
/// and the Neumann matrix of the elements inside its rows (Dirichlet points eliminated).
struct Sub {
    rows: Vec<u32>,
    pou: Vec<f64>,
    a: Csr,
    neumann: Csr,
}

impl Problem {
    /// `−u''` on `[0, 1]` with `n_el` elements and Dirichlet conditions at both ends.
    fn line(n_el: usize) -> Problem {
        let k = vec![vec![1.0, -1.0], vec![-1.0, 1.0]];
        let mut dirichlet = vec![false; n_el + 1];
        dirichlet[0] = true;
        dirichlet[n_el] = true;
        Problem {
            n: n_el + 1,
            elements: (0..n_el as u32).map(|e| (vec![e, e + 1], k.clone())).collect(),
            dirichlet,
        }
    }

    /// `−∇·(κ∇u)` on the unit square, `m × m` squares split into right triangles, κ = `kappa`
    /// on the upper half, 1 elsewhere, Dirichlet on the left side only (so subdomains away from
    /// it float).
    fn square(m: usize, kappa: f64) -> Problem {
        Problem::square_with(m, |_, j| if 2 * j >= m { kappa } else { 1.0 })
    }

    /// [`Problem::square`] with κ of square `(i, j)` given by `kappa(i, j)`.
    fn square_with(m: usize, kappa: impl Fn(usize, usize) -> f64) -> Problem {
        let id = |i: usize, j: usize| (j * (m + 1) + i) as u32;
        let right = |k: f64| {
            vec![
                vec![k, -0.5 * k, -0.5 * k],
                vec![-0.5 * k, 0.5 * k, 0.0],
                vec![-0.5 * k, 0.0, 0.5 * k],
            ]
        };
        let mut elements = Vec::new();
        for j in 0..m {
            for i in 0..m {
                let k = kappa(i, j);
                elements.push((vec![id(i, j), id(i + 1, j), id(i, j + 1)], right(k)));
                elements.push((vec![id(i + 1, j + 1), id(i, j + 1), id(i + 1, j)], right(k)));
            }
        }
        let dirichlet = (0..(m + 1) * (m + 1)).map(|p| p % (m + 1) == 0).collect();
        Problem {
            n: (m + 1) * (m + 1),
            elements,
            dirichlet,
        }
    }

    /// Stiffness of the elements `inside` (all nodes), Dirichlet couplings dropped, identity
    /// rows on Dirichlet nodes; rows and columns renumbered by `at` (u32::MAX: not a row).
    fn assemble(&self, inside: impl Fn(&[u32]) -> bool, at: &[u32], size: usize) -> Csr {
        let mut t = Vec::new();
        for (nodes, k) in self.elements.iter().filter(|(nodes, _)| inside(nodes)) {
            for (a, &p) in nodes.iter().enumerate() {
                for (b, &q) in nodes.iter().enumerate() {
                    let (i, j) = (at[p as usize], at[q as usize]);
                    let eliminated = self.dirichlet[p as usize] || self.dirichlet[q as usize];
                    if i != u32::MAX && j != u32::MAX && !eliminated {
                        t.push((i, j, k[a][b]));
                    }
                }
            }
        }
        for (p, &d) in self.dirichlet.iter().enumerate() {
            if d && at[p] != u32::MAX {
                t.push((at[p], at[p], 1.0));
            }
        }
        Csr::from_triplets(size, size, &t)
    }

    /// The assembled matrix.
    fn matrix(&self) -> Csr {
        let at: Vec<u32> = (0..self.n as u32).collect();
        self.assemble(|_| true, &at, self.n)
    }

    /// Subdomains from a core index per node, grown by `overlap` layers through `A`'s graph.
    fn split(&self, core: &[usize], overlap: usize) -> Vec<Sub> {
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
                let rows: Vec<u32> = (0..self.n as u32).filter(|&i| inside[i as usize]).collect();
                let mut at = vec![u32::MAX; self.n];
                rows.iter().enumerate().for_each(|(k, &r)| at[r as usize] = k as u32);
                let own = |nodes: &[u32]| nodes.iter().all(|&p| inside[p as usize] || self.dirichlet[p as usize]);
                Sub {
                    pou: rows
                        .iter()
                        .map(|&r| if core[r as usize] == s { 1.0 } else { 0.0 })
                        .collect(),
                    a: a.principal_submatrix(&rows),
                    neumann: self.assemble(own, &at, rows.len()),
                    rows,
                }
            })
            .collect()
    }
}

/// Cores of the `(m+1)²` nodes of [`Problem::square`]: `p × p` blocks.
fn blocks(m: usize, p: usize) -> Vec<usize> {
    (0..(m + 1) * (m + 1))
        .map(|q| {
            let (i, j) = (q % (m + 1), q / (m + 1));
            (j * p / (m + 1)) * p + i * p / (m + 1)
        })
        .collect()
}

fn opts(nev: Option<usize>, threshold: Option<f64>, method: GeneoMethod) -> GeneoOptions {
    GeneoOptions {
        nev,
        threshold,
        method,
        ..GeneoOptions::default()
    }
}

fn a_dot(a: &Csr, x: &[f64], y: &[f64]) -> f64 {
    let mut ay = vec![0.0; y.len()];
    a.spmv(y, &mut ay);
    x.iter().zip(&ay).map(|(u, v)| u * v).sum()
}

/// Negative eigenvalues of `B − τ D A D` on the rows that are not Dirichlet rows: by Sylvester's
/// law and the Haynsworth inertia formula (`B_ZZ` is SPD) it counts the GenEO eigenvalues below
/// τ without any of the reductions the solver makes.
fn count_below(s: &Sub, tau: f64) -> usize {
    let keep: Vec<u32> = (0..s.rows.len() as u32)
        .filter(|&i| s.a.row(i as usize).0.len() > 1)
        .collect();
    let (b, a) = (s.neumann.principal_submatrix(&keep), s.a.principal_submatrix(&keep));
    let n = keep.len();
    let w: Vec<f64> = keep.iter().map(|&i| s.pou[i as usize]).collect();
    let mut m = to_dense(&b, 0..n, 0..n);
    for i in 0..n {
        let (c, v) = a.row(i);
        for (&j, &x) in c.iter().zip(v) {
            m[(i, j as usize)] -= tau * w[i] * w[j as usize] * x;
        }
    }
    let (ev, _) = symmetric_eigen(&m).expect("dense eigenvalues");
    let scale = ev.iter().fold(0.0f64, |a, b| a.max(b.abs()));
    ev.iter().filter(|&&e| e < -1e-10 * scale).count()
}

#[test]
fn floating_subdomain_finds_the_constant_and_boundary_subdomains_do_not() {
    let p = Problem::line(30);
    let core: Vec<usize> = (0..31).map(|i| i * 3 / 31).collect();
    let subs = p.split(&core, 2);
    for method in [GeneoMethod::Dense, GeneoMethod::Sparse] {
        for (k, s) in subs.iter().enumerate() {
            let g = geneo_eigenproblem(&s.neumann, &s.a, &s.pou, &opts(Some(3), None, method)).expect("geneo");
            assert_eq!(g.vectors.len(), 3);
            assert!(
                g.residuals.iter().all(|&r| r <= 1e-10),
                "{method:?} {k}: {:?}",
                g.residuals
            );
            if k == 1 {
                // Floating: the constants are the kernel of the Neumann matrix, λ = 0.
                assert!(g.eigenvalues[0].abs() < 1e-10, "{method:?}: {:?}", g.eigenvalues);
                let v = &g.vectors[0];
                let c = v
                    .iter()
                    .zip(&s.pou)
                    .find(|(_, &w)| w == 1.0)
                    .map(|(x, _)| *x)
                    .unwrap_or(0.0);
                assert!(c.abs() > 0.0);
                for (x, w) in v.iter().zip(&s.pou) {
                    assert!((x - w * c).abs() <= 1e-8 * c.abs(), "not D·constant: {v:?}");
                }
                assert!(g.eigenvalues[1] > 1e-3);
            } else {
                // Touching the Dirichlet boundary: no kernel; the Dirichlet row is eliminated.
                assert!(g.eigenvalues[0] > 1e-3, "{method:?} {k}: {:?}", g.eigenvalues);
                assert_eq!(g.eliminated, 1);
                let d = if k == 0 { 0 } else { s.rows.len() - 1 };
                assert!(g.vectors.iter().all(|v| v[d] == 0.0));
            }
        }
    }
}

#[test]
fn dense_eigenpairs_match_the_inertia_reference() {
    let m = 12;
    let p = Problem::square(m, 20.0);
    for (k, s) in p.split(&blocks(m, 3), 1).iter().enumerate() {
        let g = geneo_eigenproblem(&s.neumann, &s.a, &s.pou, &opts(Some(8), None, GeneoMethod::Dense)).expect("geneo");
        assert_eq!(g.eigenvalues.len(), 8);
        assert!(g.residuals.iter().all(|&r| r <= 1e-12), "{k}: {:?}", g.residuals);
        for (i, x) in g.vectors.iter().enumerate() {
            for (j, y) in g.vectors.iter().enumerate() {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((a_dot(&s.a, x, y) - want).abs() < 1e-9, "{k}: not D A D-orthonormal");
            }
        }
        // Between consecutive distinct eigenvalues the inertia count must equal the index.
        let l = &g.eigenvalues;
        for i in 0..l.len() - 1 {
            if l[i + 1] - l[i] > 1e-6 * l[i + 1] {
                assert_eq!(count_below(s, 0.5 * (l[i] + l[i + 1])), i + 1, "{k}: {l:?}");
            }
        }
        assert_eq!(count_below(s, 0.5 * l[0]), 0, "{k}: {l:?}");
        // The bottom-left block touches the Dirichlet side; the others (x > 1/3) float.
        let floating = k % 3 != 0;
        assert_eq!(l[0].abs() < 1e-10, floating, "{k}: {l:?}");
    }
}

/// Checks that every vector of `b` lies in the span of `a`'s vectors (`A_i`-orthonormal).
fn same_span(s: &Sub, a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    b.iter()
        .map(|v| {
            let mut r = v.clone();
            for u in a {
                let c = a_dot(&s.a, u, v);
                r.iter_mut().zip(u).for_each(|(x, y)| *x -= c * y);
            }
            a_dot(&s.a, &r, &r).max(0.0).sqrt()
        })
        .fold(0.0, f64::max)
}

#[test]
fn dense_and_sparse_paths_agree() {
    let m = 16;
    let p = Problem::square(m, 1e3);
    for (k, s) in p.split(&blocks(m, 2), 2).iter().enumerate() {
        for (nev, tau) in [(Some(5), None), (None, Some(0.1)), (Some(2), Some(0.1))] {
            let d = geneo_eigenproblem(&s.neumann, &s.a, &s.pou, &opts(nev, tau, GeneoMethod::Dense)).expect("dense");
            let sp =
                geneo_eigenproblem(&s.neumann, &s.a, &s.pou, &opts(nev, tau, GeneoMethod::Sparse)).expect("sparse");
            assert_eq!(sp.method, GeneoMethod::Sparse);
            assert_eq!(
                d.eigenvalues.len(),
                sp.eigenvalues.len(),
                "{k} {nev:?} {tau:?}: {d:?} {sp:?}"
            );
            for (x, y) in d.eigenvalues.iter().zip(&sp.eigenvalues) {
                assert!((x - y).abs() <= 1e-8 * (1.0 + x.abs()), "{k}: {x} vs {y}");
            }
            assert!(sp.residuals.iter().all(|&r| r <= 1e-8), "{k}: {:?}", sp.residuals);
            if let Some(t) = tau {
                let below = count_below(s, t);
                assert_eq!(d.eigenvalues.len(), below.min(nev.unwrap_or(usize::MAX)), "{k}");
                assert_eq!(d.truncated, below > d.eigenvalues.len());
            }
            // Same spaces (up to a cluster cut by the count: compare with a few more).
            let wider = opts(Some(d.eigenvalues.len() + 3), None, GeneoMethod::Dense);
            let dw = geneo_eigenproblem(&s.neumann, &s.a, &s.pou, &wider).expect("dense");
            assert!(same_span(s, &dw.vectors, &sp.vectors) < 1e-6, "{k}: spaces differ");
        }
    }
}

#[test]
fn options_and_sizes_are_checked() {
    let p = Problem::line(10);
    let s = &p.split(&[0; 11], 0)[0];
    assert!(geneo_eigenproblem(&s.neumann, &s.a, &s.pou, &GeneoOptions::default()).is_err());
    assert!(geneo_eigenproblem(&s.neumann, &s.a, &s.pou[1..], &opts(Some(1), None, GeneoMethod::Auto)).is_err());
    let g = geneo_eigenproblem(&s.neumann, &s.a, &s.pou, &opts(Some(2), None, GeneoMethod::Auto)).expect("geneo");
    assert_eq!(g.method, GeneoMethod::Dense);
    // One subdomain: Neumann = Dirichlet matrix, every λ = 1.
    assert!(
        g.eigenvalues.iter().all(|l| (l - 1.0).abs() < 1e-12),
        "{:?}",
        g.eigenvalues
    );
}

#[test]
fn sparse_path_restarts_and_finds_every_channel_eigenvalue() {
    // Horizontal channels of κ = 10⁴ cross the vertical subdomain interfaces: each crossing
    // gives a small eigenvalue (Spillane et al. 2014), more than the first block holds.
    let m = 48;
    let p = Problem::square_with(m, |_, j| if j % 6 == 2 { 1e4 } else { 1.0 });
    let core: Vec<usize> = (0..(m + 1) * (m + 1)).map(|q| (q % (m + 1)) * 2 / (m + 1)).collect();
    let s = &p.split(&core, 1)[1];
    let tau = 0.05;
    let mut o = opts(None, Some(tau), GeneoMethod::Sparse);
    o.dense_max = 0;
    let sp = geneo_eigenproblem(&s.neumann, &s.a, &s.pou, &o).expect("sparse");
    let d = geneo_eigenproblem(&s.neumann, &s.a, &s.pou, &opts(None, Some(tau), GeneoMethod::Dense)).expect("dense");
    let below = count_below(s, tau);
    assert!(below >= 8, "{below} eigenvalues below τ: {:?}", d.eigenvalues);
    assert_eq!(
        sp.eigenvalues.len(),
        below,
        "{:?} vs {:?}",
        sp.eigenvalues,
        d.eigenvalues
    );
    assert_eq!(d.eigenvalues.len(), below);
    for (x, y) in d.eigenvalues.iter().zip(&sp.eigenvalues) {
        assert!((x - y).abs() <= 1e-8 * (1.0 + x.abs()), "{x} vs {y}");
    }
    assert!(sp.residuals.iter().all(|&r| r <= 1e-8), "{:?}", sp.residuals);
    assert!(same_span(s, &d.vectors, &sp.vectors) < 1e-6);
    // The first block (6 vectors) cannot hold them all: it grew, restarting.
    assert!(sp.restarts > 0);
}
