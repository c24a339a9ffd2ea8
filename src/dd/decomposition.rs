//! The decomposition every domain-decomposition method reads: this rank's subdomains as plain
//! data ([`Subdomain`]: global id, rows, partition of unity, multiplicity, neighbours with the
//! rows shared with each, Dirichlet and Neumann matrices) over one extended layout (owned rows
//! plus the rows owned elsewhere) with one halo. Schwarz preconditioners factor and apply it,
//! the coarse spaces build their bases from it and FETI glues its subdomains along the shared
//! rows; none of them owns the subdomains. Built once, overlapping
//! ([`Decomposition::overlapping`]: METIS split of each rank's rows, overlap grown through the
//! matrix graph across ranks) or non-overlapping from element subdomains
//! ([`Decomposition::non_overlapping`]); a matrix with new values and the same
//! pattern only refreshes the Dirichlet matrices ([`Decomposition::update_values`]).

use super::overlap::KnownRows;
use super::subdomain::{Neighbour, Subdomain};
use crate::comm::{Comm, Halo, Layout, SparseRow};
use crate::error::{Error, Result};
use crate::linalg::{owner_of, Csr, DistMatrix};
use crate::mesh::Graph;
use crate::partition::{fill_empty_parts, metis_partition};
use std::collections::{BTreeMap, BTreeSet};

/// How a rank's owned rows are split into subdomain cores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubdomainSplit {
    /// METIS k-way on the owned rows' matrix graph (geometry-free, small interfaces).
    Metis,
    /// Contiguous ranges of rows in their global order (PETSc PCASM's default blocks).
    Contiguous,
}

/// This rank's subdomains over one extended layout, with its halo.
pub struct Decomposition {
    /// The subdomains (all on this rank).
    pub subdomains: Vec<Subdomain>,
    /// Owned rows plus the overlap rows owned elsewhere.
    pub ext_layout: Layout,
    halo: Halo,
    overlap: usize,
    first_id: u64,
}

impl Decomposition {
    /// Collective: splits each rank's owned rows of `a` into `per_rank` cores (METIS on the
    /// owned-row graph, or contiguous ranges), grows each core by `overlap` layers of the matrix
    /// graph (stopping early, on every rank at once, when no subdomain gains a row) and extracts
    /// the Dirichlet matrices.
    pub fn overlapping(
        comm: &Comm,
        a: &DistMatrix,
        overlap: usize,
        per_rank: usize,
        split: SubdomainSplit,
    ) -> Result<Decomposition> {
        Ok(Self::overlapping_with_rows(comm, a, overlap, per_rank, split)?.0)
    }

    /// [`Decomposition::overlapping`], also returning the rows of `a` it fetched (the
    /// multiplicative variants colour the subdomains with them).
    pub(crate) fn overlapping_with_rows(
        comm: &Comm,
        a: &DistMatrix,
        overlap: usize,
        per_rank: usize,
        split: SubdomainSplit,
    ) -> Result<(Decomposition, KnownRows)> {
        let sets = cores(comm, a, per_rank, split)?;
        let core_sets = sets.clone();
        let (sets, known, grown) = grow(comm, a, sets, overlap);
        let pou: Vec<Vec<f64>> = sets
            .iter()
            .zip(&core_sets)
            .map(|(set, core)| set.iter().map(|g| if core.contains(g) { 1.0 } else { 0.0 }).collect())
            .collect();
        let rows: Vec<Vec<u64>> = sets.iter().map(|set| set.iter().copied().collect()).collect();
        let mut d = Self::from_rows(comm, a, rows, pou, &known)?;
        d.overlap = grown;
        Ok((d, known))
    }

