//! Coarse spaces of two-level Schwarz methods: the columns of `Z`, the coarse operator
//! `E = Zᵀ A Z`, and the coarse correction `Q = Z E⁻¹ Zᵀ` that the two-level preconditioners of
//! `two_level.rs` combine with the one-level [`Schwarz`] part.
//!
//! A coarse space is given per subdomain as *pieces*: vectors on that subdomain's rows
//! ([`Subdomain::rows`], overlap included), each with the global number of the column of `Z` it
//! belongs to. Column `c` is the sum `z_c = Σ R_sᵀ v` over the pieces `v` numbered `c` of all
//! subdomains of all ranks (overlap contributions summed at the row owners), so the pieces must
//! already carry their weights: with a partition of unity `D_s`, the pieces `D_s φ` of one
//! global function `φ` sum to `φ` exactly once on every row. Two shapes use this:
//! - one column per piece ([`CoarseSpace::new`]): [`nicolaides`] (one PoU-weighted vector per
//!   subdomain), GenEO or any other local basis; columns are numbered rank-major (this rank's
//!   first is the number of vectors on lower ranks), then by subdomain, then by vector;
//! - functions spanning several subdomains, possibly on several ranks ([`CoarseSpace::from_pieces`]):
//!   GDSW ([`CoarseSpace::gdsw`]), whose function of an interface component is delivered by every
//!   subdomain whose core it touches as `D_s Φ_c` with the Boolean partition of unity.
//!
//! **Assembly of `E`** is local and sparse: `Z` is formed as a sparse tall matrix (each owned
//! row lists the columns whose pieces cover it, summed over the subdomains of all ranks through
//! one exchange of sparse rows), `W = A Z` is computed on the owned rows (the rows of `Z` at
//! `A`'s ghost columns fetched once), and each rank's share `Zᵀ W` over its owned rows goes to
//! every rank as triplets, summed in rank order (reproducibly). The work is proportional to the
//! entries of `Z` times the few columns meeting at a row, not to the coarse dimension times the
//! rows, as a product with `A` per coarse column would be (that took 3.5 s for the 1896 GenEO
//! columns of 256 subdomains of 16² cells on 2 ranks; this takes 0.07 s).
//!
//! **The coarse solve is redundant** ([`RedundantSolve`], the piece FETI's coarse problems
//! share): `E` (sparse: column `c` couples only the columns whose supports touch that of `c`)
//! is gathered whole on every rank and factorized there by the sparse Cholesky factorization of
//! the subdomain solves (fill-reducing ordering), so each coarse solve needs one allgather (each rank's partial `Zᵀ r` over its owned
//! rows, per column touching them; added up by column in rank order) and no other
//! communication. This is the choice for the rank counts ddkit runs on: the coarse problem is
//! tiny next to the subdomain problems (1143 GDSW columns for 256 subdomains in 2D), and a
//! distributed coarse solve would trade the one allgather for several latency-bound
//! reductions per application. It stops being right when `E` or its factor no longer fit on
//! every rank, so dimensions above [`REDUNDANT_COARSE_MAX`] are refused at set-up; the switch to
//! a coarse solve distributed over a subset of the ranks belongs there (not implemented).

pub(super) mod eigen;
pub(super) mod gdsw;
pub(super) mod geneo;
pub(super) mod redundant;
pub(super) mod two_level;

use crate::comm::Comm;
use crate::comm::SparseRow;
use crate::dd::operator::RowsOfA;
use crate::dd::{Decomposition, Subdomain};
use crate::error::{Error, Result};
use crate::linalg::{Csr, DistMatrix};
use gdsw::{gdsw_space, GdswSpace};
use redundant::{RedundantSolve, REDUNDANT_MAX};
use std::time::Instant;

/// The largest coarse dimension solved redundantly on every rank ([`REDUNDANT_MAX`]); beyond it
/// a coarse solve distributed over a subset of the ranks would take over (not implemented:
/// larger spaces are refused).
pub const REDUNDANT_COARSE_MAX: usize = REDUNDANT_MAX;

