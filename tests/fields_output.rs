//! Field specifications in the output (driven by `tests/programs/fields_check.rs`): a P2 vector
//! field beside a P1 scalar on a P2 mesh, as meshio (ParaView users' scripts) and h5py read
//! them; continuing a series after a restart; reading fields back by mesh id on other rank
//! counts.
mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Reads the series with meshio's time-series reader and with h5py; checks every value
/// exactly: `velocity = (x + k, y[, z])` as a 3-component vector (z = 0 padding in 2D) and
/// declared a vector in the XDMF, `pressure = x + 2y + 3z + k` at every P2 node (the P1 field
/// interpolated on the edges, exact), `c = x0 + 2 y0 + k` from each cell's first node, the
/// static `corner` = each cell's second node. Prints a JSON summary.
const CHECK: &str = r#"
import json, sys, xml.etree.ElementTree as ET
import h5py, meshio, numpy as np
xdmf, steps = sys.argv[1], int(sys.argv[2])
kinds = {a.get("Name"): a.get("AttributeType") for a in ET.parse(xdmf).getroot().iter("Attribute")}
assert kinds["velocity"] == "Vector" and kinds["corner"] == "Vector", kinds
assert kinds["pressure"] == "Scalar" and kinds["c"] == "Scalar", kinds
def need(cond, msg):
    if not cond:
        raise SystemExit(f"FAIL {msg}")
with meshio.xdmf.TimeSeriesReader(xdmf) as r:
    points, cells = r.read_points_cells()
    need(len(cells) == 1 and cells[0].type in ("triangle6", "tetra10"), [c.type for c in cells])
    topo = cells[0].data
    n, gdim = points.shape
    xyz = np.zeros((n, 3)); xyz[:, :gdim] = points
    need(r.num_steps == steps, f"{r.num_steps} steps, expected {steps}")
    times = []
    for k in range(r.num_steps):
        t, pd, cd = r.read_data(k)
        times.append(t)
        v = np.asarray(pd["velocity"])
        need(v.shape == (n, 3), f"velocity shape {v.shape}")
        want = xyz.copy(); want[:, 0] += k
        need(np.array_equal(v, want), f"step {k}: velocity off by {np.abs(v - want).max()}")
        p = np.asarray(pd["pressure"])
        wp = xyz[:, 0] + 2 * xyz[:, 1] + 3 * xyz[:, 2] + k
        need(p.shape == (n,) and np.array_equal(p, wp), f"step {k}: pressure off by {np.abs(p - wp).max()}")
        c = np.asarray(cd["c"][0])
        wc = xyz[topo[:, 0], 0] + 2 * xyz[topo[:, 0], 1] + k
        need(np.array_equal(c, wc), f"step {k}: c")
        corner = np.asarray(cd["corner"][0])
        need(corner.shape == (len(topo), 3) and np.array_equal(corner, xyz[topo[:, 1]]), f"step {k}: corner")
        need(set(pd) == {"velocity", "pressure", "mesh_id"}, sorted(pd))
        need(set(cd) == {"c", "corner", "rank"}, sorted(cd))
with h5py.File(xdmf[:-5] + ".h5", "r") as f:
    need(list(f["times"][()]) == times == [0.25 * k for k in range(steps)], times)
    g = f["fields/velocity"]
    need(g.attrs["center"] == b"point" and g.attrs["space"] == b"p2" and g.attrs["components"] == gdim, dict(g.attrs))
    need(f["fields/pressure"].attrs["space"] == b"p1", dict(f["fields/pressure"].attrs))
    need(sorted(g.keys(), key=int) == [str(k) for k in range(steps)], sorted(g.keys()))
    need(sorted(f["fields"].keys()) == ["c", "pressure", "velocity"], sorted(f["fields"].keys()))
    ids = f["static/mesh_id"][()]
    need(sorted(ids) == list(range(n)), "mesh ids")
    for k in range(steps):
        need(f[f"fields/velocity/{k}"].attrs["time"] == 0.25 * k, "time attribute")
        need(np.array_equal(f[f"fields/velocity/{k}"][:, 2], np.zeros(n)) or gdim == 3, "z padding")
print(json.dumps({"points": n, "cells": len(topo), "steps": steps, "gdim": gdim}))
"#;

