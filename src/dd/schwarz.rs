//! One-level overlapping Schwarz: `M⁻¹ = Σ_i R_iᵀ A_i⁻¹ R_i` (additive, symmetric) or
//! `Σ_i R_iᵀ D_i A_i⁻¹ R_i` (restricted, with the partition of unity `D_i`; not symmetric). Each
//! rank splits its owned rows into `subdomains_per_rank` cores with METIS, grows every core by
//! `overlap` layers through the matrix graph (rows owned by other ranks are fetched), and
//! factorizes the Dirichlet matrix `A_i = R_i A R_iᵀ` once at set-up. An application gathers the
//! residual on owned and overlap rows (one forward exchange), solves locally, and — for the
//! additive variant — sends overlap contributions back to their owners (one reverse-add).

use super::overlap::KnownRows;
use crate::comm::{Comm, Halo, Layout};
use crate::error::{Error, Result};
use crate::linalg::{owner_of, Csr, DistMatrix, DistVector, LocalSolver, LocalSolverKind, Preconditioner};
use crate::mesh::Graph;
use crate::partition::metis_partition;
use std::collections::BTreeSet;

/// Additive or restricted additive Schwarz.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchwarzVariant {
    /// ASM: overlap contributions are summed (symmetric, valid under CG).
    Asm,
    /// RAS: each row takes the value of the subdomain whose core holds it (not symmetric).
    Ras,
}

/// How a rank's owned rows are split into subdomain cores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubdomainSplit {
    /// METIS k-way on the owned rows' matrix graph (geometry-free, small interfaces).
    Metis,
    /// Contiguous ranges of rows in their global order (PETSc PCASM's default blocks).
    Contiguous,
}

/// One subdomain: its rows, Dirichlet matrix on the overlap, partition of unity and factorization.
pub struct Subdomain {
    /// Global ids of its rows (core and overlap), ascending.
    pub rows: Vec<u64>,
    /// Partition of unity on `rows`: 1 on the core, 0 on the overlap (summed over all
    /// subdomains it is 1 on every row).
    pub pou: Vec<f64>,
    /// The Dirichlet matrix `A_i = R_i A R_iᵀ` in the order of `rows`.
    pub matrix: Csr,
    /// Position of each row in this rank's extended arrays (owned rows, then overlap rows).
    ext: Vec<u32>,
    solver: LocalSolver,
    buf: Vec<f64>,
}

/// The one-level Schwarz preconditioner on one rank.
pub struct Schwarz {
    variant: SchwarzVariant,
    overlap: usize,
    kind: LocalSolverKind,
    /// Its subdomains (all on this rank).
    pub subdomains: Vec<Subdomain>,
    /// Owned rows plus the overlap rows owned elsewhere.
    pub ext_layout: Layout,
    halo: Halo,
    r_ext: Vec<f64>,
    z_ext: Vec<f64>,
}

/// The owned-row graph of `a` (owned columns only, no self loops, pattern symmetrized).
fn owned_graph(a: &DistMatrix) -> Graph {
    let n = a.layout.n_owned;
    let mut adj: Vec<BTreeSet<u32>> = vec![BTreeSet::new(); n];
    for i in 0..n {
        for &j in a.diag.row(i).0 {
            if j as usize != i {
                adj[i].insert(j);
                adj[j as usize].insert(i as u32);
            }
        }
    }
    let mut xadj = vec![0];
    let mut list = Vec::new();
    for s in adj {
        list.extend(s);
        xadj.push(list.len());
    }
    Graph { xadj, adj: list }
}

