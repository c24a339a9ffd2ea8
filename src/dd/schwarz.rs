//! One-level overlapping Schwarz: `M⁻¹ = Σ_i R_iᵀ A_i⁻¹ R_i` (additive, symmetric),
//! `Σ_i R_iᵀ D_i A_i⁻¹ R_i` (restricted, with the partition of unity `D_i`; not symmetric), or
//! multiplicative: the corrections `z += R_iᵀ A_i⁻¹ R_i (r − A z)` applied one subdomain after
//! another, with the subdomains of all ranks coloured (see `colour.rs`) so that one colour's
//! subdomains are independent and run at once — one sweep over the colours (not symmetric), or
//! forward then backward (symmetric). Each rank splits its owned rows into `subdomains_per_rank`
//! cores with METIS, grows every core by `overlap` layers through the matrix graph (rows owned by
//! other ranks are fetched), and factorizes the Dirichlet matrix `A_i = R_i A R_iᵀ` once at
//! set-up. An additive application gathers the residual on owned and overlap rows (one forward
//! exchange), solves locally, and — for ASM — sends overlap contributions back to their owners
//! (one reverse-add); a multiplicative one does the same per colour, on the current residual.

use super::colour::{colour_subdomains, Colouring};
use super::operator::RowsOfA;
use super::overlap::KnownRows;
use crate::comm::{Comm, Halo, Layout};
use crate::error::{Error, Result};
use crate::linalg::{owner_of, Csr, DistMatrix, DistVector, LocalSolver, LocalSolverKind, Preconditioner};
use crate::mesh::Graph;
use crate::partition::metis_partition;
use std::collections::BTreeSet;

/// How the subdomain corrections are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SchwarzVariant {
    /// ASM: overlap contributions are summed (symmetric, valid under CG).
    Asm,
    /// RAS: each row takes the value of the subdomain whose core holds it (not symmetric).
    Ras,
    /// Multiplicative: one sweep over the subdomain colours, each on the current residual (not
    /// symmetric: GMRES, FGMRES or BiCGStab).
    Multiplicative,
    /// Symmetric multiplicative: a forward then a backward sweep over the colours (symmetric,
    /// valid under CG with Cholesky or IC(0) local solves).
    SymmetricMultiplicative,
}

impl SchwarzVariant {
    /// The name used in configuration files and reports.
    pub fn name(self) -> &'static str {
        match self {
            SchwarzVariant::Asm => "asm",
            SchwarzVariant::Ras => "ras",
            SchwarzVariant::Multiplicative => "multiplicative",
            SchwarzVariant::SymmetricMultiplicative => "symmetric-multiplicative",
        }
    }

    /// Whether the corrections are applied one colour after another on the current residual.
    pub fn is_multiplicative(self) -> bool {
        matches!(
            self,
            SchwarzVariant::Multiplicative | SchwarzVariant::SymmetricMultiplicative
        )
    }
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
    /// The unassembled (Neumann) matrix of the subdomain's own elements in the order of `rows`,
    /// once attached by the discretization ([`Schwarz::attach_neumann`]); coarse spaces such as
    /// GenEO need it.
    pub neumann: Option<Csr>,
    /// Position of each row in this rank's extended arrays (owned rows, then overlap rows).
    pub(crate) ext: Vec<u32>,
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
    sweep: Option<Sweep>,
}