/// One subdomain's pieces of coarse columns: vectors on its rows, each with its column of `Z`.
#[derive(Clone, Debug, Default)]
pub struct CoarsePieces {
    /// Global column (in `0..n_coarse`) of each piece.
    pub ids: Vec<u64>,
    /// The pieces (each of the subdomain's row count), weighted so that the pieces of one column
    /// over all subdomains sum to it.
    pub vectors: Vec<Vec<f64>>,
}

/// A coarse space and its factorized coarse operator: applies `Q = Z E⁻¹ Zᵀ` and the
/// two-level combinations' `A Q` without allocating and without multiplying by `A`.
///
/// After set-up the pieces are gone: this rank keeps `Z` and `W = A Z` on its owned rows as
/// sparse matrices over the coarse columns that touch those rows, so `Zᵀ r` and `Zᵀ A v = Wᵀ v`
/// are local sparse products plus one allgather of the partial sums, and `Z y`, `A Z y = W y`
/// are local: no neighbour exchange and no product with `A` in an application. `W` costs about
/// as much memory as `Z` (its rows reach one matrix layer further); that buys the balanced
/// combination one allgather and no `A` product per coarse correction.
pub struct CoarseSpace {
    name: String,
    n_coarse: usize,
    /// `Z` on the owned rows, columns numbered by their position in `held`.
    z: Csr,
    /// `W = A Z` on the owned rows, same column numbering.
    w: Csr,
    /// The coarse columns with an entry of `Z` or `W` on this rank's owned rows, ascending.
    held: Vec<usize>,
    /// `E = Zᵀ A Z`, factorized on every rank.
    e: RedundantSolve,
    /// This rank's partial sums per held column.
    mine: Vec<f64>,
    /// This rank's partial `Zᵀ r` of the last [`CoarseSpace::deflate`], per held column.
    zt_r: Vec<f64>,
    /// The coarse solution at the held columns.
    y_held: Vec<f64>,
    setup_seconds: f64,
}

/// The Nicolaides coarse space: one vector per subdomain, a partition of unity times the kernel
/// of the local Neumann problem — the constants, for diffusion — i.e. the partition of unity
/// itself. It uses the multiplicity partition of unity of [`multiplicity_pou`] (each row weighted
/// by one over the number of subdomains holding it, as in Dolean, Jolivet and Nataf's book)
/// rather than the Boolean [`Subdomain::pou`] (1 on the core, 0 on the overlap): both are valid
/// partitions of unity — their vectors sum to 1 on every row, so the coarse space holds the
/// global constants — but the multiplicity one spreads the drop from 1 to 0 over the overlap,
/// giving coarse vectors of lower energy and measurably fewer iterations (2D Poisson, 16 × 16
/// cells per subdomain, overlap 1, CG with BNN at 64 subdomains: 48 against 56 with the Boolean
/// one). Bases for [`CoarseSpace::new`] may use either. Subdomains touching a Dirichlet boundary
/// keep their vector (the standard choice; it only adds a column where the local problem has no
/// kernel). Collective (one reverse-add and one forward exchange).
pub fn nicolaides(decomposition: &Decomposition) -> Vec<Vec<Vec<f64>>> {
    multiplicity_pou(decomposition).into_iter().map(|w| vec![w]).collect()
}

/// The multiplicity partition of unity on each subdomain's rows: `1 / m(g)` on row `g`, with
/// `m(g)` the number of subdomains of all ranks holding `g` (core or overlap; kept by the
/// decomposition as [`Subdomain::multiplicity`]).
pub fn multiplicity_pou(decomposition: &Decomposition) -> Vec<Vec<f64>> {
    let subs = decomposition.subdomains.iter();
    subs.map(|s| s.multiplicity.iter().map(|m| 1.0 / m).collect()).collect()
}

/// Multiplies each subdomain's vectors by its partition of unity, for bases computed unweighted
/// (e.g. local eigenvectors) before they are handed to [`CoarseSpace::new`].
pub fn weight_by_pou(subdomains: &[Subdomain], bases: &mut [Vec<Vec<f64>>]) {
    for (s, vs) in subdomains.iter().zip(bases.iter_mut()) {
        for v in vs.iter_mut() {
            v.iter_mut().zip(&s.pou).for_each(|(x, w)| *x *= w);
        }
    }
}

