//! FETI-DP's primal constraints and the partially assembled inverse `Ã⁻¹` (Dohrmann's form,
//! shared with BDDC).
//!
//! **Primal set.** An interface row belongs to the *glob* of the subdomains that hold it (the
//! same set seen from each of them). A glob of one row is a *vertex*: at cross points of
//! three or more subdomains, and wherever two subdomains touch at a single row, so two
//! subdomains meeting at a corner stay glued. Every other glob (an edge in 2D, an edge or a
//! face in 3D, connected or not) gets an *average* constraint `(1/m) Σ_{i∈glob} u_i` with
//! `feti.averages` (the default); without it only the globs of subdomains that would float on
//! their vertices alone do (a subdomain meeting its neighbours along edges only, or with no
//! vertex on its boundary). The choice depends on the sets of holders only, so every
//! subdomain of a glob makes the same one, whatever the rank count, and every subdomain with
//! an interface is held: floating is then an error that names the subdomain.
//!
//! **Local solves.** Vertices are eliminated (their rows removed: `K_rr`), averages enforced by
//! Lagrange multipliers. `K_rr` is factorized with [`SemiDefinite`] (it may keep a kernel `Z`
//! when no vertex holds the subdomain), so the constrained solve `K_rr u + Cᵀμ = g, C u = h`
//! is `u = K_rr⁺ (g − Cᵀμ) + Z β` with the small dense system
//! `[C K⁺Cᵀ, −CZ; ZᵀCᵀ, 0] [μ; β] = [C K⁺ g − h; Zᵀ g]`, inverted once at set-up.
//!
//! **Coarse space.** Each constraint has a basis function `Φ_j` per subdomain: the
//! constrained energy minimizer with value 1 at its vertex (or average 1 on its glob) and 0 at
//! the others. The primal matrix `S_Π = Σ_s R_sᵀ Φ_sᵀ K_s Φ_s R_s` is assembled sparse and
//! factorized redundantly ([`RedundantSolve`], with its size limit). Then
//! `Ã⁻¹ g = Σ_s (constrained solve of g_s) + Φ_s R_s S_Π⁻¹ Σ_t R_tᵀ Φ_tᵀ g_t`.

use super::{FetiOptions, Local};
use crate::comm::Comm;
use crate::dd::coarse::redundant::RedundantSolve;
use crate::dd::{Decomposition, Subdomain};
use crate::error::{Error, Result};
use crate::linalg::{Csr, SemiDefinite};
use faer::linalg::matmul::matmul;
use faer::linalg::solvers::DenseSolveCore;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use std::collections::BTreeMap;

/// The primal set's size over all ranks.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct PrimalCounts {
    /// Vertex constraints.
    pub vertices: usize,
    /// Average constraints.
    pub averages: usize,
    /// Subdomains whose matrix without its vertices keeps a kernel (held by the averages).
    pub floating: usize,
}

impl PrimalCounts {
    /// The primal (coarse) dimension.
    pub fn total(&self) -> usize {
        self.vertices + self.averages
    }
}

/// One subdomain's globs: the holders' ids (ascending, itself included) and the positions.
type Globs = BTreeMap<Vec<u64>, Vec<u32>>;

/// One subdomain's constrained factorization, coarse basis and workspace.
struct DpLocal {
    /// The subdomain's global id (messages).
    id: u64,
    /// `K_rr`: the Neumann matrix without the vertex rows.
    k: RestSolver,
    /// Positions of the vertices (eliminated; no multipliers).
    vertices: Vec<u32>,
    /// Positions (in the subdomain's rows) of `K_rr`'s rows.
    rest: Vec<u32>,
    /// Each average constraint's rows, as indices into `rest`.
    averages: Vec<Vec<u32>>,
    /// `K_rr⁺ C_jᵀ` of each average constraint, column after column.
    kc: Vec<f64>,
    /// The inverse of the small system (row-major, `averages + kernel` square).
    small: Vec<f64>,
    /// Coarse basis `Φ_j` over the subdomain's rows, vertices first, and the global primal
    /// index and held position of each.
    phi: Mat<f64>,
    index: Vec<usize>,
    held: Vec<usize>,
    /// `Φᵀ g`, then the coarse solution's entries of the subdomain's constraints.
    coarse_part: Vec<f64>,
    /// Work vectors: over `rest`, the small system's right-hand side and solution, the rows.
    wr: Vec<f64>,
    rhs: Vec<f64>,
    sol: Vec<f64>,
    out: Vec<f64>,
}

