//! Coarse spaces of two-level Schwarz methods: the columns of `Z`, the coarse operator
//! `E = Zᵀ A Z`, and the coarse correction `Q = Z E⁻¹ Zᵀ` that the two-level preconditioners of
//! `two_level.rs` combine with the one-level [`Schwarz`] part.
//!
//! A coarse space is given per subdomain: a few vectors on that subdomain's rows
//! ([`Subdomain::rows`], overlap included), already weighted by the partition of unity so that
//! each is a global vector once the overlap contributions are summed at the row owners. Every
//! such vector is one column of `Z`; columns are numbered rank-major (this rank's first column is
//! the number of columns on lower ranks), then by subdomain, then by vector. [`nicolaides`] gives
//! one vector per subdomain; GenEO, GDSW or any other basis plugs in through
//! [`CoarseSpace::new`] with vectors of the same shape.
//!
//! **The coarse solve is redundant**: `E` is assembled whole on every rank (each rank computes
//! the rows of its own columns, then one allgather) and factorized there with a dense Cholesky
//! factorization, so the coarse solve of each application needs one allgather of `Zᵀ r` and no
//! other communication. That costs `n³/3` flops at set-up and `n²` doubles of memory on every
//! rank (`n` the coarse dimension): negligible up to a few thousand (n = 4000: 128 MB, ~2·10¹⁰
//! flops), and beyond [`REDUNDANT_COARSE_MAX`] a coarse solve distributed over a subset of the
//! ranks — with `E` kept sparse, since it couples only neighbouring subdomains — has to take
//! over; until it exists, a larger coarse space is refused at set-up.

use super::operator::RowsOfA;
use super::{Schwarz, Subdomain};
use crate::comm::{displacements, Comm, Halo};
use crate::error::{Error, Result};
use crate::linalg::DistMatrix;
use mpi::datatype::PartitionMut;
use mpi::traits::*;
use std::time::Instant;

/// The largest coarse dimension solved redundantly with a dense factorization on every rank;
/// above it `E` (`n²` doubles per rank, `n³/3` flops) is too big to replicate, and a distributed
/// coarse solve would take over.
pub const REDUNDANT_COARSE_MAX: usize = 5000;

/// The coarse vectors of one local subdomain, on its rows.
struct Part {
    /// Positions of the subdomain's rows in the Schwarz extended arrays.
    ext: Vec<u32>,
    /// The vectors (each of the subdomain's row count), weighted by the partition of unity.
    basis: Vec<Vec<f64>>,
    /// Global number of the first of them.
    first: usize,
}