    /// Collective: the non-overlapping decomposition of substructuring (FETI) from this rank's
    /// `parts`: each the rows of one subdomain (ascending global ids: the unknowns of its own
    /// elements, so neighbouring subdomains share their interface rows) with its Neumann matrix
    /// (the unassembled matrix of its elements, in the order of the rows; over all subdomains
    /// they sum to `a`'s rows they hold). Rows in no part (eliminated Dirichlet rows) are left
    /// to the solver. The partition of unity is `1 / multiplicity`; `overlap()` is 0.
    pub fn non_overlapping(comm: &Comm, a: &DistMatrix, parts: Vec<(Vec<u64>, Csr)>) -> Result<Decomposition> {
        let bad = parts.iter().position(|(rows, m)| {
            m.nrows != rows.len() || m.ncols != rows.len() || rows.windows(2).any(|w| w[0] >= w[1])
        });
        comm.agree(match bad {
            Some(k) => Err(Error::input(format!(
                "subdomain {k} of rank {}: rows not ascending or a Neumann matrix of the wrong size",
                comm.rank()
            ))),
            None => Ok(()),
        })?;
        let mut known = KnownRows::owned(a);
        let wanted: Vec<u64> = parts.iter().flat_map(|p| p.0.iter().copied()).collect();
        known.fetch(comm, a, &wanted);
        let (rows, neumann): (Vec<Vec<u64>>, Vec<Csr>) = parts.into_iter().unzip();
        let ones = rows.iter().map(|r| vec![1.0; r.len()]).collect();
        let mut d = Self::from_rows(comm, a, rows, ones, &known)?;
        for (s, n) in d.subdomains.iter_mut().zip(neumann) {
            s.pou = s.multiplicity.iter().map(|m| 1.0 / m).collect();
            s.neumann = Some(n);
        }
        Ok(d)
    }

    /// Collective: the extended layout of `rows` (this rank's subdomains), its halo, the
    /// subdomains with their Dirichlet matrices from `known`, ids, multiplicities and neighbours.
    fn from_rows(
        comm: &Comm,
        a: &DistMatrix,
        rows: Vec<Vec<u64>>,
        pou: Vec<Vec<f64>>,
        known: &KnownRows,
    ) -> Result<Decomposition> {
        let lay = a.layout();
        let owned = lay.offset..lay.offset + lay.n_owned as u64;
        let ghosts: Vec<u64> = rows
            .iter()
            .flatten()
            .copied()
            .filter(|g| !owned.contains(g))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let ext_layout = Layout {
            offset: lay.offset,
            n_owned: lay.n_owned,
            n_global: lay.n_global,
            ghost_owners: ghosts
                .iter()
                .map(|&g| owner_of(a.row_offsets(), g).unwrap_or(0) as i32)
                .collect(),
            ghosts,
        };
        let halo = Halo::new(comm, &ext_layout)?;
        let ext_of = |g: u64| -> u32 {
            if owned.contains(&g) {
                (g - lay.offset) as u32
            } else {
                (lay.n_owned + ext_layout.ghosts.partition_point(|&x| x < g)) as u32
            }
        };
        let first_id = comm.exclusive_scan_u64(rows.len() as u64);
        let mut subdomains: Vec<Subdomain> = rows
            .into_iter()
            .zip(pou)
            .enumerate()
            .map(|(k, (rows, pou))| Subdomain {
                id: first_id + k as u64,
                pou,
                ext: rows.iter().map(|&g| ext_of(g)).collect(),
                matrix: dirichlet_matrix(known, &rows),
                multiplicity: Vec::new(),
                neighbours: Vec::new(),
                neumann: None,
                rows,
            })
            .collect();
        connect(comm, &halo, ext_layout.n_local(), &mut subdomains)?;
        Ok(Decomposition {
            subdomains,
            ext_layout,
            halo,
            overlap: 0,
            first_id,
        })
    }

    /// Global id of this rank's first subdomain (the others follow in order).
    pub fn first_id(&self) -> u64 {
        self.first_id
    }

    /// Collective: refreshes every subdomain's Dirichlet matrix from `a`, whose pattern must be
    /// the one the decomposition was built for (the split, the overlap, the layout and the halo
    /// stay). A different pattern is an error on every rank.
    pub fn update_values(&mut self, comm: &Comm, a: &DistMatrix) -> Result<()> {
        let mut known = KnownRows::owned(a);
        known.fetch(comm, a, &self.ext_layout.ghosts);
        let mut res = Ok(());
        for s in &mut self.subdomains {
            let m = dirichlet_matrix(&known, &s.rows);
            if m.rowptr != s.matrix.rowptr || m.cols != s.matrix.cols {
                res = Err(Error::input(
                    "the matrix's pattern changed: a numeric update needs the pattern of the set-up (build anew)",
                ));
                break;
            }
            s.matrix = m;
        }
        comm.agree(res)
    }

