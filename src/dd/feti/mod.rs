//! FETI-1 (Farhat and Roux, IJNME 32 (1991)): the substructures of a non-overlapping
//! [`Decomposition`] glued by Lagrange multipliers (see [`interface`]), the primal unknowns
//! eliminated through each subdomain's generalized inverse `K_s⁺`, and the dual interface
//! problem solved by CG projected onto the complement of the rigid-body (floating) modes:
//!
//! ```text
//! F = Σ_s B_s K_s⁺ B_sᵀ,  d = Σ_s B_s K_s⁺ f_s,  G = [… B_s R_s …],  e = [… R_sᵀ f_s …]
//! P = I − G (GᵀG)⁻¹ Gᵀ,   λ₀ = G (GᵀG)⁻¹ e,     solve  Pᵀ F λ = Pᵀ d  by PCG from λ₀
//! α = (GᵀG)⁻¹ Gᵀ (F λ − d),  u_s = K_s⁺ (f_s − B_sᵀ λ) + R_s α_s
//! ```
//!
//! `R_s` is the kernel of `K_s` found numerically ([`SemiDefinite`]), so a floating subdomain
//! is whatever has a kernel, not what touches no Dirichlet boundary in the geometry. `GᵀG`
//! is assembled sparse and factorized redundantly ([`RedundantSolve`]). The preconditioner is
//! the Dirichlet one `Σ_s B̃_s S_s B̃_sᵀ` (`S_s` the Schur complement of `K_s` on its interface
//! rows) or the lumped one `Σ_s B̃_s K_s B̃_sᵀ`, with `B̃_s` the jumps weighted by
//! [`FetiScaling`] (the inverse multiplicity of their row, or ρ-scaling by the diagonal
//! stiffness). The right-hand side is split by the inverse multiplicity
//! (`f_s = R_s b / multiplicity`; any split that sums to `b` gives the same solution). Rows in no subdomain (eliminated Dirichlet rows) must be
//! decoupled; they are solved by their diagonal.

mod dual;
pub mod interface;

use super::coarse::redundant::RedundantSolve;
use super::Decomposition;
use crate::comm::{Comm, SparseRow};
use crate::error::{Error, Result};
use crate::krylov::SolveStats;
use crate::linalg::{Csr, DistMatrix, LocalSolver, LocalSolverKind, SemiDefinite, DEFAULT_PIVOT_TOL};
use interface::Interface;

/// The preconditioner of the dual problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FetiPreconditioner {
    /// `Σ_s B̃_s S_s B̃_sᵀ`: an interior solve per subdomain and application; optimal.
    Dirichlet,
    /// `Σ_s B̃_s K_s B̃_sᵀ`: a product only; cheaper, iterations grow faster with H/h.
    Lumped,
    /// None (for comparison).
    None,
}

/// How the jumps are weighted in the preconditioner (and the right-hand side split).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FetiScaling {
    /// `1 / multiplicity` of the row: right for a coefficient that does not jump.
    Multiplicity,
    /// ρ-scaling with the subdomains' diagonal stiffness as ρ: the `s` side of the pair `(s, t)`
    /// at row `i` is weighted `K_t[i,i] / A[i,i]` (`A[i,i] = Σ_k K_k[i,i]`), which equals
    /// κ-scaling for a coefficient constant in each subdomain and needs no coefficient.
    Stiffness,
}

/// Options of [`Feti1`].
#[derive(Clone, Copy, Debug)]
pub struct FetiOptions {
    /// Dual preconditioner.
    pub preconditioner: FetiPreconditioner,
    /// Stop when the projected dual residual is below `rtol` times its initial value.
    pub rtol: f64,
    /// Iteration cap of the dual PCG.
    pub max_iter: usize,
    /// Relative pivot size taken as zero in the subdomain factorizations.
    pub pivot_tol: f64,
    /// Weights of the jumps in the preconditioner.
    pub scaling: FetiScaling,
}

