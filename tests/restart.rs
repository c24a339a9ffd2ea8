//! Checkpoints and restarts of `ddkit heat`, and dt changes as numeric updates: an explicit FD
//! run killed (SIGKILL of both ranks, or of one) after a checkpoint and restarted on 1, 2 and 3
//! ranks ends bitwise on the field of the run without a stop (on 2 ranks continuing its output
//! series); an
//! implicit run restarted on another rank count ends on it to the solver tolerance; truncated,
//! incomplete, foreign and mismatched checkpoints are refused with one error line; a dt schedule
//! updates the solver numerically (no symbolic set-up in the loop) and equals a run stopped at
//! the dt change and restarted; implicit P2 heat runs with GenEO.
mod common;

use common::{fails_with, heat_report, last_field_by_mesh_id, rel_diff, scratch};
use std::path::{Path, PathBuf};

/// The path as a `&str` (the scratch directories are UTF-8).
fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// The step a checkpoint holds (its `step` attribute).
fn checkpoint_step(path: &Path) -> u64 {
    let f = hdf5::File::open(path).expect("a readable checkpoint");
    f.attr("step").and_then(|a| a.read_scalar()).expect("step attribute")
}

/// The HDF5 series `DIR/heat.h5`.
fn h5(dir: &Path) -> PathBuf {
    dir.join("heat.h5")
}

/// The snapshot times of a series.
fn times(h5: &Path) -> Vec<f64> {
    let f = hdf5::File::open(h5).expect("open output");
    f.dataset("times").and_then(|d| d.read_raw()).expect("/times")
}

