//! P2 Lagrange elements through `ddkit` under mpirun: observed orders of the Poisson solution
//! (L2 3, H1 2) on structured grids in 2D and 3D and on Gmsh refinements, the same solution on
//! 1–4 ranks, output readable as six-/ten-node cells by h5py and meshio, implicit heat with the
//! consistent mass, and clear errors where P2 is not available.
mod common;
use common::orders;
use common::{fails_with, last_field_by_mesh_id, rel_diff, scratch};

fn poisson(np: usize, args: &[&str], dir: &std::path::Path, tag: &str) -> serde_json::Value {
    common::poisson_report(np, &["--discretization", "p2"], args, dir, tag)
}

/// Errors (L2, H1) of P2 Poisson runs, one per argument list.
fn errors(np: usize, runs: &[Vec<&str>], dir: &std::path::Path) -> (Vec<f64>, Vec<f64>) {
    let (mut l2, mut h1) = (Vec::new(), Vec::new());
    for (k, args) in runs.iter().enumerate() {
        let r = poisson(np, args, dir, &format!("run{k}"));
        assert_eq!(r["stats"]["reason"], "converged", "{args:?}");
        l2.push(r["error"]["l2"].as_f64().unwrap());
        h1.push(r["h1_error"].as_f64().unwrap());
    }
    (l2, h1)
}

fn assert_orders(name: &str, e: &[f64], lo: f64, hi: f64) {
    let o = orders(e);
    eprintln!("{name}: errors {e:?} orders {o:?}");
    assert!(
        o.iter().all(|p| (lo..hi).contains(p)),
        "{name}: errors {e:?} orders {o:?}"
    );
}

#[test]
fn p2_orders_on_structured_grids() {
    let dir = scratch("p2-orders");
    // 2D with Neumann and Robin sides, so the quadratic facet terms are part of the check.
    let runs: Vec<Vec<&str>> = ["8x8", "16x16", "32x32"]
        .iter()
        .map(|g| {
            vec![
                "--grid",
                g,
                "--bc",
                "xmin=neumann",
                "--bc",
                "ymax=robin:2",
                "--rtol",
                "1e-12",
            ]
        })
        .collect();
    let (l2, h1) = errors(2, &runs, &dir);
    assert_orders("P2 2D L2", &l2, 2.8, 3.3);
    assert_orders("P2 2D H1", &h1, 1.8, 2.2);
    let runs: Vec<Vec<&str>> = ["4x4x4", "8x8x8", "16x16x16"]
        .iter()
        .map(|g| vec!["--grid", g, "--bc", "zmin=neumann", "--rtol", "1e-12"])
        .collect();
    let (l2, h1) = errors(2, &runs, &dir);
    assert_orders("P2 3D L2", &l2, 2.8, 3.3);
    assert_orders("P2 3D H1", &h1, 1.8, 2.2);
}

#[test]
fn p2_orders_on_gmsh_refinements() {
    // Unstructured, non-nested meshes made by Debian's gmsh from the committed .geo.
    let dir = scratch("p2-gmsh");
    let files: Vec<String> = [0.2, 0.1, 0.05]
        .iter()
        .map(|h| {
            let msh = dir.join(format!("square-{h}.msh"));
            let st = std::process::Command::new("gmsh")
                .args(["-2", "-format", "msh41", "-setnumber", "h", &h.to_string(), "-o"])
                .arg(&msh)
                .arg(common::root().join("meshes/unit_square.geo"))
                .output()
                .expect("gmsh installed");
            assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
            msh.to_str().unwrap().to_string()
        })
        .collect();
    let runs: Vec<Vec<&str>> = files
        .iter()
        .map(|f| vec!["--mesh", f.as_str(), "--bc", "left=neumann", "--rtol", "1e-12"])
        .collect();
    let (l2, h1) = errors(2, &runs, &dir);
    assert_orders("P2 gmsh L2", &l2, 2.6, 3.5);
    assert_orders("P2 gmsh H1", &h1, 1.7, 2.4);
}

#[test]
fn p2_solution_is_the_same_on_1_to_4_ranks_and_output_reads_back() {
    let dir = scratch("p2-ranks");
    for (grid, cells, nodes, meshio_type) in [
        ("12x10", 240, 25 * 21, "triangle6"),
        ("4x3x3", 216, 9 * 7 * 7, "tetra10"),
    ] {
        let mut first: Option<Vec<f64>> = None;
        for np in 1..=4 {
            let out = dir.join(format!("{grid}-{np}"));
            let r = poisson(
                np,
                &["--grid", grid, "--rtol", "1e-13", "--out", out.to_str().unwrap()],
                &dir,
                &format!("{grid}-{np}"),
            );
            assert_eq!(r["unknowns"], nodes);
            let u = last_field_by_mesh_id(&out.join("poisson.h5"), "u");
            match &first {
                None => first = Some(u),
                Some(u1) => {
                    let d = rel_diff(u1, &u);
                    eprintln!("{grid}: {np} ranks vs 1: relative difference {d:e}");
                    assert!(d <= 1e-10, "{grid}: {np} ranks differ from 1 by {d:e}");
                }
            }
            if np == 3 {
                let expect = serde_json::json!({
                    "num_points": nodes, "num_cells": cells, "gdim": grid.split('x').count(),
                    "cell_type": meshio_type, "times": [0.0],
                    "fields": {"u": "point", "mesh_id": "point"}, "ranks": 3,
                    "last": {"mesh_id": {"min": 0.0, "max": nodes as f64 - 1.0}, "u": {"min": -1.0, "max": 1.0}}
                });
                let check = std::process::Command::new("/usr/bin/python3")
                    .arg(common::root().join("tests/py/check_output.py"))
                    .arg(out.join("poisson.xdmf"))
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
        }
    }
    common::meshio_reads_every_xdmf(&dir);
}

#[test]
fn implicit_p2_heat_converges_in_space() {
    // Crank–Nicolson with many steps, so the space error (order 3) dominates; P2 takes the
    // consistent mass by default.
    let dir = scratch("p2-heat");
    let mut l2 = Vec::new();
    for g in ["8x8", "16x16"] {
        let r = common::heat_report(
            2,
            &[
                "--grid",
                g,
                "--discretization",
                "p2",
                "--scheme",
                "cn",
                "--t-final",
                "0.02",
                "--steps",
                "40",
                "--solver",
                "cg-jacobi",
            ],
            &dir,
            g,
        );
        l2.push(r["error"]["l2"].as_f64().unwrap());
    }
    assert_orders("implicit P2 heat L2", &l2, 2.7, 3.4);
}

#[test]
fn p2_is_refused_where_it_is_not_available() {
    fails_with(2, &["heat", "--grid", "8x8", "--discretization", "p2"], "explicit");
    fails_with(
        2,
        &[
            "heat",
            "--grid",
            "8x8",
            "--discretization",
            "p2",
            "--scheme",
            "be",
            "--t-final",
            "0.1",
            "--mass",
            "lumped",
        ],
        "--mass consistent",
    );
    fails_with(
        2,
        &["poisson", "--grid", "8x8", "--discretization", "p3"],
        "unknown discretization 'p3'",
    );
}
