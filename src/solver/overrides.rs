//! Settings of the solver tree from outside a preset: `--set NAME.a.b=v`, a run's `[NAME]`
//! table, the flat flags of old (aliases of one path each) and [`SolverConfig::set`]. Every
//! setting is checked alone against the tree when it is given (unknown key, a table given a
//! value, a wrong type), so its error names both the full path and where it came from. A command
//! owns one or more named solvers (`solver` for heat and Poisson; `momentum` and `pressure` for a
//! Navier–Stokes driver), each with its own `preset` key.

use super::config::{Key, Schema, SolverConfig};
use super::presets::preset_table;
use crate::error::{Error, Result};

/// The flat keys of the presets and run configs before the tree, each the alias of one path:
/// the flags `--krylov`, `--pc`, … and the top-level keys of a run's `--config`.
pub const FLAT_KEYS: &[(&str, &str)] = &[
    ("krylov", "krylov.method"),
    ("rtol", "krylov.rtol"),
    ("atol", "krylov.atol"),
    ("max-iter", "krylov.max-iter"),
    ("restart", "krylov.restart"),
    ("record-history", "krylov.record-history"),
    ("pc", "pc.type"),
    ("overlap", "pc.overlap"),
    ("subdomains-per-rank", "pc.subdomains-per-rank"),
    ("subdomain-split", "pc.subdomain-split"),
    ("local-solver", "pc.local.solver"),
    ("coarse", "pc.coarse.space"),
    ("coarse-combination", "pc.coarse.combination"),
    ("coarse-update-basis", "pc.coarse.update-basis"),
    ("geneo-threshold", "pc.coarse.geneo.threshold"),
    ("geneo-nev", "pc.coarse.geneo.nev"),
    ("feti-method", "feti.method"),
    ("feti-averages", "feti.averages"),
    ("feti-preconditioner", "feti.preconditioner"),
    ("feti-scaling", "feti.scaling"),
    ("feti-deluxe-layers", "feti.deluxe-layers"),
    ("feti-pivot-tol", "feti.pivot-tol"),
];

/// The key of a named solver that picks its preset (`solver.preset = "cg-asm"`).
pub const PRESET_KEY: &str = "preset";

/// One value set in the tree of a named solver, with where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    /// The solver it belongs to (`solver`, `momentum`, …).
    pub solver: String,
    /// Dotted path below the solver's root (`pc.overlap`).
    pub path: String,
    /// The value.
    pub value: toml::Value,
    /// How it was given, for error messages (`--set solver.pc.overlap=2`, `--overlap '2'`, a file).
    pub origin: String,
    /// Its name in warnings: the flag (`--overlap`) or the full path (`solver.pc.overlap`).
    pub name: String,
}

/// Parses the text of a value as TOML (`2`, `1e-8`, `true`, `"x"`, `[1, 2]`); anything else is
/// the bare word as a string (`cg`, `a-def1`).
pub fn parse_value(text: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_string()))
}

/// `root.path`, or `path` alone under a root without a name (a preset file).
fn full(root: &str, path: &str) -> String {
    match (root.is_empty(), path.is_empty()) {
        (true, _) => path.to_string(),
        (false, true) => root.to_string(),
        (false, false) => format!("{root}.{path}"),
    }
}

fn names(keys: &[Key]) -> String {
    keys.iter().map(|k| k.name.as_str()).collect::<Vec<_>>().join(", ")
}

/// Where a misplaced, old or misspelt key lives: the values with the same last name, its flat
/// alias's path, or a key of the same table within two edits.
fn suggestion(root: &str, parent: &str, key: &str, siblings: &[Key]) -> String {
    let mut paths: Vec<String> = SolverConfig::key_docs()
        .into_iter()
        .filter(|d| d.path.rsplit('.').next() == Some(key))
        .map(|d| d.path)
        .collect();
    paths.extend(FLAT_KEYS.iter().filter(|(k, _)| *k == key).map(|(_, p)| p.to_string()));
    let near = siblings.iter().filter(|k| edits(&k.name, key) <= 2);
    paths.extend(near.map(|k| full(parent, &k.name)));
    match paths.first() {
        Some(p) => format!("; did you mean {}?", full(root, p)),
        None => String::new(),
    }
}