impl Schwarz {
    /// Collective: builds the preconditioner for `a` (cores, overlap, local factorizations).
    pub fn new(
        comm: &Comm,
        a: &DistMatrix,
        variant: SchwarzVariant,
        overlap: usize,
        per_rank: usize,
        split: SubdomainSplit,
        kind: LocalSolverKind,
    ) -> Result<Schwarz> {
        let lay = &a.layout;
        let n = lay.n_owned;
        let cores: Result<Vec<u32>> = match per_rank {
            0 => Err(Error::Config("subdomains-per-rank must be at least 1".into())),
            k if k > n.max(1) => Err(Error::Config(format!(
                "{k} subdomains per rank but rank {} owns only {n} rows",
                comm.rank()
            ))),
            1 => Ok(vec![0; n]),
            k if split == SubdomainSplit::Contiguous => Ok((0..n).map(|i| (i * k / n) as u32).collect()),
            k => metis_partition(&owned_graph(a), k, true),
        };
        let cores = comm.agree(cores)?;
        let mut sets: Vec<BTreeSet<u64>> = vec![BTreeSet::new(); per_rank];
        for (i, &c) in cores.iter().enumerate() {
            sets[c as usize].insert(lay.offset + i as u64);
        }
        if let Some(e) = sets.iter().position(BTreeSet::is_empty) {
            return comm.agree(Err(Error::Partition(format!(
                "subdomain {e} of rank {} is empty",
                comm.rank()
            ))));
        }
        comm.agree(Ok(()))?;
        let core_sets = sets.clone();
        // Grow each core by `overlap` layers; every layer first fetches the rows it extends from.
        let mut known = KnownRows::owned(a);
        let mut fronts: Vec<Vec<u64>> = sets.iter().map(|s| s.iter().copied().collect()).collect();
        for _ in 0..overlap {
            let wanted: Vec<u64> = fronts.iter().flatten().copied().collect();
            known.fetch(comm, a, &wanted);
            for (set, front) in sets.iter_mut().zip(fronts.iter_mut()) {
                let mut next = Vec::new();
                for g in front.iter() {
                    for &c in &known.rows[g].0 {
                        if set.insert(c) {
                            next.push(c);
                        }
                    }
                }
                *front = next;
            }
        }
        let wanted: Vec<u64> = fronts.iter().flatten().copied().collect();
        known.fetch(comm, a, &wanted);

        let owned = lay.offset..lay.offset + n as u64;
        let ghosts: Vec<u64> = sets
            .iter()
            .flatten()
            .copied()
            .filter(|g| !owned.contains(g))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let ext_layout = Layout {
            offset: lay.offset,
            n_owned: n,
            n_global: lay.n_global,
            ghost_owners: ghosts
                .iter()
                .map(|&g| owner_of(&a.offsets, g).unwrap_or(0) as i32)
                .collect(),
            ghosts,
        };
        let halo = Halo::new(comm, &ext_layout)?;
        let ext_of = |g: u64| -> u32 {
            if owned.contains(&g) {
                (g - lay.offset) as u32
            } else {
                (n + ext_layout.ghosts.partition_point(|&x| x < g)) as u32
            }
        };
        let mut subdomains = Vec::with_capacity(per_rank);
        let mut failure = None;
        for (set, core) in sets.iter().zip(&core_sets) {
            let rows: Vec<u64> = set.iter().copied().collect();
            let mut trip = Vec::new();
            for (li, g) in rows.iter().enumerate() {
                let (c, v) = &known.rows[g];
                for (cj, vj) in c.iter().zip(v) {
                    if let Ok(lj) = rows.binary_search(cj) {
                        trip.push((li as u32, lj as u32, *vj));
                    }
                }
            }
            let matrix = Csr::from_triplets(rows.len(), rows.len(), &trip);
            match LocalSolver::new(&matrix, kind) {
                Ok(solver) => subdomains.push(Subdomain {
                    pou: rows.iter().map(|g| if core.contains(g) { 1.0 } else { 0.0 }).collect(),
                    ext: rows.iter().map(|&g| ext_of(g)).collect(),
                    buf: vec![0.0; rows.len()],
                    rows,
                    matrix,
                    solver,
                }),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        comm.agree(failure.map_or(Ok(()), Err))?;
        let len = ext_layout.n_local();
        Ok(Schwarz {
            variant,
            overlap,
            kind,
            subdomains,
            ext_layout,
            halo,
            r_ext: vec![0.0; len],
            z_ext: vec![0.0; len],
        })
    }

    /// Total number of rows over this rank's subdomains (owned rows counted with their overlap).
    pub fn local_rows(&self) -> usize {
        self.subdomains.iter().map(|s| s.rows.len()).sum()
    }

    /// Nonzeros of this rank's local factors.
    pub fn factor_nnz(&self) -> usize {
        self.subdomains.iter().map(|s| s.solver.nnz_factor()).sum()
    }
}

impl Preconditioner for Schwarz {
    fn apply(&mut self, comm: &Comm, r: &DistVector, z: &mut DistVector) {
        let n = self.ext_layout.n_owned;
        self.r_ext[..n].copy_from_slice(r.owned());
        self.halo.forward(comm, &mut self.r_ext); // overlap rows of r from their owners
        self.z_ext.iter_mut().for_each(|x| *x = 0.0);
        for s in &mut self.subdomains {
            for (b, &e) in s.buf.iter_mut().zip(&s.ext) {
                *b = self.r_ext[e as usize]; // R_i r
            }
            s.solver.solve_in_place(&mut s.buf); // A_i⁻¹ R_i r
            match self.variant {
                SchwarzVariant::Asm => {
                    for (b, &e) in s.buf.iter().zip(&s.ext) {
                        self.z_ext[e as usize] += b; // R_iᵀ ...
                    }
                }
                SchwarzVariant::Ras => {
                    for ((b, &e), w) in s.buf.iter().zip(&s.ext).zip(&s.pou) {
                        self.z_ext[e as usize] += w * b; // R_iᵀ D_i ...
                    }
                }
            }
        }
        if self.variant == SchwarzVariant::Asm {
            self.halo.reverse_add(comm, &mut self.z_ext); // overlap contributions to their owners
        }
        z.owned_mut().copy_from_slice(&self.z_ext[..n]);
    }

    fn is_symmetric(&self) -> bool {
        self.variant == SchwarzVariant::Asm && (self.kind.is_exact() || self.kind.is_symmetric())
    }

    fn name(&self) -> String {
        let v = match self.variant {
            SchwarzVariant::Asm => "asm",
            SchwarzVariant::Ras => "ras",
        };
        format!(
            "{v}(overlap {}, {} subdomains/rank, {})",
            self.overlap,
            self.subdomains.len(),
            self.kind.name()
        )
    }
}