impl Default for FetiOptions {
    fn default() -> Self {
        FetiOptions {
            preconditioner: FetiPreconditioner::Dirichlet,
            rtol: 1e-8,
            max_iter: 500,
            pivot_tol: DEFAULT_PIVOT_TOL,
            scaling: FetiScaling::Stiffness,
        }
    }
}

/// One subdomain's factorizations and workspace.
struct Local {
    /// `K_s` with its kernel and generalized inverse.
    k: SemiDefinite,
    /// The Neumann matrix itself (lumped and Dirichlet preconditioners).
    neumann: Csr,
    /// Interior rows (multiplicity 1) and the factorization of `K_s` on them (Dirichlet
    /// preconditioner; `None` when there is no interior).
    interior: Option<(Vec<u32>, LocalSolver)>,
    /// Weight of each jump entry in the preconditioner (see [`FetiScaling`]).
    scale: Vec<f64>,
    /// The subdomain's share of the right-hand side, `R_s b / multiplicity`.
    f: Vec<f64>,
    /// Work vectors of the subdomain's size, and of its interior.
    w: Vec<f64>,
    v: Vec<f64>,
    t: Vec<f64>,
}

/// The coarse space of the floating subdomains: `G` on the owned multipliers and `GᵀG`.
struct Coarse {
    /// `G`'s rows of the owned multipliers: (coarse index, value).
    g: Vec<SparseRow>,
    /// The projector's weight `Q` on the owned multipliers.
    q: Vec<f64>,
    /// Coarse indices this rank gives partial sums at, and where each index sits among them.
    held: Vec<usize>,
    held_pos: std::collections::HashMap<usize, usize>,
    /// First coarse index of this rank's kernel vectors.
    first: usize,
    solve: RedundantSolve,
    partial: Vec<f64>,
}

/// A FETI-1 solver over a non-overlapping decomposition; see the module documentation.
pub struct Feti1 {
    decomposition: Decomposition,
    interface: Interface,
    locals: Vec<Local>,
    coarse: Option<Coarse>,
    /// Owned rows in no subdomain, with their diagonal entry.
    free_rows: Vec<(usize, f64)>,
    options: FetiOptions,
    n_coarse: usize,
    floating: usize,
    /// The projector's weight `Q` on the owned multipliers (see [`stiffness_scaling`]).
    weights: Vec<f64>,
}

/// What a FETI solve reports beyond the Krylov statistics.
#[derive(Clone, Debug)]
pub struct FetiStats {
    /// The dual PCG's statistics (residuals of the projected dual residual).
    pub dual: SolveStats,
    /// `‖b − A x‖ / ‖b‖` of the recovered primal solution.
    pub primal_residual: f64,
}

impl Feti1 {
    /// Collective: factorizes every subdomain's Neumann matrix (finding its kernel), builds the
    /// multipliers and jumps, the coarse problem `GᵀG` of the kernels and the preconditioner.
    /// Every subdomain of `decomposition` needs its Neumann matrix.
    pub fn new(comm: &Comm, a: &DistMatrix, decomposition: Decomposition, options: FetiOptions) -> Result<Feti1> {
        let mut interface = Interface::new(comm, &decomposition)?;
        let mut locals = comm.agree(
            decomposition
                .subdomains
                .iter()
                .zip(&interface.jumps)
                .map(|(s, jumps)| {
                    let neumann = s
                        .neumann
                        .clone()
                        .ok_or_else(|| Error::Config("FETI needs the subdomains' Neumann matrices".into()))?;
                    local(neumann, &s.multiplicity, jumps, options)
                })
                .collect::<Result<Vec<Local>>>(),
        )?;
        let kernels: usize = locals.iter().map(|l| l.k.kernel().len()).sum();
        let n_coarse = comm.sum_u64(kernels as u64) as usize;
        let floating = comm.sum_u64(locals.iter().filter(|l| !l.k.kernel().is_empty()).count() as u64) as usize;
        let free_rows = free_rows(comm, a, &decomposition)?;
        let weights = match options.scaling {
            FetiScaling::Stiffness => stiffness_scaling(comm, &mut interface, &decomposition, &mut locals),
            FetiScaling::Multiplicity => vec![1.0; interface.layout.n_owned],
        };
        let mut f = Feti1 {
            decomposition,
            interface,
            locals,
            coarse: None,
            free_rows,
            options,
            n_coarse,
            floating,
            weights,
        };
        if n_coarse > 0 {
            f.coarse = Some(f.build_coarse(comm, kernels)?);
        }
        Ok(f)
    }