/// The edit (Levenshtein) distance between two short names.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1).min(row[j] + 1).min(diag + usize::from(ca != *cb));
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The shape of the tree at `path` (dotted, below a root named `root` in messages): the error
/// names the full path and, for an unknown key, the keys valid where it stands.
pub fn schema_at(root: &str, path: &str) -> std::result::Result<Schema, String> {
    let mut schema = Schema::Table(SolverConfig::keys);
    let mut walked = String::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let Schema::Table(keys) = schema else {
            return Err(format!("{} is a value, not a table", full(root, &walked)));
        };
        let keys = keys();
        let parent = walked.clone();
        walked = if walked.is_empty() {
            part.to_string()
        } else {
            format!("{walked}.{part}")
        };
        schema = match keys.iter().find(|k| k.name == part) {
            Some(k) => k.schema,
            None => {
                let at = match full(root, &parent) {
                    p if p.is_empty() => "top-level keys".to_string(),
                    p => format!("keys under {p}"),
                };
                let place = match full(root, &walked) {
                    p if p == part => String::new(),
                    p => format!(" at {p}"),
                };
                return Err(format!(
                    "unknown field `{part}`{place} ({at}: {}){}",
                    names(&keys),
                    suggestion(root, &parent, part, &keys)
                ));
            }
        };
    }
    Ok(schema)
}

/// Checks that `value` may stand at the leaf `path` (below a root named `root` in messages):
/// the path exists, is a value and not a table, and the value has the key's type.
pub fn check(root: &str, path: &str, value: &toml::Value) -> std::result::Result<(), String> {
    if let Schema::Table(keys) = schema_at(root, path)? {
        return Err(format!(
            "{} is a table, not a value (its keys: {})",
            full(root, path),
            names(&keys())
        ));
    }
    let mut one = toml::Table::new();
    insert(&mut one, path, value.clone());
    toml::Value::Table(one)
        .try_into::<SolverConfig>()
        .map(|_| ())
        .map_err(|e| type_error(&full(root, path), e.message()))
}

/// A type error of the key at `path` in words rather than serde's type names.
fn type_error(path: &str, msg: &str) -> String {
    let negative = msg
        .strip_prefix("invalid value: integer `-")
        .and_then(|m| m.strip_suffix("`, expected usize"));
    match negative {
        Some(n) => format!("{path} must be 0 or more, got -{n}"),
        None => format!(
            "{path}: {}",
            msg.replace("expected usize", "expected a whole number >= 0")
                .replace("expected f64", "expected a number")
        ),
    }
}