impl CoarseSpace {
    /// Collective: builds the coarse space of `bases` (per subdomain of `decomposition`, in its order,
    /// the PoU-weighted vectors on its rows, each its own column of `Z`) for the matrix `a`:
    /// assembles and factorizes `E = Zᵀ A Z`. `name` says which space it is in reports. Fails on
    /// every rank if a basis has the wrong shape, the coarse dimension exceeds
    /// [`REDUNDANT_COARSE_MAX`], or `E` is not positive definite (e.g. linearly dependent
    /// vectors).
    pub fn new(
        comm: &Comm,
        a: &DistMatrix,
        decomposition: &Decomposition,
        bases: Vec<Vec<Vec<f64>>>,
        name: &str,
    ) -> Result<CoarseSpace> {
        let local: usize = bases.iter().map(Vec::len).sum();
        let n_coarse = comm.sum_u64(local as u64) as usize;
        let mut next = comm.exclusive_scan_u64(local as u64);
        let pieces = bases
            .into_iter()
            .map(|vectors| {
                let ids = (next..next + vectors.len() as u64).collect();
                next += vectors.len() as u64;
                CoarsePieces { ids, vectors }
            })
            .collect();
        Self::from_pieces(comm, a, decomposition, pieces, n_coarse, name)
    }

    /// Collective: builds the coarse space of `pieces` (per subdomain of `decomposition`, in its order;
    /// see [`CoarsePieces`]) with `n_coarse` columns for the matrix `a`. Fails on every rank if a
    /// piece has the wrong shape or a column out of range, a column has no piece, the dimension
    /// exceeds [`REDUNDANT_COARSE_MAX`], or `E` is not positive definite.
    pub fn from_pieces(
        comm: &Comm,
        a: &DistMatrix,
        decomposition: &Decomposition,
        pieces: Vec<CoarsePieces>,
        n_coarse: usize,
        name: &str,
    ) -> Result<CoarseSpace> {
        let start = Instant::now();
        let subs = &decomposition.subdomains;
        comm.agree(
            check_shape(subs, &pieces, n_coarse).map_err(|m| Error::input(format!("coarse space '{name}': {m}"))),
        )?;
        RedundantSolve::check_dimension(comm, n_coarse, &format!("coarse space '{name}'"))?;
        let what = format!("coarse space '{name}': E = Zᵀ A Z (linearly dependent coarse vectors, or A not SPD?)");
        let mut has_piece = vec![false; n_coarse];
        pieces
            .iter()
            .flat_map(|p| &p.ids)
            .for_each(|&c| has_piece[c as usize] = true);
        let mine: Vec<u32> = (0..n_coarse as u32).filter(|&c| has_piece[c as usize]).collect();
        let mut held_anywhere = vec![false; n_coarse];
        comm.all_gather_v(&mine)
            .iter()
            .for_each(|&c| held_anywhere[c as usize] = true);
        if let Some(c) = held_anywhere.iter().position(|h| !h) {
            // Every rank sees the same gathered columns, so all fail together.
            return Err(Error::input(format!("coarse space '{name}': column {c} has no piece")));
        }
        // Z on the Schwarz extended rows from this rank's pieces, summed at the row owners.
        let mut z: Vec<SparseRow> = vec![Vec::new(); decomposition.ext_layout.n_local()];
        for (s, p) in subs.iter().zip(&pieces) {
            for (v, &c) in p.vectors.iter().zip(&p.ids) {
                for (&e, &x) in s.ext.iter().zip(v).filter(|(_, &x)| x != 0.0) {
                    z[e as usize].push((c as u32, x));
                }
            }
        }
        drop(pieces);
        decomposition.halo().reverse_append_rows(comm, &mut z);
        z.truncate(decomposition.ext_layout.n_owned);
        z.iter_mut().for_each(merge_keys);
        let w = RowsOfA::new(comm, a)?.times_rows(comm, &z, n_coarse);
        let mut touched = vec![false; n_coarse];
        z.iter()
            .chain(&w)
            .flatten()
            .for_each(|&(c, _)| touched[c as usize] = true);
        let held: Vec<usize> = (0..n_coarse).filter(|&c| touched[c]).collect();
        let e = RedundantSolve::new(comm, n_coarse, &product_share(&z, &w, n_coarse), &held, &what)?;
        let mut slot = vec![u32::MAX; n_coarse];
        held.iter().enumerate().for_each(|(k, &c)| slot[c] = k as u32);
        let local = |rows: &[SparseRow]| -> Csr {
            let triplets: Vec<(u32, u32, f64)> = rows
                .iter()
                .enumerate()
                .flat_map(|(i, r)| r.iter().map(move |&(c, x)| (i as u32, c, x)))
                .map(|(i, c, x)| (i, slot[c as usize], x))
                .collect();
            Csr::from_triplets(rows.len(), held.len(), &triplets)
        };
        let (z, w) = (local(&z), local(&w));
        Ok(CoarseSpace {
            name: name.to_string(),
            n_coarse,
            z,
            w,
            mine: vec![0.0; held.len()],
            zt_r: vec![0.0; held.len()],
            y_held: vec![0.0; held.len()],
            held,
            e,
            setup_seconds: comm.max_f64(start.elapsed().as_secs_f64()),
        })
    }