/// A coarse space and its factorized coarse operator: applies `Q = Z E⁻¹ Zᵀ` without
/// allocating.
pub struct CoarseSpace {
    name: String,
    parts: Vec<Part>,
    n_coarse: usize,
    /// Columns per rank and their displacements (for the allgather of `Zᵀ r`).
    counts: Vec<i32>,
    displs: Vec<i32>,
    /// This rank's first column.
    first: usize,
    /// The Cholesky factor `L` of `E = L Lᵀ`, column-major `n × n`.
    factor: Vec<f64>,
    /// Exchange plan of the Schwarz extended layout (owned rows plus the subdomains' overlap).
    halo: Halo,
    n_owned: usize,
    ext: Vec<f64>,
    mine: Vec<f64>,
    y: Vec<f64>,
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
pub fn nicolaides(comm: &Comm, schwarz: &Schwarz) -> Result<Vec<Vec<Vec<f64>>>> {
    Ok(multiplicity_pou(comm, schwarz)?.into_iter().map(|w| vec![w]).collect())
}

/// Collective: the multiplicity partition of unity on each subdomain's rows: `1 / m(g)` on row
/// `g`, with `m(g)` the number of subdomains of all ranks holding `g` (core or overlap).
pub fn multiplicity_pou(comm: &Comm, schwarz: &Schwarz) -> Result<Vec<Vec<f64>>> {
    let mut halo = Halo::new(comm, &schwarz.ext_layout)?;
    let mut count = vec![0.0; schwarz.ext_layout.n_local()];
    for s in &schwarz.subdomains {
        s.ext.iter().for_each(|&e| count[e as usize] += 1.0);
    }
    halo.reverse_add(comm, &mut count); // subdomains holding each owned row, over all ranks
    halo.forward(comm, &mut count); // ... and each overlap row
    let subs = schwarz.subdomains.iter();
    Ok(subs
        .map(|s| s.ext.iter().map(|&e| 1.0 / count[e as usize]).collect())
        .collect())
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
    /// Collective: builds the coarse space of `bases` (per subdomain of `schwarz`, in its order,
    /// the PoU-weighted vectors on its rows) for the matrix `a`: assembles and factorizes
    /// `E = Zᵀ A Z`. `name` says which space it is in reports. Fails on every rank if a basis
    /// has the wrong shape, the coarse dimension exceeds [`REDUNDANT_COARSE_MAX`], or `E` is
    /// not positive definite (e.g. linearly dependent vectors).
    pub fn new(
        comm: &Comm,
        a: &DistMatrix,
        schwarz: &Schwarz,
        bases: Vec<Vec<Vec<f64>>>,
        name: &str,
    ) -> Result<CoarseSpace> {
        let mut rows = RowsOfA::new(comm, a)?;
        Self::with_rows(comm, &mut rows, schwarz, bases, name)
    }

    /// [`CoarseSpace::new`] with a copy of `A`'s rows the caller keeps (the two-level
    /// preconditioners multiply by `A` too).
    pub(crate) fn with_rows(
        comm: &Comm,
        a: &mut RowsOfA,
        schwarz: &Schwarz,
        bases: Vec<Vec<Vec<f64>>>,
        name: &str,
    ) -> Result<CoarseSpace> {
        let start = Instant::now();
        let subs = &schwarz.subdomains;
        let shape = if bases.len() != subs.len() {
            Err(Error::input(format!(
                "coarse space '{name}': {} bases for {} subdomains",
                bases.len(),
                subs.len()
            )))
        } else {
            let bad = subs.iter().zip(&bases).enumerate().find_map(|(k, (s, vs))| {
                let v = vs.iter().find(|v| v.len() != s.rows.len())?;
                Some(format!(
                    "subdomain {k} has {} rows, a coarse vector {}",
                    s.rows.len(),
                    v.len()
                ))
            });
            bad.map_or(Ok(()), |m| Err(Error::input(format!("coarse space '{name}': {m}"))))
        };
        comm.agree(shape)?;
        let local: usize = bases.iter().map(Vec::len).sum();
        let counts: Vec<i32> = comm.all_gather_u64(local as u64).iter().map(|&c| c as i32).collect();
        let displs = displacements(&counts);
        let n_coarse = counts.iter().map(|&c| c as usize).sum::<usize>();
        if n_coarse > REDUNDANT_COARSE_MAX {
            return comm.agree(Err(Error::Config(format!(
                "coarse space '{name}' has dimension {n_coarse}, above the {REDUNDANT_COARSE_MAX} that the redundant \
                 dense coarse solve handles (a distributed coarse solve is not implemented)"
            ))));
        }
        let first = displs[comm.rank() as usize] as usize;
        let mut next = first;
        let parts = subs
            .iter()
            .zip(bases)
            .map(|(s, basis)| {
                let p = Part {
                    ext: s.ext.clone(),
                    first: next,
                    basis,
                };
                next += p.basis.len();
                p
            })
            .collect();
        let ext_len = schwarz.ext_layout.n_local();
        let mut cs = CoarseSpace {
            name: name.to_string(),
            parts,
            n_coarse,
            counts,
            displs,
            first,
            factor: Vec::new(),
            halo: Halo::new(comm, &schwarz.ext_layout)?,
            n_owned: schwarz.ext_layout.n_owned,
            ext: vec![0.0; ext_len],
            mine: vec![0.0; local],
            y: vec![0.0; n_coarse],
            setup_seconds: 0.0,
        };
        let e = cs.assemble(comm, a);
        let factor = cholesky(&e, n_coarse).ok_or_else(|| {
            Error::Config(format!(
                "coarse space '{name}': E = Zᵀ A Z (dimension {n_coarse}) is not positive definite (linearly \
                 dependent coarse vectors, or A not SPD)"
            ))
        });
        cs.factor = comm.agree(factor)?;
        cs.setup_seconds = comm.max_f64(start.elapsed().as_secs_f64());
        Ok(cs)
    }

    /// Collective: `E = Zᵀ A Z`, row-major, whole on every rank. Column `c` of `A Z` is one
    /// distributed product `A z_c` (every rank takes part in each), and this rank fills the rows
    /// of its own columns with `z_iᵀ (A z_c)`; one allgather completes `E`. Cost: `n` products
    /// and `2n` neighbour exchanges, `O(n · rows)` work per rank — fine for the coarse spaces
    /// of a few vectors per subdomain this solve is for; a basis of many vectors per subdomain
    /// would rather apply `A` to each column on its own subdomain's rows.
    fn assemble(&mut self, comm: &Comm, a: &mut RowsOfA) -> Vec<f64> {
        let (n, n_owned) = (self.n_coarse, self.n_owned);
        let local = self.mine.len();
        let mut rows = vec![0.0; local * n]; // this rank's rows of E, row-major
        let mut z = vec![0.0; n_owned];
        let mut az = vec![0.0; n_owned];
        for c in 0..n {
            self.ext.iter_mut().for_each(|x| *x = 0.0);
            if let Some(p) = self
                .parts
                .iter()
                .find(|p| (p.first..p.first + p.basis.len()).contains(&c))
            {
                for (&e, v) in p.ext.iter().zip(&p.basis[c - p.first]) {
                    self.ext[e as usize] = *v; // z_c on its subdomain's rows
                }
            }
            self.halo.reverse_add(comm, &mut self.ext); // ... summed at the owners
            z.copy_from_slice(&self.ext[..n_owned]);
            a.apply(comm, &z, &mut az); // A z_c
            self.restrict_local(comm, &az);
            for (i, m) in self.mine.iter().enumerate() {
                rows[i * n + c] = *m; // z_iᵀ A z_c
            }
        }
        let mut e = vec![0.0; n * n];
        let counts: Vec<i32> = self.counts.iter().map(|&k| k * n as i32).collect();
        let displs = displacements(&counts);
        let mut part = PartitionMut::new(&mut e[..], &counts[..], &displs[..]);
        comm.world().all_gather_varcount_into(&rows[..], &mut part);
        e
    }

    /// Collective among neighbours: this rank's entries of `Zᵀ r` into `mine` (`r` on the owned
    /// rows; its overlap rows are fetched from their owners).
    fn restrict_local(&mut self, comm: &Comm, r: &[f64]) {
        self.ext[..self.n_owned].copy_from_slice(r);
        self.halo.forward(comm, &mut self.ext); // r on the overlap rows
        for p in &self.parts {
            for (j, v) in p.basis.iter().enumerate() {
                let dot: f64 = v.iter().zip(&p.ext).map(|(x, &e)| x * self.ext[e as usize]).sum();
                self.mine[p.first - self.first + j] = dot; // z_jᵀ r
            }
        }
    }

    /// Collective: `z = Q r` (or `z += Q r` with `add`) on the owned rows. One forward exchange,
    /// one allgather of the coarse vector, two triangular solves with the dense factor, one
    /// reverse-add.
    pub fn apply_owned(&mut self, comm: &Comm, r: &[f64], z: &mut [f64], add: bool) {
        self.restrict_local(comm, r); // Zᵀ r, this rank's entries
        {
            let mut part = PartitionMut::new(&mut self.y[..], &self.counts[..], &self.displs[..]);
            comm.world().all_gather_varcount_into(&self.mine[..], &mut part);
        }
        solve_cholesky(&self.factor, &mut self.y); // y = E⁻¹ Zᵀ r
        self.ext.iter_mut().for_each(|x| *x = 0.0);
        for p in &self.parts {
            for (j, v) in p.basis.iter().enumerate() {
                let yj = self.y[p.first + j];
                for (&e, x) in p.ext.iter().zip(v) {
                    self.ext[e as usize] += yj * x; // Z y on this rank's subdomains
                }
            }
        }
        self.halo.reverse_add(comm, &mut self.ext); // overlap contributions to their owners
        let zo = &self.ext[..self.n_owned];
        if add {
            z.iter_mut().zip(zo).for_each(|(a, b)| *a += b);
        } else {
            z.copy_from_slice(zo);
        }
    }

    /// The coarse dimension (columns of `Z` over all ranks).
    pub fn dimension(&self) -> usize {
        self.n_coarse
    }

    /// The space's name (`nicolaides`, ...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Seconds of set-up (assembly and factorization of `E`), the maximum over ranks.
    pub fn setup_seconds(&self) -> f64 {
        self.setup_seconds
    }
}

/// Dense Cholesky factor of the row-major symmetric `n × n` matrix `e` (its lower triangle is
/// read) as a column-major `L`, or `None` if `e` is not positive definite.
fn cholesky(e: &[f64], n: usize) -> Option<Vec<f64>> {
    if n == 0 {
        return Some(Vec::new());
    }
    let m = faer::Mat::<f64>::from_fn(n, n, |i, j| e[i * n + j]);
    let llt = m.llt(faer::Side::Lower).ok()?;
    let l = llt.L();
    let mut out = vec![0.0; n * n];
    for j in 0..n {
        for i in j..n {
            out[j * n + i] = l[(i, j)];
        }
    }
    Some(out)
}

/// Solves `L Lᵀ y = b` in place with the column-major factor `l` (no allocation).
fn solve_cholesky(l: &[f64], y: &mut [f64]) {
    let n = y.len();
    for j in 0..n {
        let col = &l[j * n..(j + 1) * n];
        y[j] /= col[j]; // forward: L w = b, column-oriented
        let yj = y[j];
        for i in j + 1..n {
            y[i] -= col[i] * yj;
        }
    }
    for j in (0..n).rev() {
        let col = &l[j * n..(j + 1) * n];
        let s: f64 = (j + 1..n).map(|i| col[i] * y[i]).sum(); // backward: Lᵀ y = w, row j of Lᵀ
        y[j] = (y[j] - s) / col[j];
    }
}

#[cfg(test)]
mod tests {
    use super::{cholesky, solve_cholesky};

    #[test]
    fn dense_cholesky_solves_and_refuses_indefinite_matrices() {
        // E = [[4, 2, 0], [2, 5, 1], [0, 1, 3]], b = E [1, -2, 3].
        let e = [4.0, 2.0, 0.0, 2.0, 5.0, 1.0, 0.0, 1.0, 3.0];
        let l = cholesky(&e, 3).expect("SPD");
        let mut y = vec![0.0, -5.0, 7.0];
        solve_cholesky(&l, &mut y);
        for (a, b) in y.iter().zip([1.0, -2.0, 3.0]) {
            assert!((a - b).abs() < 1e-13, "{y:?}");
        }
        assert!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
        assert_eq!(cholesky(&[], 0), Some(vec![]));
    }
}
