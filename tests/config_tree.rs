//! The solver configuration tree from the command line (issue 10, item 5): `--set solver.a.b=v`
//! reaches the same keys as the old flags and a run config's `[solver]` table, and a bad path,
//! a wrong type, a key of another family or a table given a value is refused on every rank with
//! one error line naming the path.

mod common;

use common::{fails_with, poisson_report, scratch};
use serde_json::Value;

/// The report without what differs between two identical runs (times, memory).
fn without_timings(mut r: Value) -> Value {
    if let Value::Object(m) = &mut r {
        m.remove("wall");
        m.remove("peak_memory_mib_per_rank");
        if let Some(Value::Object(stats)) = m.get_mut("stats") {
            stats.remove("solve_seconds");
        }
    }
    r
}

const GRID: [&str; 6] = ["--grid", "32x32", "--solver", "cg-asm", "--subdomains-per-rank", "4"];

#[test]
fn set_changes_the_tree_and_the_iterations_as_the_old_flag_does() {
    let dir = scratch("tree-set");
    let one = poisson_report(2, &GRID, &[], &dir, "overlap1");
    let flag = poisson_report(2, &GRID, &["--overlap", "2"], &dir, "flag");
    let set = poisson_report(2, &GRID, &["--set", "solver.pc.overlap=2"], &dir, "set");
    assert_eq!(set["solver"]["pc"]["overlap"], 2);
    assert_eq!(one["solver"]["pc"]["overlap"], 1);
    assert_eq!(set["solver"]["pc"]["type"], "asm");
    assert_eq!(set["solver"]["krylov"]["method"], "cg");
    let (i1, i2) = (one["stats"]["iterations"].as_u64(), set["stats"]["iterations"].as_u64());
    assert!(
        i2 < i1,
        "overlap 2 should take fewer iterations than 1: {i2:?} vs {i1:?}"
    );
    assert_eq!(without_timings(set), without_timings(flag));
    // `--set` is applied after the flags, and the preset is a key too.
    let both = poisson_report(
        2,
        &["--grid", "32x32", "--subdomains-per-rank", "4"],
        &[
            "--set",
            "solver.preset=cg-asm",
            "--overlap",
            "1",
            "--set",
            "solver.pc.overlap=2",
        ],
        &dir,
        "both",
    );
    assert_eq!(both["stats"]["iterations"].as_u64(), i2);
}

#[test]
fn bad_paths_values_and_tables_are_refused_with_the_path_named() {
    let cases = [
        (
            "solver.pc.overlapp=2",
            "unknown field `overlapp` at solver.pc.overlapp (keys under solver.pc: type, overlap,",
        ),
        (
            "solver.pc.overlap=abc",
            "solver.pc.overlap: invalid type: string \"abc\", expected a whole number >= 0",
        ),
        (
            "solver.bddc.x=1",
            "unknown field `bddc` at solver.bddc (keys under solver: family, krylov, pc, feti)",
        ),
        (
            "solver.feti.x=1",
            "unknown field `x` at solver.feti.x (keys under solver.feti: method, averages, preconditioner, scaling, deluxe-layers, pivot-tol)",
        ),
        (
            "solver.feti.preconditioner=lumped",
            "solver.feti.preconditioner is a key of the feti family, and this solver's family is krylov",
        ),
        ("solver.krylov.overlap=2", "at solver.krylov.overlap"),
        (
            "solver.pc=2",
            "solver.pc is a table, not a value (its keys: type, overlap,",
        ),
        (
            "solver.pc.coarse.geneo=3",
            "solver.pc.coarse.geneo is a table, not a value",
        ),
        (
            "solver.pc.overlap.layers=2",
            "solver.pc.overlap is a value, not a table",
        ),
        (
            "solver.family=bddc",
            "solver.family: unknown variant `bddc`, expected `krylov` or `feti`",
        ),
        (
            "pressure.pc.overlap=2",
            "unknown solver `pressure` (this command's solvers: solver)",
        ),
        ("solver.pc.overlap", "expected NAME.KEY=VALUE"),
    ];
    for np in [1, 2] {
        for (set, needle) in cases {
            let err = fails_with(np, &["poisson", "--grid", "8x8", "--set", set], needle);
            assert!(err.contains(&format!("--set {set}")), "{set}: {err}");
        }
        // heat takes the same keys (its implicit steps' solver).
        fails_with(
            np,
            &[
                "heat",
                "--grid",
                "8x8",
                "--scheme",
                "be",
                "--steps",
                "2",
                "--set",
                "solver.pc.overlapp=2",
            ],
            "solver.pc.overlapp",
        );
    }
}

