//! Checkpoints and restarts of `ddkit navier-stokes`: a cavity run killed (SIGKILL to one of
//! its two ranks) after a checkpoint and restarted ends bitwise on the run without a stop on 2
//! ranks, and to the solver tolerance on 3; truncated, foreign and mismatched checkpoints are
//! refused with one error line on every rank; a restarted cylinder run reports the
//! coefficients of the whole run.
mod common;

use common::{fails_with, rel_diff, scratch};
use std::path::Path;

/// The path as a `&str` (the scratch directories are UTF-8).
fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// The cavity of these tests: 24², Re 400, 60 steps of 0.01 (no steady-state criterion), the
/// three solvers to 1e-12 so that another partition's round-off stays visible as such.
const CAVITY: [&str; 17] = [
    "navier-stokes",
    "--grid",
    "24x24",
    "--re",
    "400",
    "--dt",
    "0.01",
    "--t-end",
    "0.6",
    "--steady-tol",
    "0",
    "--set",
    "momentum.krylov.rtol=1e-12",
    "--set",
    "pressure.krylov.rtol=1e-12",
    "--set",
    "correction.krylov.rtol=1e-12",
];

/// The last velocity and pressure of the series in `dir`, by input-mesh id (2D velocity is
/// stored with three components).
fn flow(dir: &Path, stem: &str) -> (Vec<f64>, Vec<f64>) {
    let f = hdf5::File::open(dir.join(format!("{stem}.h5"))).expect("series");
    let times: Vec<f64> = f.dataset("times").and_then(|d| d.read_raw()).expect("times");
    let last = times.len() - 1;
    let ids: Vec<f64> = f.dataset("static/mesh_id").and_then(|d| d.read_raw()).expect("ids");
    let read = |name: &str, k: usize| -> Vec<f64> {
        let v: Vec<f64> = f
            .dataset(&format!("fields/{name}/{last}"))
            .and_then(|d| d.read_raw())
            .expect("field");
        let mut out = vec![f64::NAN; v.len()];
        for (i, id) in ids.iter().enumerate() {
            let id = *id as usize;
            out[id * k..(id + 1) * k].copy_from_slice(&v[i * k..(i + 1) * k]);
        }
        out
    };
    (read("velocity", 3), read("pressure", 1))
}

