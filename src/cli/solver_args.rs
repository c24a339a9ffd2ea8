//! The linear-solver options of `ddkit heat` and `ddkit poisson`: the preset (`--solver`),
//! `--set solver.KEY=VALUE` on its tree, and the flat flags of old, each the alias of one path
//! ([`FLAT_KEYS`]); resolved with the run config's solver keys into one [`SolverConfig`].

use super::SolverEntry;
use crate::error::{Error, Result};
use crate::solver::overrides::{parse_value, PRESET_KEY};
use crate::solver::{Overrides, SolverConfig, FLAT_KEYS};

/// The linear-solver options `ddkit heat` (implicit steps) and `ddkit poisson` share: the preset,
/// `--set` on its tree and the flat flags of old, each the alias of one path ([`FLAT_KEYS`]),
/// whose help texts are the keys' own.
#[derive(Debug, Default, Clone)]
pub struct SolverArgs {
    /// `--solver`: the preset by name or path.
    pub preset: Option<String>,
    /// `--set solver.KEY=VALUE`, in order.
    pub set: Vec<String>,
    /// The alias flags given: (flag without `--`, value as typed).
    pub flags: Vec<(String, String)>,
    /// `--list-keys`: print the solver keys and exit.
    pub list_keys: bool,
}

/// The name of the one solver of `ddkit heat` and `ddkit poisson`: the root of `--set solver.…`
/// and of a run config's `[solver]` table.
pub(super) const SOLVER: &str = "solver";

/// The preset of a run that names none.
const DEFAULT_PRESET: &str = "cg-jacobi";

/// The flat solver aliases that `ddkit heat` leaves out: `--restart` there names the checkpoint
/// a run continues (GMRES's restart length is `--set solver.krylov.restart=N`).
pub(super) const HEAT_NOT_SOLVER: &[&str] = &["restart"];

impl SolverArgs {
    /// The options' clap definitions, less the aliases in `skip`.
    fn augment(cmd: clap::Command, skip: &[&str]) -> clap::Command {
        use clap::{Arg, ArgAction};
        let cmd = cmd
            .arg(Arg::new("solver").long("solver").value_name("NAME|FILE.toml").help(format!(
                "Linear solver preset by name (solvers/NAME.toml) or path; heat uses it for implicit steps [default: {DEFAULT_PRESET}]"
            )))
            .arg(
                Arg::new("set")
                    .long("set")
                    .value_name("solver.KEY=VALUE")
                    .action(ArgAction::Append)
                    .allow_hyphen_values(true)
                    .help("Set a key of the solver tree over the preset, e.g. --set solver.pc.overlap=2 (repeatable; VALUE is TOML, a bare word a string; applied after the flags below; see --list-keys)"),
            )
            .arg(
                Arg::new("list-keys")
                    .long("list-keys")
                    .action(ArgAction::SetTrue)
                    .help("List the keys of the solver tree (path, default, meaning) and exit"),
            );
        let docs = SolverConfig::key_docs();
        let flags = FLAT_KEYS.iter().filter(|(flag, _)| !skip.contains(flag));
        flags.fold(cmd, |cmd, &(flag, path)| {
            let doc = docs.iter().find(|d| d.path == path);
            let help = doc.map_or("", |d| d.summary());
            let arg = Arg::new(flag)
                .long(flag)
                .value_name(flag.to_uppercase().replace('-', "_"))
                .allow_hyphen_values(true)
                .help(format!("{help} [= --set solver.{path}=…]"));
            cmd.arg(match doc {
                Some(d) if d.default.is_bool() => arg.value_name("BOOL").num_args(0..=1).default_missing_value("true"),
                Some(d) if !d.choices.is_empty() => arg.value_name(d.choices.join("|")),
                _ => arg,
            })
        })
    }

    /// Reads the options from `m`, less the aliases in `skip`.
    fn update(&mut self, m: &clap::ArgMatches, skip: &[&str]) {
        if let Some(p) = m.get_one::<String>("solver") {
            self.preset = Some(p.clone());
        }
        self.set
            .extend(m.get_many::<String>("set").into_iter().flatten().cloned());
        self.list_keys |= m.get_flag("list-keys");
        for (flag, _) in FLAT_KEYS.iter().filter(|(flag, _)| !skip.contains(flag)) {
            if let Some(v) = m.get_one::<String>(flag) {
                self.flags.push((flag.to_string(), v.clone()));
            }
        }
    }
}

