//! Deluxe scaling (Dohrmann and Widlund, IJNME 93 (2013); Beirão da Veiga, Pavarino, Scacchi,
//! Widlund and Zampini, SISC 36 (2014)): the scalar weights of a row are replaced by matrices
//! on each *glob* (the rows with multipliers held by the same set of subdomains):
//!
//! ```text
//! S_k^E = K_EE − K_EI K_II⁻¹ K_IE     (subdomain k's Schur complement on its interior I, on E)
//! D_k^E = (Σ_{l∋E} S_l^E)⁻¹ S_k^E     (Σ_k D_k^E = I)
//! ```
//!
//! The averaging operator becomes `ū_E = Σ_k D_k^E u_k^E`, which sees a coefficient that varies
//! *along* an interface (a channel crossing it), where ρ-scaling by one number per row and
//! subdomain does not. For FETI's fully redundant multipliers the scaled jump of the pair
//! `(s, t)` on `E` is `±D_tᵀ` on `s`'s side, so that `B_Dᵀ B = Σ_{t≠s} D_t (u_s − u_t)`;
//! BDDC's weighted restriction is `D_sᵀ` in and `D_s` out (a symmetric preconditioner).
//!
//! Set-up: one block solve with the interior factor per glob (as many columns as the glob has
//! rows), the `S_k^E` exchanged between the holders of each glob (across ranks: one
//! all-to-all), and a dense Cholesky of each sum. *Economic* deluxe (`feti.deluxe-layers = k >
//! 0`, after Dohrmann and Widlund's economic variant) eliminates only the interior rows within
//! `k` couplings of the glob, with a small factorization of its own per glob (redone at a
//! numeric update), instead of block solves with the whole interior. A glob is matched across its holders by its
//! lowest global row, and its rows are ordered by global row on every side.

use super::interface::{Interface, JumpEntry};
use super::Local;
use crate::comm::Comm;
use crate::dd::{Decomposition, Subdomain};
use crate::error::{Error, Result};
use crate::linalg::{Csr, LocalSolver, LocalSolverKind};
use faer::linalg::matmul::matmul;
use faer::linalg::solvers::Solve;
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};
use std::collections::BTreeMap;

/// The deluxe weights of every glob of this rank's subdomains.
pub(super) struct Deluxe {
    locals: Vec<DeluxeLocal>,
}

/// One subdomain's globs and the work vectors of its largest one.
struct DeluxeLocal {
    globs: Vec<Glob>,
    y: Vec<f64>,
    t: Vec<f64>,
}

/// A glob seen from one of its holders. Only the weights the method applies are formed (each
/// costs a dense solve with as many columns as the glob has rows): BDDC's own, FETI's others'.
struct Glob {
    /// Positions of its rows in the subdomain, ascending by global row.
    rows: Vec<u32>,
    /// The holder's own weight `D_s` (BDDC; empty for FETI).
    own: Mat<f64>,
    /// Each other holder `t`: the jump entries of the pair `(s, t)` at `rows` (indices into
    /// `B_s`), and `D_t` (FETI; empty for BDDC).
    others: Vec<(Vec<u32>, Mat<f64>)>,
}

/// A glob before its weights: rows, the other holders' ids, and their jump entries.
struct Shape {
    rows: Vec<u32>,
    partners: Vec<u64>,
    entries: Vec<Vec<u32>>,
}