/// What the multiplicative variants add: the colouring and what the residual `r − A z` between
/// colours needs — a copy of this rank's rows of `A` (see [`RowsOfA`], whose vector holds the
/// current `z`) and the per-colour lists of owned rows (about one index per owned row and colour
/// holding it).
struct Sweep {
    colours: Colouring,
    a: RowsOfA,
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
        let lay = &a.layout();
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
        let core_sets = sets.clone();
        // Grow each core by `overlap` layers; every layer first fetches the rows it extends from.
        let mut known = KnownRows::owned(a);
        let mut fronts: Vec<Vec<u64>> = sets.iter().map(|s| s.iter().copied().collect()).collect();
        // Growth stops early, on every rank at once, when no subdomain anywhere gained a row in
        // the last layer: a huge `overlap` then costs the layers that change something, not a
        // loop of `overlap` collective rounds.
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
        let sweep = if variant.is_multiplicative() {
            Some(Sweep {
                colours: colour_subdomains(comm, a, &sets, &known),
                a: RowsOfA::new(comm, a)?,
            })
        } else {
            None
        };

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
                .map(|&g| owner_of(a.row_offsets(), g).unwrap_or(0) as i32)
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
                let (c, v) = known.row(*g);
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
                    neumann: None,
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
            overlap: grown,
            kind,
            subdomains,
            ext_layout,
            halo,
            r_ext: vec![0.0; len],
            z_ext: vec![0.0; len],
            sweep,
        })
    }

    /// The overlap in layers of the matrix graph: as asked, or fewer when the subdomains
    /// stopped growing (each covers its whole connected component) before.
    pub fn overlap(&self) -> usize {
        self.overlap
    }

    /// Total number of rows over this rank's subdomains (owned rows counted with their overlap).
    pub fn local_rows(&self) -> usize {
        self.subdomains.iter().map(|s| s.rows.len()).sum()
    }

    /// Nonzeros of this rank's local factors.
    pub fn factor_nnz(&self) -> usize {
        self.subdomains.iter().map(|s| s.solver.nnz_factor()).sum()
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

    /// Number of subdomain colours over all ranks (multiplicative variants only).
    pub fn colours(&self) -> Option<usize> {
        self.sweep.as_ref().map(|s| s.colours.n_colours)
    }

    /// `z_ext = Σ_i R_iᵀ A_i⁻¹ R_i r_ext` (ASM) or `Σ_i R_iᵀ D_i A_i⁻¹ R_i r_ext` (RAS), with the
    /// overlap contributions of ASM summed at their owners.
    fn apply_additive(&mut self, comm: &Comm) {
        self.z_ext.iter_mut().for_each(|x| *x = 0.0);
        let restricted = self.variant == SchwarzVariant::Ras;
        for s in &mut self.subdomains {
            for (b, &e) in s.buf.iter_mut().zip(&s.ext) {
                *b = self.r_ext[e as usize]; // R_i r
            }
            s.solver.solve_in_place(&mut s.buf); // A_i⁻¹ R_i r
            for ((b, &e), w) in s.buf.iter().zip(&s.ext).zip(&s.pou) {
                self.z_ext[e as usize] += if restricted { w * b } else { *b }; // R_iᵀ (D_i) ...
            }
        }
        if !restricted {
            self.halo.reverse_add(comm, &mut self.z_ext); // overlap contributions to their owners
        }
    }

    /// Multiplicative sweep(s) from `z = 0`, leaving `z` in the sweep's vector; `r_ext` holds `r`
    /// on owned and overlap rows on entry. Colours run in order (then back, for the symmetric
    /// variant, without repeating the last: with exact solves it would add nothing). Each colour
    /// but the first costs one forward exchange of `z` over `A`'s halo, the residual on the owned
    /// rows that colour's subdomains hold (their nonzeros of `A`), one forward exchange of that
    /// residual to the overlap rows, the colour's local solves and one reverse-add of the
    /// correction; no global reduction. The first colour sees `z = 0`, so its residual is `r`.
    fn apply_multiplicative(&mut self, comm: &Comm, r: &[f64], sw: &mut Sweep) {
        let n = r.len();
        let nc = sw.colours.n_colours;
        let back = match self.variant {
            SchwarzVariant::SymmetricMultiplicative => nc.saturating_sub(1),
            _ => 0,
        };
        sw.a.x.iter_mut().for_each(|x| *x = 0.0); // z = 0
        for (step, c) in (0..nc).chain((0..back).rev()).enumerate() {
            let rows = &sw.colours.owned_rows[c];
            if step > 0 {
                sw.a.exchange(comm); // A's ghost columns of z
                                     // (r − A z) on the owned rows colour c reads
                for i in rows.iter().map(|&i| i as usize) {
                    self.r_ext[i] = r[i] - sw.a.row_dot(i);
                }
                self.halo.forward(comm, &mut self.r_ext); // ... and on their overlap rows
            }
            let subs = self.subdomains.iter_mut().zip(&sw.colours.local);
            for (s, _) in subs.filter(|(_, &col)| col as usize == c) {
                for (b, &e) in s.buf.iter_mut().zip(&s.ext) {
                    *b = self.r_ext[e as usize]; // R_i (r − A z)
                }
                s.solver.solve_in_place(&mut s.buf); // A_i⁻¹ R_i (r − A z)
                for (b, &e) in s.buf.iter().zip(&s.ext) {
                    self.z_ext[e as usize] += b; // R_iᵀ ... (one subdomain per row in a colour)
                }
            }
            // Overlap corrections go to their owners; then z += the correction on the owned rows
            // it touches, leaving the buffer zero for the next colour.
            self.halo.reverse_add(comm, &mut self.z_ext);
            for &i in rows {
                sw.a.x[i as usize] += std::mem::take(&mut self.z_ext[i as usize]);
            }
            let subs = self.subdomains.iter().zip(&sw.colours.local);
            for (s, _) in subs.filter(|(_, &col)| col as usize == c) {
                s.ext
                    .iter()
                    .filter(|&&e| e as usize >= n)
                    .for_each(|&e| self.z_ext[e as usize] = 0.0);
            }
        }
    }
}