#[test]
fn a_killed_cavity_run_restarts_bitwise_on_two_ranks_and_to_tolerance_on_three() {
    let dir = scratch("ns-restart");
    let reference = dir.join("reference");
    common::ddkit_ok(2, &[&CAVITY[..], &["--out", s(&reference)]].concat());
    let (u_ref, p_ref) = flow(&reference, "cavity");

    // Killed after its first checkpoint (every 20 steps), one rank at a time.
    let killed = dir.join("killed");
    let ck_dir = dir.join("ck");
    let args = [&CAVITY[..], &["--out", s(&killed), "--checkpoint-every", "20"]].concat();
    let args = [&args[..], &["--checkpoint-dir", s(&ck_dir)]].concat();
    let child = common::spawn_two_ranks(&args, &dir);
    let ck = ck_dir.join("checkpoint.h5");
    common::kill_after(child, &ck, true);
    let saved = dir.join("saved.h5");
    // The checkpoint may be overwritten by a restart below: keep the killed run's.
    std::fs::copy(&ck, &saved).expect("checkpoint survives the kill");
    let f = hdf5::File::open(&saved).expect("a complete checkpoint");
    let step: u64 = f.attr("step").and_then(|a| a.read_scalar()).expect("step");
    assert!((20..60).contains(&step) && step % 20 == 0, "checkpoint at step {step}");
    drop(f);

    // Same ranks: continues the killed run's series, bitwise on the reference.
    let args = [&CAVITY[..], &["--out", s(&killed), "--restart", s(&saved)]].concat();
    common::ddkit_ok(2, &args);
    let (u2, p2) = flow(&killed, "cavity");
    assert!(
        u2 == u_ref && p2 == p_ref,
        "2 ranks: {} {}",
        rel_diff(&u_ref, &u2),
        rel_diff(&p_ref, &p2)
    );

    // Three ranks: another partition, to the solver tolerance.
    let three = dir.join("three");
    let args = [&CAVITY[..], &["--out", s(&three), "--restart", s(&saved)]].concat();
    common::ddkit_ok(3, &args);
    let (u3, p3) = flow(&three, "cavity");
    let (du, dp) = (rel_diff(&u_ref, &u3), rel_diff(&p_ref, &p3));
    eprintln!("restart at step {step} on 3 ranks: velocity {du:.2e}, pressure {dp:.2e} from the run without a stop");
    assert!(du < 1e-9 && dp < 1e-9, "{du} {dp}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The DFG 2D-3 run of the cylinder test: Δt 0.01 on the shipped mesh up to `t_end`.
fn cylinder(t_end: &str, extra: &[&str]) -> Vec<String> {
    let base = [
        "navier-stokes",
        "--case",
        "cylinder",
        "--dfg",
        "2d-3",
        "--dt",
        "0.01",
        "--t-end",
        t_end,
    ];
    base.iter().chain(extra).map(|a| a.to_string()).collect()
}

/// The cylinder's coefficient series is part of the checkpoint: a run stopped at t = 0.1 and
/// restarted to t = 0.2 writes the whole series (20 rows) and reports the maxima of the whole
/// run, equal to the run without a stop: bitwise on its 2 ranks, to round-off of the solves on 1.
/// Before, the restarted run's series started at the restart.
#[test]
fn a_restarted_cylinder_run_reports_the_coefficients_of_the_whole_run() {
    let dir = scratch("ns-restart-cylinder");
    let run = |np: usize, args: Vec<String>, tag: &str| {
        let out = dir.join(tag);
        let args: Vec<&str> = args.iter().map(String::as_str).chain(["--out", s(&out)]).collect();
        let r = common::ddkit_report(np, &args, &dir, tag);
        let csv = std::fs::read_to_string(out.join("cylinder_coefficients.csv")).expect("series");
        (r["quantities"].clone(), csv)
    };
    let (q_ref, csv_ref) = run(2, cylinder("0.2", &[]), "reference");
    assert_eq!(csv_ref.lines().count(), 21, "{csv_ref}");
    let ck = dir.join("ck");
    run(2, cylinder("0.1", &["--checkpoint-dir", s(&ck)]), "first");
    let saved = ck.join("checkpoint.h5");
    let restart = ["--restart", s(&saved)];
    let (q2, csv2) = run(2, cylinder("0.2", &restart), "two");
    assert_eq!(csv2, csv_ref, "2 ranks");
    assert_eq!(q2, q_ref, "2 ranks");
    let (q1, csv1) = run(1, cylinder("0.2", &restart), "one");
    assert_eq!(csv1.lines().count(), 21, "{csv1}");
    // Absolute differences on the scale of c_D (c_L is near zero this early).
    for key in ["c_d", "c_l", "delta_p", "c_d_max", "c_l_max"] {
        let (a, b) = (q1[key].as_f64().expect(key), q_ref[key].as_f64().expect(key));
        eprintln!("1 rank: {key} {a:e} against {b:e}: {:.1e}", (a - b).abs());
        assert!(
            (a - b).abs() <= 1e-9 * b.abs().max(1.0),
            "1 rank: {key} {a} against {b}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_flow_checkpoints_are_refused_with_one_error_line() {
    let dir = scratch("ns-restart-bad");
    let ck_dir = dir.join("ck");
    let short = [
        "navier-stokes",
        "--grid",
        "8x8",
        "--dt",
        "0.05",
        "--t-end",
        "0.2",
        "--steady-tol",
        "0",
    ];
    common::ddkit_ok(2, &[&short[..], &["--checkpoint-dir", s(&ck_dir)]].concat());
    let good = ck_dir.join("checkpoint.h5");
    let len = std::fs::metadata(&good).expect("checkpoint written").len();
    let longer = [&short[..6], &["0.4", "--steady-tol", "0"]].concat();
    let mut cases: Vec<(std::path::PathBuf, Vec<&str>, &str)> = Vec::new();
    for off in [0, 200, len / 2, len - 1] {
        let p = dir.join(format!("cut-{off}.h5"));
        std::fs::copy(&good, &p).expect("copy");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .and_then(|f| f.set_len(off))
            .expect("truncate");
        cases.push((p, longer.clone(), "HDF5 cannot open it"));
    }
    let other_mesh = [&["navier-stokes", "--grid", "8x10"][..], &longer[3..]].concat();
    cases.push((good.clone(), other_mesh, "written for another mesh"));
    let other_re = [&longer[..], &["--re", "400"]].concat();
    cases.push((
        good.clone(),
        other_re,
        "written with nu = 0.01, this run has nu = 0.0025",
    ));
    let other_dt = [&longer[..4], &["0.04", "--t-end", "0.4", "--steady-tol", "0"]].concat();
    cases.push((good.clone(), other_dt, "written with dt = 0.05, this run has dt = 0.04"));
    // A heat checkpoint is not a flow's.
    let heat_ck = dir.join("heat-ck");
    common::ddkit_ok(
        1,
        &[
            "heat",
            "--grid",
            "8x8",
            "--steps",
            "2",
            "--progress",
            "false",
            "--checkpoint-dir",
            s(&heat_ck),
        ],
    );
    cases.push((heat_ck.join("checkpoint.h5"), longer.clone(), "checkpoint"));
    for (path, args, needle) in &cases {
        let args = [&args[..], &["--restart", s(path)]].concat();
        for np in [1, 2] {
            fails_with(np, &args, needle);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