impl Deluxe {
    /// Collective: the Schur complements of every glob of every subdomain, exchanged between the
    /// holders, and the weights. `locals` hold the Neumann matrices and interior factors.
    /// With `layers > 0` only the interior rows within `layers` couplings of each glob are
    /// eliminated (economic deluxe). `bddc`: the weights of BDDC's restriction, else FETI's.
    pub(super) fn new(
        comm: &Comm,
        d: &Decomposition,
        interface: &Interface,
        locals: &mut [Local],
        (layers, bddc): (usize, bool),
    ) -> Result<Deluxe> {
        let shapes: Vec<Vec<Shape>> = d
            .subdomains
            .iter()
            .zip(&interface.jumps)
            .zip(&interface.partners)
            .map(|((s, j), p)| shapes(s, j, p))
            .collect();
        let schur = comm.agree(
            locals
                .iter_mut()
                .zip(&shapes)
                .map(|(l, g)| g.iter().map(|g| schur_block(l, &g.rows, layers)).collect())
                .collect::<Result<Vec<Vec<Mat<f64>>>>>(),
        )?;
        let received = exchange(comm, d, &shapes, &schur);
        let mut out = Vec::with_capacity(shapes.len());
        for ((s, shapes), schur) in d.subdomains.iter().zip(shapes).zip(schur) {
            let mut globs = Vec::with_capacity(shapes.len());
            for (shape, own) in shapes.into_iter().zip(schur) {
                let key = s.rows[shape.rows[0] as usize];
                let theirs: Vec<&Mat<f64>> = shape
                    .partners
                    .iter()
                    .map(|&t| {
                        received.get(&(s.id, t, key)).ok_or_else(|| {
                            Error::input(format!(
                                "deluxe scaling: subdomain {} got no Schur complement from subdomain {t} \
                                 on the glob at row {key}",
                                s.id
                            ))
                        })
                    })
                    .collect::<Result<_>>()?;
                globs.push(weights((s.id, key), shape, own, &theirs, bddc)?);
            }
            let n = globs.iter().map(|g| g.rows.len()).max().unwrap_or(0);
            out.push(DeluxeLocal {
                globs,
                y: vec![0.0; n],
                t: vec![0.0; n],
            });
        }
        Ok(Deluxe {
            locals: comm.agree(Ok(out))?,
        })
    }

    /// `w += B̃_sᵀ λ` for the `k`-th subdomain (`w` over its rows, `jumps` its `B_s`).
    pub(super) fn add_transposed(&mut self, k: usize, jumps: &[JumpEntry], lambda: &[f64], w: &mut [f64]) {
        let DeluxeLocal { globs, y, t } = &mut self.locals[k];
        for g in globs.iter() {
            let n = g.rows.len();
            let t = &mut t[..n];
            t.iter_mut().for_each(|x| *x = 0.0);
            for (entries, weight) in &g.others {
                for (y, &e) in y.iter_mut().zip(entries) {
                    let (_, m, sign) = jumps[e as usize];
                    *y = sign * lambda[m as usize];
                }
                mat_vec(weight.as_ref(), &y[..n], t);
            }
            for (&p, t) in g.rows.iter().zip(t.iter()) {
                w[p as usize] += t;
            }
        }
    }

    /// `z += B̃_s v` for the `k`-th subdomain (`v` over its rows, `z` over the multipliers).
    pub(super) fn add_jumps(&mut self, k: usize, jumps: &[JumpEntry], v: &[f64], z: &mut [f64]) {
        let DeluxeLocal { globs, y, t } = &mut self.locals[k];
        for g in globs.iter() {
            let n = g.rows.len();
            for (y, &p) in y.iter_mut().zip(&g.rows) {
                *y = v[p as usize];
            }
            for (entries, weight) in &g.others {
                let t = &mut t[..n];
                t.iter_mut().for_each(|x| *x = 0.0);
                mat_vec(weight.transpose(), &y[..n], t);
                for (&e, t) in entries.iter().zip(t.iter()) {
                    let (_, m, sign) = jumps[e as usize];
                    z[m as usize] += sign * t;
                }
            }
        }
    }

    /// BDDC's weights on the globs of the `k`-th subdomain: `out(p, (D_sᵀ x_E)_p)` for the
    /// weighted restriction (`transpose`), `out(p, (D_s x_E)_p)` for the weighted average back,
    /// with `x(p)` the value at position `p`.
    pub(super) fn weigh(&mut self, k: usize, transpose: bool, x: impl Fn(u32) -> f64, mut out: impl FnMut(u32, f64)) {
        let DeluxeLocal { globs, y, t } = &mut self.locals[k];
        for g in globs.iter() {
            let n = g.rows.len();
            for (y, &p) in y.iter_mut().zip(&g.rows) {
                *y = x(p);
            }
            let t = &mut t[..n];
            t.iter_mut().for_each(|x| *x = 0.0);
            let d = if transpose { g.own.transpose() } else { g.own.as_ref() };
            mat_vec(d, &y[..n], t);
            for (&p, &t) in g.rows.iter().zip(t.iter()) {
                out(p, t);
            }
        }
    }