    /// The overlap in layers of the matrix graph: as asked, or fewer when the subdomains
    /// stopped growing (each covers its whole connected component) before.
    pub fn overlap(&self) -> usize {
        self.overlap
    }

    /// The exchange plan of the extended layout (set-up exchanges of the coarse spaces).
    pub fn halo(&self) -> &Halo {
        &self.halo
    }

    /// The exchange plan, for applications that exchange vectors through it.
    pub(crate) fn halo_mut(&mut self) -> &mut Halo {
        &mut self.halo
    }

    /// Total number of rows over this rank's subdomains (owned rows counted with their overlap).
    pub fn local_rows(&self) -> usize {
        self.subdomains.iter().map(|s| s.rows.len()).sum()
    }

    /// Collective: attaches to every subdomain its Neumann matrix `neumann(rows)`, built by the
    /// discretization that knows the elements (e.g. [`crate::fem::SubdomainNeumann::matrix`]).
    /// A failure or a matrix of the wrong size on any rank is an error on all ranks.
    pub fn attach_neumann(&mut self, comm: &Comm, mut neumann: impl FnMut(&[u64]) -> Result<Csr>) -> Result<()> {
        let mut res = Ok(());
        for s in &mut self.subdomains {
            match neumann(&s.rows) {
                Ok(m) if m.nrows == s.rows.len() && m.ncols == s.rows.len() => s.neumann = Some(m),
                Ok(m) => {
                    res = Err(Error::input(format!(
                        "Neumann matrix of {}x{} for a subdomain of {} rows",
                        m.nrows,
                        m.ncols,
                        s.rows.len()
                    )));
                    break;
                }
                Err(e) => {
                    res = Err(e);
                    break;
                }
            }
        }
        comm.agree(res)
    }
}

