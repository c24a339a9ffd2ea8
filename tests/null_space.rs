//! Singular systems: Poisson with Neumann conditions on every boundary has the constants as its
//! null space. Every preset solves it (the solver projects the constants out; preconditioners
//! are built for the grounded matrix), the solution has zero mean, it converges to the exact
//! solution up to the constant with the usual order, the same on 1–4 ranks, and a source that
//! does not balance the boundary fluxes is refused with one error line.
mod common;
use common::{fails_with, orders, poisson_report, scratch};

const NEUMANN_2D: [&str; 8] = [
    "--bc",
    "xmin=neumann",
    "--bc",
    "xmax=neumann",
    "--bc",
    "ymin=neumann",
    "--bc",
    "ymax=neumann",
];
const NEUMANN_3D_EXTRA: [&str; 4] = ["--bc", "zmin=neumann", "--bc", "zmax=neumann"];

/// Mean and largest magnitude of the field `u` of an output file.
fn mean_and_max(h5: &std::path::Path) -> (f64, f64) {
    let u = common::last_field_by_mesh_id(h5, "u");
    let mean = u.iter().sum::<f64>() / u.len() as f64;
    (mean, u.iter().fold(0.0f64, |m, v| m.max(v.abs())))
}

#[test]
fn every_preset_solves_the_pure_neumann_problem_with_a_zero_mean_solution() {
    let dir = scratch("null-presets");
    let mut presets: Vec<String> = std::fs::read_dir(common::root().join("solvers"))
        .expect("solvers/")
        .filter_map(|e| Some(e.ok()?.path().file_stem()?.to_string_lossy().into_owned()))
        .collect();
    presets.sort();
    assert!(presets.len() >= 14, "{presets:?}");
    let mut l2 = Vec::new();
    for preset in &presets {
        let toml = std::fs::read_to_string(common::root().join("solvers").join(format!("{preset}.toml")))
            .expect("preset file");
        if toml.contains("family = \"feti\"") {
            // FETI has no singular-problem support yet: refused with one line, not a wrong answer.
            let mut args = NEUMANN_2D.to_vec();
            args.extend_from_slice(&["--grid", "24x20", "--solver", preset]);
            let mut all = vec!["poisson"];
            all.extend_from_slice(&args);
            common::fails_with(2, &all, "FETI does not solve singular problems yet");
            continue;
        }
        let out = dir.join(preset);
        let mut args = vec![
            "--grid",
            "24x20",
            "--solver",
            preset,
            "--subdomains-per-rank",
            "2",
            "--rtol",
            "1e-10",
        ];
        args.extend_from_slice(&["--out", out.to_str().expect("UTF-8")]);
        let r = poisson_report(2, &NEUMANN_2D, &args, &dir, preset);
        assert_eq!(r["status"], "ok", "{preset}: {r}");
        assert_eq!(r["null_space"], "constants", "{preset}");
        assert!(r["true_relative_residual"].as_f64().unwrap() < 1e-7, "{preset}: {r}");
        let (mean, max) = mean_and_max(&out.join("poisson.h5"));
        assert!(
            mean.abs() <= 1e-12 * max,
            "{preset}: mean {mean:e} of a field up to {max:e}"
        );
        l2.push((preset.clone(), r["error"]["l2"].as_f64().unwrap()));
    }
    // One discrete solution, whatever the solver (to its tolerance).
    let e0 = l2[0].1;
    for (p, e) in &l2 {
        assert!((e - e0).abs() <= 1e-6 * e0, "{p}: L2 error {e:e} against {e0:e}");
    }
    assert!(e0 < 2e-3, "L2 error {e0:e} on 24x20");
    common::meshio_reads_every_xdmf(&dir);
}

#[test]
fn pure_neumann_converges_up_to_the_constant_with_order_two() {
    let dir = scratch("null-orders");
    for disc in ["fd", "p1"] {
        let errors: Vec<f64> = [16, 32, 64]
            .iter()
            .map(|n| {
                let g = format!("{n}x{n}");
                let args = ["--grid", &g, "--discretization", disc, "--solver", "cg-nicolaides"];
                let r = poisson_report(2, &NEUMANN_2D, &args, &dir, &format!("{disc}{n}"));
                r["error"]["l2"].as_f64().unwrap()
            })
            .collect();
        let o = orders(&errors);
        assert!(
            o.iter().all(|p| (1.85..2.2).contains(p)),
            "{disc}: errors {errors:?} orders {o:?}"
        );
    }
}

#[test]
fn the_same_solution_on_1_to_4_ranks_in_2d_and_3d() {
    let dir = scratch("null-ranks");
    for (disc, grid, solver) in [
        ("fd", "20x16", "cg-nicolaides"),
        ("p1", "12x12", "cg-gdsw"),
        ("fd", "8x8x6", "cg-asm"),
        ("p1", "6x6x6", "gmres-ras"),
    ] {
        let mut bcs = NEUMANN_2D.to_vec();
        if grid.matches('x').count() == 2 {
            bcs.extend_from_slice(&NEUMANN_3D_EXTRA);
        }
        let mut first = None;
        for np in 1..=4 {
            let args = [
                "--grid",
                grid,
                "--discretization",
                disc,
                "--solver",
                solver,
                "--rtol",
                "1e-11",
            ];
            let r = poisson_report(np, &bcs, &args, &dir, &format!("{disc}{grid}{np}"));
            assert_eq!(r["status"], "ok", "{disc} {grid} on {np}: {r}");
            let e = r["error"]["l2"].as_f64().unwrap();
            match first {
                None => first = Some(e),
                Some(e0) => assert!(
                    (e - e0).abs() <= 1e-8 * e0,
                    "{disc} {grid}: {e:e} on {np} ranks, {e0:e} on 1"
                ),
            }
        }
    }
}

#[test]
fn a_source_that_does_not_balance_the_fluxes_is_refused() {
    for np in [1, 2] {
        let mut args = vec![
            "poisson", "--grid", "16x16", "--exact", "none", "--source", "1", "--solver", "cg-asm",
        ];
        args.extend_from_slice(&NEUMANN_2D);
        fails_with(
            np,
            &args,
            "the right-hand side is not compatible with the operator's null space",
        );
    }
}
