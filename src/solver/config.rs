//! The solver configuration tree: a table per component (Krylov method, preconditioner, local
//! solver, coarse space), each key declared once below with its help text (its rustdoc) and its
//! default. The same tree is read from the presets of `solvers/`, from a run's `[solver]` table,
//! from `--set solver.a.b=v` ([`super::overrides`]) and set in code ([`SolverConfig::set`]).

use crate::dd::{Combination, FetiMethod, FetiPreconditioner, FetiScaling, SubdomainSplit};
use crate::error::{Error, Result};
use crate::krylov::SolverOptions;
use crate::linalg::LocalSolverKind;

/// What a key of the tree holds: a value, or a table of further keys.
#[derive(Clone, Copy)]
pub enum Schema {
    /// A value (number, flag, name).
    Leaf,
    /// A table: its keys.
    Table(fn() -> Vec<Key>),
}

/// One key of a table of the tree, as declared: the one place its name, help and default live.
#[derive(Clone)]
pub struct Key {
    /// The TOML name (kebab-case).
    pub name: String,
    /// The help text: the rustdoc of its declaration.
    pub help: String,
    /// The default value (a table for a table).
    pub default: toml::Value,
    /// Whether it is a value or a table, with the table's keys.
    pub schema: Schema,
    /// For a name (an enum), the names it accepts.
    pub choices: Vec<String>,
}

/// A type that can stand in the tree: a table declared with `config_table!`, or a value.
pub trait Node {
    /// Its shape in the tree.
    fn schema() -> Schema;
}

macro_rules! leaves {
    ($($t:ty),*) => { $( impl Node for $t { fn schema() -> Schema { Schema::Leaf } } )* };
}
leaves!(
    f64,
    usize,
    bool,
    Family,
    KrylovKind,
    PcKind,
    CoarseKind,
    LocalSolverKind,
    SubdomainSplit,
    Combination,
    FetiMethod,
    FetiPreconditioner,
    FetiScaling
);