/// FETI-DP's local factorizations and primal problem.
pub(super) struct Dp {
    locals: Vec<DpLocal>,
    coarse: RedundantSolve,
    partial: Vec<f64>,
    /// Sizes of the primal set.
    pub(super) primal: PrimalCounts,
}

impl Dp {
    /// Collective: chooses the primal set, factorizes the constrained local problems, builds the
    /// coarse basis and factorizes the primal problem.
    pub(super) fn new(comm: &Comm, d: &Decomposition, neumann: &[Csr], options: FetiOptions) -> Result<Dp> {
        let globs: Vec<Globs> = d.subdomains.iter().map(globs).collect();
        let vertex_rows: Vec<Vec<u32>> = globs
            .iter()
            .map(|g| {
                let mut v: Vec<u32> = g.values().filter(|p| p.len() == 1).map(|p| p[0]).collect();
                v.sort_unstable();
                v
            })
            .collect();
        let mut factors = Vec::with_capacity(neumann.len());
        for (k, v) in neumann.iter().zip(&vertex_rows) {
            let rest: Vec<u32> = (0..k.nrows as u32).filter(|p| v.binary_search(p).is_err()).collect();
            let krr = RestSolver::new(&k.principal_submatrix(&rest), options.pivot_tol);
            factors.push(krr.map(|krr| (krr, rest)));
        }
        let factors = comm.agree(factors.into_iter().collect::<Result<Vec<_>>>())?;
        let floating: Vec<u64> = d
            .subdomains
            .iter()
            .zip(&factors)
            .filter(|(_, f)| !f.0.kernel().is_empty())
            .map(|(s, _)| s.id)
            .collect();
        // Without averages everywhere, the globs of a floating subdomain get theirs.
        let needy = if options.averages {
            Vec::new()
        } else {
            let mut all = comm.all_gather_v(&floating);
            all.sort_unstable();
            all
        };
        let averaged = |set: &[u64], rows: &[u32]| {
            rows.len() > 1 && (options.averages || set.iter().any(|id| needy.binary_search(id).is_ok()))
        };
        let numbering = PrimalNumbering::new(comm, d, &globs, averaged)?;
        RedundantSolve::check_dimension(comm, numbering.counts.total(), "FETI-DP's primal problem")?;
        let mut locals = Vec::with_capacity(factors.len());
        for ((((s, (krr, rest)), g), v), k) in d
            .subdomains
            .iter()
            .zip(factors)
            .zip(&globs)
            .zip(vertex_rows)
            .zip(neumann)
        {
            let glob_list: Vec<&Vec<u32>> = g
                .iter()
                .filter(|(set, rows)| averaged(set, rows))
                .map(|x| x.1)
                .collect();
            let mut index: Vec<usize> = v.iter().map(|&p| numbering.index(s.rows[p as usize])).collect();
            index.extend(glob_list.iter().map(|rows| numbering.index(s.rows[rows[0] as usize])));
            locals.push(DpLocal::new(s.id, k, (krr, rest), &glob_list, v, index));
        }
        let mut locals = comm.agree(locals.into_iter().collect::<Result<Vec<_>>>())?;
        let mut held: Vec<usize> = locals.iter().flat_map(|l| l.index.iter().copied()).collect();
        held.sort_unstable();
        held.dedup();
        let mut share = Vec::new();
        for (l, k) in locals.iter_mut().zip(neumann) {
            l.held = l.index.iter().map(|i| held.partition_point(|h| h < i)).collect();
            l.primal_share(k, &mut share);
        }
        let mut primal = numbering.counts;
        primal.floating = comm.sum_u64(floating.len() as u64) as usize;
        let coarse = RedundantSolve::new(comm, primal.total(), &share, &held, "FETI-DP's primal problem")?;
        Ok(Dp {
            locals,
            coarse,
            partial: vec![0.0; held.len()],
            primal,
        })
    }

