//! Two-level preconditioners: a one-level preconditioner `M₁⁻¹` (in practice [`Schwarz`]) and a
//! coarse correction `Q = Z E⁻¹ Zᵀ` ([`CoarseSpace`]) combined as one of the methods compared by
//! Tang, Nabben, Vuik and Erlangga (J. Sci. Comput. 39, 2009), with `P = I − A Q`:
//!
//! | combination | `M⁻¹` | symmetric | per application |
//! |---|---|---|---|
//! | additive | `M₁⁻¹ + Q` | if `M₁⁻¹` is | 1 `M₁⁻¹`, 1 coarse solve |
//! | a-def1 | `M₁⁻¹ P + Q` | no | 1 `M₁⁻¹`, 1 coarse solve |
//! | a-def2 | `Pᵀ M₁⁻¹ + Q` | no | 1 `M₁⁻¹`, 1 coarse solve |
//! | balanced (BNN) | `Pᵀ M₁⁻¹ P + Q` | if `M₁⁻¹` is | 1 `M₁⁻¹`, 2 coarse solves |
//!
//! A coarse solve is one allgather and two sparse triangular solves with `E`; the products
//! with `A` that `P` and `Pᵀ` imply are products with the kept `W = A Z` instead (see
//! [`CoarseSpace`]), and BNN's second solve reuses the `Zᵀ r` of its first.
//!
//! A-DEF2 gives the same iterates as BNN under CG only from the special starting vector
//! `x₀ = Q b + Pᵀ x̄` (Tang et al., §3); our Krylov solvers start from the caller's guess (zero
//! in the drivers), where A-DEF2 is a non-symmetric operator, so it declares itself
//! non-symmetric and CG refuses it, as it refuses A-DEF1; both are for GMRES, FGMRES or
//! BiCGStab. `A` is assumed symmetric positive definite (`Pᵀ = I − Q A`, and `E` is factorized
//! by Cholesky).

use super::{nicolaides, CoarseSpace};
use crate::comm::Comm;
use crate::dd::Schwarz;
use crate::error::Result;
use crate::linalg::{DistMatrix, DistVector, Preconditioner};

/// How the coarse correction is combined with the one-level preconditioner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Combination {
    /// `M₁⁻¹ + Q` (symmetric when `M₁⁻¹` is).
    Additive,
    /// Adapted deflation 1: `M₁⁻¹ P + Q` (not symmetric).
    #[serde(rename = "a-def1")]
    ADef1,
    /// Adapted deflation 2: `Pᵀ M₁⁻¹ + Q` (not symmetric from a general starting vector).
    #[serde(rename = "a-def2")]
    ADef2,
    /// Balancing Neumann–Neumann: `Pᵀ M₁⁻¹ P + Q` (symmetric when `M₁⁻¹` is).
    Balanced,
}

impl Combination {
    /// The name used in configuration files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Combination::Additive => "additive",
            Combination::ADef1 => "a-def1",
            Combination::ADef2 => "a-def2",
            Combination::Balanced => "balanced",
        }
    }

    /// Whether the two-level preconditioner is symmetric when its one-level part is.
    pub fn keeps_symmetry(self) -> bool {
        matches!(self, Combination::Additive | Combination::Balanced)
    }
}

/// How a two-level preconditioner recomputes its coarse space from new matrix values (and its
/// updated one-level part) on a numeric update, instead of keeping the basis.
pub type CoarseRebuild<P> = Box<dyn FnMut(&Comm, &DistMatrix, &mut P) -> Result<CoarseSpace>>;

/// A two-level preconditioner: the one-level `one` and the coarse correction, combined.
pub struct TwoLevel<P: Preconditioner = Schwarz> {
    one: P,
    coarse: CoarseSpace,
    combination: Combination,
    /// Set when an update must recompute the basis (else `W` and `E` are recomputed for it).
    rebuild: Option<CoarseRebuild<P>>,
    /// Work vectors over `A`'s layout (inputs and outputs of `M₁⁻¹`) and on the owned rows.
    w: DistVector,
    v: DistVector,
    q: Vec<f64>,
}

impl TwoLevel<Schwarz> {
    /// Collective: the Nicolaides two-level preconditioner around the one-level `schwarz`.
    pub fn nicolaides(comm: &Comm, a: &DistMatrix, schwarz: Schwarz, combination: Combination) -> Result<Self> {
        let bases = nicolaides(schwarz.decomposition());
        Self::with_basis(comm, a, schwarz, bases, "nicolaides", combination)
    }

