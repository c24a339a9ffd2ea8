//! Named solver presets: `solvers/NAME.toml`, each a tree of [`SolverConfig`] keys (missing keys
//! keep their defaults), loaded by name or path and listed for help texts and tests.

use super::config::SolverConfig;
use super::overrides::{apply, leaves};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Where named presets are looked up: `./solvers`, then the source tree's `solvers/`.
fn preset_dirs() -> Vec<PathBuf> {
    vec![
        PathBuf::from("solvers"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("solvers"),
    ]
}

/// The file of a preset given by name (`cg-jacobi`, looked up in `solvers/`) or by path
/// (anything with a `/` or ending in `.toml`).
fn preset_path(name_or_path: &str) -> Result<PathBuf> {
    if name_or_path.contains('/') || name_or_path.ends_with(".toml") {
        return Ok(PathBuf::from(name_or_path));
    }
    let found = preset_dirs()
        .into_iter()
        .map(|d| d.join(format!("{name_or_path}.toml")))
        .find(|p| p.exists());
    found.ok_or_else(|| {
        Error::Config(format!(
            "unknown solver preset '{name_or_path}' (presets: {})",
            SolverConfig::preset_names().join(", ")
        ))
    })
}

/// Parses preset text into its tree of TOML tables, every key checked against the tree.
fn checked_table(text: &str) -> std::result::Result<toml::Table, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.message().to_string())?;
    let mut out = toml::Table::new();
    apply(&mut out, &leaves("", &table)?);
    Ok(out)
}

/// The keys a preset sets, as a tree of TOML tables (checked: unknown keys and wrong types are
/// errors naming the file and the key's path).
pub(crate) fn preset_table(name_or_path: &str) -> Result<toml::Table> {
    let path = preset_path(name_or_path)?;
    let text = std::fs::read_to_string(&path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    checked_table(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
}

impl SolverConfig {
    /// Loads a preset by name (`cg-jacobi`, looked up in `solvers/`) or by path (anything with
    /// a `/` or ending in `.toml`). Keys missing from the file keep their defaults.
    pub fn load(name_or_path: &str) -> Result<SolverConfig> {
        let table = preset_table(name_or_path)?;
        Self::from_table(table).map_err(|e| Error::Config(format!("{name_or_path}: {e}")))
    }

    /// Parses preset TOML text (unknown keys are errors) over the defaults, validated.
    pub fn from_toml(text: &str) -> Result<SolverConfig> {
        let table = checked_table(text).map_err(Error::Config)?;
        Self::from_table(table).map_err(Error::Config)
    }

    fn from_table(table: toml::Table) -> std::result::Result<SolverConfig, String> {
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
}

#[cfg(test)]
mod tests {
    use super::super::config::{CoarseKind, KrylovKind, PcKind};
    use super::*;
    use crate::dd::Combination;
    use crate::linalg::LocalSolverKind;

    #[test]
    fn every_preset_loads_and_the_multiplicative_presets_say_what_they_are() {
        let names = SolverConfig::preset_names();
        assert!(names.len() >= 14, "{names:?}");
        for name in &names {
            SolverConfig::load(name).unwrap_or_else(|e| panic!("preset {name}: {e}"));
        }
        let msm = SolverConfig::load("gmres-msm").expect("gmres-msm");
        assert_eq!(
            (msm.krylov.method, msm.pc.kind),
            (KrylovKind::Gmres, PcKind::Multiplicative)
        );
        assert_eq!(
            (msm.pc.subdomains_per_rank, msm.pc.local.solver),
            (4, LocalSolverKind::Lu)
        );
        let ssm = SolverConfig::load("cg-ssm").expect("cg-ssm");
        assert_eq!(
            (ssm.krylov.method, ssm.pc.kind),
            (KrylovKind::Cg, PcKind::SymmetricMultiplicative)
        );
        let ic0 = SolverConfig::load("cg-ic0").expect("cg-ic0");
        assert_eq!((ic0.pc.overlap, ic0.pc.local.solver), (0, LocalSolverKind::Ic0));
    }

    #[test]
    fn an_old_flat_preset_names_its_first_unknown_key_and_where_it_went() {
        let e = SolverConfig::from_toml("krylov = \"cg\"\noverlap = 1\n").expect_err("flat");
        let e = e.to_string();
        assert!(
            e.contains("unknown field `overlap` (top-level keys: family, krylov, pc, feti)"),
            "{e}"
        );
        assert!(e.contains("did you mean pc.overlap?"), "{e}");
        let e = SolverConfig::from_toml("krylov = \"cg\"\n")
            .expect_err("flat")
            .to_string();
        assert!(
            e.contains("krylov is a table, not a value (its keys: method, rtol"),
            "{e}"
        );
        let e = SolverConfig::from_toml("[pc]\nlocal-solver = \"lu\"\n")
            .expect_err("flat")
            .to_string();
        assert!(e.contains("unknown field `local-solver` at pc.local-solver"), "{e}");
        assert!(e.contains("did you mean pc.local.solver?"), "{e}");
    }

    #[test]
    fn preconditioner_names_are_kebab_case() {
        for (text, pc) in [
            ("asm", PcKind::Asm),
            ("multiplicative", PcKind::Multiplicative),
            ("symmetric-multiplicative", PcKind::SymmetricMultiplicative),
        ] {
            let cfg = SolverConfig::from_toml(&format!("pc.type = \"{text}\"")).expect(text);
            assert_eq!(cfg.pc.kind, pc);
        }
        let e = SolverConfig::from_toml("pc.type = \"symmetric_multiplicative\"").expect_err("snake");
        assert!(e.to_string().contains("pc.type: unknown variant"), "{e}");
    }

    #[test]
    fn coarse_keys_default_to_one_level_and_parse_in_kebab_case() {
        let d = SolverConfig::from_toml("").expect("defaults");
        assert_eq!(d, SolverConfig::default());
        assert_eq!(
            (d.pc.coarse.space, d.pc.coarse.combination),
            (CoarseKind::None, Combination::Balanced)
        );
        for (text, c) in [
            ("additive", Combination::Additive),
            ("a-def1", Combination::ADef1),
            ("a-def2", Combination::ADef2),
            ("balanced", Combination::Balanced),
        ] {
            let cfg = SolverConfig::from_toml(&format!(
                "[pc.coarse]\nspace = \"nicolaides\"\ncombination = \"{text}\""
            ))
            .expect(text);
            assert_eq!(
                (cfg.pc.coarse.space, cfg.pc.coarse.combination),
                (CoarseKind::Nicolaides, c)
            );
            assert_eq!(c.name(), text);
        }
        assert!(SolverConfig::from_toml("pc.coarse.combination = \"adef1\"").is_err());
        let p = SolverConfig::load("cg-nicolaides").expect("cg-nicolaides");
        assert_eq!(
            (p.krylov.method, p.pc.coarse.space),
            (KrylovKind::Cg, CoarseKind::Nicolaides)
        );
        assert!(p.pc.coarse.combination.keeps_symmetry());
    }

    #[test]
    fn validation_refuses_values_of_the_right_type_but_out_of_range() {
        let e = SolverConfig::from_toml("[pc.coarse.geneo]\nthreshold = nan\n").expect_err("nan");
        assert!(
            e.to_string().contains("geneo-threshold must be positive and finite"),
            "{e}"
        );
        assert!(SolverConfig::from_toml("krylov.max-iter = 0").is_err());
    }
}
