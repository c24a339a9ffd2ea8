//! The parallel writer on its own (driven by `examples/write_mesh.rs`): an interrupted run still
//! leaves a readable series, and a field-length error on one rank stops every rank.
mod common;
use std::time::Duration;

#[test]
fn interrupted_run_leaves_a_readable_series() {
    let dir = common::scratch("no-finish");
    let out = common::mpirun(
        3,
        &common::example("write_mesh"),
        &[dir.to_str().unwrap(), "--grid", "6x5", "--no-finish"],
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expect = serde_json::json!({
        "num_points": 42, "num_cells": 30, "gdim": 2, "cell_type": "quad", "times": [0.0, 0.1, 0.2],
        "fields": {"phi": "point", "kappa": "cell", "u": "point", "c": "cell"}, "ranks": 3
    });
    let check = std::process::Command::new("/usr/bin/python3")
        .arg(common::root().join("tests/py/check_output.py"))
        .arg(dir.join("mesh.xdmf"))
        .arg(expect.to_string())
        .output()
        .expect("Debian python3 with h5py and meshio");
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success() && text.contains("check_output: OK"),
        "{text}{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn a_bad_field_on_one_rank_stops_all_ranks() {
    let dir = common::scratch("short-field");
    let out = common::mpirun(
        3,
        &common::example("write_mesh"),
        &[dir.to_str().unwrap(), "--short-field", "1"],
        Duration::from_secs(60),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Every rank reports the agreed error (the driver prints on all ranks on purpose; lines of
    // different ranks may interleave, so count them).
    assert_eq!(stderr.matches("write_mesh: rank").count(), 3, "{stderr}");
    assert!(stderr.matches("error: output:").count() >= 3, "{stderr}");
    assert!(stderr.contains("values on rank 1"), "{stderr}");
}