    /// Collective: new values of the Neumann matrices (same patterns): refactorizes `K_rr`,
    /// rebuilds the constrained solvers' small systems and the coarse basis, and refactorizes the
    /// primal problem on its pattern. The primal set stays; a subdomain whose kernel appears or
    /// vanishes under `feti.averages = false` would change it and is refused.
    pub(super) fn refactor(&mut self, comm: &Comm, neumann: &[Csr], averages: bool) -> Result<()> {
        let mut res = Ok(());
        for (l, k) in self.locals.iter_mut().zip(neumann) {
            let floating = !l.k.kernel().is_empty();
            res = l.k.refactor(&k.principal_submatrix(&l.rest)).and_then(|()| {
                let now = !l.k.kernel().is_empty();
                if !averages && floating != now {
                    return Err(Error::input(format!(
                        "FETI-DP update: subdomain {} {} floating on its vertices, which changes the primal set (build anew)",
                        l.id,
                        if floating { "stopped" } else { "started" }
                    )));
                }
                l.numeric(k)
            });
            if res.is_err() {
                break;
            }
        }
        comm.agree(res)?;
        let mut share = Vec::new();
        for (l, k) in self.locals.iter().zip(neumann) {
            l.primal_share(k, &mut share);
        }
        self.primal.floating =
            comm.sum_u64(self.locals.iter().filter(|l| !l.k.kernel().is_empty()).count() as u64) as usize;
        self.coarse.refactor(comm, &share, "FETI-DP's primal problem")
    }

    /// Which rows of each subdomain get multipliers: all shared ones but the vertices.
    pub(super) fn multiplier_rows(&self, d: &Decomposition) -> Vec<Vec<bool>> {
        d.subdomains
            .iter()
            .zip(&self.locals)
            .map(|(s, l)| {
                let mut keep = vec![true; s.rows.len()];
                l.vertices.iter().for_each(|&p| keep[p as usize] = false);
                keep
            })
            .collect()
    }

    /// Collective: `w ← Ã⁻¹ w` over every subdomain's work vector.
    pub(super) fn solve(&mut self, comm: &Comm, locals: &mut [Local]) {
        self.partial.iter_mut().for_each(|x| *x = 0.0);
        for (dl, l) in self.locals.iter_mut().zip(locals.iter()) {
            let c = dl.coarse_part.len();
            let w = MatRef::from_column_major_slice(&l.w, l.w.len(), 1);
            let pw = MatMut::from_column_major_slice_mut(&mut dl.coarse_part, c, 1);
            matmul(pw, Accum::Replace, dl.phi.transpose(), w, 1.0, Par::Seq); // Φ_sᵀ g_s
            for (&p, &h) in dl.coarse_part.iter().zip(&dl.held) {
                self.partial[h] += p;
            }
        }
        let uc = self.coarse.solve(comm, &self.partial);
        for (dl, l) in self.locals.iter_mut().zip(locals) {
            dl.constrained(&l.w);
            for (p, &i) in dl.coarse_part.iter_mut().zip(&dl.index) {
                *p = uc[i];
            }
            let (n, c) = (dl.out.len(), dl.coarse_part.len());
            let out = MatMut::from_column_major_slice_mut(&mut dl.out, n, 1);
            let part = MatRef::from_column_major_slice(&dl.coarse_part, c, 1);
            matmul(out, Accum::Add, dl.phi.as_ref(), part, 1.0, Par::Seq); // + Φ_s R_s u_Π
            l.w.copy_from_slice(&dl.out);
        }
    }
}

/// `K_rr`'s factorization, or nothing for a subdomain whose rows are all vertices (a tiny
/// subdomain at a cross point: its constrained problem is `u = 0`).
struct RestSolver(Option<SemiDefinite>);

impl RestSolver {
    /// Factorizes `krr` (none when it is empty).
    fn new(krr: &Csr, pivot_tol: f64) -> Result<RestSolver> {
        Ok(RestSolver(if krr.nrows == 0 {
            None
        } else {
            Some(SemiDefinite::new(krr, pivot_tol)?)
        }))
    }

    /// New values on the same pattern.
    fn refactor(&mut self, krr: &Csr) -> Result<()> {
        self.0.as_mut().map_or(Ok(()), |k| k.refactor(krr))
    }

    /// The kernel basis.
    fn kernel(&self) -> &[Vec<f64>] {
        self.0.as_ref().map_or(&[], |k| k.kernel())
    }

    /// `X ← K_rr⁺ X` for `k` columns.
    fn solve_many(&mut self, x: &mut [f64], k: usize) -> Result<()> {
        self.0.as_mut().map_or(Ok(()), |s| s.solve_many(x, k))
    }

    /// `x ← K_rr⁺ x`.
    fn solve_in_place(&mut self, x: &mut [f64]) {
        if let Some(k) = &mut self.0 {
            k.solve_in_place(x);
        }
    }
}

