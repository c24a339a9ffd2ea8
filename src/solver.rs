//! Solver configuration: one serde struct whose keys are the same in the TOML presets of
//! `solvers/`, on the command line and in the library builder, so an embedding program builds
//! exactly the solver a preset describes.

use crate::comm::Comm;
use crate::dd::{
    geneo_basis, Combination, GeneoBasis, GeneoOptions, Schwarz, SchwarzVariant, SubdomainSplit, TwoLevel,
};
use crate::error::{Error, Result};
use crate::krylov::{bicgstab, cg, fgmres, gmres, SolveStats, SolverOptions};
use crate::linalg::{DistMatrix, DistVector, Identity, Jacobi, LocalSolverKind, Preconditioner};
use std::path::{Path, PathBuf};

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

/// The Krylov method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KrylovKind {
    /// Preconditioned conjugate gradients (symmetric operator and preconditioner).
    Cg,
    /// Restarted GMRES with right preconditioning.
    Gmres,
    /// Flexible GMRES (the preconditioner may vary between iterations).
    Fgmres,
    /// BiCGStab.
    Bicgstab,
}

/// The preconditioner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PcKind {
    /// None.
    None,
    /// Point Jacobi.
    Jacobi,
    /// Additive Schwarz (symmetric).
    Asm,
    /// Restricted additive Schwarz (not symmetric: use GMRES / FGMRES / BiCGStab).
    Ras,
    /// Multiplicative Schwarz, one sweep over the subdomain colours (not symmetric: use GMRES /
    /// FGMRES / BiCGStab).
    Multiplicative,
    /// Symmetric multiplicative Schwarz, forward then backward over the colours (symmetric).
    SymmetricMultiplicative,
}

/// The coarse space of a two-level Schwarz preconditioner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CoarseKind {
    /// One level only.
    None,
    /// Nicolaides: per subdomain the partition of unity (the constants, weighted).
    Nicolaides,
    /// GenEO: per subdomain the low eigenvectors of the local Neumann matrix against the
    /// PoU-weighted Dirichlet matrix. The Neumann matrices come from the elements of a
    /// finite-element discretization ([`SolverConfig::build_pc_with`]) or, without them, from the
    /// algebraic splitting of a symmetric, weakly diagonally dominant matrix (FD, or any such
    /// matrix; [`crate::dd::algebraic_neumann`]).
    Geneo,
    /// GDSW: per interface component one function, constant on it and discrete harmonic inside.
    Gdsw,
}

impl CoarseKind {
    /// The name used in configuration files and reports.
    pub fn name(self) -> &'static str {
        match self {
            CoarseKind::None => "none",
            CoarseKind::Nicolaides => "nicolaides",
            CoarseKind::Geneo => "geneo",
            CoarseKind::Gdsw => "gdsw",
        }
    }
}

/// A complete solver description (the keys of a `solvers/*.toml` preset).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SolverConfig {
    /// Krylov method.
    pub krylov: KrylovKind,
    /// Preconditioner.
    pub pc: PcKind,
    /// Relative residual tolerance.
    pub rtol: f64,
    /// Absolute residual tolerance.
    pub atol: f64,
    /// Iteration cap.
    pub max_iter: usize,
    /// GMRES restart length.
    pub restart: usize,
    /// Schwarz overlap in layers of the matrix graph (≥ 0).
    pub overlap: usize,
    /// Schwarz subdomains on each rank.
    pub subdomains_per_rank: usize,
    /// Schwarz local solver: cholesky, lu, ic0 or ilu0.
    pub local_solver: LocalSolverKind,
    /// How each rank's rows are split into subdomains: metis or contiguous.
    pub subdomain_split: SubdomainSplit,
    /// Coarse space of a two-level Schwarz method: none, nicolaides, geneo or gdsw (needs a Schwarz
    /// `pc`).
    pub coarse: CoarseKind,
    /// GenEO: keep the eigenvectors with eigenvalue below this threshold τ (when `geneo-nev` is
    /// 0). Default 0.5: on 2D P1 Poisson with 16² cells per subdomain it keeps the iteration
    /// count within 1.2× from 4 to 256 subdomains (16 → 19; τ = 0.1 gives 23 → 49 with a third
    /// of the coarse dimension).
    pub geneo_threshold: f64,
    /// GenEO: keep this many eigenvectors per subdomain instead (0: use the threshold).
    pub geneo_nev: usize,
    /// How the coarse correction joins the one-level part: additive, a-def1, a-def2 or balanced
    /// (only additive and balanced are symmetric, i.e. valid under CG).
    pub coarse_combination: Combination,
    /// Keep the residual norm of every iteration in the solve statistics (and so in a report).
    pub record_history: bool,
}