impl clap::Args for SolverArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        Self::augment(cmd, &[])
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl clap::FromArgMatches for SolverArgs {
    fn from_arg_matches(m: &clap::ArgMatches) -> std::result::Result<Self, clap::Error> {
        let mut args = SolverArgs::default();
        args.update_from_arg_matches(m)?;
        Ok(args)
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> std::result::Result<(), clap::Error> {
        self.update(m, &[]);
        Ok(())
    }
}

/// The solver options of `ddkit heat`: [`SolverArgs`] less the aliases heat does not take (`HEAT_NOT_SOLVER`).
#[derive(Debug, Default, Clone)]
pub struct HeatSolverArgs(pub SolverArgs);

impl clap::Args for HeatSolverArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        SolverArgs::augment(cmd, HEAT_NOT_SOLVER)
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl clap::FromArgMatches for HeatSolverArgs {
    fn from_arg_matches(m: &clap::ArgMatches) -> std::result::Result<Self, clap::Error> {
        let mut args = HeatSolverArgs::default();
        args.update_from_arg_matches(m)?;
        Ok(args)
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> std::result::Result<(), clap::Error> {
        self.0.update(m, HEAT_NOT_SOLVER);
        Ok(())
    }
}

impl SolverArgs {
    /// The run's solver: its preset (the flag, else the config file's, else cg-jacobi), then the
    /// config file's keys, the flags and `--set` in that order (later wins), validated; and the
    /// overrides given, for the warnings about keys without effect.
    pub(super) fn resolve(self, file: Vec<SolverEntry>) -> Result<(SolverConfig, Overrides)> {
        let mut o = Overrides::new(&[SOLVER]);
        for (key, value, origin) in file {
            match (key.as_str(), value) {
                (SOLVER, toml::Value::Table(t)) => o.table(SOLVER, &t, &origin)?,
                (SOLVER, v) => o.push(SOLVER, PRESET_KEY, v, &origin, "--solver")?,
                (flat, v) => o.push(SOLVER, alias_path(flat)?, v, &origin, &format!("--{flat}"))?,
            }
        }
        if let Some(p) = &self.preset {
            o.preset(SOLVER, p, "--solver")?;
        }
        for (flag, text) in &self.flags {
            let path = alias_path(flag)?;
            let value = alias_value(path, text);
            o.push(SOLVER, path, value, &format!("--{flag} '{text}'"), &format!("--{flag}"))?;
        }
        for s in &self.set {
            o.set(s)?;
        }
        let solver = o.resolve(SOLVER, DEFAULT_PRESET)?;
        Ok((solver, o))
    }
}

/// The path a flat key (flag or config key) is the alias of.
fn alias_path(flat: &str) -> Result<&'static str> {
    let found = FLAT_KEYS.iter().find(|(f, _)| *f == flat);
    found
        .map(|(_, p)| *p)
        .ok_or_else(|| Error::Config(format!("`{flat}` is not a solver key")))
}

/// The value of an alias flag: TOML, as for `--set`, except that a number key also takes every
/// spelling Rust reads (`.5`, `NaN`, `Inf`), as the flags always did.
fn alias_value(path: &str, text: &str) -> toml::Value {
    let number = SolverConfig::key_docs()
        .iter()
        .any(|d| d.path == path && d.default.is_float());
    match text.parse::<f64>() {
        Ok(x) if number => toml::Value::Float(x),
        _ => parse_value(text),
    }
}

/// The keys of the solver tree for `--list-keys`: path, default, accepted names, alias flag and
/// meaning.
pub(super) fn key_listing() -> String {
    let mut out = format!(
        "{SOLVER}.{PRESET_KEY} = \"{DEFAULT_PRESET}\"  (--solver)\n    The preset the keys below start from: solvers/NAME.toml or a path.\n"
    );
    for d in SolverConfig::key_docs() {
        let alias = FLAT_KEYS.iter().find(|(_, p)| *p == d.path);
        let alias = alias.map_or(String::new(), |(f, _)| format!("  (--{f})"));
        let choices = match d.choices.as_slice() {
            [] => String::new(),
            c => format!("  [{}]", c.join(" | ")),
        };
        out += &format!(
            "{SOLVER}.{} = {}{choices}{alias}\n    {}\n",
            d.path,
            d.default_text(),
            d.help
        );
    }
    out
}
