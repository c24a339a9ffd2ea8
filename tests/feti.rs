//! FETI-1 at the library level under mpirun (`tests/programs/feti_check.rs`): element
//! subdomains of P1 / P2 meshes in 2D and 3D, several per rank, floating ones among them found
//! by their numerical kernels; the solution equals CG + two-level Schwarz at rtol 1e-12 to 1e-7
//! on 1–4 ranks, and the Dirichlet preconditioner needs fewer dual iterations than the lumped
//! one, which needs fewer than none.
mod common;

/// Runs `feti_check` and returns its numbers by key.
fn feti(np: usize, args: &[&str]) -> impl Fn(&str) -> f64 {
    let line = common::check_ok(np, "feti_check", args);
    move |key: &str| common::number(&line, key)
}

#[test]
fn feti1_matches_the_reference_on_1_to_4_ranks_with_floating_subdomains() {
    for np in 1..=4 {
        let n = feti(np, &["1", "2", "32", "8", "dirichlet"]);
        assert_eq!(n("subdomains"), 8.0 * np as f64);
        assert!(n("floating") >= 1.0, "np={np}: an interior subdomain floats");
        assert_eq!(n("coarse"), n("floating"), "one constant per floating subdomain");
    }
}

#[test]
fn feti1_on_p2_and_in_3d() {
    for args in [
        ["2", "2", "16", "6", "dirichlet"],
        ["1", "3", "8", "4", "dirichlet"],
        ["2", "3", "6", "4", "dirichlet"],
    ] {
        for np in [1, 3] {
            let n = feti(np, &args);
            assert!(n("diff") <= 1e-7 && n("primal") <= 1e-7, "np={np} {args:?}");
        }
    }
}

#[test]
fn the_dirichlet_preconditioner_beats_the_lumped_one_which_beats_none() {
    let its: Vec<f64> = ["dirichlet", "lumped", "none"]
        .iter()
        .map(|p| feti(2, &["1", "2", "32", "8", p])("iterations"))
        .collect();
    assert!(its[0] < its[1] && its[1] < its[2], "iterations {its:?}");
}

/// `ddkit poisson` with `--solver feti1` and with `cg-asm` (rtol 1e-10 both): the same
/// discrete solution, so the same L2 error to 1e-6, and a true residual below 1e-8.
#[test]
fn ddkit_poisson_with_feti1_matches_cg_on_p1_and_p2_in_2d_and_3d_on_1_to_4_ranks() {
    let dir = common::scratch("feti-poisson");
    let cases: [(&str, &str, &[usize]); 3] = [
        ("p1", "32x32", &[1, 2, 3, 4]),
        ("p2", "12x12", &[1, 3]),
        ("p1", "8x8x8", &[2, 4]),
    ];
    for (disc, grid, ranks) in cases {
        for &np in ranks {
            let run = |solver: &str| {
                let fixed = ["--grid", grid, "--discretization", disc, "--rtol", "1e-10"];
                let out = dir.join(format!("{disc}-{np}-{solver}"));
                let args = ["--solver", solver, "--out", out.to_str().expect("UTF-8")];
                common::poisson_report(np, &fixed, &args, &dir, &format!("{disc}-{grid}-{np}-{solver}"))
            };
            let (f, c) = (run("feti1"), run("cg-asm"));
            let (ef, ec) = (f["error"]["l2"].as_f64().unwrap(), c["error"]["l2"].as_f64().unwrap());
            assert!((ef - ec).abs() <= 1e-6 * ec, "{disc} {grid} np={np}: {ef:e} vs {ec:e}");
            assert!(f["true_relative_residual"].as_f64().unwrap() < 1e-8, "{f}");
            assert!(f["preconditioner"].as_str().unwrap().starts_with("feti-1"), "{f}");
        }
    }
    common::meshio_reads_every_xdmf(&dir);
}

/// FD has no elements: FETI splits the matrix algebraically (Schwarz's split grown by one layer,
/// the couplings shared out so that the Neumann matrices sum to A) and gets CG's solution.
#[test]
fn feti_on_fd_matches_cg_in_2d_and_3d() {
    let dir = common::scratch("feti-fd");
    for (grid, ranks) in [("64x64", [1, 3]), ("16x16x16", [2, 4])] {
        for np in ranks {
            let run = |solver: &str| {
                let fixed = ["--grid", grid, "--rtol", "1e-10", "--subdomains-per-rank", "8"];
                common::poisson_report(
                    np,
                    &fixed,
                    &["--solver", solver],
                    &dir,
                    &format!("{grid}-{np}-{solver}"),
                )
            };
            let (f, c) = (run("feti1"), run("cg-asm"));
            let (ef, ec) = (f["error"]["l2"].as_f64().unwrap(), c["error"]["l2"].as_f64().unwrap());
            assert!((ef - ec).abs() <= 1e-6 * ec, "{grid} np={np}: {ef:e} vs {ec:e}");
            assert!(f["true_relative_residual"].as_f64().unwrap() < 1e-8, "{f}");
        }
    }
}

/// κ = 1 or 1e6 on each of 32 element subdomains (jumps along their interfaces), P1 64², 2 ranks:
/// ρ-scaling by the diagonal stiffness with its weighted projector keeps the dual iterations
/// within 1.5× of the homogeneous problem's; multiplicity scaling with the orthogonal projector
/// does not converge in 500.
#[test]
fn stiffness_scaling_is_robust_to_a_contrast_of_1e6_where_multiplicity_scaling_is_not() {
    let homogeneous = feti(2, &["1", "2", "64", "16", "dirichlet", "1", "stiffness"])("iterations");
    let contrast = feti(2, &["1", "2", "64", "16", "dirichlet", "1e6", "stiffness"])("iterations");
    assert!(
        contrast <= 1.5 * homogeneous,
        "{contrast} iterations at 1e6 against {homogeneous}"
    );
    let out = common::mpirun(
        2,
        &common::example("feti_check"),
        &["1", "2", "64", "16", "dirichlet", "1e6", "multiplicity"],
        std::time::Duration::from_secs(180),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success() && text.contains("max-iter = 500 reached"),
        "{text}"
    );
}

/// The CG Lanczos estimate of the preconditioned condition number, in every report: on P1 64²
/// with 32 subdomains on 2 ranks it orders the preconditioners as DD theory does (GenEO <
/// Nicolaides < one-level ASM < Jacobi), and FETI-1's is between GenEO's and Nicolaides'.
#[test]
fn the_condition_estimate_orders_the_preconditioners() {
    let dir = common::scratch("feti-condition");
    let kappa: Vec<f64> = ["cg-geneo", "feti1", "cg-nicolaides", "cg-asm", "cg-jacobi"]
        .iter()
        .map(|s| {
            let args = ["--solver", s, "--subdomains-per-rank", "16"];
            let r = common::poisson_report(2, &["--grid", "64x64", "--discretization", "p1"], &args, &dir, s);
            r["stats"]["condition_estimate"].as_f64().expect("condition estimate")
        })
        .collect();
    assert!(kappa.windows(2).all(|w| w[0] < w[1]) && kappa[0] > 1.0, "{kappa:?}");
}