impl Default for SolverConfig {
    fn default() -> Self {
        let o = SolverOptions::default();
        SolverConfig {
            krylov: KrylovKind::Cg,
            pc: PcKind::Jacobi,
            rtol: o.rtol,
            atol: o.atol,
            max_iter: o.max_iter,
            restart: o.restart,
            overlap: 1,
            subdomains_per_rank: 1,
            local_solver: LocalSolverKind::Cholesky,
            subdomain_split: SubdomainSplit::Metis,
            coarse: CoarseKind::None,
            coarse_combination: Combination::Balanced,
            geneo_threshold: 0.5,
            geneo_nev: 0,
            record_history: true,
        }
    }
}

/// Where named presets are looked up: `./solvers`, then the source tree's `solvers/`.
fn preset_dirs() -> Vec<PathBuf> {
    vec![
        PathBuf::from("solvers"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("solvers"),
    ]
}

impl SolverConfig {
    /// Loads a preset by name (`cg-jacobi`, looked up in `solvers/`) or by path (anything with
    /// a `/` or ending in `.toml`). Keys missing from the file keep their defaults.
    pub fn load(name_or_path: &str) -> Result<SolverConfig> {
        let path = if name_or_path.contains('/') || name_or_path.ends_with(".toml") {
            PathBuf::from(name_or_path)
        } else {
            let found = preset_dirs()
                .into_iter()
                .map(|d| d.join(format!("{name_or_path}.toml")))
                .find(|p| p.exists());
            found.ok_or_else(|| {
                Error::Config(format!(
                    "unknown solver preset '{name_or_path}' (presets: {})",
                    Self::preset_names().join(", ")
                ))
            })?
        };
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        Self::from_toml(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    /// Parses TOML text (unknown keys are errors) over the defaults.
    pub fn from_toml(text: &str) -> std::result::Result<SolverConfig, String> {
        let mut table: toml::Table = toml::from_str(text).map_err(|e| e.message().to_string())?;
        let defaults = toml::Table::try_from(SolverConfig::default()).map_err(|e| e.to_string())?;
        for (k, v) in defaults {
            table.entry(k).or_insert(v);
        }
        let cfg: SolverConfig = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| e.message().to_string())?;
        cfg.validate().map_err(|e| e.to_string())?;
        Ok(cfg)
    }

    /// Names of the presets found.
    pub fn preset_names() -> Vec<String> {
        let mut names: Vec<String> = preset_dirs()
            .iter()
            .filter_map(|d| std::fs::read_dir(d).ok())
            .flatten()
            .filter_map(|e| e.ok()?.path().file_stem().map(|s| s.to_string_lossy().into_owned()))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The Krylov options.
    pub fn options(&self) -> SolverOptions {
        SolverOptions {
            rtol: self.rtol,
            atol: self.atol,
            max_iter: self.max_iter,
            restart: self.restart,
            record_history: self.record_history,
        }
    }

    /// Checks every key's value before any set-up work: the Krylov options and the GenEO
    /// threshold (NaN or infinite values are refused, whether they came from a flag or TOML).
    pub fn validate(&self) -> Result<()> {
        self.options().validate()?;
        if !(self.geneo_threshold > 0.0 && self.geneo_threshold.is_finite()) {
            return Err(Error::Config(format!(
                "geneo-threshold must be positive and finite, got {}",
                self.geneo_threshold
            )));
        }
        Ok(())
    }

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
        let schwarz = |v| {
            Schwarz::new(
                comm,
                a,
                v,
                self.overlap,
                self.subdomains_per_rank,
                self.subdomain_split,
                self.local_solver,
            )
        };
        let variant = match self.pc {
            PcKind::None | PcKind::Jacobi if self.coarse != CoarseKind::None => {
                return Err(Error::Config(format!(
                    "coarse = {} needs a Schwarz preconditioner (pc = asm, ras, multiplicative or \
                     symmetric-multiplicative), not pc = {}",
                    self.coarse.name(),
                    format!("{:?}", self.pc).to_lowercase()
                )))
            }
            PcKind::None => return Ok(Box::new(Identity)),
            PcKind::Jacobi => return Ok(Box::new(Jacobi::new(a))),
            PcKind::Asm => SchwarzVariant::Asm,
            PcKind::Ras => SchwarzVariant::Ras,
            PcKind::Multiplicative => SchwarzVariant::Multiplicative,
            PcKind::SymmetricMultiplicative => SchwarzVariant::SymmetricMultiplicative,
        };
        let mut one = schwarz(variant)?;
        Ok(match self.coarse {
            CoarseKind::None => Box::new(one),
            CoarseKind::Nicolaides => Box::new(TwoLevel::nicolaides(comm, a, one, self.coarse_combination)?),
            CoarseKind::Gdsw => Box::new(TwoLevel::gdsw(comm, a, one, self.coarse_combination)?),
            CoarseKind::Geneo => {
                // The discretization's element matrices when it has them; otherwise the
                // algebraic splitting of a diagonally dominant `a` (FD, embedded matrices).
                let source = match neumann {
                    Some(neumann) => {
                        one.attach_neumann(comm, neumann)?;
                        "element Neumann matrices"
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
                        "algebraic Neumann matrices"
                    }
                };
                let (bases, name) = self.geneo_bases(comm, &one, source)?;
                Box::new(TwoLevel::with_basis(
                    comm,
                    a,
                    one,
                    bases,
                    &name,
                    self.coarse_combination,
                )?)
            }
        })
    }

    /// Collective: the GenEO vectors of every subdomain of `one`, and a name for reports with the
    /// Neumann matrices' `source`, the vectors kept per subdomain (fewest, most, total) and the
    /// largest eigen-residual.
    fn geneo_bases(&self, comm: &Comm, one: &Schwarz, source: &str) -> Result<(Vec<Vec<Vec<f64>>>, String)> {
        self.validate()?;
        let opts = GeneoOptions {
            nev: (self.geneo_nev > 0).then_some(self.geneo_nev),
            threshold: (self.geneo_nev == 0).then_some(self.geneo_threshold),
            ..GeneoOptions::default()
        };
        let bases: Result<Vec<GeneoBasis>> = one
            .decomposition()
            .subdomains
            .iter()
            .map(|s| geneo_basis(s, &opts))
            .collect();
        let bases = comm.agree(bases)?;
        let kept: Vec<u64> = bases.iter().map(|b| b.vectors.len() as u64).collect();
        let residual = bases
            .iter()
            .flat_map(|b| b.residuals.iter().copied())
            .fold(0.0, f64::max);
        let name = format!(
            "geneo ({source}; {} to {} vectors per subdomain, {} in all; eigen-residuals <= {:.1e})",
            -comm.max_f64(-(kept.iter().copied().min().unwrap_or(0) as f64)),
            comm.max_f64(kept.iter().copied().max().unwrap_or(0) as f64),
            comm.sum_u64(kept.iter().sum()),
            comm.max_f64(residual)
        );
        Ok((bases.into_iter().map(|b| b.vectors).collect(), name))
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
        match self.krylov {
            KrylovKind::Cg => cg(comm, a, pc, b, x, &opts),
            KrylovKind::Gmres => gmres(comm, a, pc, b, x, &opts),
            KrylovKind::Fgmres => fgmres(comm, a, pc, b, x, &opts),
            KrylovKind::Bicgstab => bicgstab(comm, a, pc, b, x, &opts),
        }
    }
}

/// A solver reused by every step of a time loop: the preconditioner is built once for a fixed
/// matrix, and iterations and time are accumulated for the run's report.
pub struct StepSolver {
    config: SolverConfig,
    pc: Box<dyn Preconditioner>,
    /// Krylov iterations over all solves.
    pub iterations: u64,
    /// Seconds spent solving.
    pub seconds: f64,
}

impl StepSolver {
    /// Collective: builds the preconditioner for `a`; CG with a non-symmetric preconditioner is
    /// refused here, once, rather than at every step.
    pub fn new(comm: &Comm, config: &SolverConfig, a: &DistMatrix) -> Result<StepSolver> {
        let pc = config.build_pc(comm, a)?;
        if config.krylov == KrylovKind::Cg && !pc.is_symmetric() {
            return Err(Error::Config(format!(
                "CG needs a symmetric preconditioner, but '{}' is not",
                pc.name()
            )));
        }
        Ok(StepSolver {
            config: config.clone(),
            pc,
            iterations: 0,
            seconds: 0.0,
        })
    }

    /// Collective: solves `a x = b` from the current `x`. A solve that does not converge is an
    /// [`Error::Solve`]; convergence is decided on reduced norms, so every rank returns the same.
    pub fn solve(&mut self, comm: &Comm, a: &DistMatrix, b: &DistVector, x: &mut DistVector) -> Result<()> {
        let start = std::time::Instant::now();
        let stats = self.config.solve(comm, a, self.pc.as_mut(), b, x);
        self.seconds += start.elapsed().as_secs_f64();
        let stats = stats?;
        self.iterations += stats.iterations as u64;
        stats.ensure_converged().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_loads_and_the_multiplicative_presets_say_what_they_are() {
        let names = SolverConfig::preset_names();
        for name in &names {
            SolverConfig::load(name).unwrap_or_else(|e| panic!("preset {name}: {e}"));
        }
        let msm = SolverConfig::load("gmres-msm").expect("gmres-msm");
        assert_eq!((msm.krylov, msm.pc), (KrylovKind::Gmres, PcKind::Multiplicative));
        let ssm = SolverConfig::load("cg-ssm").expect("cg-ssm");
        assert_eq!((ssm.krylov, ssm.pc), (KrylovKind::Cg, PcKind::SymmetricMultiplicative));
    }

    #[test]
    fn preconditioner_names_are_kebab_case() {
        for (text, pc) in [
            ("asm", PcKind::Asm),
            ("multiplicative", PcKind::Multiplicative),
            ("symmetric-multiplicative", PcKind::SymmetricMultiplicative),
        ] {
            let cfg = SolverConfig::from_toml(&format!("pc = \"{text}\"")).expect(text);
            assert_eq!(cfg.pc, pc);
        }
        assert!(SolverConfig::from_toml("pc = \"symmetric_multiplicative\"").is_err());
    }

    #[test]
    fn coarse_keys_default_to_one_level_and_parse_in_kebab_case() {
        let d = SolverConfig::from_toml("").expect("defaults");
        assert_eq!(
            (d.coarse, d.coarse_combination),
            (CoarseKind::None, Combination::Balanced)
        );
        for (text, c) in [
            ("additive", Combination::Additive),
            ("a-def1", Combination::ADef1),
            ("a-def2", Combination::ADef2),
            ("balanced", Combination::Balanced),
        ] {
            let cfg = SolverConfig::from_toml(&format!("coarse = \"nicolaides\"\ncoarse-combination = \"{text}\""))
                .expect(text);
            assert_eq!((cfg.coarse, cfg.coarse_combination), (CoarseKind::Nicolaides, c));
            assert_eq!(c.name(), text);
        }
        assert!(SolverConfig::from_toml("coarse-combination = \"adef1\"").is_err());
        let p = SolverConfig::load("cg-nicolaides").expect("cg-nicolaides");
        assert_eq!((p.krylov, p.coarse), (KrylovKind::Cg, CoarseKind::Nicolaides));
        assert!(p.coarse_combination.keeps_symmetry());
    }
}