#[test]
fn a_run_config_takes_a_solver_table_and_the_old_flat_keys() {
    let dir = scratch("tree-config");
    let flat = dir.join("flat.toml");
    std::fs::write(
        &flat,
        "grid = \"32x32\"\nsolver = \"cg-asm\"\noverlap = 2\nsubdomains-per-rank = 4\n",
    )
    .expect("write");
    let table = dir.join("table.toml");
    std::fs::write(
        &table,
        "grid = \"32x32\"\n\n[solver]\npreset = \"cg-asm\"\n\n[solver.pc]\noverlap = 2\nsubdomains-per-rank = 4\n",
    )
    .expect("write");
    let a = poisson_report(2, &["--config", flat.to_str().unwrap()], &[], &dir, "flat");
    let b = poisson_report(2, &["--config", table.to_str().unwrap()], &[], &dir, "table");
    let flags = poisson_report(2, &GRID, &["--overlap", "2"], &dir, "flags");
    assert_eq!(a["solver"]["pc"]["overlap"], 2);
    assert_eq!(without_timings(a), without_timings(b.clone()));
    assert_eq!(without_timings(b), without_timings(flags));
    // Flags win over the file, and a key of the table is checked with its path.
    let c = poisson_report(
        2,
        &["--config", table.to_str().unwrap()],
        &["--overlap", "1"],
        &dir,
        "win",
    );
    assert_eq!(c["solver"]["pc"]["overlap"], 1);
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "grid = \"8x8\"\n[solver.pc]\noverlap = \"two\"\n").expect("write");
    fails_with(
        2,
        &["poisson", "--config", bad.to_str().unwrap()],
        "solver.pc.overlap: invalid type",
    );
    // A flat key before the tables keeps its line.
    std::fs::write(&bad, "grid = \"8x8\"\nmax-iter = \"many\"\n[solver.pc]\noverlap = 2\n").expect("write");
    fails_with(
        1,
        &["poisson", "--config", bad.to_str().unwrap()],
        "line 2, key `max-iter`: solver.krylov.max-iter: invalid type",
    );
    std::fs::write(&bad, "grid = \"8x8\"\n[solver.bddc]\nx = 1\n").expect("write");
    fails_with(
        2,
        &["poisson", "--config", bad.to_str().unwrap()],
        "unknown field `bddc` at solver.bddc",
    );
}

#[test]
fn the_old_flags_still_set_every_key() {
    let dir = scratch("tree-flags");
    let r = poisson_report(
        1,
        &["--grid", "16x16"],
        &[
            "--krylov",
            "gmres",
            "--pc",
            "ras",
            "--rtol",
            "1e-9",
            "--atol",
            "0",
            "--max-iter",
            "500",
            "--restart",
            "20",
            "--overlap",
            "2",
            "--subdomains-per-rank",
            "3",
            "--subdomain-split",
            "contiguous",
            "--local-solver",
            "lu",
            "--coarse",
            "nicolaides",
            "--coarse-combination",
            "a-def1",
            "--geneo-threshold",
            "0.25",
            "--geneo-nev",
            "2",
            "--coarse-update-basis",
            "true",
            "--record-history",
            "false",
        ],
        &dir,
        "flags",
    );
    let s = &r["solver"];
    let expect = serde_json::json!({
        "family": "krylov",
        "krylov": {"method": "gmres", "rtol": 1e-9, "atol": 0.0, "max-iter": 500, "restart": 20,
                   "record-history": false},
        "pc": {"type": "ras", "overlap": 2, "subdomains-per-rank": 3, "subdomain-split": "contiguous",
               "local": {"solver": "lu"},
               "coarse": {"space": "nicolaides", "combination": "a-def1", "update-basis": true,
                          "geneo": {"threshold": 0.25, "nev": 2}}},
        "feti": {"method": "feti-1", "averages": true, "preconditioner": "dirichlet", "scaling": "stiffness", "deluxe-layers": 0,
                 "pivot-tol": 1e-8}
    });
    assert_eq!(s, &expect);
    assert_eq!(r["stats"]["reason"], "converged");
}