    /// Positions of the `k`-th subdomain's rows that lie in a glob.
    pub(super) fn rows(&self, k: usize) -> impl Iterator<Item = u32> + '_ {
        self.locals[k].globs.iter().flat_map(|g| g.rows.iter().copied())
    }
}

/// `t += a x`.
fn mat_vec(a: MatRef<'_, f64>, x: &[f64], t: &mut [f64]) {
    let n = x.len();
    matmul(
        MatMut::from_column_major_slice_mut(t, a.nrows(), 1),
        Accum::Add,
        a,
        MatRef::from_column_major_slice(x, n, 1),
        1.0,
        Par::Seq,
    );
}

/// A glob row while grouping: its global row, its position, and (other holder, jump entry) pairs.
type GlobRow = (u64, u32, Vec<(u64, u32)>);

/// A subdomain's globs from its jump entries: the rows grouped by the set of other
/// subdomains they have multipliers with.
fn shapes(s: &Subdomain, jumps: &[JumpEntry], partners: &[u64]) -> Vec<Shape> {
    let mut by_row: BTreeMap<u32, Vec<(u64, u32)>> = BTreeMap::new();
    for (e, (&(p, _, _), &t)) in jumps.iter().zip(partners).enumerate() {
        by_row.entry(p).or_default().push((t, e as u32));
    }
    let mut by_set: BTreeMap<Vec<u64>, Vec<GlobRow>> = BTreeMap::new();
    for (p, mut list) in by_row {
        list.sort_unstable();
        let set = list.iter().map(|x| x.0).collect();
        by_set.entry(set).or_default().push((s.rows[p as usize], p, list));
    }
    by_set
        .into_iter()
        .map(|(partners, mut rows)| {
            rows.sort_unstable_by_key(|r| r.0);
            let entries = (0..partners.len())
                .map(|k| rows.iter().map(|r| r.2[k].1).collect())
                .collect();
            Shape {
                rows: rows.iter().map(|r| r.1).collect(),
                partners,
                entries,
            }
        })
        .collect()
}

/// `S^E = K_EE − K_EI K_II⁻¹ K_IE` of one subdomain on the glob `rows` (`K_EE` alone when it
/// has no interior); with `layers > 0`, `I` is only the interior rows within `layers` couplings
/// of the glob, factorized here (economic deluxe), else the whole interior with its factor. `K`
/// is symmetric, so `K_IE`'s columns are read from `E`'s rows.
fn schur_block(l: &mut Local, rows: &[u32], layers: usize) -> Result<Mat<f64>> {
    let n = rows.len();
    let k = &l.neumann;
    let mut s = Mat::<f64>::zeros(n, n);
    let mut sorted: Vec<(u32, usize)> = rows.iter().enumerate().map(|(q, &p)| (p, q)).collect();
    sorted.sort_unstable();
    let slot = |c: u32| sorted.binary_search_by_key(&c, |x| x.0).ok().map(|i| sorted[i].1);
    for (q, &p) in rows.iter().enumerate() {
        let (cols, vals) = k.row(p as usize);
        for (&c, &v) in cols.iter().zip(vals) {
            if let Some(r) = slot(c) {
                s[(q, r)] += v;
            }
        }
    }
    let Some((whole, whole_factor)) = &mut l.interior else {
        return Ok(s);
    };
    let mut layer_factor;
    let (interior, kii) = if layers == 0 {
        (&*whole, whole_factor)
    } else {
        let layer = interior_layers(k, whole, rows, layers);
        layer_factor = (
            LocalSolver::new(&k.principal_submatrix(&layer), LocalSolverKind::Cholesky)?,
            layer,
        );
        (&layer_factor.1, &mut layer_factor.0)
    };
    let ni = interior.len();
    let mut x = vec![0.0; ni * n];
    let mut couplings: Vec<Vec<(usize, f64)>> = Vec::with_capacity(n);
    for (q, &p) in rows.iter().enumerate() {
        let (cols, vals) = k.row(p as usize);
        let row: Vec<(usize, f64)> = cols
            .iter()
            .zip(vals)
            .filter_map(|(c, &v)| interior.binary_search(c).ok().map(|i| (i, v)))
            .collect();
        for &(i, v) in &row {
            x[q * ni + i] = v;
        }
        couplings.push(row);
    }
    kii.solve_many(&mut x, n)?;
    for (q2, row) in couplings.iter().enumerate() {
        for &(i, v) in row {
            for q in 0..n {
                s[(q2, q)] -= v * x[q * ni + i];
            }
        }
    }
    Ok(s)
}