/// Sum of the products of two slices.
fn dot(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

/// The globs of a subdomain: its shared rows grouped by the set of subdomains holding them.
fn globs(s: &Subdomain) -> Globs {
    let mut holders: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    for n in &s.neighbours {
        for &p in &n.shared {
            holders.entry(p).or_insert_with(|| vec![s.id]).push(n.id);
        }
    }
    let mut globs = Globs::new();
    for (p, mut set) in holders {
        set.sort_unstable();
        globs.entry(set).or_default().push(p);
    }
    globs
}

/// The global numbering of the primal constraints: each is known by the lowest global row of
/// its glob; the glob's lowest subdomain declares it, and all keys are gathered and sorted.
struct PrimalNumbering {
    keys: Vec<u64>,
    counts: PrimalCounts,
}

impl PrimalNumbering {
    /// Collective: gathers the keys of the constraints this rank declares.
    fn new(comm: &Comm, d: &Decomposition, globs: &[Globs], averaged: impl Fn(&[u64], &[u32]) -> bool) -> Result<Self> {
        let (mut keys, mut vertices, mut averages) = (Vec::new(), 0u64, 0u64);
        for (s, g) in d.subdomains.iter().zip(globs) {
            for (set, rows) in g.iter().filter(|(set, _)| set[0] == s.id) {
                if rows.len() == 1 {
                    vertices += 1;
                } else if averaged(set, rows) {
                    averages += 1;
                } else {
                    continue;
                }
                keys.push(s.rows[rows[0] as usize]);
            }
        }
        RedundantSolve::check_dimension(
            comm,
            comm.sum_u64(keys.len() as u64) as usize,
            "FETI-DP's primal problem",
        )?;
        let mut keys = comm.all_gather_v(&keys);
        keys.sort_unstable();
        Ok(PrimalNumbering {
            keys,
            counts: PrimalCounts {
                vertices: comm.sum_u64(vertices) as usize,
                averages: comm.sum_u64(averages) as usize,
                floating: 0,
            },
        })
    }

    /// The index of the constraint whose glob starts at global row `row`.
    fn index(&self, row: u64) -> usize {
        self.keys.partition_point(|&k| k < row)
    }
}

impl DpLocal {
    /// The constrained solver of subdomain `id` (Neumann matrix `neumann`) from its factorized
    /// `K_rr` and the positions of its rows, with the average constraints on `globs` and the
    /// vertices `vertices` (positions), and the coarse basis.
    fn new(
        id: u64,
        neumann: &Csr,
        (k, rest): (RestSolver, Vec<u32>),
        globs: &[&Vec<u32>],
        vertices: Vec<u32>,
        index: Vec<usize>,
    ) -> Result<DpLocal> {
        let in_rest = |p: u32| rest.partition_point(|&r| r < p) as u32;
        let averages: Vec<Vec<u32>> = globs.iter().map(|g| g.iter().map(|&p| in_rest(p)).collect()).collect();
        let nr = rest.len();
        let mut l = DpLocal {
            id,
            vertices,
            k,
            averages,
            kc: Vec::new(),
            small: Vec::new(),
            phi: Mat::new(),
            coarse_part: Vec::new(),
            index,
            held: Vec::new(),
            wr: vec![0.0; nr],
            rhs: Vec::new(),
            sol: Vec::new(),
            out: vec![0.0; neumann.nrows],
            rest,
        };
        l.numeric(neumann)?;
        Ok(l)
    }

    /// Everything that depends on the values once `K_rr` is factorized: `K⁺Cᵀ`, the check that
    /// the kernel is held, the small system's inverse and the coarse basis.
    fn numeric(&mut self, neumann: &Csr) -> Result<()> {
        let (na, nr) = (self.averages.len(), self.rest.len());
        let n_small = na + self.k.kernel().len();
        (self.rhs, self.sol) = (vec![0.0; n_small], vec![0.0; n_small]);
        // K⁺ Cᵀ, all averages in one pass over the factor.
        self.kc = vec![0.0; nr * na];
        for (j, col) in self.kc.chunks_exact_mut(nr.max(1)).enumerate().take(na) {
            let w = 1.0 / self.averages[j].len() as f64;
            self.averages[j].iter().for_each(|&i| col[i as usize] = w);
        }
        self.k.solve_many(&mut self.kc, na)?;
        self.check_held()?;
        self.small = self.small_inverse()?;
        self.basis(neumann)
    }

    /// `C_j x` for `x` over `rest`.
    fn average(&self, j: usize, x: &[f64]) -> f64 {
        let rows = &self.averages[j];
        rows.iter().map(|&i| x[i as usize]).sum::<f64>() / rows.len() as f64
    }

    /// Refuses a subdomain whose kernel the averages do not hold (`C Z` without full column rank).
    fn check_held(&self) -> Result<()> {
        let z = self.k.kernel();
        let mut cz: Vec<Vec<f64>> = z
            .iter()
            .map(|z| (0..self.averages.len()).map(|j| self.average(j, z)).collect())
            .collect();
        for i in 0..cz.len() {
            let before = dot(&cz[i], &cz[i]).sqrt();
            for j in 0..i {
                let c = dot(&cz[i], &cz[j]);
                let (head, tail) = cz.split_at_mut(i);
                tail[0].iter_mut().zip(&head[j]).for_each(|(x, y)| *x -= c * y);
            }
            let after = dot(&cz[i], &cz[i]).sqrt();
            if after <= 1e-8 * before.max(f64::MIN_POSITIVE) || before == 0.0 {
                return Err(Error::input(format!(
                    "FETI-DP: subdomain {} floats under its primal constraints (a kernel of dimension {} \
                     left by its {} vertices that its {} averages do not hold)",
                    self.id,
                    z.len(),
                    self.vertices.len(),
                    self.averages.len()
                )));
            }
            cz[i].iter_mut().for_each(|x| *x /= after);
        }
        Ok(())
    }

    /// The inverse of `[C K⁺Cᵀ, −CZ; ZᵀCᵀ, 0]` (row-major).
    fn small_inverse(&self) -> Result<Vec<f64>> {
        let (na, z) = (self.averages.len(), self.k.kernel());
        let n = na + z.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let m = faer::Mat::<f64>::from_fn(n, n, |i, j| match (i < na, j < na) {
            (true, true) => self.average(i, self.kc_column(j)),
            (true, false) => -self.average(i, &z[j - na]),
            (false, true) => self.average(j, &z[i - na]),
            (false, false) => 0.0,
        });
        let inv = m.partial_piv_lu().inverse();
        let small: Vec<f64> = (0..n * n).map(|k| inv[(k / n, k % n)]).collect();
        if small.iter().all(|x| x.is_finite()) {
            Ok(small)
        } else {
            Err(Error::input(format!(
                "FETI-DP: subdomain {}'s constrained local problem is singular",
                self.id
            )))
        }
    }

    /// `K_rr⁺ C_jᵀ`.
    fn kc_column(&self, j: usize) -> &[f64] {
        let nr = self.rest.len();
        &self.kc[j * nr..(j + 1) * nr]
    }

    /// The constrained solve: `out` (over the subdomain's rows, zero at the vertices) with
    /// `K_rr u + Cᵀμ = g_r` and `C u = 0` (an application of `Ã⁻¹`'s local part).
    fn constrained(&mut self, g: &[f64]) {
        let na = self.averages.len();
        for (w, &p) in self.wr.iter_mut().zip(&self.rest) {
            *w = g[p as usize];
        }
        for (r, z) in self.rhs[na..].iter_mut().zip(self.k.kernel()) {
            *r = dot(z, &self.wr); // Zᵀ g
        }
        self.k.solve_in_place(&mut self.wr); // K⁺ g
        for (j, r) in self.rhs[..na].iter_mut().enumerate() {
            let rows = &self.averages[j];
            *r = rows.iter().map(|&i| self.wr[i as usize]).sum::<f64>() / rows.len() as f64;
            // C K⁺ g
        }
        let n = self.rhs.len();
        for (i, s) in self.sol.iter_mut().enumerate() {
            *s = dot(&self.small[i * n..(i + 1) * n], &self.rhs); // [μ; β]
        }
        for (j, &mu) in self.sol[..na].iter().enumerate() {
            let kc = &self.kc[j * self.wr.len()..(j + 1) * self.wr.len()];
            self.wr.iter_mut().zip(kc).for_each(|(w, c)| *w -= mu * c); // − K⁺Cᵀμ
        }
        for (z, &beta) in self.k.kernel().iter().zip(&self.sol[na..]) {
            self.wr.iter_mut().zip(z).for_each(|(w, z)| *w += beta * z); // + Zβ
        }
        self.out.iter_mut().for_each(|x| *x = 0.0);
        for (w, &p) in self.wr.iter().zip(&self.rest) {
            self.out[p as usize] = *w;
        }
    }

    /// The coarse basis: per vertex `e_p` plus the constrained response to `−K e_p`, per
    /// average the constrained solve with that average 1; all columns in one pass over the
    /// factor.
    fn basis(&mut self, neumann: &Csr) -> Result<()> {
        let (n, nr, nv, na) = (neumann.nrows, self.rest.len(), self.vertices.len(), self.averages.len());
        let nk = self.k.kernel().len();
        // Right-hand sides over `rest`, column after column: −K_rv e_p for the vertices, 0 else.
        let mut g = vec![0.0; nr * (nv + na)];
        let (mut e, mut kv) = (vec![0.0; n], vec![0.0; n]);
        for (k, &p) in self.vertices.iter().enumerate() {
            e[p as usize] = -1.0;
            neumann.spmv(&e, &mut kv);
            e[p as usize] = 0.0;
            for (x, &r) in g[k * nr..(k + 1) * nr].iter_mut().zip(&self.rest) {
                *x = kv[r as usize];
            }
        }
        let mut zg = vec![0.0; nk * (nv + na)];
        for (c, col) in g.chunks_exact(nr.max(1)).enumerate().take(nv) {
            for (i, z) in self.k.kernel().iter().enumerate() {
                zg[c * nk + i] = dot(z, col);
            }
        }
        // An average's column has no load (`K⁺ 0 = 0`): only the vertices' columns are solved.
        self.k.solve_many(&mut g[..nr * nv], nv)?;
        // The small systems of all columns at once: [μ; β] = small⁻¹ [C w − h; Zᵀ g], then
        // w − K⁺Cᵀ μ + Z β, as matrix products.
        let (m, ns) = (nv + na, na + nk);
        let mut rhs = vec![0.0; ns * m];
        for (c, col) in g.chunks_exact(nr.max(1)).enumerate().take(m) {
            for j in 0..na {
                rhs[c * ns + j] = self.average(j, col) - if c == nv + j { 1.0 } else { 0.0 };
            }
            rhs[c * ns + na..(c + 1) * ns].copy_from_slice(&zg[c * nk..(c + 1) * nk]);
        }
        let mut sol = Mat::<f64>::zeros(ns, m);
        let small = MatRef::from_row_major_slice(&self.small, ns, ns);
        matmul(
            sol.as_mut(),
            Accum::Replace,
            small,
            MatRef::from_column_major_slice(&rhs, ns, m),
            1.0,
            Par::Seq,
        );
        let mut w = MatMut::from_column_major_slice_mut(&mut g, nr, m);
        let kc = MatRef::from_column_major_slice(&self.kc, nr, na);
        matmul(w.as_mut(), Accum::Add, kc, sol.as_ref().subrows(0, na), -1.0, Par::Seq); // − K⁺Cᵀμ
        let z = Mat::<f64>::from_fn(nr, nk, |i, k| self.k.kernel()[k][i]);
        matmul(
            w.as_mut(),
            Accum::Add,
            z.as_ref(),
            sol.as_ref().subrows(na, nk),
            1.0,
            Par::Seq,
        ); // + Zβ
        self.phi = Mat::zeros(n, m);
        self.coarse_part = vec![0.0; m];
        for (c, col) in g.chunks_exact(nr.max(1)).enumerate().take(m) {
            let mut phi = self.phi.col_mut(c);
            for (x, &r) in col.iter().zip(&self.rest) {
                phi[r as usize] = *x;
            }
            if c < nv {
                phi[self.vertices[c] as usize] = 1.0;
            }
        }
        Ok(())
    }

    /// Appends this subdomain's `Φᵀ K Φ` as triplets of global primal indices.
    fn primal_share(&self, k: &Csr, share: &mut Vec<(u32, u32, f64)>) {
        let (n, c) = (self.phi.nrows(), self.phi.ncols());
        let (mut kphi, mut x) = (vec![0.0; n * c], vec![0.0; n]);
        for (l, out) in kphi.chunks_exact_mut(n.max(1)).enumerate().take(c) {
            x.iter_mut().zip(self.phi.col(l).iter()).for_each(|(x, p)| *x = *p);
            k.spmv(&x, out);
        }
        let mut s = Mat::<f64>::zeros(c, c);
        let kphi = MatRef::from_column_major_slice(&kphi, n, c);
        matmul(s.as_mut(), Accum::Replace, self.phi.transpose(), kphi, 1.0, Par::Seq); // Φᵀ K Φ
        for (l, &il) in self.index.iter().enumerate() {
            for (j, &ij) in self.index.iter().enumerate() {
                share.push((ij as u32, il as u32, s[(j, l)]));
            }
        }
    }
}