    /// Dimension of the coarse problem (kernel vectors of all subdomains).
    pub fn coarse_dimension(&self) -> usize {
        self.n_coarse
    }

    /// Number of floating subdomains (with a kernel), over all ranks.
    pub fn floating(&self) -> usize {
        self.floating
    }

    /// Number of multipliers over all ranks.
    pub fn multipliers(&self) -> u64 {
        self.interface.layout.n_global
    }

    /// The decomposition it works on.
    pub fn decomposition(&self) -> &Decomposition {
        &self.decomposition
    }

    /// Collective: `G` on the owned multipliers (through a reverse append of each subdomain's
    /// `B_s R_s`) and the redundant factorization of `GᵀG`.
    fn build_coarse(&mut self, comm: &Comm, kernels: usize) -> Result<Coarse> {
        RedundantSolve::check_dimension(comm, self.n_coarse, "FETI's coarse problem GᵀG")?;
        let first = comm.exclusive_scan_u64(kernels as u64) as usize;
        let mut g: Vec<SparseRow> = vec![Vec::new(); self.interface.layout.n_local()];
        let mut c = first;
        for (l, jumps) in self.locals.iter().zip(&self.interface.jumps) {
            for r in l.k.kernel() {
                for &(p, m, sign) in jumps {
                    g[m as usize].push((c as u32, sign * r[p as usize]));
                }
                c += 1;
            }
        }
        // Rows to the multipliers' owners; the owned part is then G's rows.
        let owned = self.interface.layout.n_owned;
        self.interface.reverse_append_rows(comm, &mut g);
        g.truncate(owned);
        for row in &mut g {
            row.sort_unstable_by_key(|e| e.0);
        }
        let mut share = Vec::new();
        let q = self.weights.clone();
        for (row, &qm) in g.iter().zip(&q) {
            for &(i, vi) in row {
                share.extend(row.iter().map(|&(j, vj)| (i, j, vi * qm * vj)));
            }
        }
        let mut held: Vec<usize> = g
            .iter()
            .flatten()
            .map(|e| e.0 as usize)
            .chain(first..first + kernels)
            .collect();
        held.sort_unstable();
        held.dedup();
        let solve = RedundantSolve::new(comm, self.n_coarse, &share, &held, "FETI's coarse problem GᵀG")?;
        Ok(Coarse {
            g,
            q,
            held_pos: held.iter().enumerate().map(|(k, &c)| (c, k)).collect(),
            partial: vec![0.0; held.len()],
            held,
            first,
            solve,
        })
    }
}

/// Factorizations and scaling of one subdomain.
fn local(neumann: Csr, multiplicity: &[f64], jumps: &[(u32, u32, f64)], options: FetiOptions) -> Result<Local> {
    let n = neumann.nrows;
    let k = SemiDefinite::new(&neumann, options.pivot_tol)?;
    let interior = if options.preconditioner == FetiPreconditioner::Dirichlet {
        let rows: Vec<u32> = (0..n as u32).filter(|&i| multiplicity[i as usize] <= 1.0).collect();
        if rows.is_empty() {
            None
        } else {
            let kii = neumann.principal_submatrix(&rows);
            Some((rows, LocalSolver::new(&kii, LocalSolverKind::Cholesky)?))
        }
    } else {
        None
    };
    Ok(Local {
        k,
        scale: jumps.iter().map(|&(p, _, _)| 1.0 / multiplicity[p as usize]).collect(),
        t: vec![0.0; interior.as_ref().map_or(0, |i| i.0.len())],
        interior,
        f: vec![0.0; n],
        w: vec![0.0; n],
        v: vec![0.0; n],
        neumann,
    })
}