#[test]
fn a_killed_explicit_run_restarts_bitwise_on_one_two_and_three_ranks() {
    let dir = scratch("restart-explicit");
    let (ck_dir, killed_out) = (dir.join("ck"), dir.join("killed"));
    let ck = ck_dir.join("checkpoint.h5");
    // Far more steps than the run gets through before its kill: the checkpoint in place then
    // sets how far the reference and the restarts go (the explicit dt does not depend on the
    // step count, so all take the same steps).
    let killed = common::spawn_two_ranks(
        &[
            "heat",
            "--grid",
            "64x64",
            "--steps",
            "10000000",
            "--checkpoint-every",
            "50",
            "--checkpoint-dir",
            s(&ck_dir),
            "--out",
            s(&killed_out),
            "--snapshot-every",
            "10000000",
            "--progress",
            "false",
        ],
        &dir,
    );
    common::kill_after(killed, &ck, false);
    let k = checkpoint_step(&ck);
    assert!(k >= 50 && k % 50 == 0, "checkpoint at step {k}");
    let end = (k + 120).to_string();
    let steps = ["--grid", "64x64", "--steps", &end];
    let reference = dir.join("ref");
    heat_report(2, &[&steps[..], &["--out", s(&reference)]].concat(), &dir, "ref");
    let want = last_field_by_mesh_id(&h5(&reference), "u");
    for np in [1, 2, 3] {
        // On 2 ranks (the partition of the killed run) the restart continues its series.
        let out = if np == 2 {
            killed_out.clone()
        } else {
            dir.join(format!("r{np}"))
        };
        let restart = ["--restart", s(&ck), "--out", s(&out)];
        let r = heat_report(np, &[&steps[..], &restart[..]].concat(), &dir, &format!("r{np}"));
        assert_eq!(
            (r["start_step"].as_u64(), r["steps"].as_u64()),
            (Some(k), Some(k + 120))
        );
        let got = last_field_by_mesh_id(&h5(&out), "u");
        let same = want.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "{np} ranks: differs by {:e}", rel_diff(&want, &got));
        eprintln!("killed at checkpoint step {k}; restart on {np} rank(s): bitwise equal at step {end}");
    }
    // The continued series: the killed run's first snapshot, then the restart's first (at the
    // checkpoint's time) and last, the last bitwise the reference's.
    let (t, t_ref) = (times(&h5(&killed_out)), times(&h5(&reference)));
    assert_eq!(t.len(), 3, "{t:?}");
    assert!(
        t[0] == 0.0 && t[0] < t[1] && t[1] < t[2] && t[2] == t_ref[1],
        "{t:?} vs {t_ref:?}"
    );
    common::meshio_reads_every_xdmf(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A node failing: one of the two ranks killed after a checkpoint (mpirun ends the other); the
/// restart on 2 ranks ends bitwise on the run without a stop.
#[test]
fn a_run_with_one_rank_killed_restarts_bitwise() {
    let dir = scratch("restart-one-rank");
    let ck_dir = dir.join("ck");
    let ck = ck_dir.join("checkpoint.h5");
    let args = [
        "heat",
        "--grid",
        "64x64",
        "--steps",
        "10000000",
        "--checkpoint-every",
        "50",
    ];
    let args = [&args[..], &["--checkpoint-dir", s(&ck_dir), "--progress", "false"]].concat();
    common::kill_after(common::spawn_two_ranks(&args, &dir), &ck, true);
    let k = checkpoint_step(&ck);
    assert!(k >= 50 && k % 50 == 0, "checkpoint at step {k}");
    let end = (k + 60).to_string();
    let steps = ["--grid", "64x64", "--steps", &end];
    let (reference, restarted) = (dir.join("ref"), dir.join("restart"));
    heat_report(2, &[&steps[..], &["--out", s(&reference)]].concat(), &dir, "ref");
    let restart = ["--restart", s(&ck), "--out", s(&restarted)];
    heat_report(2, &[&steps[..], &restart[..]].concat(), &dir, "restart");
    let (want, got) = (
        last_field_by_mesh_id(&h5(&reference), "u"),
        last_field_by_mesh_id(&h5(&restarted), "u"),
    );
    assert!(want == got, "differs by {:e}", rel_diff(&want, &got));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Implicit FD heat on 2 ranks: the solver tolerance the comparisons are made at.
const IMPLICIT: &[&str] = &[
    "--grid", "48x48", "--scheme", "cn", "--solver", "cg-asm", "--rtol", "1e-12",
];

#[test]
fn an_implicit_run_restarts_on_another_rank_count_to_the_solver_tolerance() {
    let dir = scratch("restart-implicit");
    let ck_dir = dir.join("ck");
    let run = |np: usize, steps: &str, extra: &[&str], tag: &str| {
        let out = dir.join(tag);
        let args = [IMPLICIT, &["--dt", "2e-4", "--steps", steps, "--out", s(&out)], extra].concat();
        (heat_report(np, &args, &dir, tag), last_field_by_mesh_id(&h5(&out), "u"))
    };
    let (_, want) = run(2, "40", &[], "ref");
    let (first, _) = run(
        2,
        "20",
        &["--checkpoint-every", "10", "--checkpoint-dir", s(&ck_dir)],
        "first",
    );
    assert_eq!(first["checkpoints"], 2);
    let ck = ck_dir.join("checkpoint.h5");
    for np in [1, 3] {
        let (r, got) = run(np, "40", &["--restart", s(&ck)], &format!("r{np}"));
        assert_eq!(r["start_step"], 20);
        let d = rel_diff(&want, &got);
        assert!(d <= 1e-8, "restart on {np} ranks: relative difference {d:e}");
        eprintln!("implicit restart on {np} rank(s): relative difference {d:.2e}");
    }
    common::meshio_reads_every_xdmf(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_checkpoints_are_refused_with_one_error_line() {
    let dir = scratch("restart-bad");
    let ck_dir = dir.join("ck");
    let written = ["heat", "--grid", "16x16", "--steps", "10", "--progress", "false"];
    common::ddkit_ok(2, &[&written[..], &["--checkpoint-dir", s(&ck_dir)]].concat());
    let good = ck_dir.join("checkpoint.h5");
    let len = std::fs::metadata(&good).expect("checkpoint written").len();
    let copy = |name: &str| {
        let p = dir.join(name);
        std::fs::copy(&good, &p).expect("copy");
        p
    };
    // (checkpoint, the run's options, expected error)
    let run = ["--grid", "16x16", "--steps", "20"];
    let mut cases: Vec<(PathBuf, Vec<&str>, &str)> = Vec::new();
    for off in [0, 100, len / 3, len - 1] {
        let p = copy(&format!("cut-{off}.h5"));
        let f = std::fs::OpenOptions::new().write(true).open(&p).expect("open");
        f.set_len(off).expect("truncate");
        cases.push((p, run.to_vec(), "HDF5 cannot open it"));
    }
    let no_u = copy("no-u.h5");
    hdf5::File::open_rw(&no_u)
        .and_then(|f| f.unlink("fields/u"))
        .expect("unlink");
    cases.push((no_u, run.to_vec(), "has no field 'u'"));
    let other_grid = vec!["--grid", "16x17", "--steps", "20"];
    cases.push((good.clone(), other_grid, "written for another mesh"));
    cases.push((
        good.clone(),
        [&run[..], &["--kappa", "2"]].concat(),
        "written with kappa = 1.0, this run has kappa = 2.0",
    ));
    let same_end = vec!["--grid", "16x16", "--steps", "10"];
    cases.push((good.clone(), same_end, "the checkpoint is at step 10 (t = "));
    cases.push((dir.join("missing.h5"), run.to_vec(), "missing.h5: no such file"));
    cases.push((
        PathBuf::from("30"),
        run.to_vec(),
        "GMRES restart length is --set solver.krylov.restart=N",
    ));
    let base = ["heat", "--progress", "false"];
    for (path, options, needle) in &cases {
        let args = [&base[..], &options[..], &["--restart", s(path)]].concat();
        for np in [1, 2] {
            fails_with(np, &args, needle);
        }
    }
    // Paths and options that cannot work are refused before any step.
    let file = dir.join("a-file");
    std::fs::write(&file, "x").expect("write");
    for (extra, needle) in [
        (
            vec!["--checkpoint-every", "5", "--checkpoint-dir", s(&file)],
            "checkpoint directory",
        ),
        (vec!["--checkpoint-every", "5"], "checkpoints need a directory"),
        (
            vec!["--checkpoint-interval", "0"],
            "checkpoint-interval must be a positive",
        ),
        (
            vec!["--dt-schedule", "1e-3:10"],
            "--dt-schedule needs an implicit scheme",
        ),
        (vec!["--dt-schedule", "1e-3:0", "--scheme", "be"], "has no steps"),
        (
            vec!["--dt-schedule", "1e-3:10", "--scheme", "be"],
            "drop --steps, --dt and --t-final",
        ),
    ] {
        fails_with(2, &[&written[..], &extra[..]].concat(), needle);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dt_changes_are_numeric_updates_equal_to_a_restart_at_the_change() {
    let dir = scratch("restart-schedule");
    let schedule = "1e-3:10,5e-4:20";
    let (whole_out, rest_out, ck_dir) = (dir.join("whole"), dir.join("rest"), dir.join("ck"));
    let whole = heat_report(
        2,
        &[IMPLICIT, &["--dt-schedule", schedule, "--out", s(&whole_out)]].concat(),
        &dir,
        "whole",
    );
    let t = &whole["solver_timings"];
    assert_eq!(
        (whole["dt_changes"].as_u64(), t["updates"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!((t["solves"].as_u64(), whole["steps"].as_u64()), (Some(30), Some(30)));
    assert_eq!(whole["symbolic_setups_in_loop"], 0, "a dt change redid symbolic work");
    eprintln!(
        "set-up {:.4} s, one update {:.4} s",
        t["setup"].as_f64().unwrap_or(f64::NAN),
        t["update"].as_f64().unwrap_or(f64::NAN)
    );
    // The same run stopped at the dt change (its end leaves a checkpoint) and restarted there.
    let first = [IMPLICIT, &["--dt-schedule", "1e-3:10", "--checkpoint-dir", s(&ck_dir)]].concat();
    heat_report(2, &first, &dir, "first");
    let ck = ck_dir.join("checkpoint.h5");
    let rest = [
        IMPLICIT,
        &["--dt-schedule", schedule, "--restart", s(&ck), "--out", s(&rest_out)],
    ]
    .concat();
    let r = heat_report(2, &rest, &dir, "rest");
    assert_eq!(
        (r["start_step"].as_u64(), r["dt_changes"].as_u64()),
        (Some(10), Some(0))
    );
    assert_eq!(r["t_final"], whole["t_final"]);
    let d = rel_diff(
        &last_field_by_mesh_id(&h5(&whole_out), "u"),
        &last_field_by_mesh_id(&h5(&rest_out), "u"),
    );
    assert!(d <= 1e-10, "relative difference {d:e}");
    eprintln!("schedule run vs restart at the dt change: relative difference {d:.2e}");
    // A schedule that does not describe the checkpoint's steps is refused.
    let other = [IMPLICIT, &["--dt-schedule", "2e-3:5,5e-4:20", "--restart", s(&ck)]].concat();
    fails_with(
        2,
        &[&["heat"][..], &other].concat(),
        "--dt-schedule does not match the checkpoint",
    );
    common::meshio_reads_every_xdmf(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn implicit_p2_heat_runs_with_geneo_to_the_field_of_asm() {
    let dir = scratch("p2-geneo");
    let mut fields = Vec::new();
    for solver in ["cg-asm", "cg-geneo"] {
        let out = dir.join(solver);
        let args = [
            "--mesh",
            "meshes/unit_square.msh",
            "--discretization",
            "p2",
            "--scheme",
            "cn",
            "--t-final",
            "0.01",
            "--steps",
            "5",
            "--solver",
            solver,
            "--rtol",
            "1e-12",
            "--out",
            s(&out),
        ];
        let r = heat_report(2, &args, &dir, solver);
        assert_eq!(r["status"], "ok");
        eprintln!("{solver}: {} iterations", r["linear_iterations"]);
        fields.push(last_field_by_mesh_id(&h5(&out), "u"));
    }
    let d = rel_diff(&fields[0], &fields[1]);
    assert!(d <= 1e-8, "GenEO vs ASM: relative difference {d:e}");
    eprintln!("P2 heat, GenEO vs ASM: relative difference {d:.2e}");
    common::meshio_reads_every_xdmf(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}