    /// Collective: the GDSW coarse space of `decomposition` (see [`gdsw_space`]; Boolean partition of
    /// unity, overlap at least 1) for the matrix `a`: one column per interface component.
    pub fn gdsw(comm: &Comm, a: &DistMatrix, decomposition: &Decomposition) -> Result<CoarseSpace> {
        let space = gdsw_space(comm, decomposition)?;
        Self::from_gdsw(comm, a, decomposition, space)
    }

    /// Collective: the coarse space of the GDSW functions `space` computed for `decomposition`. The
    /// pieces `D_s Φ_c` are 0 off their subdomain's core and the cores split the rows, so
    /// summing them reproduces every `Φ_c` exactly once on every row: they go in unweighted.
    pub fn from_gdsw(
        comm: &Comm,
        a: &DistMatrix,
        decomposition: &Decomposition,
        space: GdswSpace,
    ) -> Result<CoarseSpace> {
        let n = space.n_coarse as usize;
        let pieces = space
            .subdomains
            .into_iter()
            .map(|b| CoarsePieces {
                ids: b.ids,
                vectors: b.vectors,
            })
            .collect();
        Self::from_pieces(comm, a, decomposition, pieces, n, "gdsw")
    }

    /// Column `c` of `Z` on the owned rows into `z` (for checks; local).
    pub fn column(&self, c: usize, z: &mut [f64]) {
        let k = self.held.binary_search(&c).ok();
        for (i, zi) in z.iter_mut().enumerate() {
            let (cols, vals) = self.z.row(i);
            *zi = k
                .and_then(|k| cols.iter().position(|&x| x as usize == k))
                .map_or(0.0, |p| vals[p]);
        }
    }

    /// This rank's partial `Zᵀ r` into `zt_r`.
    fn restrict(&mut self, r: &[f64]) {
        self.zt_r.iter_mut().for_each(|x| *x = 0.0);
        self.z.spmv_transpose_add(1.0, r, &mut self.zt_r);
    }

    /// Collective: `self.y = E⁻¹ (Zᵀ r − Wᵀ v)` from this rank's partial `Zᵀ r` in `zt_r` (the
    /// `Wᵀ v = Zᵀ A v` term only with `v`, on the owned rows). One allgather of the partial sums
    /// per held column, added up by column in rank order (reproducibly).
    fn coarse_solve(&mut self, comm: &Comm, v: Option<&[f64]>) {
        self.mine.copy_from_slice(&self.zt_r);
        if let Some(v) = v {
            self.w.spmv_transpose_add(-1.0, v, &mut self.mine);
        }
        let y = self.e.solve(comm, &self.mine);
        for (yh, &c) in self.y_held.iter_mut().zip(&self.held) {
            *yh = y[c];
        }
    }