/// Collective: the ρ-scaling weights of every jump entry with the diagonal stiffness as ρ. Each
/// multiplier learns the diagonal entry of both its subdomains at its row (lower side, higher
/// side: two reverse-adds and forwards over the multipliers); the `s` side then weighs `K_t[i,i]
/// / A[i,i]`, `A[i,i]` read from `s`'s Dirichlet matrix. Returns the projector's weights `Q` of
/// the owned multipliers, the "superlumped" `K_s[i,i] K_t[i,i] / A[i,i]` (the diagonal of the
/// scaled lumped preconditioner at a row of two subdomains): with heterogeneous coefficients
/// the orthogonal projector (`Q = I`) lets the iterations grow with the contrast (Rixen and
/// Farhat 1999).
fn stiffness_scaling(comm: &Comm, interface: &mut Interface, d: &Decomposition, locals: &mut [Local]) -> Vec<f64> {
    let n = interface.layout.n_local();
    let (mut lower, mut higher) = (vec![0.0; n], vec![0.0; n]);
    for (l, jumps) in locals.iter().zip(&interface.jumps) {
        let diag = l.neumann.diagonal();
        for &(p, m, sign) in jumps {
            let side = if sign > 0.0 { &mut lower } else { &mut higher };
            side[m as usize] += diag[p as usize];
        }
    }
    for v in [&mut lower, &mut higher] {
        interface.reverse_add(comm, v);
        interface.forward(comm, v);
    }
    let mut q = vec![1.0; interface.layout.n_owned];
    for ((l, jumps), s) in locals.iter_mut().zip(&interface.jumps).zip(&d.subdomains) {
        let assembled = s.matrix.diagonal();
        l.scale = jumps
            .iter()
            .map(|&(p, m, sign)| {
                let (a, m) = (assembled[p as usize], m as usize);
                if sign > 0.0 {
                    q[m] = lower[m] * higher[m] / a; // the lower side's rank owns m
                }
                let other = if sign > 0.0 { higher[m] } else { lower[m] };
                other / a
            })
            .collect();
    }
    q
}

/// Collective: this rank's owned rows held by no subdomain, which must be decoupled (a
/// diagonal entry only, as eliminated Dirichlet rows are), with that entry.
fn free_rows(comm: &Comm, a: &DistMatrix, d: &Decomposition) -> Result<Vec<(usize, f64)>> {
    let mut held = vec![0.0; d.ext_layout.n_local()];
    for s in &d.subdomains {
        s.ext.iter().for_each(|&e| held[e as usize] += 1.0);
    }
    d.halo().duplicate().reverse_add(comm, &mut held);
    let mut rows = Vec::new();
    let mut res = Ok(());
    for (i, _) in held[..a.layout().n_owned].iter().enumerate().filter(|(_, &h)| h == 0.0) {
        let (c, v) = a.diag().row(i);
        let coupled =
            a.offd().row(i).1.iter().any(|&x| x != 0.0) || c.iter().zip(v).any(|(&j, &x)| j as usize != i && x != 0.0);
        let diag = c.iter().position(|&j| j as usize == i).map_or(0.0, |k| v[k]);
        if coupled || diag == 0.0 {
            res = Err(Error::input(format!(
                "row {} is in no FETI subdomain but is not a decoupled (Dirichlet) row",
                a.layout().offset + i as u64
            )));
            break;
        }
        rows.push((i, diag));
    }
    comm.agree(res)?;
    Ok(rows)
}