    /// Collective: the GDSW two-level preconditioner around the one-level `schwarz` (overlap at
    /// least 1; one coarse column per interface component, see [`CoarseSpace::gdsw`]).
    pub fn gdsw(comm: &Comm, a: &DistMatrix, schwarz: Schwarz, combination: Combination) -> Result<Self> {
        let coarse = CoarseSpace::gdsw(comm, a, schwarz.decomposition())?;
        Ok(Self::new(a, schwarz, coarse, combination))
    }

    /// Collective: the two-level preconditioner around `schwarz` with the coarse space of
    /// `bases` (per subdomain, PoU-weighted vectors on its rows; see [`CoarseSpace::new`]),
    /// called `name` in reports.
    pub fn with_basis(
        comm: &Comm,
        a: &DistMatrix,
        schwarz: Schwarz,
        bases: Vec<Vec<Vec<f64>>>,
        name: &str,
        combination: Combination,
    ) -> Result<Self> {
        let coarse = CoarseSpace::new(comm, a, schwarz.decomposition(), bases, name)?;
        Ok(Self::new(a, schwarz, coarse, combination))
    }
}

impl<P: Preconditioner> TwoLevel<P> {
    /// Combines any one-level preconditioner `one` with a coarse space built for the same
    /// matrix `a` (whose layout the work vectors take).
    pub fn new(a: &DistMatrix, one: P, coarse: CoarseSpace, combination: Combination) -> Self {
        TwoLevel {
            one,
            coarse,
            combination,
            w: DistVector::zeros(a.layout()),
            v: DistVector::zeros(a.layout()),
            q: vec![0.0; a.layout().n_owned],
            rebuild: None,
        }
    }

    /// Makes numeric updates recompute the coarse space with `rebuild` (from the new values and
    /// the updated one-level part) instead of keeping its basis.
    pub fn rebuild_on_update(mut self, rebuild: CoarseRebuild<P>) -> Self {
        self.rebuild = Some(rebuild);
        self
    }

    /// The coarse space.
    pub fn coarse(&self) -> &CoarseSpace {
        &self.coarse
    }

    /// The one-level part.
    pub fn one_level(&self) -> &P {
        &self.one
    }
}

impl<P: Preconditioner> Preconditioner for TwoLevel<P> {
    fn apply(&mut self, comm: &Comm, rv: &DistVector, z: &mut DistVector) {
        let r = rv.owned();
        match self.combination {
            Combination::Additive => {
                self.one.apply(comm, rv, z); // z = M₁⁻¹ r
                self.coarse.apply_owned(comm, r, z.owned_mut(), true); // z += Q r
            }
            Combination::ADef1 => {
                self.coarse.deflate(comm, r, Some(&mut self.q), self.w.owned_mut()); // q = Q r, w = P r
                self.one.apply(comm, &self.w, z); // z = M₁⁻¹ P r
                z.owned_mut().iter_mut().zip(&self.q).for_each(|(zi, qi)| *zi += qi);
                // ... + Q r
            }
            Combination::ADef2 => {
                self.one.apply(comm, rv, &mut self.v); // v = M₁⁻¹ r
                self.coarse.correct(comm, r, self.v.owned(), z.owned_mut()); // z = Pᵀ v + Q r
            }
            Combination::Balanced => {
                self.coarse.deflate(comm, r, None, self.w.owned_mut()); // w = P r = r − A Q r
                self.one.apply(comm, &self.w, &mut self.v); // v = M₁⁻¹ P r
                self.coarse.correct_deflated(comm, self.v.owned(), z.owned_mut());
                // z = Pᵀ v + Q r = v + Q (r − A v)
            }
        }
    }

    fn update(&mut self, comm: &Comm, a: &DistMatrix) -> Result<()> {
        self.one.update(comm, a)?;
        match &mut self.rebuild {
            Some(rebuild) => {
                self.coarse = rebuild(comm, a, &mut self.one)?; // a new basis for the new values
                Ok(())
            }
            None => self.coarse.update(comm, a), // same basis Z, new E = Zᵀ A Z
        }
    }

    fn is_symmetric(&self) -> bool {
        self.combination.keeps_symmetry() && self.one.is_symmetric()
    }

    fn coarse_dimension(&self) -> Option<usize> {
        Some(self.coarse.dimension())
    }

    fn name(&self) -> String {
        format!(
            "{} + {} coarse space ({}, dimension {}, set-up {:.3} s)",
            self.one.name(),
            self.coarse.name(),
            self.combination.name(),
            self.coarse.dimension(),
            self.coarse.setup_seconds()
        )
    }
}
