//! Substructuring: the subdomains of a non-overlapping [`Decomposition`] glued by Lagrange
//! multipliers (see [`interface`]) and the dual interface problem solved by preconditioned CG.
//! Two methods share everything but the inverse of the torn (or partially torn) operator:
//!
//! **FETI-1** (Farhat and Roux, IJNME 32 (1991)): each subdomain is torn off whole and its
//! primal unknowns eliminated through its generalized inverse `K_s⁺`; the dual CG is projected
//! onto the complement of the rigid-body (floating) modes:
//!
//! ```text
//! F = Σ_s B_s K_s⁺ B_sᵀ,  d = Σ_s B_s K_s⁺ f_s,  G = [… B_s R_s …],  e = [… R_sᵀ f_s …]
//! P = I − G (GᵀG)⁻¹ Gᵀ,   λ₀ = G (GᵀG)⁻¹ e,     solve  Pᵀ F λ = Pᵀ d  by PCG from λ₀
//! α = (GᵀG)⁻¹ Gᵀ (F λ − d),  u_s = K_s⁺ (f_s − B_sᵀ λ) + R_s α_s
//! ```
//!
//! `R_s` is the kernel of `K_s` found numerically ([`SemiDefinite`]), so a floating subdomain
//! is whatever has a kernel, not what touches no Dirichlet boundary in the geometry. `GᵀG`
//! is assembled sparse and factorized redundantly ([`super::RedundantSolve`]).
//!
//! **FETI-DP** (Farhat et al., IJNME 50 (2001)): a few primal constraints (vertices and
//! averages over interface edges and faces, see `dp`) stay assembled, so no subdomain floats
//! and the coarse problem is the primal one; `F = B Ã⁻¹ Bᵀ` with `Ã` the partially assembled
//! operator, applied as the sum of the subdomains' constrained solves and a coarse correction
//! (Dohrmann's form, shared with BDDC). No projection is needed.
//!
//! **BDDC** ([`Bddc`]) is FETI-DP's primal counterpart: the same primal set, local solves and
//! primal problem as a preconditioner for CG on the assembled system.
//!
//! FETI-1 and FETI-DP are preconditioned by the Dirichlet preconditioner `Σ_s B̃_s S_s B̃_sᵀ` (`S_s` the Schur
//! complement of `K_s` on its interface rows) or the lumped one `Σ_s B̃_s K_s B̃_sᵀ`, with `B̃_s`
//! the jumps weighted by [`FetiScaling`] (the inverse multiplicity of their row, or ρ-scaling by
//! the diagonal stiffness). The right-hand side is split by the inverse multiplicity
//! (`f_s = R_s b / multiplicity`; any split that sums to `b` gives the same solution). Rows in
//! no subdomain (eliminated Dirichlet rows) must be decoupled; they are solved by their
//! diagonal.

mod bddc;
mod deluxe;
mod dp;
mod dual;
pub mod interface;
mod one;

use super::Decomposition;
use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::krylov::SolveStats;
use crate::linalg::{Csr, DistMatrix, LocalSolver, LocalSolverKind, DEFAULT_PIVOT_TOL};
pub use bddc::Bddc;
use interface::Interface;

/// Which substructuring method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FetiMethod {
    /// FETI-1: whole subdomains torn off, the floating ones' kernels as coarse space.
    #[serde(rename = "feti-1")]
    Feti1,
    /// FETI-DP: vertices and interface averages kept primal (assembled) as coarse space.
    #[serde(rename = "feti-dp")]
    FetiDp,
    /// BDDC: CG on the assembled system preconditioned with FETI-DP's primal set and local
    /// solves ([`Bddc`]).
    #[serde(rename = "bddc")]
    Bddc,
}

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
    /// Deluxe scaling: on each glob (the rows with multipliers held by the same subdomains)
    /// the weight of subdomain `k` is the matrix `(Σ_l S_l^E)⁻¹ S_k^E`, `S_k^E` its Schur
    /// complement on the glob (see `deluxe`). Robust to coefficients that vary along an
    /// interface; costs one interior solve per glob row at set-up. Needs the Dirichlet
    /// preconditioner (or BDDC).
    Deluxe,
}

