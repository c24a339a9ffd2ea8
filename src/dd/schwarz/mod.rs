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

mod colour;

use crate::comm::Comm;
use crate::dd::decomposition::{Decomposition, SubdomainSplit};
use crate::dd::operator::RowsOfA;
use crate::error::Result;
use crate::linalg::{Csr, DistMatrix, DistVector, LocalSolver, LocalSolverKind, Preconditioner};
use colour::{colour_subdomains, Colouring};

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

/// The one-level Schwarz preconditioner on one rank: a [`Decomposition`] it reads, a local
/// solver per subdomain, and the extended work vectors.
pub struct Schwarz {
    variant: SchwarzVariant,
    kind: LocalSolverKind,
    decomposition: Decomposition,
    /// Per subdomain (in the decomposition's order): its factorization and a solve buffer.
    locals: Vec<Local>,
    r_ext: Vec<f64>,
    z_ext: Vec<f64>,
    sweep: Option<Sweep>,
}

/// A subdomain's factorization and its solve buffer.
struct Local {
    solver: LocalSolver,
    buf: Vec<f64>,
}

/// What the multiplicative variants add: the colouring and what the residual `r − A z` between
/// colours needs — a copy of this rank's rows of `A` (see [`RowsOfA`], whose vector holds the
/// current `z`) and the per-colour lists of owned rows (about one index per owned row and colour
/// holding it).
struct Sweep {
    colours: Colouring,
    a: RowsOfA,
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
        let (decomposition, known) = Decomposition::overlapping_with_rows(comm, a, overlap, per_rank, split)?;
        let sweep = if variant.is_multiplicative() {
            Some(Sweep {
                colours: colour_subdomains(comm, a, &decomposition.subdomains, &known),
                a: RowsOfA::new(comm, a)?,
            })
        } else {
            None
        };
        drop(known);
        let mut locals = Vec::with_capacity(decomposition.subdomains.len());
        let mut failure = None;
        for s in &decomposition.subdomains {
            match LocalSolver::new(&s.matrix, kind) {
                Ok(solver) => locals.push(Local {
                    solver,
                    buf: vec![0.0; s.rows.len()],
                }),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        comm.agree(failure.map_or(Ok(()), Err))?;
        let len = decomposition.ext_layout.n_local();
        Ok(Schwarz {
            variant,
            kind,
            decomposition,
            locals,
            r_ext: vec![0.0; len],
            z_ext: vec![0.0; len],
            sweep,
        })
    }

    /// The decomposition it applies (subdomains, extended layout, halo): what coarse spaces read.
    pub fn decomposition(&self) -> &Decomposition {
        &self.decomposition
    }

    /// The decomposition, to attach the subdomains' Neumann matrices.
    pub fn decomposition_mut(&mut self) -> &mut Decomposition {
        &mut self.decomposition
    }

    /// The overlap in layers of the matrix graph: as asked, or fewer when the subdomains
    /// stopped growing (each covers its whole connected component) before.
    pub fn overlap(&self) -> usize {
        self.decomposition.overlap()
    }

    /// Total number of rows over this rank's subdomains (owned rows counted with their overlap).
    pub fn local_rows(&self) -> usize {
        self.decomposition.local_rows()
    }

    /// Nonzeros of this rank's local factors.
    pub fn factor_nnz(&self) -> usize {
        self.locals.iter().map(|l| l.solver.nnz_factor()).sum()
    }

    /// Collective: attaches to every subdomain its Neumann matrix (see
    /// [`Decomposition::attach_neumann`]).
    pub fn attach_neumann(&mut self, comm: &Comm, neumann: impl FnMut(&[u64]) -> Result<Csr>) -> Result<()> {
        self.decomposition.attach_neumann(comm, neumann)
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
        for (s, l) in self.decomposition.subdomains.iter().zip(&mut self.locals) {
            for (b, &e) in l.buf.iter_mut().zip(&s.ext) {
                *b = self.r_ext[e as usize]; // R_i r
            }
            l.solver.solve_in_place(&mut l.buf); // A_i⁻¹ R_i r
            for ((b, &e), w) in l.buf.iter().zip(&s.ext).zip(&s.pou) {
                self.z_ext[e as usize] += if restricted { w * b } else { *b }; // R_iᵀ (D_i) ...
            }
        }
        if !restricted {
            let halo = self.decomposition.halo_mut();
            halo.reverse_add(comm, &mut self.z_ext); // overlap contributions to their owners
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
                let halo = self.decomposition.halo_mut();
                halo.forward(comm, &mut self.r_ext); // ... and on their overlap rows
            }
            let subs = self.decomposition.subdomains.iter().zip(&mut self.locals);
            for ((s, l), _) in subs.zip(&sw.colours.local).filter(|(_, &col)| col as usize == c) {
                for (b, &e) in l.buf.iter_mut().zip(&s.ext) {
                    *b = self.r_ext[e as usize]; // R_i (r − A z)
                }
                l.solver.solve_in_place(&mut l.buf); // A_i⁻¹ R_i (r − A z)
                for (b, &e) in l.buf.iter().zip(&s.ext) {
                    self.z_ext[e as usize] += b; // R_iᵀ ... (one subdomain per row in a colour)
                }
            }
            // Overlap corrections go to their owners; then z += the correction on the owned rows
            // it touches, leaving the buffer zero for the next colour.
            self.decomposition.halo_mut().reverse_add(comm, &mut self.z_ext);
            for &i in rows {
                sw.a.x[i as usize] += std::mem::take(&mut self.z_ext[i as usize]);
            }
            let subs = self.decomposition.subdomains.iter().zip(&sw.colours.local);
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
        let n = self.decomposition.ext_layout.n_owned;
        self.r_ext[..n].copy_from_slice(r.owned());
        let halo = self.decomposition.halo_mut();
        halo.forward(comm, &mut self.r_ext); // overlap rows of r from their owners
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

    fn update(&mut self, comm: &Comm, a: &DistMatrix) -> Result<()> {
        self.decomposition.update_values(comm, a)?;
        let mut res = Ok(());
        for (s, l) in self.decomposition.subdomains.iter().zip(&mut self.locals) {
            res = l.solver.refactor(&s.matrix); // numeric only: the ordering and symbolic phase stay
            if res.is_err() {
                break;
            }
        }
        comm.agree(res)?;
        if let Some(sw) = &mut self.sweep {
            sw.a = RowsOfA::new(comm, a)?;
        }
        Ok(())
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
            self.overlap(),
            self.decomposition.subdomains.len(),
            self.kind.name()
        )
    }
}