    /// Collective: `z = Q r` (or `z += Q r` with `add`) on the owned rows: one allgather, two
    /// sparse triangular solves, local sparse products.
    pub fn apply_owned(&mut self, comm: &Comm, r: &[f64], z: &mut [f64], add: bool) {
        self.restrict(r);
        self.coarse_solve(comm, None);
        if !add {
            z.iter_mut().for_each(|x| *x = 0.0);
        }
        self.z.spmv_add(&self.y_held, z);
    }

    /// Collective: `p = (I − A Q) r` on the owned rows (the deflated residual of A-DEF1 and BNN)
    /// and, if asked, `q = Q r`, with `A Q r = W E⁻¹ Zᵀ r`: no product with `A`. Keeps `Zᵀ r`
    /// for a following [`CoarseSpace::correct_deflated`].
    pub fn deflate(&mut self, comm: &Comm, r: &[f64], q: Option<&mut [f64]>, p: &mut [f64]) {
        self.restrict(r);
        self.coarse_solve(comm, None);
        if let Some(q) = q {
            self.z.spmv(&self.y_held, q);
        }
        for (i, (pi, ri)) in p.iter_mut().zip(r).enumerate() {
            *pi = ri - self.w.row_dot(i, &self.y_held);
        }
    }

    /// Collective: `z = v + Q (r − A v)` on the owned rows (the `(I − Q A) v + Q r` closing
    /// A-DEF2 and BNN), with `Zᵀ A v = Wᵀ v`: no product with `A`.
    pub fn correct(&mut self, comm: &Comm, r: &[f64], v: &[f64], z: &mut [f64]) {
        self.restrict(r);
        self.correct_deflated(comm, v, z);
    }

    /// Collective: [`CoarseSpace::correct`] for the `r` of the last [`CoarseSpace::deflate`],
    /// whose `Zᵀ r` it reuses (BNN deflates and corrects the same residual).
    pub fn correct_deflated(&mut self, comm: &Comm, v: &[f64], z: &mut [f64]) {
        self.coarse_solve(comm, Some(v));
        z.copy_from_slice(v);
        self.z.spmv_add(&self.y_held, z);
    }

    /// Collective: the coarse operator for new values of `a` (same pattern) with the same
    /// basis `Z`: `W = A Z` and `E = Zᵀ W` recomputed, `E` refactorized numerically. Keeping the
    /// basis is exact for Nicolaides (its vectors do not depend on the values) and an
    /// approximation for value-dependent bases (GenEO, GDSW), which stays a valid, symmetric
    /// coarse correction.
    pub fn update(&mut self, comm: &Comm, a: &DistMatrix) -> Result<()> {
        let start = Instant::now();
        let z: Vec<SparseRow> = (0..self.z.nrows)
            .map(|i| {
                let (c, v) = self.z.row(i);
                c.iter()
                    .map(|&k| self.held[k as usize] as u32)
                    .zip(v.iter().copied())
                    .collect()
            })
            .collect();
        let w = RowsOfA::new(comm, a)?.times_rows(comm, &z, self.n_coarse);
        let mut slot = vec![u32::MAX; self.n_coarse];
        self.held.iter().enumerate().for_each(|(k, &c)| slot[c] = k as u32);
        let outside = w.iter().flatten().any(|&(c, _)| slot[c as usize] == u32::MAX);
        let triplets: Vec<(u32, u32, f64)> = w
            .iter()
            .enumerate()
            .flat_map(|(i, r)| r.iter().map(move |&(c, x)| (i as u32, c, x)))
            .map(|(i, c, x)| (i, slot[c as usize], x))
            .collect();
        // A Z reaching new columns means A's pattern changed: the same decision on every rank
        // (agreed) before the collective refactorization.
        comm.agree(if outside {
            Err(Error::input(
                "coarse space update: A Z reaches new columns (the pattern of A changed): build it anew",
            ))
        } else {
            Ok(())
        })?;
        self.w = Csr::from_triplets(w.len(), self.held.len(), &triplets);
        let what = format!("coarse space '{}': E = Zᵀ A Z", self.name);
        self.e.refactor(comm, &product_share(&z, &w, self.n_coarse), &what)?;
        self.setup_seconds = comm.max_f64(start.elapsed().as_secs_f64());
        Ok(())
    }