fn check(xdmf: &Path, steps: usize) -> serde_json::Value {
    let out = Command::new("/usr/bin/python3")
        .args(["-c", CHECK])
        .arg(xdmf)
        .arg(steps.to_string())
        .output()
        .expect("Debian python3 with h5py and meshio");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{} does not check out: {text}{}",
        xdmf.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&text).expect("json")
}

/// Runs fields_check on `np` ranks; returns (success, stdout, stderr).
fn run(np: usize, args: &[&str]) -> (bool, String, String) {
    let out = common::mpirun(np, &common::example("fields_check"), args, Duration::from_secs(120));
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(!e.contains("panicked"), "fields_check {args:?} panicked: {e}");
    (out.status.success(), o, e)
}

fn ok(np: usize, args: &[&str]) -> String {
    let (success, o, e) = run(np, args);
    assert!(
        success && o.contains("fields_check: OK"),
        "fields_check {args:?} on {np}: {o}{e}"
    );
    o
}

#[test]
fn a_p2_vector_and_a_p1_scalar_side_by_side() {
    for np in 1..=3 {
        let dir = common::scratch(&format!("fields-{np}"));
        let d = dir.to_str().unwrap();
        ok(np, &["write", d, "--steps", "3"]);
        let v = check(&dir.join("fields.xdmf"), 3);
        assert_eq!(v["points"], 289, "{v}");
        assert_eq!(v["cells"], 128, "{v}");
        let _ = std::fs::remove_dir_all(&dir);
    }
    // Tetrahedra (ten-node) with 3-component vectors.
    let dir = common::scratch("fields-3d");
    let d = dir.to_str().unwrap();
    ok(2, &["write", d, "--grid", "4x4x2", "--steps", "2"]);
    let v = check(&dir.join("fields.xdmf"), 2);
    assert_eq!(v["gdim"], 3, "{v}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fields_read_back_by_mesh_id_on_other_rank_counts() {
    let dir = common::scratch("fields-read");
    let d = dir.to_str().unwrap();
    ok(3, &["write", d, "--steps", "3"]);
    for np in [1, 2, 4] {
        let o = ok(np, &["read", d, "--k", "2"]);
        assert!(o.contains("by mesh id") && o.contains(&format!("on {np} ranks")), "{o}");
    }
    // By rows of the file's numbering, on the partition that wrote it.
    let o = ok(3, &["read", d, "--k", "1", "--range"]);
    assert!(o.contains("by rows"), "{o}");
    // An unregistered snapshot is refused on every rank with one line.
    let (success, _, e) = run(2, &["read", d, "--k", "3"]);
    assert!(!success, "{e}");
    let lines: Vec<&str> = e.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(lines.len(), 1, "{e}");
    assert!(
        lines[0].contains("snapshot 3 is not registered (the file holds 3)"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_reopened_series_continues_after_the_registered_snapshots() {
    let dir = common::scratch("fields-reopen");
    let d = dir.to_str().unwrap();
    // A run "killed" after 2 snapshots (no finish), which also left an unregistered snapshot
    // 2 of `pressure` and of a field `extra` that only it had.
    ok(3, &["write", d, "--steps", "2", "--no-finish"]);
    let h5 = dir.join("fields.h5");
    {
        let f = hdf5::File::open_rw(&h5).expect("open");
        let n = f.dataset("mesh/geometry").expect("geometry").shape()[0];
        let garbage = vec![-1.0f64; n];
        f.group("fields/pressure")
            .expect("pressure")
            .new_dataset_builder()
            .with_data(&garbage)
            .create("2")
            .expect("leftover");
        f.create_group("fields/extra")
            .expect("extra")
            .new_dataset_builder()
            .with_data(&garbage)
            .create("2")
            .expect("leftover");
    }
    // Another partition (rank count) is refused on every rank, the file untouched.
    let (success, _, e) = run(2, &["append", d, "--from", "2", "--steps", "2"]);
    assert!(!success, "{e}");
    let lines: Vec<&str> = e.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(lines.len(), 1, "{e}");
    assert!(lines[0].contains("another partition"), "{e}");
    // The same partition continues: snapshots 2 and 3 replace the leftovers.
    ok(3, &["append", d, "--from", "2", "--steps", "2"]);
    check(&dir.join("fields.xdmf"), 4);
    for np in [1, 3] {
        ok(np, &["read", d, "--k", "3"]);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