impl Preconditioner for Schwarz {
    fn apply(&mut self, comm: &Comm, r: &DistVector, z: &mut DistVector) {
        let n = self.ext_layout.n_owned;
        self.r_ext[..n].copy_from_slice(r.owned());
        self.halo.forward(comm, &mut self.r_ext); // overlap rows of r from their owners
        match self.sweep.take() {
            None => {
                self.apply_additive(comm);
                z.owned_mut().copy_from_slice(&self.z_ext[..n]);
            }
            Some(mut sw) => {
                self.apply_multiplicative(comm, r.owned(), &mut sw);
                z.owned_mut().copy_from_slice(&sw.a.x[..n]);
                self.sweep = Some(sw);
            }
        }
    }

    fn is_symmetric(&self) -> bool {
        matches!(
            self.variant,
            SchwarzVariant::Asm | SchwarzVariant::SymmetricMultiplicative
        ) && (self.kind.is_exact() || self.kind.is_symmetric())
    }

    fn name(&self) -> String {
        let colours = self.colours().map_or(String::new(), |c| format!(", {c} colours"));
        format!(
            "{}(overlap {}, {} subdomains/rank, {}{colours})",
            self.variant.name(),
            self.overlap,
            self.subdomains.len(),
            self.kind.name()
        )
    }
}

/// METIS may leave parts empty when asked for nearly as many parts as vertices (e.g. 16 parts of
/// a 16-row graph); each empty part takes one row from the currently largest part, so any
/// subdomain count up to the number of owned rows works.
fn fill_empty_parts(mut parts: Vec<u32>, k: usize) -> Vec<u32> {
    let mut sizes = vec![0usize; k];
    for &p in &parts {
        sizes[p as usize] += 1;
    }
    for empty in 0..k {
        if sizes[empty] > 0 {
            continue;
        }
        let largest = (0..k).max_by_key(|&p| (sizes[p], std::cmp::Reverse(p))).unwrap_or(0);
        if let Some(row) = parts.iter().rposition(|&p| p as usize == largest) {
            parts[row] = empty as u32;
            sizes[largest] -= 1;
            sizes[empty] = 1;
        }
    }
    parts
}