    /// The coarse dimension (columns of `Z` over all ranks).
    pub fn dimension(&self) -> usize {
        self.n_coarse
    }

    /// The coarse columns with an entry of `Z` or `A Z` on this rank's owned rows, ascending.
    pub fn local_columns(&self) -> &[usize] {
        &self.held
    }

    /// The space's name (`nicolaides`, `gdsw`, ...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Stored entries of `E = Zᵀ A Z` (both triangles) and of its Cholesky factor.
    pub fn operator_nnz(&self) -> (usize, usize) {
        self.e.nnz()
    }

    /// Seconds of set-up (assembly and factorization of `E`), the maximum over ranks.
    pub fn setup_seconds(&self) -> f64 {
        self.setup_seconds
    }
}

/// This rank's share of `E = Zᵀ A Z = Zᵀ W` from `Z` and `W` on its owned rows,
/// `Σ_i z_iᵀ w_i` column by column of `Z`, as triplets (summed over the ranks by
/// [`RedundantSolve`]).
fn product_share(z: &[SparseRow], w: &[SparseRow], n: usize) -> Vec<(u32, u32, f64)> {
    let mut by_column: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n];
    for (i, row) in z.iter().enumerate() {
        row.iter().for_each(|&(c, x)| by_column[c as usize].push((i as u32, x)));
    }
    let (mut acc, mut mark, mut touched) = (vec![0.0; n], vec![false; n], Vec::new());
    let mut share = Vec::new();
    for (c, entries) in by_column.iter().enumerate() {
        for &(i, x) in entries {
            for &(d, y) in &w[i as usize] {
                let d = d as usize;
                if !mark[d] {
                    mark[d] = true;
                    touched.push(d);
                }
                acc[d] += x * y;
            }
        }
        touched.sort_unstable();
        for d in touched.drain(..) {
            mark[d] = false;
            share.push((c as u32, d as u32, std::mem::take(&mut acc[d])));
        }
    }
    share
}

/// Checks that there is one set of pieces per subdomain, each piece on the subdomain's rows with
/// a column below `n_coarse`.
fn check_shape(subs: &[Subdomain], pieces: &[CoarsePieces], n_coarse: usize) -> std::result::Result<(), String> {
    if pieces.len() != subs.len() {
        return Err(format!("{} sets of pieces for {} subdomains", pieces.len(), subs.len()));
    }
    for (k, (s, p)) in subs.iter().zip(pieces).enumerate() {
        if p.ids.len() != p.vectors.len() {
            return Err(format!(
                "subdomain {k} has {} pieces and {} column ids",
                p.vectors.len(),
                p.ids.len()
            ));
        }
        if let Some(v) = p.vectors.iter().find(|v| v.len() != s.rows.len()) {
            return Err(format!(
                "subdomain {k} has {} rows, a coarse vector {}",
                s.rows.len(),
                v.len()
            ));
        }
        if let Some(c) = p.ids.iter().find(|&&c| c as usize >= n_coarse) {
            return Err(format!("subdomain {k} has a piece of column {c}, of {n_coarse}"));
        }
    }
    Ok(())
}

/// Sorts a sparse row by key and sums the entries of equal keys (in their order, so
/// reproducibly).
fn merge_keys(row: &mut SparseRow) {
    row.sort_by_key(|e| e.0); // stable
    row.dedup_by(|next, kept| {
        let same = next.0 == kept.0;
        if same {
            kept.1 += next.1;
        }
        same
    });
}

#[cfg(test)]
mod tests {
    use super::merge_keys;

    #[test]
    fn merge_keys_sums_equal_keys_in_order() {
        let mut row = vec![(3, 1.0), (1, 2.0), (3, 0.5), (0, -1.0), (1, 1e-17)];
        merge_keys(&mut row);
        assert_eq!(row, vec![(0, -1.0), (1, 2.0 + 1e-17), (3, 1.5)]);
    }
}
