//! Linear solvers from a configuration: building the preconditioner a [`SolverConfig`] describes,
//! dispatching its Krylov solve, and the solver layer ([`LinearSolver`], [`SolverConfig::build`]) that drivers and time loops hold. The configuration itself is
//! one nested tree ([`config`]), read from the presets of `solvers/` ([`presets`]) and changed
//! by `--set`, a run's `[solver]` table, the flat flags of old or in code ([`overrides`]), so an
//! embedding program builds exactly the solver a preset describes.

pub mod config;
mod feti;
mod linear;
pub mod overrides;
pub mod presets;

pub use feti::FetiSolver;
pub use linear::{KrylovSolver, LinearSolver, SolverInputs, SolverTimings, SubstructuresFn};

pub use config::{
    CoarseConfig, CoarseKind, Family, FetiConfig, GeneoConfig, KeyDoc, KrylovConfig, KrylovKind, LocalConfig, PcConfig,
    PcKind, SolverConfig,
};
pub use overrides::{Overrides, Setting, FLAT_KEYS};

use crate::comm::Comm;
use crate::dd::{geneo_bases, CoarseSpace, GeneoOptions, Schwarz, SchwarzVariant, TwoLevel};
use crate::error::{Error, Result};
use crate::krylov::{bicgstab, cg, fgmres, gmres, SolveStats};
use crate::linalg::{DistMatrix, DistVector, Identity, Jacobi, Preconditioner};

/// A source of subdomain Neumann matrices: rows (global ids, ascending) → the unassembled
/// matrix in their order.
pub type NeumannFn<'a> = &'a dyn Fn(&[u64]) -> Result<crate::linalg::Csr>;

/// The message of `e` without the `config:` prefix its display adds (also when it came from
/// another rank), for wrapping it in a longer configuration error.
fn config_message(e: &Error) -> String {
    match e {
        Error::Config(m) => m.clone(),
        Error::Remote { rank, msg } => format!("{} (on rank {rank})", msg.strip_prefix("config: ").unwrap_or(msg)),
        e => e.to_string(),
    }
}

impl SolverConfig {
    /// Collective: builds the preconditioner for `a` (set-up, done once; reused by every solve).
    pub fn build_pc(&self, comm: &Comm, a: &DistMatrix) -> Result<Box<dyn Preconditioner>> {
        self.build_pc_with(comm, a, None)
    }

    /// Collective: [`SolverConfig::build_pc`] for a discretization that can also give each
    /// subdomain its unassembled (Neumann) matrix from its rows, e.g.
    /// [`crate::fem::SubdomainNeumann::matrix`], for the GenEO coarse space. Without it GenEO
    /// splits `a` algebraically ([`crate::dd::algebraic_neumann`]), which needs `a` symmetric and
    /// weakly diagonally dominant and is refused with one [`Error::Config`] on every rank
    /// otherwise.
    pub fn build_pc_with(
        &self,
        comm: &Comm,
        a: &DistMatrix,
        neumann: Option<NeumannFn>,
    ) -> Result<Box<dyn Preconditioner>> {
        let variant = match self.pc.kind {
            PcKind::None | PcKind::Jacobi if self.pc.coarse.space != CoarseKind::None => {
                return Err(Error::Config(format!(
                    "coarse = {} needs a Schwarz preconditioner (pc = asm, ras, multiplicative or \
                     symmetric-multiplicative), not pc = {}",
                    self.pc.coarse.space.name(),
                    format!("{:?}", self.pc.kind).to_lowercase()
                )))
            }
            PcKind::None => return Ok(Box::new(Identity)),
            PcKind::Jacobi => return Ok(Box::new(Jacobi::new(a))),
            PcKind::Asm => SchwarzVariant::Asm,
            PcKind::Ras => SchwarzVariant::Ras,
            PcKind::Multiplicative => SchwarzVariant::Multiplicative,
            PcKind::SymmetricMultiplicative => SchwarzVariant::SymmetricMultiplicative,
        };
        let one = Schwarz::new(
            comm,
            a,
            variant,
            self.pc.overlap,
            self.pc.subdomains_per_rank,
            self.pc.subdomain_split,
            self.pc.local.solver,
        )?;
        Ok(match self.pc.coarse.space {
            CoarseKind::None => Box::new(one),
            CoarseKind::Nicolaides => Box::new(TwoLevel::nicolaides(comm, a, one, self.pc.coarse.combination)?),
            CoarseKind::Gdsw => self.gdsw_pc(comm, a, one)?,
            CoarseKind::Geneo => self.geneo_pc(comm, a, one, neumann)?,
        })
    }