/// Sets the leaf `path` of a tree of TOML tables, creating the tables on the way.
fn insert(table: &mut toml::Table, path: &str, value: toml::Value) {
    match path.split_once('.') {
        None => {
            table.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let sub = table
                .entry(head)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !sub.is_table() {
                *sub = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(sub) = sub {
                insert(sub, rest, value);
            }
        }
    }
}

/// The leaves of a table of the tree given as TOML (a preset, a run's `[solver]` table), as
/// dotted paths with their values, each checked; errors name the full path under `root`.
/// Unknown keys are looked for first, everywhere, so an old flat preset is refused for its
/// first key that no longer exists rather than for a name that is now a table.
pub fn leaves(root: &str, table: &toml::Table) -> std::result::Result<Vec<(String, toml::Value)>, String> {
    fn walk(
        root: &str,
        prefix: &str,
        table: &toml::Table,
        out: &mut Vec<(String, toml::Value)>,
    ) -> std::result::Result<(), String> {
        for (k, v) in table {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match (schema_at(root, &path)?, v) {
                (Schema::Table(_), toml::Value::Table(t)) => walk(root, &path, t, out)?,
                _ => out.push((path, v.clone())),
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(root, "", table, &mut out)?;
    for (path, value) in &out {
        check(root, path, value)?;
    }
    Ok(out)
}

/// Applies checked leaves to a tree of TOML tables.
pub fn apply(table: &mut toml::Table, leaves: &[(String, toml::Value)]) {
    for (path, value) in leaves {
        insert(table, path, value.clone());
    }
}

/// The preset and settings of a command's named solvers, in order of precedence (later wins):
/// the run's config file first, then the flags and `--set`.
#[derive(Clone, Debug)]
pub struct Overrides {
    /// The names of the command's solvers.
    solvers: Vec<String>,
    /// The preset chosen for a solver: (solver, preset, name for warnings).
    presets: Vec<(String, String, String)>,
    settings: Vec<Setting>,
}

impl Overrides {
    /// No settings yet, for a command whose solvers have these names.
    pub fn new(solvers: &[&str]) -> Overrides {
        Overrides {
            solvers: solvers.iter().map(|s| s.to_string()).collect(),
            presets: Vec::new(),
            settings: Vec::new(),
        }
    }

    fn known(&self, solver: &str, origin: &str) -> Result<()> {
        if self.solvers.iter().any(|s| s == solver) {
            return Ok(());
        }
        Err(Error::Config(format!(
            "{origin}: unknown solver `{solver}` (this command's solvers: {})",
            self.solvers.join(", ")
        )))
    }

    /// Chooses the preset of `solver` (by name or path; loaded at [`Overrides::resolve`]).
    pub fn preset(&mut self, solver: &str, preset: &str, name: &str) -> Result<()> {
        self.known(solver, name)?;
        self.presets.push((solver.into(), preset.into(), name.into()));
        Ok(())
    }

    /// Sets the value at `path` (dotted, below `solver`'s root), checked now; `origin` and
    /// `name` say how it was given, for errors and warnings.
    pub fn push(&mut self, solver: &str, path: &str, value: toml::Value, origin: &str, name: &str) -> Result<()> {
        self.known(solver, origin)?;
        if path == PRESET_KEY {
            let preset = value.as_str().ok_or_else(|| {
                Error::Config(format!(
                    "{origin}: {solver}.{PRESET_KEY}: expected a preset name or path"
                ))
            })?;
            return self.preset(solver, preset, name);
        }
        check(solver, path, &value).map_err(|e| Error::Config(format!("{origin}: {e}")))?;
        self.settings.push(Setting {
            solver: solver.into(),
            path: path.into(),
            value,
            origin: origin.into(),
            name: name.into(),
        });
        Ok(())
    }

    /// `--set NAME.PATH=VALUE`: VALUE is read as TOML, a bare word as a string.
    pub fn set(&mut self, assignment: &str) -> Result<()> {
        let origin = format!("--set {assignment}");
        let Some((path, value)) = assignment.split_once('=') else {
            return Err(Error::Config(format!(
                "{origin}: expected NAME.KEY=VALUE, e.g. --set solver.pc.overlap=2"
            )));
        };
        let path = path.trim();
        let (solver, rest) = path.split_once('.').unwrap_or((path, ""));
        self.known(solver, &origin)?;
        if rest.is_empty() {
            return Err(Error::Config(format!(
                "{origin}: {solver} is a table, not a value (its keys: {PRESET_KEY}, {})",
                names(&SolverConfig::keys())
            )));
        }
        self.push(solver, rest, parse_value(value.trim()), &origin, path)
    }

    /// A solver's table from a run's config file (`[solver]`): its `preset` and any keys of the
    /// tree.
    pub fn table(&mut self, solver: &str, table: &toml::Table, origin: &str) -> Result<()> {
        self.known(solver, origin)?;
        let mut rest = table.clone();
        if let Some(p) = rest.remove(PRESET_KEY) {
            self.push(solver, PRESET_KEY, p, origin, &format!("{solver}.{PRESET_KEY}"))?;
        }
        let leaves = leaves(solver, &rest).map_err(|e| Error::Config(format!("{origin}: {e}")))?;
        for (path, value) in leaves {
            self.push(solver, &path, value, origin, &format!("{solver}.{path}"))?;
        }
        Ok(())
    }

    /// The settings given for `solver`, in order.
    pub fn settings<'a>(&'a self, solver: &'a str) -> impl Iterator<Item = &'a Setting> + 'a {
        self.settings.iter().filter(move |s| s.solver == solver)
    }

    /// The names of everything given for `solver` (preset included), for warnings.
    pub fn given(&self, solver: &str) -> Vec<String> {
        let presets = self.presets.iter().filter(|p| p.0 == solver).map(|p| p.2.clone());
        let mut names: Vec<String> = presets.chain(self.settings(solver).map(|s| s.name.clone())).collect();
        names.sort();
        names.dedup();
        names
    }

    /// The configuration of `solver`: its preset (the last one given, else `default_preset`)
    /// with the settings applied in order, validated.
    pub fn resolve(&self, solver: &str, default_preset: &str) -> Result<SolverConfig> {
        let preset = self
            .presets
            .iter()
            .rev()
            .find(|p| p.0 == solver)
            .map_or(default_preset, |p| p.1.as_str());
        let mut table = preset_table(preset)?;
        let leaves: Vec<(String, toml::Value)> = self
            .settings(solver)
            .map(|s| (s.path.clone(), s.value.clone()))
            .collect();
        apply(&mut table, &leaves);
        let cfg: SolverConfig = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| Error::Config(format!("{solver}: {}", e.message())))?;
        cfg.validate()?;
        if let Some((s, why)) = self
            .settings(solver)
            .find_map(|s| cfg.foreign_reason(&s.path).map(|w| (s, w)))
        {
            return Err(Error::Config(format!("{}: {solver}.{} is {why}", s.origin, s.path)));
        }
        Ok(cfg)
    }

    /// Warnings for the keys given for `solver` that `cfg` does not use.
    pub fn unused(&self, solver: &str, cfg: &SolverConfig) -> Vec<String> {
        let mut notes: Vec<String> = Vec::new();
        for s in self.settings(solver) {
            // A key given twice (config file and flag) is named once.
            let note = cfg
                .unused_reason(&s.path)
                .map(|why| format!("{} is ignored: {why}", s.name));
            if let Some(n) = note.filter(|n| !notes.contains(n)) {
                notes.push(n);
            }
        }
        notes
    }
}

impl SolverConfig {
    /// The library builder: this configuration with the key at `path` (dotted, as in the
    /// presets: `pc.overlap`, `pc.coarse.space`) set to `value`, checked like `--set`, e.g.
    /// `SolverConfig::load("cg-asm")?.set("pc.overlap", 2)?.set("pc.local.solver", "ic0")?`.
    pub fn set(self, path: &str, value: impl serde::Serialize) -> Result<SolverConfig> {
        let value = toml::Value::try_from(value).map_err(|e| Error::Config(format!("{path}: {e}")))?;
        check("", path, &value).map_err(Error::Config)?;
        let mut table = toml::Table::try_from(&self).map_err(|e| Error::Config(e.to_string()))?;
        insert(&mut table, path, value);
        let cfg: SolverConfig = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| Error::Config(format!("{path}: {}", e.message())))?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::super::config::{CoarseKind, KrylovKind, PcKind};
    use super::*;

    fn err(r: Result<impl std::fmt::Debug>) -> String {
        r.expect_err("should fail").to_string()
    }

    #[test]
    fn values_parse_as_toml_and_bare_words_as_strings() {
        assert_eq!(parse_value("2"), toml::Value::Integer(2));
        assert_eq!(parse_value("1e-8"), toml::Value::Float(1e-8));
        assert_eq!(parse_value("true"), toml::Value::Boolean(true));
        assert_eq!(parse_value("a-def1"), toml::Value::String("a-def1".into()));
        assert_eq!(parse_value("\"cg\""), toml::Value::String("cg".into()));
    }

    #[test]
    fn every_flat_key_is_the_alias_of_a_value() {
        for (flat, path) in FLAT_KEYS {
            assert!(matches!(schema_at("", path), Ok(Schema::Leaf)), "{flat} -> {path}");
        }
        assert_eq!(
            (edits("overlapp", "overlap"), edits("rtol", "atol"), edits("", "pc")),
            (1, 1, 2)
        );
        assert_eq!(
            FLAT_KEYS.len(),
            SolverConfig::key_docs().len() - 1,
            "every value but family"
        );
    }

    #[test]
    fn set_overrides_the_preset_and_refuses_bad_paths_with_the_path_named() {
        let mut o = Overrides::new(&["solver"]);
        o.preset("solver", "cg-asm", "--solver").expect("preset");
        o.set("solver.pc.overlap=2").expect("set");
        o.set("solver.krylov.method=gmres").expect("set");
        let c = o.resolve("solver", "cg-jacobi").expect("resolve");
        assert_eq!(
            (c.pc.kind, c.pc.overlap, c.krylov.method),
            (PcKind::Asm, 2, KrylovKind::Gmres)
        );
        let e = err(o.set("solver.pc.overlapp=2"));
        assert!(
            e.contains("unknown field `overlapp` at solver.pc.overlapp (keys under solver.pc: type, overlap"),
            "{e}"
        );
        assert!(e.contains("did you mean solver.pc.overlap?"), "{e}");
        let e = err(o.set("solver.pc.overlap=abc"));
        assert!(
            e.contains("solver.pc.overlap: invalid type: string \"abc\", expected a whole number >= 0"),
            "{e}"
        );
        let e = err(o.set("solver.bddc.x=1"));
        assert!(
            e.contains("unknown field `bddc` at solver.bddc (keys under solver: family, krylov, pc, feti)"),
            "{e}"
        );
        let e = err(o.set("solver.pc=2"));
        assert!(
            e.contains("solver.pc is a table, not a value (its keys: type, overlap"),
            "{e}"
        );
        let e = err(o.set("solver.pc.overlap.x=2"));
        assert!(e.contains("solver.pc.overlap is a value, not a table"), "{e}");
        let e = err(o.set("momentum.pc.overlap=2"));
        assert!(
            e.contains("unknown solver `momentum` (this command's solvers: solver)"),
            "{e}"
        );
        let e = err(o.set("solver.krylov.overlap=2"));
        assert!(e.contains("did you mean solver.pc.overlap?"), "{e}");
        assert!(err(o.set("solver.pc.overlap")).contains("expected NAME.KEY=VALUE"));
    }

    #[test]
    fn several_named_solvers_resolve_each_from_its_own_preset() {
        let mut o = Overrides::new(&["momentum", "pressure"]);
        let t: toml::Table = toml::from_str("preset = \"gmres-ras\"\n[krylov]\nrtol = 1e-6\n").expect("toml");
        o.table("momentum", &t, "run.toml").expect("table");
        o.set("pressure.pc.coarse.space=nicolaides").expect("set");
        o.set("pressure.pc.type=asm").expect("set");
        let m = o.resolve("momentum", "cg-jacobi").expect("momentum");
        let p = o.resolve("pressure", "cg-jacobi").expect("pressure");
        assert_eq!(
            (m.krylov.method, m.pc.kind, m.krylov.rtol),
            (KrylovKind::Gmres, PcKind::Ras, 1e-6)
        );
        assert_eq!(
            (p.krylov.method, p.pc.kind, p.pc.coarse.space),
            (KrylovKind::Cg, PcKind::Asm, CoarseKind::Nicolaides)
        );
        assert_eq!(o.given("momentum"), ["momentum.krylov.rtol", "momentum.preset"]);
        let bad: toml::Table = toml::from_str("[pc]\noverlap = -1\n").expect("toml");
        let e = err(o.table("pressure", &bad, "run.toml"));
        assert!(
            e.contains("run.toml: pressure.pc.overlap must be 0 or more, got -1"),
            "{e}"
        );
    }

    #[test]
    fn the_builder_sets_paths_with_their_types() {
        let c = SolverConfig::default()
            .set("pc.type", "asm")
            .and_then(|c| c.set("pc.overlap", 2))
            .and_then(|c| c.set("krylov.rtol", 1e-10))
            .expect("builder");
        assert_eq!((c.pc.kind, c.pc.overlap, c.krylov.rtol), (PcKind::Asm, 2, 1e-10));
        assert!(err(SolverConfig::default().set("pc.overlap", "two")).contains("pc.overlap: invalid type"));
        assert!(err(SolverConfig::default().set("overlap", 2)).contains("did you mean pc.overlap?"));
    }

    #[test]
    fn unused_keys_warn_under_the_name_they_were_given() {
        let mut o = Overrides::new(&["solver"]);
        o.push(
            "solver",
            "krylov.restart",
            toml::Value::Integer(5),
            "--restart '5'",
            "--restart",
        )
        .expect("push");
        o.set("solver.pc.overlap=2").expect("set");
        o.set("solver.pc.overlap=3").expect("set");
        let c = o.resolve("solver", "cg-jacobi").expect("resolve");
        assert_eq!(c.pc.overlap, 3, "the last setting wins");
        assert_eq!(
            o.unused("solver", &c),
            [
                "--restart is ignored: it applies to GMRES and FGMRES only (krylov = cg)",
                "solver.pc.overlap is ignored: it applies to Schwarz preconditioners only (pc = jacobi)"
            ]
        );
    }
}