/// Options of [`Feti`].
#[derive(Clone, Copy, Debug)]
pub struct FetiOptions {
    /// FETI-1 or FETI-DP.
    pub method: FetiMethod,
    /// Dual preconditioner.
    pub preconditioner: FetiPreconditioner,
    /// Stop when the (projected) dual residual is below `rtol` times its initial value.
    pub rtol: f64,
    /// Iteration cap of the dual PCG.
    pub max_iter: usize,
    /// Relative pivot size taken as zero in the subdomain factorizations.
    pub pivot_tol: f64,
    /// Weights of the jumps in the preconditioner.
    pub scaling: FetiScaling,
    /// Deluxe scaling: 0 for the whole interior in the glob Schur complements, `k` for the
    /// interior rows within `k` couplings of the glob (economic deluxe).
    pub deluxe_layers: usize,
    /// FETI-DP: an average constraint on every interface edge and face besides the vertices
    /// (without, averages only where a subdomain would float on its vertices alone).
    pub averages: bool,
}

impl Default for FetiOptions {
    fn default() -> Self {
        FetiOptions {
            method: FetiMethod::Feti1,
            preconditioner: FetiPreconditioner::Dirichlet,
            rtol: 1e-8,
            max_iter: 500,
            pivot_tol: DEFAULT_PIVOT_TOL,
            scaling: FetiScaling::Stiffness,
            deluxe_layers: 0,
            averages: true,
        }
    }
}

/// One subdomain's preconditioner pieces, right-hand side share and workspace (the method's own
/// factorizations live in [`Method`]).
struct Local {
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

/// The method-specific inverse of the torn operator and its coarse space.
enum Method {
    One(one::One),
    Dp(dp::Dp),
}

/// A FETI-1 or FETI-DP solver over a non-overlapping decomposition; see the module
/// documentation.
pub struct Feti {
    decomposition: Decomposition,
    interface: Interface,
    locals: Vec<Local>,
    method: Method,
    /// Owned rows in no subdomain, with their diagonal entry.
    free_rows: Vec<(usize, f64)>,
    /// The glob weights of deluxe scaling (`None` for the scalar scalings).
    deluxe: Option<deluxe::Deluxe>,
    options: FetiOptions,
}

/// What a FETI solve reports beyond the Krylov statistics.
#[derive(Clone, Debug)]
pub struct FetiStats {
    /// The dual PCG's statistics (residuals of the projected dual residual).
    pub dual: SolveStats,
    /// `‖b − A x‖ / ‖b‖` of the recovered primal solution.
    pub primal_residual: f64,
}

impl Feti {
    /// Collective: factorizes every subdomain's Neumann matrix (FETI-1: whole, finding its
    /// kernel; FETI-DP: constrained by its primal set), builds the multipliers and jumps, the
    /// coarse problem and the preconditioner. Every subdomain of `decomposition` needs its
    /// Neumann matrix.
    pub fn new(comm: &Comm, a: &DistMatrix, decomposition: Decomposition, options: FetiOptions) -> Result<Feti> {
        if options.scaling == FetiScaling::Deluxe
            && options.method != FetiMethod::Bddc
            && options.preconditioner != FetiPreconditioner::Dirichlet
        {
            return Err(Error::Config(
                "feti.scaling = deluxe weighs by the interface Schur complements: it needs \
                 feti.preconditioner = dirichlet"
                    .into(),
            ));
        }
        let neumann = comm.agree(
            decomposition
                .subdomains
                .iter()
                .map(|s| {
                    s.neumann
                        .clone()
                        .ok_or_else(|| Error::Config("FETI needs the subdomains' Neumann matrices".into()))
                })
                .collect::<Result<Vec<Csr>>>(),
        )?;
        // FETI-DP's vertices are assembled: they carry no multipliers.
        let (method, keep) = match options.method {
            FetiMethod::Feti1 => (Method::One(one::One::new(comm, &neumann, options.pivot_tol)?), None),
            FetiMethod::FetiDp | FetiMethod::Bddc => {
                let dp = dp::Dp::new(comm, &decomposition, &neumann, options)?;
                let keep = dp.multiplier_rows(&decomposition);
                (Method::Dp(dp), Some(keep))
            }
        };
        let interface = Interface::new(comm, &decomposition, keep.as_deref())?;
        let locals = comm.agree(
            neumann
                .into_iter()
                .zip(&decomposition.subdomains)
                .zip(&interface.jumps)
                .map(|((k, s), jumps)| local(k, &s.multiplicity, jumps, options))
                .collect::<Result<Vec<Local>>>(),
        )?;
        let free_rows = free_rows(comm, a, &decomposition)?;
        let mut feti = Feti {
            decomposition,
            interface,
            locals,
            method,
            free_rows,
            deluxe: None,
            options,
        };
        feti.scale_and_project(comm)?;
        Ok(feti)
    }