    /// Collective: the one-level preconditioner `one` with the GDSW coarse space.
    fn gdsw_pc(&self, comm: &Comm, a: &DistMatrix, one: Schwarz) -> Result<Box<dyn Preconditioner>> {
        let two = TwoLevel::gdsw(comm, a, one, self.pc.coarse.combination)?;
        Ok(Box::new(match self.pc.coarse.update_basis {
            // The GDSW functions are extensions by the updated subdomain matrices.
            true => two.rebuild_on_update(Box::new(|comm: &Comm, a: &DistMatrix, one: &mut Schwarz| {
                CoarseSpace::gdsw(comm, a, one.decomposition())
            })),
            false => two,
        }))
    }

    /// Collective: the one-level preconditioner `one` with the GenEO coarse space, from the
    /// `neumann` matrices when given.
    fn geneo_pc(
        &self,
        comm: &Comm,
        a: &DistMatrix,
        mut one: Schwarz,
        neumann: Option<NeumannFn>,
    ) -> Result<Box<dyn Preconditioner>> {
        let source = attach_neumann(comm, a, &mut one, neumann)?;
        let opts = self.geneo_options()?;
        let (bases, name) = geneo_bases(comm, one.decomposition(), &opts, source)?;
        let two = TwoLevel::with_basis(comm, a, one, bases, &name, self.pc.coarse.combination)?;
        Ok(match (self.pc.coarse.update_basis, neumann.is_some()) {
            (true, false) => Box::new(two.rebuild_on_update(Box::new(
                move |comm: &Comm, a: &DistMatrix, one: &mut Schwarz| {
                    one.attach_algebraic_neumann(comm, a)?; // the splitting of the new values
                    let (bases, name) = geneo_bases(comm, one.decomposition(), &opts, source)?;
                    CoarseSpace::new(comm, a, one.decomposition(), bases, &name)
                },
            ))),
            (true, true) => {
                if comm.is_root() {
                    tracing::warn!(
                        "pc.coarse.update-basis: the element Neumann matrices come from the \
                         discretization, which an update does not see; the GenEO basis is kept"
                    );
                }
                Box::new(two)
            }
            (false, _) => Box::new(two),
        })
    }

    /// The GenEO options of this configuration (validated).
    fn geneo_options(&self) -> Result<GeneoOptions> {
        self.validate()?;
        let geneo = &self.pc.coarse.geneo;
        Ok(GeneoOptions {
            nev: (geneo.nev > 0).then_some(geneo.nev),
            threshold: (geneo.nev == 0).then_some(geneo.threshold),
            ..GeneoOptions::default()
        })
    }

    /// Collective: solves `a x = b` with the configured method (x holds the initial guess).
    pub fn solve(
        &self,
        comm: &Comm,
        a: &DistMatrix,
        pc: &mut dyn Preconditioner,
        b: &DistVector,
        x: &mut DistVector,
    ) -> Result<SolveStats> {
        let opts = self.options();
        opts.validate()?;
        match self.krylov.method {
            KrylovKind::Cg => cg(comm, a, pc, b, x, &opts),
            KrylovKind::Gmres => gmres(comm, a, pc, b, x, &opts),
            KrylovKind::Fgmres => fgmres(comm, a, pc, b, x, &opts),
            KrylovKind::Bicgstab => bicgstab(comm, a, pc, b, x, &opts),
        }
    }
}

/// Collective: gives GenEO's subdomains their Neumann matrices and names where they came from:
/// the discretization's element matrices when it has them; otherwise the algebraic splitting of
/// a diagonally dominant `a` (FD, embedded matrices).
fn attach_neumann(comm: &Comm, a: &DistMatrix, one: &mut Schwarz, neumann: Option<NeumannFn>) -> Result<&'static str> {
    match neumann {
        Some(neumann) => {
            one.attach_neumann(comm, neumann)?;
            Ok("element Neumann matrices")
        }
        None => {
            one.attach_algebraic_neumann(comm, a).map_err(|e| {
                Error::Config(format!(
                    "coarse = geneo needs the subdomains' Neumann matrices: from a \
                     finite-element discretization (--discretization p1 or p2 in ddkit \
                     poisson) or split algebraically from a symmetric, weakly diagonally \
                     dominant matrix, but {}",
                    config_message(&e)
                ))
            })?;
            Ok("algebraic Neumann matrices")
        }
    }
}