/// Collective: the cores, as sets of global rows, of this rank's `per_rank` subdomains.
fn cores(comm: &Comm, a: &DistMatrix, per_rank: usize, split: SubdomainSplit) -> Result<Vec<BTreeSet<u64>>> {
    let lay = a.layout();
    let n = lay.n_owned;
    let cores: Result<Vec<u32>> = match per_rank {
        0 => Err(Error::Config("subdomains-per-rank must be at least 1".into())),
        k if k > n.max(1) => Err(Error::Config(format!(
            "{k} subdomains per rank but rank {} owns only {n} rows",
            comm.rank()
        ))),
        1 => Ok(vec![0; n]),
        k if split == SubdomainSplit::Contiguous => Ok((0..n).map(|i| (i * k / n) as u32).collect()),
        k => metis_partition(&owned_graph(a), k, true).map(|p| fill_empty_parts(p, k)),
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
    Ok(sets)
}

/// Collective: grows every set by up to `overlap` layers of the matrix graph, each layer first
/// fetching the rows it extends from; stops early, on every rank at once, when no subdomain
/// anywhere gained a row in the last layer (so a huge `overlap` costs the layers that change
/// something, not `overlap` collective rounds). Returns the sets, the rows known (the owned ones
/// and every row of every set), and the layers grown.
fn grow(
    comm: &Comm,
    a: &DistMatrix,
    mut sets: Vec<BTreeSet<u64>>,
    overlap: usize,
) -> (Vec<BTreeSet<u64>>, KnownRows, usize) {
    let mut known = KnownRows::owned(a);
    let mut fronts: Vec<Vec<u64>> = sets.iter().map(|s| s.iter().copied().collect()).collect();
    let mut grown = 0;
    while grown < overlap {
        let wanted: Vec<u64> = fronts.iter().flatten().copied().collect();
        known.fetch(comm, a, &wanted);
        for (set, front) in sets.iter_mut().zip(fronts.iter_mut()) {
            let mut next = Vec::new();
            for g in front.iter() {
                for &c in known.row(*g).0 {
                    if set.insert(c) {
                        next.push(c);
                    }
                }
            }
            *front = next;
        }
        if comm.sum_u64(fronts.iter().map(|f| f.len() as u64).sum()) == 0 {
            break;
        }
        grown += 1;
    }
    if grown < overlap && comm.is_root() {
        tracing::info!(
            "overlap {overlap}: the subdomains stopped growing after {grown} layers (each covers its \
             whole connected component); using {grown}"
        );
    }
    let wanted: Vec<u64> = fronts.iter().flatten().copied().collect();
    known.fetch(comm, a, &wanted);
    (sets, known, grown)
}

/// Collective: the holders of every row (the ids of all ranks' subdomains containing it,
/// gathered on the row's owner and sent back to every rank holding a copy) give each subdomain
/// its multiplicities and its neighbours with their shared rows.
fn connect(comm: &Comm, halo: &Halo, n_ext: usize, subdomains: &mut [Subdomain]) -> Result<()> {
    let counts = comm.all_gather_u64(subdomains.len() as u64);
    let first_of_rank: Vec<u64> = counts
        .iter()
        .scan(0u64, |acc, &n| {
            let first = *acc;
            *acc += n;
            Some(first)
        })
        .collect();
    let total: u64 = counts.iter().sum();
    // Ids travel as the u32 keys of sparse rows.
    if total > u64::from(u32::MAX) {
        return comm.agree(Err(Error::Config(format!(
            "{total} subdomains: at most {} are supported",
            u32::MAX
        ))));
    }
    let mut holders: Vec<SparseRow> = vec![Vec::new(); n_ext];
    for s in subdomains.iter() {
        for &e in &s.ext {
            holders[e as usize].push((s.id as u32, 0.0));
        }
    }
    halo.reverse_append_rows(comm, &mut holders);
    for h in &mut holders {
        h.sort_unstable_by_key(|e| e.0);
    }
    halo.forward_rows(comm, &mut holders);
    let rank_of = |id: u64| (first_of_rank.partition_point(|&f| f <= id) - 1) as i32;
    for s in subdomains.iter_mut() {
        let mut shared: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
        for (p, &e) in s.ext.iter().enumerate() {
            for &(id, _) in &holders[e as usize] {
                if u64::from(id) != s.id {
                    shared.entry(u64::from(id)).or_default().push(p as u32);
                }
            }
        }
        s.multiplicity = s.ext.iter().map(|&e| holders[e as usize].len() as f64).collect();
        s.neighbours = shared
            .into_iter()
            .map(|(id, shared)| Neighbour {
                id,
                rank: rank_of(id),
                shared,
            })
            .collect();
    }
    Ok(())
}

/// The principal submatrix of the known rows on `rows` (ascending global ids), in their order.
fn dirichlet_matrix(known: &KnownRows, rows: &[u64]) -> Csr {
    let mut trip = Vec::new();
    for (li, g) in rows.iter().enumerate() {
        let (c, v) = known.row(*g);
        for (cj, vj) in c.iter().zip(v) {
            if let Ok(lj) = rows.binary_search(cj) {
                trip.push((li as u32, lj as u32, *vj));
            }
        }
    }
    Csr::from_triplets(rows.len(), rows.len(), &trip)
}

/// The owned-row graph of `a` (owned columns only, no self loops, pattern symmetrized).
fn owned_graph(a: &DistMatrix) -> Graph {
    let n = a.layout().n_owned;
    // Both directions of every off-diagonal entry, sorted and deduplicated: one allocation for
    // the whole graph rather than one set per row.
    let mut edges: Vec<(u32, u32)> = Vec::with_capacity(2 * a.diag().nnz());
    for i in 0..n {
        for &j in a.diag().row(i).0 {
            if j as usize != i {
                edges.push((i as u32, j));
                edges.push((j, i as u32));
            }
        }
    }
    edges.sort_unstable();
    edges.dedup();
    let mut xadj = vec![0; n + 1];
    for &(i, _) in &edges {
        xadj[i as usize + 1] += 1;
    }
    for i in 0..n {
        xadj[i + 1] += xadj[i];
    }
    Graph {
        xadj,
        adj: edges.into_iter().map(|e| e.1).collect(),
    }
}