/// Declares one table of the tree from one line per key (doc comment = help text, field, an
/// optional TOML name in parentheses, type, optional default; a table's default is its own):
/// the struct (missing keys take their defaults, unknown keys are refused, names in kebab-case),
/// its `Default` and its key list, so the three cannot drift apart.
macro_rules! config_table {
    (
        $(#[doc = $sdoc:literal])+
        pub struct $name:ident {
            $( $(#[doc = $doc:literal])+ $field:ident $(($key:literal))? : $ty:ty $(= $default:expr)? ),* $(,)?
        }
    ) => {
        $(#[doc = $sdoc])+
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
        pub struct $name {
            $( $(#[doc = $doc])+ $(#[serde(rename = $key)])? pub $field: $ty, )*
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $( $field: config_table!(@default $($default)?), )* }
            }
        }

        impl Node for $name {
            fn schema() -> Schema {
                Schema::Table($name::keys)
            }
        }

        impl $name {
            /// The keys of this table in declaration order, with their help and defaults.
            pub fn keys() -> Vec<Key> {
                let d = $name::default();
                vec![$(Key {
                    name: config_table!(@name $field $($key)?),
                    help: help_text(&[$($doc),+]),
                    default: toml::Value::try_from(&d.$field).unwrap_or_else(|e| {
                        panic!("the default of {} does not serialize: {e}", stringify!($field))
                    }),
                    schema: <$ty as Node>::schema(),
                    choices: choices::<$ty>(),
                }),*]
            }
        }
    };
    (@default) => { Default::default() };
    (@default $e:expr) => { $e };
    (@name $field:ident) => { stringify!($field).replace('_', "-") };
    (@name $field:ident $key:literal) => { $key.to_string() };
}

/// The doc lines of a declaration as one line of help.
fn help_text(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The names an enum accepts, read from serde's own refusal of a name it cannot have (empty for
/// anything else): the enums keep their serde attributes as the one spelling of their names.
fn choices<T: serde::de::DeserializeOwned>() -> Vec<String> {
    use serde::de::value::{Error as E, StrDeserializer};
    let Err(e) = T::deserialize(StrDeserializer::<E>::new("\u{1}")) else {
        return Vec::new();
    };
    let msg = e.to_string();
    match msg
        .strip_prefix("unknown variant")
        .and_then(|m| m.split_once("expected"))
    {
        Some((_, list)) => list.split('`').skip(1).step_by(2).map(str::to_string).collect(),
        None => Vec::new(),
    }
}

/// The solver family: which kind of method the tree describes, and so which tables apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// A Krylov method on the assembled system with a preconditioner (`[krylov]`, `[pc]`).
    Krylov,
    /// Substructuring (`[feti]`): FETI-1 or FETI-DP (the dual interface problem by CG) or BDDC
    /// (CG on the assembled system); `krylov.rtol` / `max-iter` stop the CG,
    /// `pc.subdomains-per-rank` sets the subdomains.
    Feti,
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

config_table! {
    /// A complete solver description: the tree of a `solvers/*.toml` preset, of a run's
    /// `[solver]` table and of `--set solver.…`.
    pub struct SolverConfig {
        /// Solver family: krylov (a Krylov method on the assembled system, preconditioned) or
        /// feti (FETI-1, FETI-DP or BDDC on element subdomains).
        family: Family = Family::Krylov,
        /// The Krylov method and its stopping test.
        krylov: KrylovConfig,
        /// The preconditioner.
        pc: PcConfig,
        /// FETI's options (family = feti).
        feti: FetiConfig,
    }
}

config_table! {
    /// The options of the FETI family.
    pub struct FetiConfig {
        /// Method: feti-1 (whole subdomains torn off, the floating ones' kernels as coarse space),
        /// feti-dp (vertices and interface averages kept primal as coarse space) or bddc (CG on
        /// the assembled system, preconditioned with FETI-DP's primal set and local solves).
        method: FetiMethod = FetiMethod::Feti1,
        /// FETI-DP: an average constraint on every interface edge (2D) and edge and face (3D)
        /// besides the vertices; false keeps averages only where a subdomain would float.
        averages: bool = true,
        /// Preconditioner of the dual problem: dirichlet (interface Schur complements), lumped
        /// (the Neumann matrices) or none.
        preconditioner: FetiPreconditioner = FetiPreconditioner::Dirichlet,
        /// Weights of the jumps in the preconditioner: stiffness (ρ-scaling by the diagonal
        /// stiffness, robust to coefficient jumps across subdomains), deluxe (per-glob matrix
        /// weights from the subdomains' Schur complements, also robust to coefficients varying
        /// along an interface; Dirichlet preconditioner or BDDC) or multiplicity.
        scaling: FetiScaling = FetiScaling::Stiffness,
        /// Deluxe scaling: 0 eliminates a subdomain's whole interior in its glob Schur
        /// complements (exact deluxe); k > 0 only the interior rows within k couplings of the
        /// glob (economic deluxe: a small factorization per glob instead of an interior solve
        /// per glob row).
        deluxe_layers: usize = 0,
        /// A pivot at most this times the largest diagonal entry of a subdomain's Neumann matrix
        /// is taken as zero (its kernel, found numerically).
        pivot_tol: f64 = crate::linalg::DEFAULT_PIVOT_TOL,
    }
}

config_table! {
    /// The Krylov method and its stopping test.
    pub struct KrylovConfig {
        /// Krylov method.
        method: KrylovKind = KrylovKind::Cg,
        /// Relative tolerance: stop when ‖b − Ax‖ ≤ max(rtol ‖b‖, atol).
        rtol: f64 = SolverOptions::default().rtol,
        /// Absolute tolerance of the stopping test.
        atol: f64 = SolverOptions::default().atol,
        /// Iteration cap.
        max_iter: usize = SolverOptions::default().max_iter,
        /// GMRES / FGMRES restart length (capped at max-iter and the problem size).
        restart: usize = SolverOptions::default().restart,
        /// Keep the residual norm of every iteration in the solve statistics (and the report).
        record_history: bool = true,
    }
}

config_table! {
    /// The preconditioner: its kind and, for Schwarz, the subdomains, local solver and coarse
    /// space.
    pub struct PcConfig {
        /// Preconditioner (RAS and multiplicative are not symmetric: not with CG).
        kind("type"): PcKind = PcKind::Jacobi,
        /// Schwarz overlap in layers of the matrix graph (grown across ranks).
        overlap: usize = 1,
        /// Schwarz subdomains on each rank.
        subdomains_per_rank: usize = 1,
        /// How each rank's rows are split into Schwarz subdomains.
        subdomain_split: SubdomainSplit = SubdomainSplit::Metis,
        /// The solver of each Schwarz subdomain.
        local: LocalConfig,
        /// The coarse space of two-level Schwarz.
        coarse: CoarseConfig,
    }
}

config_table! {
    /// The solver of each Schwarz subdomain.
    pub struct LocalConfig {
        /// Local factorization: exact (cholesky, lu) or incomplete (ic0, ilu0).
        solver: LocalSolverKind = LocalSolverKind::Cholesky,
    }
}

config_table! {
    /// The coarse space of a two-level Schwarz preconditioner (needs a Schwarz `pc.type`).
    pub struct CoarseConfig {
        /// Coarse space (none: one level).
        space: CoarseKind = CoarseKind::None,
        /// How the coarse correction joins the one-level part (only additive and balanced are
        /// symmetric, for CG).
        combination: Combination = Combination::Balanced,
        /// On a numeric update (new matrix values, same pattern), recompute the coarse basis from
        /// the new values — the GDSW functions, or GenEO's eigenvectors on the algebraic
        /// splitting — instead of keeping it (keeping is exact for Nicolaides and an
        /// approximation otherwise).
        update_basis: bool = false,
        /// The GenEO eigenvectors kept per subdomain.
        geneo: GeneoConfig,
    }
}

config_table! {
    /// How many GenEO eigenvectors each subdomain keeps.
    pub struct GeneoConfig {
        /// Keep the eigenvectors with eigenvalue below this τ > 0 (when nev is 0). 0.5 keeps
        /// 2D P1 Poisson with 16² cells per subdomain within 1.2× in iterations from 4 to 256
        /// subdomains (16 → 19; τ = 0.1 gives 23 → 49 with a third of the coarse dimension).
        threshold: f64 = 0.5,
        /// Keep this many eigenvectors per subdomain instead (0: use the threshold).
        nev: usize = 0,
    }
}

/// One value of the tree, flattened for listings: its dotted path, default, accepted names
/// and help.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyDoc {
    /// Dotted path below the solver's root, e.g. `pc.overlap`.
    pub path: String,
    /// The default.
    pub default: toml::Value,
    /// For a name, the names it accepts.
    pub choices: Vec<String>,
    /// What it is for.
    pub help: String,
}

impl KeyDoc {
    /// The default as TOML text, small and large numbers in exponent form (`1e-8`, not
    /// `0.00000001`).
    pub fn default_text(&self) -> String {
        match self.default {
            toml::Value::Float(x) if x != 0.0 && !(1e-3..1e6).contains(&x.abs()) => format!("{x:e}"),
            ref v => v.to_string(),
        }
    }

    /// The first sentence of the help, for one-line listings.
    pub fn summary(&self) -> &str {
        match self.help.find(". ") {
            Some(end) => &self.help[..=end],
            None => &self.help,
        }
    }
}

impl SolverConfig {
    /// Every value of the tree in declaration order (for `--list-keys` and the README table).
    pub fn key_docs() -> Vec<KeyDoc> {
        fn walk(prefix: &str, keys: Vec<Key>, out: &mut Vec<KeyDoc>) {
            for k in keys {
                let path = if prefix.is_empty() {
                    k.name.clone()
                } else {
                    format!("{prefix}.{}", k.name)
                };
                match k.schema {
                    Schema::Table(sub) => walk(&path, sub(), out),
                    Schema::Leaf => out.push(KeyDoc {
                        path,
                        default: k.default,
                        choices: k.choices,
                        help: k.help,
                    }),
                }
            }
        }
        let mut out = Vec::new();
        walk("", SolverConfig::keys(), &mut out);
        out
    }

    /// The Krylov options.
    pub fn options(&self) -> SolverOptions {
        let k = &self.krylov;
        SolverOptions {
            rtol: k.rtol,
            atol: k.atol,
            max_iter: k.max_iter,
            restart: k.restart,
            record_history: k.record_history,
        }
    }

    /// Checks every key's value before any set-up work: the Krylov options and the GenEO
    /// threshold (NaN or infinite values are refused, whether they came from a flag or TOML).
    pub fn validate(&self) -> Result<()> {
        self.options().validate()?;
        let pt = self.feti.pivot_tol;
        if !(pt > 0.0 && pt < 1.0) {
            return Err(Error::Config(format!("feti.pivot-tol must lie in (0, 1), got {pt}")));
        }
        let tau = self.pc.coarse.geneo.threshold;
        if !(tau > 0.0 && tau.is_finite()) {
            return Err(Error::Config(format!(
                "geneo-threshold must be positive and finite (pc.coarse.geneo.threshold), got {tau}"
            )));
        }
        Ok(())
    }

    /// Why the key at `path` belongs to another solver family than this configuration's (an
    /// error where it is given, not a warning: the run would not be the one asked for), or
    /// `None`. FETI reads `feti.*`, `krylov.rtol`, `krylov.max-iter`, `krylov.record-history`,
    /// `pc.subdomains-per-rank` and `pc.subdomain-split` (how a matrix without elements is split);
    /// the Krylov family everything but `feti.*`.
    pub fn foreign_reason(&self, path: &str) -> Option<String> {
        let under = |p: &str| is_under(path, p);
        match self.family {
            Family::Krylov => under("feti")
                .then(|| "a key of the feti family, and this solver's family is krylov (set family = feti)".into()),
            Family::Feti => {
                let used = [
                    "family",
                    "krylov.rtol",
                    "krylov.max-iter",
                    "krylov.record-history",
                    "pc.subdomains-per-rank",
                    "pc.subdomain-split",
                    "feti",
                ];
                (!used.iter().any(|p| under(p))).then(|| {
                    "a key of the krylov family, and this solver's family is feti (which reads feti.*, \
                     krylov.rtol, krylov.max-iter, krylov.record-history, pc.subdomains-per-rank and \
                     pc.subdomain-split)"
                        .into()
                })
            }
        }
    }

    /// Why the key at `path` (dotted, below the solver's root) has no effect with these values,
    /// or `None` when it is used: `krylov.restart` under CG, Schwarz keys with Jacobi, GenEO keys
    /// without GenEO, and so on. A command warns about the keys it was given that have none.
    pub fn unused_reason(&self, path: &str) -> Option<String> {
        let under = |p: &str| is_under(path, p);
        let (krylov, pc, coarse) = (self.krylov.method, self.pc.kind, self.pc.coarse.space);
        let schwarz = !matches!(pc, PcKind::None | PcKind::Jacobi);
        if self.family == Family::Feti || under("feti") {
            return None; // keys of the other family are refused instead (foreign_reason)
        }
        let schwarz_keys = ["pc.overlap", "pc.subdomains-per-rank", "pc.subdomain-split", "pc.local"];
        if under("krylov.restart") && !matches!(krylov, KrylovKind::Gmres | KrylovKind::Fgmres) {
            Some(format!(
                "it applies to GMRES and FGMRES only (krylov = {})",
                lower(krylov)
            ))
        } else if schwarz_keys.iter().any(|p| under(p)) && !schwarz {
            Some(format!(
                "it applies to Schwarz preconditioners only (pc = {})",
                lower(pc)
            ))
        } else if under("pc.coarse.update-basis") && matches!(coarse, CoarseKind::None | CoarseKind::Nicolaides) {
            Some(format!(
                "the {} coarse space has no value-dependent basis to recompute",
                coarse.name()
            ))
        } else if under("pc.coarse.combination") && coarse == CoarseKind::None {
            Some("it applies to a coarse space only (coarse = none)".into())
        } else if under("pc.coarse.geneo") && coarse != CoarseKind::Geneo {
            Some(format!(
                "it applies to coarse = geneo only (coarse = {})",
                coarse.name()
            ))
        } else if under("pc.coarse.geneo.threshold") && self.pc.coarse.geneo.nev > 0 {
            Some(format!(
                "geneo-nev = {} fixes the number of vectors",
                self.pc.coarse.geneo.nev
            ))
        } else {
            None
        }
    }
}

/// Whether the dotted `path` is `prefix` or lies below it.
fn is_under(path: &str, prefix: &str) -> bool {
    path == prefix || path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('.'))
}

/// The lower-case name of an enum value as TOML spells it.
fn lower(v: impl std::fmt::Debug) -> String {
    format!("{v:?}").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_list_has_every_value_once_with_its_default_and_help() {
        let docs = SolverConfig::key_docs();
        let paths: Vec<&str> = docs.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "family",
                "krylov.method",
                "krylov.rtol",
                "krylov.atol",
                "krylov.max-iter",
                "krylov.restart",
                "krylov.record-history",
                "pc.type",
                "pc.overlap",
                "pc.subdomains-per-rank",
                "pc.subdomain-split",
                "pc.local.solver",
                "pc.coarse.space",
                "pc.coarse.combination",
                "pc.coarse.update-basis",
                "pc.coarse.geneo.threshold",
                "pc.coarse.geneo.nev",
                "feti.method",
                "feti.averages",
                "feti.preconditioner",
                "feti.scaling",
                "feti.deluxe-layers",
                "feti.pivot-tol",
            ]
        );
        assert!(docs.iter().all(|d| !d.help.is_empty()));
        let get = |p: &str| docs.iter().find(|d| d.path == p).expect(p);
        assert_eq!(get("pc.type").default.to_string(), "\"jacobi\"");
        assert_eq!(get("krylov.max-iter").default.to_string(), "10000");
        assert_eq!(get("pc.coarse.geneo.threshold").default_text(), "0.5");
        assert_eq!(get("krylov.rtol").default_text(), "1e-8");
        assert_eq!(get("krylov.atol").default_text(), "1e-50");
        assert!(get("pc.coarse.geneo.threshold").summary().ends_with("(when nev is 0)."));
        assert_eq!(get("krylov.method").choices, ["cg", "gmres", "fgmres", "bicgstab"]);
        assert_eq!(
            get("pc.coarse.combination").choices,
            ["additive", "a-def1", "a-def2", "balanced"]
        );
        assert_eq!(get("family").choices, ["krylov", "feti"]);
        assert_eq!(get("feti.method").choices, ["feti-1", "feti-dp", "bddc"]);
        assert!(get("pc.overlap").choices.is_empty());
    }

    #[test]
    fn defaults_serialize_as_the_nested_tree() {
        let t = toml::Table::try_from(SolverConfig::default()).expect("serialize");
        assert_eq!(t["pc"]["type"].as_str(), Some("jacobi"));
        assert_eq!(t["pc"]["coarse"]["geneo"]["nev"].as_integer(), Some(0));
        assert_eq!(t["krylov"]["record-history"].as_bool(), Some(true));
        let back: SolverConfig = toml::Value::Table(t).try_into().expect("deserialize");
        assert_eq!(back, SolverConfig::default());
    }

    #[test]
    fn unused_keys_are_named_by_path() {
        let mut c = SolverConfig::default();
        assert!(c
            .unused_reason("krylov.restart")
            .is_some_and(|r| r.contains("krylov = cg")));
        assert!(c
            .unused_reason("pc.local.solver")
            .is_some_and(|r| r.contains("pc = jacobi")));
        assert_eq!(c.unused_reason("krylov.rtol"), None);
        c.pc.kind = PcKind::Asm;
        c.pc.coarse.space = CoarseKind::Geneo;
        c.pc.coarse.geneo.nev = 4;
        assert_eq!(c.unused_reason("pc.local.solver"), None);
        assert!(c.unused_reason("pc.coarse.geneo.threshold").is_some());
        assert_eq!(c.unused_reason("pc.coarse.geneo.nev"), None);
        // A prefix of a name is not its table.
        assert_eq!(c.unused_reason("pc.overlapping"), None);
    }
}