/// The interior rows (ascending) within `layers` couplings of `rows` in `k`'s graph, a path
/// counting only through interior rows.
fn interior_layers(k: &Csr, interior: &[u32], rows: &[u32], layers: usize) -> Vec<u32> {
    let mut seen = vec![false; k.nrows];
    let mut frontier: Vec<u32> = rows.to_vec();
    let mut layer = Vec::new();
    for _ in 0..layers {
        let mut next = Vec::new();
        for &p in &frontier {
            for &c in k.row(p as usize).0 {
                if !seen[c as usize] && interior.binary_search(&c).is_ok() {
                    seen[c as usize] = true;
                    next.push(c);
                }
            }
        }
        layer.extend_from_slice(&next);
        frontier = next;
    }
    layer.sort_unstable();
    layer
}

/// Collective: sends each glob's `S^E` to its other holders; returns what arrived, keyed by
/// (receiving subdomain, sending subdomain, the glob's lowest global row).
fn exchange(
    comm: &Comm,
    d: &Decomposition,
    shapes: &[Vec<Shape>],
    schur: &[Vec<Mat<f64>>],
) -> BTreeMap<(u64, u64, u64), Mat<f64>> {
    let size = comm.size() as usize;
    let (mut heads, mut vals) = (vec![Vec::<u64>::new(); size], vec![Vec::<f64>::new(); size]);
    for ((s, shapes), schur) in d.subdomains.iter().zip(shapes).zip(schur) {
        let rank: BTreeMap<u64, i32> = s.neighbours.iter().map(|n| (n.id, n.rank)).collect();
        for (g, m) in shapes.iter().zip(schur) {
            let (key, n) = (s.rows[g.rows[0] as usize], g.rows.len());
            for t in &g.partners {
                let r = rank[t] as usize;
                heads[r].extend([*t, s.id, key, n as u64]);
                vals[r].extend((0..n * n).map(|i| m[(i % n, i / n)]));
            }
        }
    }
    let (hc, vc) = (counts(&heads), counts(&vals));
    let (heads, _) = comm.all_to_all_v(&heads.concat(), &hc);
    let (vals, _) = comm.all_to_all_v(&vals.concat(), &vc);
    let mut received = BTreeMap::new();
    let mut at = 0;
    for h in heads.chunks_exact(4) {
        let n = h[3] as usize;
        let m = Mat::from_fn(n, n, |i, j| vals[at + i + j * n]);
        at += n * n;
        received.insert((h[0], h[1], h[2]), m);
    }
    received
}

/// The lengths of per-rank messages.
fn counts<T>(v: &[Vec<T>]) -> Vec<i32> {
    v.iter().map(|v| v.len() as i32).collect()
}

/// The weights `D_k = (Σ S)⁻¹ S_k` of one glob (subdomain `id`'s, lowest global row `key`):
/// for itself (`bddc`) or for each other holder (FETI).
fn weights((id, key): (u64, u64), shape: Shape, own: Mat<f64>, theirs: &[&Mat<f64>], bddc: bool) -> Result<Glob> {
    let mut sum = own.clone();
    for t in theirs {
        sum += *t;
    }
    let llt = sum.llt(Side::Lower).map_err(|_| {
        Error::input(format!(
            "deluxe scaling: the sum of the Schur complements on the glob at row {key} of subdomain {id} \
             is not positive definite"
        ))
    })?;
    let others = if bddc {
        Vec::new()
    } else {
        shape
            .entries
            .into_iter()
            .zip(theirs)
            .map(|(entries, t)| (entries, llt.solve(*t)))
            .collect()
    };
    Ok(Glob {
        rows: shape.rows,
        own: if bddc { llt.solve(&own) } else { Mat::new() },
        others,
    })
}