    /// Collective: the jump weights of the preconditioner and, for FETI-1, the coarse problem
    /// with the projector's weights (deluxe scaling keeps ρ-scaling's superlumped ones).
    fn scale_and_project(&mut self, comm: &Comm) -> Result<()> {
        let weights = match self.options.scaling {
            FetiScaling::Stiffness | FetiScaling::Deluxe => {
                stiffness_scaling(comm, &mut self.interface, &self.decomposition, &mut self.locals)
            }
            FetiScaling::Multiplicity => vec![1.0; self.interface.layout.n_owned],
        };
        self.deluxe = match self.options.scaling {
            FetiScaling::Deluxe => Some(deluxe::Deluxe::new(
                comm,
                &self.decomposition,
                &self.interface,
                &mut self.locals,
                (self.options.deluxe_layers, self.options.method == FetiMethod::Bddc),
            )?),
            _ => None,
        };
        match &mut self.method {
            Method::One(one) => one.build_coarse(comm, &self.interface, weights),
            Method::Dp(_) => Ok(()),
        }
    }

    /// Collective: new values of the matrix `a` and of the subdomains' Neumann matrices, which
    /// `neumann` gives from the decomposition with `a`'s new values (the same subdomains, the
    /// same patterns): redoes the numeric factorizations, the scaling and the coarse problem
    /// only; the decomposition, multipliers, primal set and symbolic factorizations stay.
    pub fn update(
        &mut self,
        comm: &Comm,
        a: &DistMatrix,
        neumann: impl FnOnce(&Decomposition) -> Result<Vec<Csr>>,
    ) -> Result<()> {
        self.decomposition.update_values(comm, a)?;
        let neumann = neumann(&self.decomposition)?;
        let same = neumann.len() == self.locals.len()
            && neumann
                .iter()
                .zip(&self.locals)
                .all(|(n, l)| n.rowptr == l.neumann.rowptr && n.cols == l.neumann.cols);
        comm.agree(if same {
            Ok(())
        } else {
            Err(Error::input(
                "FETI update: the subdomains or the patterns of their Neumann matrices changed (build anew)",
            ))
        })?;
        match &mut self.method {
            Method::One(one) => one.refactor(comm, &neumann)?,
            Method::Dp(dp) => dp.refactor(comm, &neumann, self.options.averages)?,
        }
        let mut res = Ok(());
        for ((l, n), s) in self
            .locals
            .iter_mut()
            .zip(neumann)
            .zip(&mut self.decomposition.subdomains)
        {
            if let Some((rows, kii)) = &mut l.interior {
                res = res.and_then(|()| kii.refactor(&n.principal_submatrix(rows)));
            }
            s.neumann = Some(n.clone());
            l.neumann = n;
        }
        comm.agree(res)?;
        self.free_rows = free_rows(comm, a, &self.decomposition)?;
        self.scale_and_project(comm)
    }

    /// Dimension of the coarse problem: the floating subdomains' kernel vectors (FETI-1) or the
    /// primal constraints (FETI-DP).
    pub fn coarse_dimension(&self) -> usize {
        match &self.method {
            Method::One(one) => one.n_coarse,
            Method::Dp(dp) => dp.primal.total(),
        }
    }

    /// Number of floating subdomains (a nonzero kernel of the whole Neumann matrix, FETI-1; of
    /// the matrix without its primal vertices, FETI-DP, whose averages then hold it), over all
    /// ranks.
    pub fn floating(&self) -> usize {
        match &self.method {
            Method::One(one) => one.floating,
            Method::Dp(dp) => dp.primal.floating,
        }
    }

    /// A one-line description: method, coarse space and multipliers.
    pub fn describe(&self) -> String {
        match &self.method {
            Method::One(one) => format!(
                "feti-1 ({} floating subdomains, {} multipliers)",
                one.floating,
                self.multipliers()
            ),
            Method::Dp(dp) => format!(
                "feti-dp ({} vertices, {} averages, {} subdomains floating on their vertices, {} multipliers)",
                dp.primal.vertices,
                dp.primal.averages,
                dp.primal.floating,
                self.multipliers()
            ),
        }
    }

    /// Number of multipliers over all ranks.
    pub fn multipliers(&self) -> u64 {
        self.interface.layout.n_global
    }

    /// The decomposition it works on.
    pub fn decomposition(&self) -> &Decomposition {
        &self.decomposition
    }
}

/// Factorizations and scaling of one subdomain.
fn local(neumann: Csr, multiplicity: &[f64], jumps: &[(u32, u32, f64)], options: FetiOptions) -> Result<Local> {
    let n = neumann.nrows;
    // BDDC's interior correction and harmonic extension need the interior factorization too.
    let interior = if options.preconditioner == FetiPreconditioner::Dirichlet || options.method == FetiMethod::Bddc {
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
/// the orthogonal projector (`Q = I`) lets FETI-1's iterations grow with the contrast (Rixen
/// and Farhat 1999).
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
